"""The falsification campaign against the float claim (exactseq/falsify.py).

A seeded campaign over every generator kind must find no contradiction of a verified
claim; the float passes must be real and different from each other (order, fused
multiply-add, NaN from inf - inf); the comparison must catch a false claim.  The kinds
aimed at weak points the analysis once had (falsify.AIMED: a cache keyed by repr over a
number field, A x_i overflowing while the scores stay bounded, NaN on one-token
sequences) must find none either.
"""
import json
import math
from fractions import Fraction as F

import pytest
from hypothesis import given, settings, strategies as st

np = pytest.importorskip("numpy")
from exactseq import falsify as fz  # noqa: E402
from exactseq import weights as wt  # noqa: E402

ORDINARY = [k for k in fz.KINDS if k not in fz.HOSTILE]


# ------------------------------------------------------------------ crafted certificates
def order_cert():
    """x'_2 = x_2 + relu(x_1 + x_2 + x_3 + x_4) at x = (2^53, 1, -2^53, 1): exactly 3;
    the sum is 1 left to right (2^53 + 1 rounds to 2^53) and 2 right to left."""
    d = 4
    return fz.certificate(d, [[(F(2 ** 53), F(1), F(-2 ** 53), F(1))]],
                          [fz.block(d, "order", 1, [[1, 1, 1, 1]], [0], [[0], [1], [0], [0]])])


def fma_cert():
    """h = 1 * 1 - (1 - 2^-30)(1 + 2^-30) = 2^-60 exactly: 0 when the product is rounded
    first, 2^-60 with a fused multiply-add; x'_1 = x_1 + 2^60 relu(h), exactly 2."""
    e = F(1, 2 ** 30)
    return fz.certificate(2, [[(F(1), 1 + e)]], [fz.block(2, "fma", 1, [[1, -(1 - e)]], [0], [[F(2 ** 60)], [0]])])


def nan_cert():
    """One token (3, 3), A = diag(2^1023, -2^1023): A x = (inf, -inf) in floats, the
    score inf - inf = NaN (exactly, the score is 0)."""
    M = F(2) ** 1023
    return fz.certificate(2, [[(F(3), F(3))]], [fz.block(2, "nan", rho=1, A=("full", [[M, 0], [0, -M]]),
                                                         V=("scalar", F(1, 2)))])


def test_crafted_certificates_are_exact():
    assert order_cert()["dataset"]["sequences"][0]["output"] == [["9007199254740992", "3", "-9007199254740992", "1"]]
    assert fma_cert()["dataset"]["sequences"][0]["output"] == [["2", "1073741825/1073741824"]]
    assert nan_cert()["dataset"]["sequences"][0]["output"] == [["9/2", "9/2"]]


def outputs(cert, name, fmt="float64"):
    return fz.run_pass(name, cert, fmt).outputs[0][0]


def test_summation_order_is_real():
    cert = order_cert()
    assert outputs(cert, "seq")[1] == 2.0 and outputs(cert, "reversed")[1] == 3.0
    assert outputs(cert, "pairwise")[1] == 3.0
    assert [outputs(cert, f"random-{s}")[1] for s in (1, 2, 3)] == [3.0, 2.0, 3.0]
    assert outputs(cert, "blas")[1] in (2.0, 3.0)


def test_fused_multiply_add_is_real():
    cert = fma_cert()
    m = wt.parse(cert)
    trace = fz.exact_trace(m)
    fused, plain = fz.run_pass("fma", m), fz.run_pass("seq", m)
    assert fused.outputs[0][0][0] == 2.0 and fused.patterns[0][0][0] == (True,)
    assert plain.outputs[0][0][0] == 1.0 and plain.patterns[0][0][0] == (False,)
    assert fz.decisions(trace, fused) == []
    assert fz.decisions(trace, plain) == ["block 1: sequence 0: token 0: a ReLU decision differs"]
    assert outputs(cert, "blas")[0] in (1.0, 2.0)       # BLAS kernels may fuse or not
    # the checker cannot separate that unit from 0: the claim is not certified
    verdict, reason = fz._check(cert)
    assert verdict == "unknown" and reason.startswith("float claim: block 1 (fma): sequence 0: unit 1")


def test_inf_minus_inf_gives_nan():
    cert = nan_cert()
    for name in ("seq", "blas", "key-scores", "fma"):
        res = fz.run_pass(name, cert)
        assert res.nonfinite is not None, name
        assert all(math.isnan(c) for c in res.outputs[0][0]), name
    res = fz.run_pass("seq", cert)
    assert res.nonfinite == "block 1: A x_i" and res.argmax[0][0][0] == frozenset()
    assert fz.judge({"tolerance": "1"}, [[(F(9, 2), F(9, 2))]], [[(F(9, 2), F(9, 2))]], res.outputs) == \
        ["sequence 0: an output is not finite"]


