"""Float-robust constructions (build(ds, robust=...)) and the float claim proofs_check proves.

The robust weights are run by the independent NumPy pass (exactseq/floatpass.py) and by a
pass summing in reversed order, and must interpolate within the tolerance their float claim
states: relative, each output within T max(1, |target|), T the smallest 2^-k not below the
bound proofs_check/floatclaim.py proves; the claim must never be certified for a wrong
tolerance or a wrong certificate.
"""
import copy
import json
import math
import random
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from exactseq import certificate, floatsafe
from exactseq.cli import main
from exactseq.construction import build
from exactseq.construction import robust as rb
from exactseq.dataset import from_obj, load
from exactseq.numbers import Point
from proofs_check import report as pc_report

np = pytest.importorskip("numpy")
fp = pytest.importorskip("exactseq.floatpass")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import families  # noqa: E402
import float_families as ffam  # noqa: E402

EXAMPLES = {"figure5": 11, "circle": 11, "classification": 11, "masked": 13}   # robust blocks
FRAGILE = {"dimension": 2, "sequences": [        # 10^30 beside 10^-30
    {"name": "big", "input": [["1e30", 0], [0, "1e-30"]], "output": [["1e-30", "1e-30"]]},
    {"name": "small", "input": [["1e-30", 0], [0, "1e30"]], "output": [[1, "1e30"]]}]}
THIRD = {"dimension": 2, "sequences": [{"input": [[0, 0], [1, 2]], "output": [["1/3", 1]]},
                                       {"input": [[0, 0], [2, 1]], "output": [[1, 1]]}]}
NESTED = {"dimension": 2, "sequences": [
    {"input": [[0, 0], [1, 0]], "output": [[5, 5]]},
    {"input": [[0, 0], [1, 0], [0, 1]], "output": [[5, 5], [0, 0], [1, 0]]},
    {"input": [[0, 0], [1, 0], [0, 1], [1, 1]], "output": [[2, 2]]}]}


def robust_cert(ds, fmt="float64"):
    cons = build(ds, robust=fmt)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    cert["float_claim"] = floatsafe.float_claim(ds, fmt, cert)
    return cons, cert


def tol(ds):
    return 1e-9 * float(floatsafe.target_scale(ds))


def float_error(cert, fmt="float64"):
    """The largest absolute (Hausdorff) error of the NumPy pass."""
    return fp.forward(cert, np.float64 if fmt == "float64" else np.float32)[1]


