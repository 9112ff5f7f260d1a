"""The construction's float filter (exactseq/construction/vector.py) gives exactly the
answers of the exact loops, on data built to defeat floats: near ties 1e-30 apart,
exact ties, magnitudes from 1e-300 to 1e300, subnormal floats, huge integers."""
from fractions import Fraction

from hypothesis import given, settings, strategies as st

from exactseq.construction import vector
from exactseq.numbers import Point, dot

EPS = Fraction(1, 10 ** 30)
base = st.sampled_from([Fraction(0), Fraction(1), Fraction(-1), Fraction(1, 3), Fraction(10) ** 300,
                        Fraction(1, 10 ** 300), Fraction(2) ** -1070, Fraction(7, 16), Fraction(10) ** 400])
coord = st.one_of(
    st.fractions(min_value=-5, max_value=5, max_denominator=50),
    st.builds(lambda b, k: b + k * EPS, base, st.integers(-2, 2)),
    base)


def point(d):
    return st.tuples(*[coord] * d).map(Point)


@st.composite
def sequences(draw, d=3):
    pool = draw(st.lists(point(d), min_size=1, max_size=12, unique=True))
    seqs = []
    for _ in range(draw(st.integers(1, 4))):
        X = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=12, unique=True))
        seqs.append(X)
    return seqs


direction = st.tuples(*[st.sampled_from([Fraction(0), Fraction(1), Fraction(-3), Fraction(1, 3),
                                         Fraction(64), Fraction(2) ** -1074, Fraction(1, 10 ** 40)])] * 3)


def brute_unique_max(a, X):
    vals = [dot(a, x) for x in X]
    top = max(vals)
    return X[vals.index(top)] if vals.count(top) == 1 else None


@settings(max_examples=300, deadline=None)
@given(sequences(), direction)
def test_unique_maxima_and_max_abs_are_exact(seqs, a):
    tokens = vector.Tokens(seqs, 3)
    assert vector.unique_maxima(a, tokens) == [brute_unique_max(a, X) for X in seqs]
    assert vector.max_abs(a, tokens) == [max(abs(dot(a, x)) for x in X) for X in seqs]
    pts = [x for X in seqs for x in X]
    assert vector.extreme(a, pts) == max(dot(a, x) for x in pts)
    assert vector.extreme(a, pts, largest=False) == min(dot(a, x) for x in pts)


@settings(max_examples=300, deadline=None)
@given(st.lists(point(3), min_size=1, max_size=20, unique=True), direction, st.data())
def test_injective_and_gap_are_exact(pts, v, data):
    assert vector.injective(v, pts) == (len({dot(v, x) for x in pts}) == len(pts))
    p = data.draw(st.sampled_from(pts))
    others = [q for q in pts if q != p]
    s0, gap = vector.value_unique_gap(v, others, p)
    assert s0 == dot(v, p)
    if not others:
        assert gap == 1
    else:
        g = min(abs(dot(v, q) - s0) for q in others)
        assert gap == (None if g == 0 else g)


@settings(max_examples=200, deadline=None)
@given(st.lists(coord, min_size=0, max_size=30))
def test_sort_exact(vals):
    assert vector.sort_exact(vals) == sorted(vals)


def test_planted_near_ties_are_decided_exactly():
    # sixteen tokens whose values along a differ by 1e-30 (equal in floats), one above
    a = Point((Fraction(1), Fraction(1), Fraction(0)))
    X = [Point((Fraction(k), Fraction(-k) + j * EPS, Fraction(j))) for k in range(8) for j in (0, 1)]
    tokens = vector.Tokens([X], 3)
    top = X[1]                                     # 8 tokens share the value 1e-30: a tie
    assert vector.unique_maxima(a, tokens) == [None]
    assert vector.unique_maxima(a, vector.Tokens([[x for x in X if x[2] == 0]], 3)) == [None]
    assert vector.unique_maxima(a, vector.Tokens([[x for x in X if x[2] == 0] + [top]], 3)) == [top]
    X2 = X + [Point((Fraction(0), 2 * EPS, Fraction(5)))]
    assert vector.unique_maxima(a, vector.Tokens([X2], 3)) == [X2[-1]]
    assert vector.injective(a, X) is False
    s0, gap = vector.value_unique_gap(a, X, X2[-1])
    assert (s0, gap) == (2 * EPS, EPS)
    assert vector.value_unique_gap(a, [x for x in X if x != top], top) == (EPS, None)
    assert vector.value_unique_gap(a, [x for x in X if x[2] == 0], top) == (EPS, EPS)
    assert vector.values(a, vector.float_rows(X, 3))[1].max() > 0   # the bound is never 0


def test_fallback_without_floats():
    # a coordinate beyond the float range: the exact loop decides
    big = Fraction(10) ** 400
    X = [Point((big, Fraction(k), Fraction(0))) for k in range(10)]
    assert vector.float_rows(X, 3) is None
    a = Point((Fraction(1), Fraction(1), Fraction(0)))
    assert vector.unique_maxima(a, vector.Tokens([X], 3)) == [X[-1]]
    assert vector.extreme(a, X, largest=False) == big
