"""Property tests: the whole pipeline and the lemmas it rests on, on generated data."""
from fractions import Fraction

from hypothesis import HealthCheck, given, settings, strategies as st

from exactseq.construction.common import hat_ff, injective_direction, tube_eps
from exactseq.model import SA, Mat
from exactseq.numbers import dot
from exactseq.strategies import datasets, points
from helpers import certify, interpolates

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(datasets())
def test_pipeline_always_certifies_within_bounds(obj):
    ds, cons, cert, summary = certify(obj)
    assert summary["blocks"] <= summary["block_bound"]
    assert summary["blocks"] <= 2 * ds.sum_m + 2 * ds.N + 1
    assert summary["width"] <= 4
    assert cons.phase_blocks["separation"] <= 2 * (ds.N - 1)
    assert cons.phase_blocks["leaders"] == cons.phase_blocks["interpolation"] == ds.sum_m


@settings(max_examples=25, deadline=None)
@given(datasets(max_sequences=3, max_pool=5, extreme=False))
def test_plain_evaluator_agrees(obj):
    _, _, cert, _ = certify(obj)
    assert interpolates(cert)


def _pt(p):
    return tuple(Fraction(c) for c in p)


@FAST
@given(st.lists(points(3), min_size=2, max_size=8, unique_by=_pt), points(3), st.data())
def test_hat_lemma_moves_exactly_one_point(pts, target, data):
    """Lemma 4.8: the width-3 hat moves p onto y and fixes every other point."""
    pts = [_pt(p) for p in pts]
    p = data.draw(st.sampled_from(pts))
    y = _pt(target)
    v, proj = injective_direction(pts, 3)
    gap = min(abs(proj[q] - proj[p]) for q in pts if q != p)
    ff = hat_ff(v, proj[p], tube_eps(gap), p, y)
    assert ff.width == 3
    assert ff.apply(p) == y
    assert all(ff.apply(q) == q for q in pts if q != p)


@FAST
@given(st.lists(st.lists(points(2, extreme=False), min_size=1, max_size=5, unique_by=_pt),
                min_size=1, max_size=4), st.integers(1, 5))
def test_leader_attention_translates_by_the_leader(seqs_, lam):
    """Lemmas 4.5-4.7: with A = a a^T, <a,x> > 0 and a unique maximiser L per
    sequence, SA(rho = 1, V = lambda I) translates the sequence by lambda L."""
    seqs_ = [[_pt(p) for p in X] for X in seqs_]
    a = (Fraction(1), Fraction(1, 7))
    low = min(dot(a, x) for X in seqs_ for x in X)
    shift = tuple((abs(low) + 1) * ai for ai in a)
    sa = SA(Fraction(1), Mat("rank1", Fraction(1), a), Mat("scalar", Fraction(lam)))
    for X in seqs_:
        X = [tuple(xi + si for xi, si in zip(x, shift)) for x in X]
        best = max(dot(a, x) for x in X)
        top = [x for x in X if dot(a, x) == best]
        out = sa.apply(X)
        if len(top) == 1:
            L = top[0]
            assert out == [tuple(xi + lam * li for xi, li in zip(x, L)) for x in X]
        else:  # ties are averaged exactly
            cen = tuple(sum(t[i] for t in top) / len(top) for i in range(2))
            assert out == [tuple(xi + lam * ci for xi, ci in zip(x, cen)) for x in X]