def test_float32_passes_round_to_binary32():
    cert = fma_cert()      # 1 - 2^-30 is 1 in binary32: h = 0, x'_1 = 1
    for name in ("seq", "fma", "blas", "torch-1"):
        assert fz.run_pass(name, cert, "float32").outputs[0][0] == (1.0, 1.0), name
    assert fz._f32(1 + 2 ** -30) == 1.0 and fz._f32(3.4e38 * 2) == math.inf


# ------------------------------------------------------------------ exact rounding of the emulation
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=300, deadline=None)
@given(finite, finite, finite)
def test_fma_is_correctly_rounded(a, b, c):
    q = F(a) * F(b) + F(c)
    try:
        want = float(q)                  # int / int: correctly rounded
    except OverflowError:
        want = math.inf if q > 0 else -math.inf
    assert fz.fma(a, b, c) == want


@settings(max_examples=300, deadline=None)
@given(finite32, finite32, finite32)
def test_fma_binary32_is_correctly_rounded(a, b, c):
    q = F(a) * F(b) + F(c)
    r = wt.round_exact(q, 24, -126, 127)
    assert fz.fma(a, b, c, "float32") == (float(r) if not isinstance(r, float) else r)
    with np.errstate(over="ignore"):
        assert fz._f32(a * b) == float(np.float32(a) * np.float32(b))


def test_fma_examples():
    assert fz.fma(1 + 2 ** -30, 1 - 2 ** -30, -1.0) == -(2.0 ** -60)
    assert fz.fma(2.0 ** -1074, 0.5, 0.0) == 0.0           # ties to even, into zero
    assert fz.fma(2.0 ** -1074, 1.5, 0.0) == 2.0 ** -1073
    assert fz.fma(2.0 ** 1023, 2.0, 0.0) == math.inf and fz.fma(-(2.0 ** 1023), 2.0, 0.0) == -math.inf
    assert math.isnan(fz.fma(math.inf, 0.0, 1.0))


# ------------------------------------------------------------------ the comparison
def test_judge_absolute_relative_and_classes():
    Y = [[(F(2), F(0))]]
    out = [[(1.0, 0.0)]]            # at distance exactly 1 from its target
    assert fz.judge({"tolerance": "1"}, Y, Y, out) == []
    assert fz.judge({"tolerance": "999/1000"}, Y, Y, out) == \
        ["sequence 0: Hausdorff distance to the target set exceeds the tolerance"]
    assert fz.judge({"tolerance": "1/2", "relative": True}, Y, Y, out) == []      # 1/2 max(1, |y| = 2)
    assert fz.judge({"tolerance": "1/3", "relative": True}, Y, Y, out) == \
        ["sequence 0: token 0: farther than T max(1, |y|) from its exact output"]
    # a lost target: both outputs near one of two targets
    Y2 = [[(F(0), F(0)), (F(4), F(0))]]
    assert fz.judge({"tolerance": "1"}, Y2, [[(F(0), F(0)), (F(4), F(0))]], [[(0.0, 0.0), (0.5, 0.0)]]) == \
        ["sequence 0: Hausdorff distance to the target set exceeds the tolerance"]
    # classes: (1.5, 0) is nearer the class point (1, 0) of another sequence than its own (4, 0)
    T, own = [[(F(4), F(0))], [(F(1), F(0))]], [[(F(4), F(0))], [(F(1), F(0))]]
    res = [[(1.5, 0.0)], [(1.0, 0.0)]]
    assert fz.judge({"tolerance": "3"}, T, own, res) == []
    assert fz.judge({"tolerance": "3", "classes": True}, T, own, res) == \
        ["sequence 0: token 0: its nearest target point is not its own"]


def test_decisions_flags_a_different_maximiser():
    cert = fz.certificate(2, [[(F(1), F(0)), (F(0), F(2))]],
                          [fz.block(2, "argmax", rho=1, A=("scalar", F(1)), V=("scalar", F(1, 2)))])
    m = wt.parse(cert)
    trace = fz.exact_trace(m)
    res = fz.run_pass("seq", m)
    assert fz.decisions(trace, res) == []
    assert res.argmax[0][0] == [frozenset({0}), frozenset({1})]
    res.argmax[0][0][0] = frozenset({0, 1})
    assert fz.decisions(trace, res) == ["block 1: sequence 0: query 0: maximisers [0, 1] instead of [0]"]


