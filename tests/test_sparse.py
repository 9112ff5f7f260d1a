"""The sparse evaluation (search index by row, only the tokens a layer can move)
gives exactly the tokens of the dense evaluation, block by block."""
import json
from fractions import Fraction

from hypothesis import HealthCheck, given, settings, strategies as st

from exactseq.strategies import datasets
from helpers import certify
from proofs_check import engine as ck, reading, sparse
from proofs_check.limits import DEFAULT


def multiset(seqs):
    return [sorted((t.key, t.n) for t in toks) for toks in seqs]


def run_both(cert, shift=Fraction(0)):
    """Evaluate every FF layer both ways (its biases moved by ``shift``, so tubes
    also catch tokens they were not built for) and compare after each block."""
    nums, d, pairs, blocks = reading.start(cert, DEFAULT)
    cache = {}
    dense = [[ck.Tok(x, 1) for x in X] for X, _ in pairs]
    state = sparse.State([list(s) for s in dense], ck.Tok.from_key)
    moved = mixed = 0
    for k, blk in enumerate(blocks, 1):
        _, (eta, U, b, W), sa, _ = reading.read_block(blk, k, nums, d)
        ff = (eta, U, tuple(x + shift for x in b), W)
        dense = ck.eval_ff(ff, dense, cache)
        if sparse.is_one_row(ff, ck.key):
            row = sparse.row_of(U)
            state.near(ck.proj(cache, row), None, None)        # an index that must be kept up to date
            sparse.OneRow(ff, ck.proj(cache, row)).apply(state)
            moved += 1
            mixed += any(not any(u) for u in U) and any(any(u) for u in U)
        else:
            state.reset(ck.eval_ff(ff, state.lists(), cache))
        assert multiset(state.lists()) == multiset(dense), k
        dense, _ = ck.eval_sa(sa, dense, cache)
        state.reset(ck.eval_sa(sa, state.lists(), cache)[0])
    return moved, mixed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(max_sequences=4, max_pool=8), st.sampled_from([0, Fraction(1, 3), Fraction(-2), Fraction(7, 2)]))
def test_sparse_equals_dense(obj, shift):
    cert = certify(obj)[2]
    assert run_both(cert, Fraction(shift))[0] > 0 or not any(b["phase"] == "interpolation" for b in cert["blocks"])


def test_sparse_on_the_examples(tmp_path):
    for name in ("figure5", "masked"):
        from exactseq.dataset import load
        from exactseq.construction import build
        from exactseq import certificate
        ds = load(f"examples/{name}.json")
        cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
        for shift in (0, Fraction(1, 2), -1, 5):
            moved, mixed = run_both(cert, Fraction(shift))
            assert moved >= ds.sum_m and mixed == 1      # the first leader move carries a shift
