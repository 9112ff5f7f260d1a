"""check builds the float-safe construction by default and states the binary64 claim;
the exact verdict never depends on the claim; --robust requires it; --paper and
--tolerance; the same through exactseq.certify."""
import json
from fractions import Fraction
from pathlib import Path

import pytest

import exactseq
import proofs_check
from exactseq import floatsafe
from exactseq.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIG5 = str(ROOT / "examples/figure5.json")
CLASSES = str(ROOT / "examples/classification.json")


def _json(capsys, *argv):
    status = main(["check", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_default_is_float_safe_with_a_proven_binary64_claim(tmp_path, capsys):
    cert = tmp_path / "c.json"
    status, r = _json(capsys, FIG5, "--certificate", str(cert))
    assert status == 0 and r["verdict"] == "certified" and r["reason"] is None
    assert r["construction"] == {"construction": "float-safe", "format": "float64", "note": None,
                                 "scale": "2^-2"}
    fc = r["float_claim"]
    assert (fc["format"], fc["dtype"], fc["relative"], fc["proven"]) == ("binary64", "float64", True, True)
    bound, tol = Fraction(fc["bound_exact"]), Fraction(fc["tolerance"])
    assert tol / 2 < bound <= tol and tol.numerator == 1 and tol.denominator & (tol.denominator - 1) == 0
    c = json.loads(cert.read_text())
    assert c["float_claim"] == {"format": "binary64", "relative": True, "tolerance": fc["tolerance"]}
    again = proofs_check.check(c)["float_claim"]         # the written claim verifies as stated
    assert again["bound_exact"] == fc["bound_exact"] and again["decisions"] == fc["decisions"]
    assert r["blocks"] == 11 <= r["block_bound"] == 15 and "certificate_note" not in r


def test_default_text_and_quiet(capsys):
    assert main(["check", FIG5, "--json"]) == 0
    fc = json.loads(capsys.readouterr().out)["float_claim"]
    k = Fraction(fc["tolerance"]).denominator.bit_length() - 1
    assert Fraction(fc["tolerance"]) == Fraction(1, 2 ** k)
    assert main(["check", FIG5]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "construction float-safe for float64 (free parameters chosen for floats, inputs scaled by 2^-2)" in out
    claim = [line for line in out if line.startswith("float claim  ")]
    assert len(claim) == 1 and claim[0].startswith(
        "float claim  binary64 (float64): PROVEN: every float pass of the exported weights takes every "
        f"decision of the exact model and ends within 2^-{k} max(1, |y|) of each target y (proven bound "
        f"{fc['bound']}, {fc['decisions']} decisions)")
    assert main(["check", FIG5, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_labelled_data_get_class_decisions(capsys):
    status, r = _json(capsys, CLASSES)
    assert status == 0 and r["float_claim"]["proven"]
    # the class decisions are part of the claim stated (the checker proves them)
    assert floatsafe.trial_claim(exactseq.load(CLASSES))["classes"] is True
    assert "classes" not in floatsafe.trial_claim(exactseq.load(FIG5))


def test_paper_construction_states_the_claim_too(capsys):
    status, r = _json(capsys, FIG5, "--paper")
    assert status == 0 and r["blocks"] == 10
    assert r["construction"] == {"construction": "paper", "format": "float64", "note": "asked for with --paper"}
    assert set(r["float_claim"]) >= {"format", "proven"}


def test_unproven_claim_leaves_the_exact_certificate(tmp_path, capsys):
    cert = tmp_path / "c.json"
    status, r = _json(capsys, FIG5, "--tolerance", "1e-30", "--certificate", str(cert))
    assert status == 0 and r["verdict"] == "certified"
    assert r["float_claim"]["proven"] is False
    reason = r["float_claim"]["reason"]
    assert reason.startswith("the proven error bound ") and reason.endswith(
        " exceeds the tolerance 1e-30 (the claim may still hold)")
    assert r["certificate_note"] == "exact statements only: the binary64 float claim is not proven and not in it"
    c = json.loads(cert.read_text())
    assert "float_claim" not in c and c["verdict"] == "certified"
    assert proofs_check.check(c)["blocks"] == 11


def test_robust_requires_the_claim_exit_3(tmp_path, capsys):
    cert = tmp_path / "c.json"
    assert main(["check", FIG5, "--robust", "float64", "--tolerance", "1e-30", "--certificate", str(cert)]) == 3
    out = capsys.readouterr().out
    assert "verdict      UNKNOWN: the binary64 float claim is not proven: the proven error bound" in out
    assert (f"certificate  {cert} (exact statements only: the binary64 float claim is not proven and "
            "not in it)") in out
    assert "float_claim" not in json.loads(cert.read_text())
    status, r = _json(capsys, FIG5, "--robust", "float64", "--tolerance", "1e-30")
    assert status == 3 and r["verdict"] == "unknown"
    assert main(["check", FIG5, "--robust", "float64", "--tolerance", "1e-30", "--quiet"]) == 3
    assert capsys.readouterr() == ("", "")


def test_robust_float32_with_a_demanded_tolerance(tmp_path, capsys):
    cert = tmp_path / "c.json"
    status, r = _json(capsys, FIG5, "--robust", "float32", "--tolerance", "1/64", "--certificate", str(cert))
    assert status == 0 and r["float_claim"]["proven"] and r["float_claim"]["tolerance"] == "1/64"
    assert json.loads(cert.read_text())["float_claim"] == {"format": "binary32", "relative": True,
                                                           "tolerance": "1/64"}


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1e-20000000", "1/0", "x" * 300])
def test_bad_tolerance_is_one_line_exit_2(capsys, bad):
    assert main(["check", FIG5, "--tolerance", bad]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("exactseq: error: --tolerance ")
    assert "is not a positive rational" in err


@pytest.mark.parametrize("argv, msg", [
    (["--robust", "float64", "--paper"], "--robust builds the float-safe construction: it cannot be "
                                         "combined with --paper"),
    (["--robust", "float64", "--max-width", "7"], "--robust builds one move per layer: it cannot be "
                                                  "combined with --max-width"),
    (["--paper", "--attention", "softmax"], "--paper applies to hardmax only"),
    (["--tolerance", "1e-9", "--attention", "softmax"], "--tolerance applies to hardmax only"),
])
def test_option_conflicts(capsys, argv, msg):
    assert main(["check", FIG5, *argv]) == 2
    assert capsys.readouterr().err == f"exactseq: error: {msg}\n"


def test_fall_back_to_the_paper_construction(monkeypatch, capsys):
    from exactseq.construction import ConstructionError, robust

    def fail(*a, **k):
        raise ConstructionError("no direction separates enough leaders")
    monkeypatch.setattr(robust, "build", fail)
    status, r = _json(capsys, FIG5)
    assert status == 0 and r["verdict"] == "certified" and r["blocks"] == 10
    assert r["construction"] == {"construction": "paper", "format": "float64", "note":
                                 "the float-safe construction could not be built (no direction "
                                 "separates enough leaders)"}


def test_certify_takes_the_same_options():
    res = exactseq.certify(exactseq.load(FIG5))
    assert res.ok and res.report["float_claim"]["proven"] and res.certificate["float_claim"]["relative"]
    res = exactseq.certify(exactseq.load(FIG5), paper=True)
    assert res.ok and res.report["construction"]["construction"] == "paper" and res.report["blocks"] == 10
    res = exactseq.certify(exactseq.load(FIG5), robust="float64", tolerance="1e-30")
    assert res.verdict == "unknown" and "float_claim" not in res.certificate
    assert proofs_check.check(res.certificate)["blocks"] == 11
    res = exactseq.certify(exactseq.load(FIG5), max_width=7)
    assert res.ok and res.report["width_bound"] == 7
    with pytest.raises(ValueError):
        exactseq.certify(exactseq.load(FIG5), robust="float16")
    with pytest.raises(ValueError):
        exactseq.certify(exactseq.load(FIG5), tolerance=0)


def test_tightest_power_of_two():
    assert floatsafe.tightest(Fraction(3, 1000)) == Fraction(1, 256)
    assert floatsafe.tightest(Fraction(1, 256)) == Fraction(1, 256)
    assert floatsafe.tightest(Fraction(5, 2)) == 4


def test_loading_a_float64_export_as_float32_is_refused(tmp_path, capsys):
    """Rounding exact -> float64 -> float32 is not the correctly rounded float32 value
    (double rounding), so the loader refuses it and names the two correct ways."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("numpy")
    from exactseq.torch import ExactTransformer
    cert = tmp_path / "c.json"
    assert main(["check", FIG5, "--quiet", "--certificate", str(cert)]) == 0
    for dtype in ("float64", "float32"):
        assert main(["export", str(cert), "-o", str(tmp_path / f"w{dtype}.pt"), "--dtype", dtype,
                     "--quiet"]) == 0
    with pytest.raises(ValueError) as e:
        ExactTransformer.load(str(tmp_path / "wfloat64.pt"), dtype=torch.float32)
    assert str(e.value) == ("weights stored in torch.float64 converted to torch.float32 are rounded twice; "
                            "export with --dtype float32 or use ExactTransformer.from_certificate(CERT, "
                            "dtype=torch.float32)")
    a = ExactTransformer.load(str(tmp_path / "wfloat32.pt"))
    b = ExactTransformer.from_certificate(str(cert), dtype=torch.float32)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert ExactTransformer.load(str(tmp_path / "wfloat64.pt")).metadata["dtype"] == "float64"
