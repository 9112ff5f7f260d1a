"""The float filter never changes an exact decision: checked against brute force."""
from fractions import Fraction

from hypothesis import given, settings, strategies as st

import pytest

from proofs_check import filters
from proofs_check.engine import key
from proofs_check.filters import argmax_keys, gram_argmax, query_keys


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


@pytest.fixture(params=["python", "numpy"])
def path(request, monkeypatch):
    """Both ways of forming the float scores: plain Python row by row, and NumPy a
    block of 3 rows at a time (so several blocks, and rows asked across them)."""
    if request.param == "numpy":
        monkeypatch.setattr(filters, "NUMPY_AT", 0)
        monkeypatch.setattr(filters, "BLOCK", 3 * 12)
    return request.param


def brute_full(M, points):
    out = []
    for x in points:
        q = [sum(a * b for a, b in zip(r, x)) for r in M]
        s = [sum(a * b for a, b in zip(q, y)) for y in points]
        best = max(s)
        out.append(tuple(j for j, v in enumerate(s) if v == best))
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 4).flatmap(lambda d: st.tuples(
    st.lists(st.tuples(*[coord] * d), min_size=1, max_size=12, unique=True),
    st.lists(st.lists(st.one_of(st.integers(-3, 3).map(Fraction), coord), min_size=d, max_size=d),
             min_size=d, max_size=d))),
       st.sampled_from(["python", "numpy"]))
def test_full_a_argmax_is_exact(case, how):
    """Any rational A: queries A x_i through the same filter, both score paths."""
    points, M = case
    keys = [key(p) for p in points]
    old = filters.NUMPY_AT, filters.BLOCK
    if how == "numpy":
        filters.NUMPY_AT, filters.BLOCK = 0, 2 * len(points)
    try:
        got = argmax_keys(query_keys(M, keys), keys)
    finally:
        filters.NUMPY_AT, filters.BLOCK = old
    assert got == brute_full(M, points)


def test_blocks_of_rows_agree(path):
    """Three hundred tokens with ties and near-ties: blocks of 3 rows give the same
    sets as brute force, and equal sets are one object."""
    import random
    rnd = random.Random(5)
    pts = list({(Fraction(rnd.randint(-4, 4)), Fraction(rnd.randint(-40, 40), rnd.choice([1, 3, 7])),
                 Fraction(rnd.randint(-9, 9), 10**rnd.randint(0, 30))) for _ in range(300)})
    for s in (1, -1):
        got = gram_argmax([key(p) for p in pts], s)
        assert got == brute(pts, s)
        assert len({id(t) for t in got}) == len(set(got))


def test_near_ties_below_float_resolution(path):
    e = Fraction(1, 2**80)
    pts = [(Fraction(1), Fraction(0)), (Fraction(1) + e, Fraction(0)), (Fraction(1) - e, e),
           (Fraction(1), e), (Fraction(-1), Fraction(0))]
    for s in (1, -1):
        assert gram_argmax([key(p) for p in pts], s) == brute(pts, s)


def test_float_order_reversed_by_rounding(path):
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


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 4).flatmap(lambda d: st.tuples(
    st.lists(st.tuples(*[coord] * d), min_size=1, max_size=10),
    st.lists(st.lists(st.integers(-3, 3).map(Fraction), min_size=d, max_size=d), min_size=d, max_size=d),
    st.sampled_from([Fraction(2), Fraction(-1, 3)]))))
def test_model_attention_uses_the_filter_exactly(case):
    """exactseq's exact model (eval, plot) finds maximisers through the same filter
    for c I and a full A: the same sets as brute force, repeated tokens included."""
    from exactseq import model
    points, M, c = case
    points = points + points[:2]                       # repeated tokens
    old = model.FILTER_AT
    model.FILTER_AT = 0
    try:
        full = model.maximiser_sets(model.Mat("full", rows=tuple(map(tuple, M))), points)
        scal = model.maximiser_sets(model.Mat("scalar", c=c), points)
        a = tuple(M[0])
        rank1 = model.maximiser_sets(model.Mat("rank1", c=c, a=a), points)
        zero = model.maximiser_sets(model.Mat("zero"), points)
    finally:
        model.FILTER_AT = old
    assert full == brute_full(M, points)
    assert scal == brute(points, 1 if c > 0 else -1)
    assert rank1 == brute_full([[c * ai * aj for aj in a] for ai in a], points)
    assert zero == [tuple(range(len(points)))] * len(points)