def test_copies_of_one_point_are_one_decision():
    """Three inputs sent to one exact point (1, 1): every key is a maximiser; a float pass
    that keeps some of the copies takes the same decision, one that keeps none does not."""
    cert = fz.certificate(2, [[(F(1), F(0)), (F(2), F(0)), (F(0), F(3))]],
                          [fz.block(2, "copies", 0, [[0, 0]], [1], [[1], [1]], rho=1, A=("scalar", F(1)),
                                    V=("scalar", F(1, 2)))])
    assert cert["dataset"]["sequences"][0]["output"] == [["3/2", "3/2"]]
    m = wt.parse(cert)
    trace = fz.exact_trace(m)
    assert trace[2][0][0] == [frozenset({0, 1, 2})] * 3 and trace[3][0][0] == [((F(1),), (F(1),))] * 3
    res = fz.run_pass("seq", m)
    assert fz.decisions(trace, res) == []
    res.argmax[0][0][1] = frozenset({2})
    assert fz.decisions(trace, res) == []
    res.argmax[0][0][1] = frozenset()
    assert fz.decisions(trace, res) == ["block 1: sequence 0: query 1: maximisers [] instead of [0, 1, 2]"]


def test_campaign_catches_a_planted_false_claim(monkeypatch, tmp_path):
    """A checker that says verified on the fma certificate (whose float passes leave x_1
    at 1, not 2): every pass that does not fuse contradicts the claim."""
    import proofs_check
    cert = dict(fma_cert(), float_claim={"format": "binary64", "tolerance": "1/1000"})

    def lying(c, *a, **k):
        return {"float_claim": {"format": "binary64", "tolerance": c["float_claim"]["tolerance"],
                                "bound": "1e-3", "bound_exact": "1/1000", "decisions": 1}}
    monkeypatch.setattr(proofs_check, "check", lying)
    monkeypatch.setitem(fz.KINDS, "planted", lambda rng: json.loads(json.dumps(cert)))
    rep = fz.campaign(2, seed=0, kinds=["planted"], out=str(tmp_path))
    assert rep["verified"] == 2 and rep["passes"] >= 2 * 12
    f = rep["findings"][0]
    unfused = ("seq", "reversed", "pairwise", "random-1", "random-2", "random-3", "key-scores")
    for name in unfused:            # x_1 stays at 1: a wrong decision and an output 1 from its target
        assert (name, "block 1: sequence 0: token 0: a ReLU decision differs") in f["contradictions"]
        assert (name, "sequence 0: Hausdorff distance to the target set exceeds the tolerance") in f["contradictions"]
        assert (name, "sequence 0: token 0: error beyond the proven bound 0.001") in f["bound"]
    assert not any(name == "fma" for name, _ in f["contradictions"] + f["bound"])
    assert rep["contradictions"] >= 2 * len(unfused) and rep["bound_exceeded"] >= 2 * len(unfused)
    assert json.loads(open(f["file"]).read())["dataset"] == cert["dataset"]


# ------------------------------------------------------------------ the campaign
@pytest.fixture(scope="module")
def ordinary():
    return fz.campaign(len(ORDINARY) * 6, seed=11, kinds=ORDINARY)


def test_campaign_finds_no_contradiction(ordinary):
    rep = ordinary
    assert rep["contradictions"] == 0 and rep["bound_exceeded"] == 0, rep["findings"]
    assert rep["error"] == 0 and rep["pass_errors"] == 0, rep["findings"]
    assert not any("generator_error" in f for f in rep["findings"])
    assert rep["verified"] >= len(ORDINARY) * 2 and rep["passes"] >= rep["verified"] * 12
    assert 0 < rep["ratio"] <= 1


def test_campaign_covers_every_kind(ordinary):
    by = ordinary["by_kind"]
    assert set(by) == set(ORDINARY)
    for kind, c in by.items():
        assert c["generated"] > 0, kind
    assert by["robust"]["verified"] > 0 and by["robust-mutant"]["verified"] > 0
    assert sum(c["verified"] for k, c in by.items() if k in fz.HAND) >= 10
    # hand-made certificates carry their weights' exact outputs: never rejected
    assert all(by[k]["rejected"] == 0 and by[k]["malformed"] == 0 for k in ORDINARY if k in fz.HAND)


@pytest.mark.parametrize("kind", sorted(fz.AIMED))
def test_aimed_kind(kind):
    rep = fz.campaign(4, seed=5, kinds=[kind])
    assert rep["generated"] == 4 and rep["error"] == 0
    assert rep["contradictions"] == 0 and rep["bound_exceeded"] == 0, rep["findings"]