def relative_errors(outputs, cert):
    """Per sequence, the relative Hausdorff error the claim bounds: every distance
    |o - y| divided by max(1, |y|_2), nearest in both directions (a float output
    token within T max(1, |y|) of the target y it tracks is within T here)."""
    errs = []
    for o, Y in zip(outputs, fp.convert(cert, np.float64)[2]):
        D = np.sqrt(((np.asarray(o, np.float64)[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2))
        R = D / np.maximum(1.0, np.sqrt((Y ** 2).sum(axis=1)))[None, :]
        errs.append(float(max(R.min(axis=1).max(), R.min(axis=0).max())))
    return errs


def relative_error(cert, fmt="float64"):
    """The largest relative error (relative_errors) of the NumPy pass."""
    out = fp.forward(cert, np.float64 if fmt == "float64" else np.float32)[0]
    return max(relative_errors(out, cert))


def verify(cert):
    return pc_report.run(cert)


def is_power_of_two(q):
    q = Fraction(q)
    return q.numerator == 1 and q.denominator & (q.denominator - 1) == 0


def pass_errors(cert, fmt="float64"):
    """Per-sequence relative errors (relative_errors) of the NumPy pass and of the pass
    on reversed coordinates (another summation order)."""
    dtype = np.float64 if fmt == "float64" else np.float32
    out = fp.forward(cert, dtype)[0]
    return [relative_errors(out, cert), ffam.permuted_relative(cert, dtype)]


# ------------------------------------------------------------------ float64: examples and families
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_robust_float64(name):
    ds = load(str(ROOT / f"examples/{name}.json"))
    cons, cert = robust_cert(ds)
    assert len(cert["blocks"]) == EXAMPLES[name] == len(build(ds).blocks) + 1   # the cube shift
    verdict, res = verify(cert)
    assert verdict == "verified", res["reason"]
    fc = res["float_claim"]
    T, bound = Fraction(fc["tolerance"]), Fraction(fc["bound_exact"])
    assert fc["format"] == "binary64" and cert["float_claim"]["relative"] is True
    assert is_power_of_two(T) and T / 2 < bound <= T <= Fraction(1, 2 ** 20)
    assert relative_error(cert) <= float(bound)   # floatpass is one such pass
    assert res["blocks"] <= res["block_bound"] and res["width"] <= 4


@pytest.mark.parametrize("family,args,blocks", [
    ("generic", (10, 50, 100, 8, 3), 62),           # N = 10, 50-100 tokens, d = 8, m = 3
    ("decimals", (20, 50, 16, 5), 205),             # N = 20, 50 tokens, d = 16, m = 5, overlap 0.3
])
def test_families_robust_float64(family, args, blocks):
    ds = from_obj(getattr(families, family)(*args))
    cons, cert = robust_cert(ds)
    assert len(cert["blocks"]) == blocks and cons.phase_blocks["leaders"] == ds.sum_m + 1
    plain_err = float_error(json.loads(certificate.dumps(certificate.build(ds, build(ds)))))
    err = float_error(cert)
    assert err <= tol(ds) < plain_err or err <= tol(ds) and family == "decimals"
    verdict, res = verify(cert)
    assert verdict == "verified", res["reason"]
    assert relative_error(cert) <= float(Fraction(res["float_claim"]["bound_exact"])) \
        <= float(Fraction(cert["float_claim"]["tolerance"]))


def test_fragile_magnitudes():
    """10^30 beside 10^-30: the plain weights err by ~1e86, the robust ones stay within tol."""
    ds = from_obj(FRAGILE)
    cons, cert = robust_cert(ds)
    assert cons.robust["scale"] == "2^-100" and cons.robust["output_scale"] == "2^-100"
    assert relative_error(cert) <= 1e-9
    # the claim's tolerance is at most 1 (relative): a bound beyond it is not a claim
    verdict, res = verify(cert)
    assert verdict == "verified" or (verdict == "unknown" and "exceeds the tolerance" in res["reason"])
    assert pc_report.run(cert, claim_required=False)[0] == "verified"      # the exact statements


# ------------------------------------------------------------------ the five float families
SMALL = [(3, 5, 2, 1), (5, 8, 3, 2)]


@pytest.mark.parametrize("family", ffam.FAMILIES)
@pytest.mark.parametrize("size", SMALL, ids=lambda s: "{}x{} d={} m={}".format(*s))
def test_float_families_small(family, size):
    """Each family builds, within the block budget at width 4; the claim is relative and
    proven, and two float64 passes (NumPy, reversed coordinates) end within it."""
    ds = from_obj(ffam.GENERATORS[family](*size, seed=SMALL.index(size)))
    cons, cert = robust_cert(ds)
    assert len(cons.model.blocks) <= 2 * ds.sum_m + 2 * ds.N + 1
    assert max(len(b.ff.U) for b in cons.model.blocks) <= 4
    assert cert["float_claim"]["relative"] is True
    verdict, res = verify(cert)
    if family == "magnitudes" and verdict == "unknown":   # a relative bound beyond 1: no claim
        assert "exceeds the tolerance" in res["reason"]
        assert pc_report.run(cert, claim_required=False)[0] == "verified"
        return
    assert is_power_of_two(cert["float_claim"]["tolerance"])
    assert verdict == "verified", res["reason"]
    bound = Fraction(res["float_claim"]["bound_exact"])
    T = Fraction(cert["float_claim"]["tolerance"])
    assert T / 2 < bound <= T
    for errs in pass_errors(cert):
        assert max(errs) <= float(bound)


COLLIDING = {"dimension": 2, "sequences": [          # equal leader values in floats
    {"input": [["1e20", "0"], ["1e20", "1e-20"]], "output": [["1", "1"], ["2", "1"]]},
    {"input": [["1e20", "0"], ["3", "1"]], "output": [["1", "2"]]}]}


def test_leaders_equal_in_floats_still_build():
    """Both tokens of a sequence must lead and their values along every candidate
    direction are equal in floats: the leaders are ranked exactly (no construction
    error); the exact certificate holds and the claim, not provable, stays unknown."""
    ds = from_obj(COLLIDING)
    cons, cert = robust_cert(ds)
    assert len(cons.model.blocks) == 10 <= 2 * ds.sum_m + 2 * ds.N + 1
    assert cert["float_claim"] == {"format": "binary64", "tolerance": "1/1000000000", "relative": True}
    verdict, res = verify(cert)
    assert verdict == "unknown" and res["reason"] == ("float claim: block 2 (separation): sequence 0: an "
                                                      "attention score gap is within its float error bound")
    del cert["float_claim"]
    assert verify(cert)[0] == "verified"


def test_near_duplicates_in_separation_hats():
    """Tokens 1e-9 apart shared across sequences: separation leads each sequence by a
    token some direction exposes (no hat move, so no tube of width 1e-9 whose slope
    would spoil every token above it), and every float decision is proven."""
    ds = from_obj(ffam.neardup(5, 8, 3, 2, seed=1))
    cons, cert = robust_cert(ds)
    sep = [b for b in cert["blocks"] if b["phase"] == "separation"]
    assert [[c["kind"] for c in b["claims"]] for b in sep] == [["leaders", "disjoint"]]
    verdict, res = verify(cert)
    assert verdict == "verified", res["reason"]
    for errs in pass_errors(cert):
        assert max(errs) <= float(Fraction(res["float_claim"]["bound_exact"]))


@pytest.mark.parametrize("size,blocks", [((10, 10, 4, 2), 43), ((10, 20, 2, 2), 43)],
                         ids=["10x10 d=4", "10x20 d=2"])
def test_near_duplicates_float64(size, blocks):
    """Near twins (1e-9 apart) inside and across sequences, at the sizes where the float
    claim was unknown and an ordinary float64 pass of the weights erred by 2.3: the
    claim is now proven, and the NumPy pass and the pass on reversed coordinates stay
    within the proven (relative) bound; exact block counts, within the budget."""
    ds = from_obj(ffam.neardup(*size, seed=ffam.QUICK.index(size)))
    cons, cert = robust_cert(ds)
    assert len(cons.model.blocks) == blocks <= 2 * ds.sum_m + 2 * ds.N + 1 == 61
    assert cons.phase_blocks == {"separation": 1, "leaders": 21, "collapse": 1, "interpolation": 20}
    assert max(len(b.ff.U) for b in cons.model.blocks) <= 4
    verdict, res = verify(cert)
    assert verdict == "verified", res["reason"]
    fc = res["float_claim"]
    bound, T = Fraction(fc["bound_exact"]), Fraction(fc["tolerance"])
    assert fc["relative"] is True and is_power_of_two(T) and T / 2 < bound <= T <= Fraction(1, 2 ** 10)
    for errs in pass_errors(cert):
        assert max(errs) <= float(bound)
    # targets of about 10^3 beside inputs below 1: each scaled by its own power of two
    assert cons.robust["scale"] == "1" and cons.robust["output_scale"] == "2^-10"


def test_leader_scores_prefer_the_upper_twin():
    """Of two values 1e-9 apart the lower one scores sqrt(8) times lower (a trapezoid
    there would spoil its twin just above); a value scores its gap g, times
    sqrt(g_up / 8 g) when the next value above is nearer than 8 g (the top one: the
    spread above it)."""
    sc = rb._score(np.array([0.0, 1e-9, 1.0, 2.0]), np.diff(np.array([0.0, 1e-9, 1.0, 2.0])))
    assert sc[0] == pytest.approx(1e-9 / 8 ** 0.5, rel=1e-6) and sc[1] == pytest.approx(1e-9, rel=1e-6)
    assert sc[2] == pytest.approx(8 ** -0.5) and sc[3] == pytest.approx(0.5)
    assert rb._score(np.array([3.0]), np.zeros(0)).tolist() == [math.inf]


def test_separation_picks_an_exposed_token():
    """The robust choices lead by a token some direction exposes when one exists; the
    plain construction keeps the first private token."""
    X = [Point([Fraction(0), Fraction(0)]), Point([Fraction(1), Fraction(1)]),
         Point([Fraction(4), Fraction(0)]), Point([Fraction(0), Fraction(4)])]
    ch = rb.SeparationChoices(random.Random(0))
    assert ch.pick(X[:2], X, 2) == X[0] and ch.pick([X[1]], X, 2) == X[1]
    assert ch.pick([X[1], X[3]], X, 2) == X[3]
    from exactseq.construction import separation
    assert separation._pick([X[1], X[3]], X, 2, None) == X[1]


LABELLED = {"dimension": 2, "sequences": [
    {"input": [[0, 1], [1, 0], [2, 1]], "label": "a"},
    {"input": [[0, 1], [1, 1], [2, 2]], "label": "b"},
    {"input": [[3, 1], [1, 0], ["1/2", 2]], "label": "a"},
    {"input": [[1, 2], [2, 1], [0, 0], [3, 3]], "label": "c"},
    {"input": [["-1/4", 1], [1, "7/4"]], "label": "b"}]}


def test_labelled_float32_classes_claim():
    """A labelled dataset: the binary32 claim names the classes and is proven; each
    float32 output is nearer its own class point than any other."""
    ds = from_obj(LABELLED)
    cons, cert = robust_cert(ds, "float32")
    fc = cert["float_claim"]
    assert fc["format"] == "binary32" and fc["relative"] is True and fc["classes"] is True
    verdict, res = verify(cert)
    assert verdict == "verified", res["reason"]
    # the class points (1, 0), (2, 0), (3, 0) are 1 apart: a tolerance below 1/2 decides
    assert Fraction(res["float_claim"]["bound_exact"]) <= Fraction(fc["tolerance"]) <= Fraction(1, 16)
    out = fp.forward(cert, np.float32)[0]
    points = {k: np.array([float(Fraction(c)) for c in v]) for k, v in cert["dataset"]["classes"].items()}
    for p, o in zip(cert["dataset"]["sequences"], out):
        for tok in o:
            dist = {k: np.linalg.norm(tok - v) for k, v in points.items()}
            assert min(dist, key=dist.get) == str(p["label"])


# ------------------------------------------------------------------ float32
@pytest.mark.parametrize("name", ["figure5", "classification"])
def test_examples_robust_float32(name):
    ds = load(str(ROOT / f"examples/{name}.json"))
    cons, cert = robust_cert(ds, "float32")
    verdict, res = verify(cert)
    assert verdict == "verified" and res["float_claim"]["format"] == "binary32"
    bound = Fraction(res["float_claim"]["bound_exact"])
    assert bound <= Fraction(res["float_claim"]["tolerance"]) <= Fraction(1, 2 ** 8)
    assert relative_error(cert, "float32") <= float(bound)


def test_float32_unprovable_is_unknown():
    """Where binary32 decisions cannot be proven the claim is unknown, never certified."""
    ds = from_obj(NESTED)
    _, cert = robust_cert(ds, "float32")
    verdict, res = verify(cert)
    assert verdict == "unknown"
    assert res["reason"] == ("float claim: block 9 (collapse): sequence 1: an attention score "
                             "gap is within its float error bound")


# ------------------------------------------------------------------ planted faults
@pytest.fixture(scope="module")
def fig5():
    return robust_cert(load(str(ROOT / "examples/figure5.json")))[1]


def with_claim(cert, **kw):
    c = copy.deepcopy(cert)
    c["float_claim"].update(kw)
    return c


def test_tolerance_too_small_is_unknown(fig5):
    verdict, res = verify(with_claim(fig5, tolerance="1/100000000000000000000"))
    assert verdict == "unknown"
    assert res["reason"] == ("float claim: the proven error bound 5.85e-13 exceeds the tolerance "
                             "1e-20 (the claim may still hold)")


def test_unreachable_tolerance_is_rejected():
    ds = from_obj(THIRD)
    _, cert = robust_cert(ds)
    verdict, res = verify(with_claim(cert, tolerance="1/10000000000000000000000000000000"))
    assert verdict == "rejected"
    assert res["reason"] == ("float claim: sequence 0: no binary64 point lies within the tolerance "
                             "of the target (1/3, 1)")
    assert verify(cert)[0] == "verified"


@pytest.mark.parametrize("claim,verdict,reason", [
    ({"tolerance": "0"}, "rejected", "float claim: the tolerance must be positive"),
    ({"tolerance": "-1/2"}, "rejected", "float claim: the tolerance must be positive"),
    ({"format": "binary16"}, "malformed",
     'float_claim: expected {"format": "binary64" | "binary32", "tolerance": "p/q"}'),
    ({"tolerance": 0.001}, "malformed",
     'float_claim: expected {"format": "binary64" | "binary32", "tolerance": "p/q"}'),
    ({"tolerance": "one"}, "malformed", 'float_claim: the tolerance must be a rational "p/q"'),
])
def test_contradictory_or_malformed_claims(fig5, claim, verdict, reason):
    assert verify(with_claim(fig5, **claim)) == (verdict, {"verdict": verdict, "reason": reason})


def test_perturbed_weight_is_rejected(fig5):
    bad = copy.deepcopy(fig5)
    k = next(k for k, b in enumerate(bad["blocks"]) if b["phase"] == "interpolation")
    bad["blocks"][k]["ff"]["W"][0][0] = str(Fraction(bad["blocks"][k]["ff"]["W"][0][0]) + Fraction(1, 2 ** 40))
    verdict, res = verify(bad)
    assert verdict == "rejected" and res["reason"].startswith(f"block {k + 1} (interpolation): hat:")


def test_plain_weights_claim_is_unknown():
    """The same claim on the plain construction: its float decisions cannot be proven."""
    ds = from_obj(families.generic(10, 50, 100, 8, 3))
    cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
    cert["float_claim"] = {"format": "binary64", "tolerance": "1/1000"}
    verdict, res = verify(cert)
    assert verdict == "unknown" and res["reason"].startswith("float claim: block ")
    assert "attention score gap is within its float error bound" in res["reason"]


def test_float_claim_only_for_hardmax(fig5):
    soft = dict(copy.deepcopy(fig5), attention="softmax")
    assert verify(soft) == ("malformed", {"verdict": "malformed",
                                          "reason": "float_claim: checked for hardmax certificates only"})


# ------------------------------------------------------------------ the command line
FIG5 = str(ROOT / "examples/figure5.json")


def test_check_robust_states_the_same_claim(tmp_path, capsys):
    """check --robust writes the claim float_claim states: relative, the same 2^-k."""
    out = tmp_path / "f5.cert.json"
    assert main(["check", FIG5, "--robust", "float64", "--quiet", "--certificate", str(out)]) == 0
    written = json.loads(out.read_text())["float_claim"]
    ds = load(FIG5)
    _, cert = robust_cert(ds)
    assert written == cert["float_claim"] == {"format": "binary64", "tolerance": "1/1099511627776",
                                              "relative": True}
    assert main(["verify", str(out)]) == 0


@pytest.mark.parametrize("extra,message", [
    (["--max-width", "7"], "--robust builds one move per layer: it cannot be combined with --max-width"),
    (["--attention", "softmax"], "--robust applies to hardmax only"),
])
def test_check_robust_bad_usage(extra, message, capsys):
    assert main(["check", FIG5, "--robust", "float64"] + extra) == 2
    assert message in capsys.readouterr().err


def test_check_robust_causal_refused(capsys):
    assert main(["check", str(ROOT / "examples/causal.json"), "--robust", "float64"]) == 2
    assert "--robust applies to hardmax only (not to causal attention)" in capsys.readouterr().err


def test_dyadic_choices():
    assert rb.dyadic_in(Fraction(1, 3), Fraction(1, 2)) == Fraction(3, 8)
    assert rb.dyadic_in(10, 13) == 12 and rb.dyadic_in(Fraction(-5, 3), Fraction(-1, 3)) == -1
    with pytest.raises(rb.ConstructionError):
        rb.dyadic_in(1, 1)


def test_proven_bounds_hold_for_the_numpy_pass():
    """On small random datasets (plain and robust), whenever a claim is proven the NumPy
    pass in that format errs by at most the proven bound and takes every decision."""
    import random
    from exactseq import audit, weights as wt
    rng = random.Random(5)
    proven = 0
    for _ in range(12):
        obj = rng.choice([lambda s: families.generic(3, 4, 7, 3, 2, seed=s, overlap=0.5),
                          lambda s: families.decimals(4, 5, 2, 2, overlap=0.6, seed=s),
                          lambda s: families.dyadic(3, 3, 6, 3, 2, bits=4, overlap=0.5, seed=s)])(rng.randrange(10 ** 6))
        ds = from_obj(obj)
        cons = build(ds, robust="float64") if rng.random() < 0.5 else build(ds)
        cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
        for fmt, dtype in (("binary64", "float64"), ("binary32", "float32")):
            cert["float_claim"] = {"format": fmt, "tolerance": "1000000"}
            verdict, res = verify(cert)
            assert verdict in ("verified", "unknown")
            if verdict == "verified":
                proven += 1
                a = audit.audit(wt.parse(cert), dtype, bits=False, use_torch=False)
                assert a["first_wrong_block"] is None
                assert a["max_error"] <= float(Fraction(res["float_claim"]["bound_exact"]))
    assert proven >= 8
