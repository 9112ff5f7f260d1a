"""The float filter never changes an exact decision: checked against brute force."""
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from proofs_check.engine import key
from proofs_check.filters import gram_argmax


def brute(points, sign):
    out = []
    for x in points:
        s = [sign * sum(a * b for a, b in zip(x, y)) for y in points]
        best = max(s)
        out.append(tuple(j for j, v in enumerate(s) if v == best))
    return out


coord = st.one_of(
    st.fractions(min_value=-10, max_value=10, max_denominator=10**7),
    st.integers(-3, 3).map(Fraction),                         # exact ties
    st.sampled_from([Fraction(1, 10**160), Fraction(10**160), Fraction(-1, 3 * 10**151)]),  # outside the filter's range
    st.integers(-2**60, 2**60).map(lambda k: Fraction(k, 2**60) + Fraction(1, 10**30)),   # near-ties
)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 5).flatmap(lambda d: st.lists(st.tuples(*[coord] * d), min_size=1, max_size=12,
                                                    unique=True)),
       st.sampled_from([1, -1]))
def test_gram_argmax_is_exact(points, sign):
    assert gram_argmax([key(p) for p in points], sign) == brute(points, sign)


def test_near_ties_below_float_resolution():
    e = Fraction(1, 2**80)
    pts = [(Fraction(1), Fraction(0)), (Fraction(1) + e, Fraction(0)), (Fraction(1) - e, e),
           (Fraction(1), e), (Fraction(-1), Fraction(0))]
    for s in (1, -1):
        assert gram_argmax([key(p) for p in pts], s) == brute(pts, s)


def test_float_order_reversed_by_rounding():
    """Rounding puts y2 above y1 in floats although y1 wins exactly: only the
    error margin keeps y1 among the candidates."""
    u = Fraction(1, 2**52)
    x, y1, y2 = (Fraction(1, 2**10),) * 2, (1 + 4 * u / 10, Fraction(0)), (1 + 6 * u / 10, -3 * u / 10)
    assert sum(a * b for a, b in zip(x, y1)) > sum(a * b for a, b in zip(x, y2))
    assert float(y2[0]) + float(y2[1]) > float(y1[0]) + float(y1[1])
    assert gram_argmax([key(p) for p in (x, y1, y2)], 1)[0] == (1,)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(1, 12)), min_size=1, max_size=15),
       st.sampled_from([1, -1]))
def test_extreme_set_is_exact(fr, s):
    from proofs_check.engine import extreme_set
    vals = [s * Fraction(n, d) for n, d in fr]
    best = max(vals)
    assert extreme_set(fr, s) == tuple(j for j, v in enumerate(vals) if v == best)
