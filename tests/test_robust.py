"""Float-robust constructions (build(ds, robust=...)) and the float claim proofs_check proves.

The robust weights are run by the independent NumPy pass (exactseq/floatpass.py) and must
interpolate within the audit's default tolerance, 1e-9 max(1, |target|); the float claim
(proofs_check/floatclaim.py) must be proven for them, and must never be certified for a
wrong tolerance or a wrong certificate.
"""
import copy
import json
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from exactseq import certificate
from exactseq.cli import main
from exactseq.construction import build
from exactseq.construction import robust as rb
from exactseq.dataset import from_obj, load
from proofs_check import report as pc_report

np = pytest.importorskip("numpy")
fp = pytest.importorskip("exactseq.floatpass")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import families  # noqa: E402

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
    cert["float_claim"] = rb.float_claim(ds, fmt, cert)
    return cons, cert


def tol(ds):
    return 1e-9 * float(rb.target_scale(ds))


def float_error(cert, fmt="float64"):
    return fp.forward(cert, np.float64 if fmt == "float64" else np.float32)[1]


def verify(cert):
    return pc_report.run(cert)


# ------------------------------------------------------------------ float64: examples and families
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_robust_float64(name):
    ds = load(str(ROOT / f"examples/{name}.json"))
    cons, cert = robust_cert(ds)
    assert len(cert["blocks"]) == EXAMPLES[name] == len(build(ds).blocks) + 1   # the cube shift
    verdict, res = verify(cert)
    assert verdict == "verified", res["reason"]
    fc = res["float_claim"]
    assert fc["format"] == "binary64" and Fraction(fc["tolerance"]) == rb.target_scale(ds) / 10 ** 9
    err = float_error(cert)
    assert err <= tol(ds) and err <= float(Fraction(fc["bound_exact"]))   # floatpass is one such pass
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
    assert err <= float(Fraction(res["float_claim"]["bound_exact"])) <= tol(ds)


def test_fragile_magnitudes():
    """10^30 beside 10^-30: the plain weights err by ~1e86, the robust ones stay within tol."""
    ds = from_obj(FRAGILE)
    cons, cert = robust_cert(ds)
    assert cons.robust["scale"] == "2^-100"
    assert float_error(cert) <= tol(ds)
    assert verify(cert)[0] == "verified"


# ------------------------------------------------------------------ float32
@pytest.mark.parametrize("name", ["figure5", "classification"])
def test_examples_robust_float32(name):
    ds = load(str(ROOT / f"examples/{name}.json"))
    cons, cert = robust_cert(ds, "float32")
    verdict, res = verify(cert)
    assert verdict == "verified" and res["float_claim"]["format"] == "binary32"
    bound = Fraction(res["float_claim"]["bound_exact"])
    assert bound <= Fraction(res["float_claim"]["tolerance"]) <= rb.target_scale(ds) / 2 ** 8
    assert float_error(cert, "float32") <= float(bound)


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
    assert res["reason"] == ("float claim: the proven error bound 1.2e-12 exceeds the tolerance "
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


def test_check_robust_text(capsys):
    assert main(["check", FIG5, "--robust", "float64"]) == 0
    out = capsys.readouterr().out
    assert "robust       float64: 11 blocks (plain 10, +1), largest |parameter| ~102 (plain ~49)" in out
    assert "float claim  binary64 pass within 4e-09 of every target, every decision as the exact " \
           "model: PROVEN (bound 1.198e-12, 245 decisions)" in out
    assert "verdict      CERTIFIED" in out


def test_check_robust_json_quiet_certificate(tmp_path, capsys):
    assert main(["check", FIG5, "--robust", "float64", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    out = tmp_path / "f5.cert.json"
    assert main(["check", FIG5, "--robust", "float64", "--json", "--certificate", str(out)]) == 0
    rep = json.loads(capsys.readouterr().out)
    r = rep["robust"]
    assert rep["verdict"] == "certified" and rep["blocks"] == 11
    assert (r["format"], r["blocks"], r["plain_blocks"], r["extra_blocks"]) == ("float64", 11, 10, 1)
    assert r["float_claim"] == {"format": "binary64", "tolerance": "1/250000000"}
    assert r["float_claim_proven"]["decisions"] == 245
    assert main(["verify", str(out), "--json"]) == 0
    ver = json.loads(capsys.readouterr().out)
    assert ver["verdict"] == "verified" and ver["float_claim"]["tolerance"] == "1/250000000"
    assert main(["verify", str(out)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        "every output equals its target exactly; a binary64 pass decides as the exact model and "
        "ends within 1/250000000 (proven bound 1.198e-12)")


def test_check_robust_float32(capsys):
    assert main(["check", FIG5, "--robust", "float32", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)["robust"]
    assert r["float_claim"] == {"format": "binary32", "tolerance": "1/1024"}
    assert r["float_claim_proven"]["format"] == "binary32"


def test_check_robust_unknown_exit_3(tmp_path, capsys):
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(NESTED))
    assert main(["check", str(path), "--robust", "float32"]) == 3
    out = capsys.readouterr().out
    assert "float claim  binary32 pass within 0.00488 of every target" in out and "not proven" in out
    assert "verdict      UNKNOWN: float claim: block 9 (collapse)" in out


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
