"""exactseq audit: float passes beside the exact one, decisions, bits_needed, output modes."""
import json
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exactseq import certificate
from exactseq import rounded as rd
from exactseq import weights as wt
from exactseq.cli import main
from exactseq.construction import build
from exactseq.dataset import from_obj, load
from exactseq.strategies import datasets

from helpers import plain_eval

np = pytest.importorskip("numpy")
audit = pytest.importorskip("exactseq.audit")

ROOT = Path(__file__).resolve().parent.parent
GOOD = str(ROOT / "tests/data/figure5.cert.json")
# 10^30 beside 10^-30: float64 cannot hold both in one token
FRAGILE = {"dimension": 2, "sequences": [
    {"name": "big", "input": [["1e30", 0], [0, "1e-30"]], "output": [["1e-30", "1e-30"]]},
    {"name": "small", "input": [["1e-30", 0], [0, "1e30"]], "output": [[1, "1e30"]]}]}
OVERLAP = {"dimension": 2, "sequences": [          # overlapping inputs: separation blocks
    {"input": [[0, 0], [1, 0], [0, 1]], "output": [[5, 5]]},
    {"input": [[0, 0], [1, 0], [2, 3]], "output": [[1, 1], [-2, 7]]},
    {"input": [[1, 0], [0, 1], ["1/3", "1/7"], [4, 4]], "output": [[0, 0]]}]}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    out = {"figure5": Path(GOOD)}
    for name, obj in (("fragile", FRAGILE), ("overlap", OVERLAP)):
        ds = from_obj(obj)
        out[name] = d / f"{name}.cert.json"
        out[name].write_text(certificate.dumps(certificate.build(ds, build(ds))))
    for name in ("circle", "masked"):
        ds = load(str(ROOT / "examples" / f"{name}.json"))
        out[name] = d / f"{name}.cert.json"
        out[name].write_text(certificate.dumps(certificate.build(ds, build(ds))))
    out["softmax"] = d / "soft.cert.json"
    assert main(["check", str(ROOT / "examples/figure5.json"), "--attention", "softmax", "--tau", "1",
                 "--certificate", str(out["softmax"]), "--quiet"]) == 0
    return {k: str(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def figure5():
    return audit.audit(wt.load(GOOD), "float64")


# ------------------------------------------------------------------ results
def test_figure5_interpolates_in_float64(figure5):
    r = figure5
    assert r["dtype"] == "float64" and r["attention"] == "hardmax" and r["reference"] == "exact"
    assert r["interpolates"] is True and r["first_wrong_block"] is None
    assert r["tol"] == 4e-9                       # 1e-9 times the largest |target coordinate|, 4
    assert 0 <= r["max_error"] <= r["tol"] and r["exact_interpolates"] and r["exact_max_error"] == 0
    assert isinstance(r["bits_needed"], int) and 8 <= r["bits_needed"] <= 64
    assert [b["block"] for b in r["blocks"]] == list(range(1, 11))
    assert [b["phase"] for b in r["blocks"]] == ["separation"] + ["leaders"] * 4 + ["collapse"] + \
        ["interpolation"] * 4
    for b in r["blocks"]:
        assert b["ff_differs"] in (False, None) and b["attention_differs"] in (False, None)
        assert 0 <= b["deviation"] < 1e-9
    assert r["blocks"][5]["ff_differs"] is None and r["blocks"][5]["attention_differs"] is False
    assert r["blocks"][1]["attention_differs"] is None          # V = 0: no attention decision
    assert [s["name"] for s in r["sequences"]] == ["X1", "X2", "X3"]
    assert all(s["interpolates"] and s["error"] <= r["max_error"] for s in r["sequences"])
    json.dumps(r, allow_nan=False)


def test_bits_search_is_doubling_then_bisection(figure5):
    tried = figure5["bits_search"]["tried"]
    bits = [t["bits"] for t in tried]
    n = next(i for i, t in enumerate(tried) if t["passes"])
    assert bits[:n + 1] == [8 * 2 ** i for i in range(n + 1)]
    found = figure5["bits_needed"]
    assert {"bits": found, "passes": True} in [{k: t[k] for k in ("bits", "passes")} for t in tried]
    assert any(t["bits"] == found - 1 and not t["passes"] for t in tried)
    # the criterion itself: every decision and the final error, at the bits found
    model = wt.load(GOOD)
    targets = [np.array([[float(c) for c in t] for t in Y]) for Y in model.targets]
    assert audit._bits_ok(model, found, targets, figure5["tol"]) == (True, None)
    assert audit._bits_ok(model, 8, targets, figure5["tol"])[0] is False


def test_fragile_certificate_fails_in_float64(certs):
    r = audit.audit(wt.load(certs["fragile"]), "float64", use_torch=False)
    assert r["interpolates"] is False and r["exact_interpolates"] is True
    assert isinstance(r["first_wrong_block"], int) and 1 <= r["first_wrong_block"] <= len(r["blocks"])
    wrong = r["blocks"][r["first_wrong_block"] - 1]
    assert wrong["ff_differs"] or wrong["attention_differs"]
    assert all(not (b["ff_differs"] or b["attention_differs"]) for b in r["blocks"][:r["first_wrong_block"] - 1])
    assert r["max_error"] > r["tol"] == pytest.approx(1e21)
    assert isinstance(r["bits_needed"], int) and r["bits_needed"] > 53
    json.dumps(r, allow_nan=False)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_narrow_formats(dtype):
    r = audit.audit(wt.load(GOOD), dtype, bits=False, use_torch=False)
    assert r["dtype"] == dtype and r["interpolates"] is False and r["bits_needed"] is None
    assert r["max_error"] > r["tol"] and r["bits_search"] is None
    assert audit.audit(wt.load(GOOD), dtype, tol=20.0, bits=False, use_torch=False)["interpolates"]


def test_softmax_certificate(certs):
    r = audit.audit(wt.load(certs["softmax"]), "float64", max_bits=128, use_torch=False)
    assert r["attention"] == "softmax" and r["tau"] == "1" and r["reference"] == "mpmath at 1024 bits"
    assert r["interpolates"] is True and r["exact_interpolates"] is True
    assert [b["phase"] for b in r["blocks"]].count("saturate") == 1
    assert r["bits_search"]["max_bits"] == 128


def test_torch_beside(certs):
    pytest.importorskip("torch")
    r = audit.audit(wt.load(GOOD), "float64", bits=False)
    t = r["torch"]
    assert t["module"] == "exactseq.torch.ExactTransformer" and t["interpolates"] is True
    assert len(t["blocks"]) == 10 and t["max_error"] < 1e-9 and len(t["sequence_errors"]) == 3
    r = audit.audit(wt.load(certs["fragile"]), "bfloat16", bits=False)
    assert r["torch"]["interpolates"] is False
    json.dumps(r, allow_nan=False)


# ------------------------------------------------------------------ the passes themselves
@pytest.mark.parametrize("name", ["figure5", "overlap", "fragile", "masked", "circle"])
def test_exact_pass_is_the_model(certs, name):
    """The exact pass, filtered or not, gives the same decisions and tokens, and (rational
    data) the tokens of a plain dense evaluator."""
    model = wt.load(certs[name])
    a, b = rd.Pass(model, rd.Exact()), rd.Pass(model, rd.Exact(), filtered=False)
    assert a.filtered and not b.filtered
    for _ in model.blocks:
        assert a.step() == b.step()
        assert a.tokens == b.tokens and np.array_equal(a.F, b.F)
    if model.field is None:
        cert = json.loads(Path(certs[name]).read_text())
        for j, seq in enumerate(cert["dataset"]["sequences"]):
            got = a.tokens[a.offsets[j]:a.offsets[j + 1]]
            assert [tuple(x) for x in plain_eval(cert, seq["input"])] == got
    for j, Y in enumerate(model.targets):
        assert set(a.tokens[a.offsets[j]:a.offsets[j + 1]]) == set(Y)


def test_rounded_pass_filters_and_converges(certs):
    model = wt.load(certs["overlap"])
    ex = rd.Pass(model, rd.Exact())
    hi, hi_plain = rd.Pass(model, rd.Rounded(400)), rd.Pass(model, rd.Rounded(400), filtered=False)
    for blk in model.blocks:
        d, h = ex.step(), hi.step()
        assert h == hi_plain.step()
        assert rd.ff_differs(d[0], h[0], len(ex.tokens)) == 0 and h[1] == d[1]
        assert np.abs(hi.F - ex.F).max() <= 1e-100 * max(1.0, np.abs(ex.F).max())
    low, low_plain = rd.Pass(model, rd.Rounded(12)), rd.Pass(model, rd.Rounded(12), filtered=False)
    for _ in model.blocks:
        assert low.step() == low_plain.step()
        assert low.tokens == low_plain.tokens


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(max_sequences=3, max_pool=6), st.sampled_from([10, 24, 53, 200]))
def test_filters_never_change_a_pass(obj, p):
    """On generated data (ties, 10^30 beside 10^-30, tokens at 0), the float64 filters of the
    exact and the p-bit passes decide nothing differently from the unfiltered passes."""
    ds = from_obj(obj)
    model = wt.parse(json.loads(certificate.dumps(certificate.build(ds, build(ds)))))
    for ar in ((rd.Exact(), rd.Exact()), (rd.Rounded(p), rd.Rounded(p))):
        a, b = rd.Pass(model, ar[0]), rd.Pass(model, ar[1], filtered=False)
        for _ in model.blocks:
            assert a.step() == b.step()
            assert a.tokens == b.tokens


def test_ff_differs_accepts_either_side_at_zero():
    ref = rd.Patterns.from_dict({0: (1, 0, -1), 3: (0, -1, -1)}, 3)

    def differs(d):
        return rd.ff_differs(ref, rd.Patterns.from_dict(d, 3), 5)
    assert differs({0: (1, -1, -1)}) == 0
    assert differs({0: (1, 1, -1), 3: (1, -1, -1)}) == 0
    assert differs({0: (-1, 1, -1)}) == 1                 # a unit > 0 turned off
    assert differs({1: (-1, -1, 1)}) == 2                 # token 0 all off, token 1 on
    assert ref == rd.Patterns.from_dict({3: (0, -1, -1), 0: (1, 0, -1)}, 3) != \
        rd.Patterns.from_dict({0: (1, 0, -1)}, 3)


def test_round_exact_to_bits_in_rounded():
    r = rd.Rounded(10)
    x = r.weight(F(1, 3))
    assert F(int(x * 2 ** 11)) / 2 ** 11 == wt.round_exact(F(1, 3), 10)


# ------------------------------------------------------------------ command line
def test_text_report_and_exit_0(capsys):
    assert main(["audit", GOOD, "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"exactseq audit: {GOOD}: hardmax, 10 blocks, 3 sequences")
    assert "first wrong  none" in out and "verdict      INTERPOLATES in float64" in out
    assert "bits needed  " in out and "doubling from 8" in out


def test_json_quiet_and_exit_1(certs, capsys):
    assert main(["audit", certs["fragile"], "--json", "--no-torch", "--no-bits"]) == 1
    r = json.loads(capsys.readouterr().out)
    for key in ("dtype", "interpolates", "first_wrong_block", "max_error", "bits_needed", "blocks",
                "sequences", "tol", "certificate"):
        assert key in r
    assert r["interpolates"] is False and r["bits_needed"] is None and r["certificate"] == certs["fragile"]
    assert main(["audit", certs["fragile"], "--quiet", "--no-torch", "--no-bits"]) == 1
    assert capsys.readouterr() == ("", "")
    assert main(["audit", GOOD, "--quiet", "--no-torch", "--no-bits"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["audit", GOOD, "--quiet", "--no-bits", "--dtype", "float32"]) == 1
    assert main(["audit", GOOD, "--quiet", "--no-bits", "--dtype", "float32", "--tol", "1"]) == 0


@pytest.mark.parametrize("args, text", [
    (["--tol", "x"], "--tol"), (["--tol", "-1"], "--tol"), (["--tol", "nan"], "--tol"),
    (["--max-bits", "4"], "--max-bits"), (["--max-depth", "0"], "--max-depth"),
])
def test_bad_options_exit_2(capsys, args, text):
    assert main(["audit", GOOD, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("exactseq: ") and err.count("\n") == 1 and text in err


def test_missing_file_exit_2(tmp_path, capsys):
    assert main(["audit", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_plot(tmp_path, capsys, certs):
    pytest.importorskip("matplotlib")
    out = tmp_path / "dev.png"
    assert main(["audit", certs["fragile"], "--plot", str(out), "--no-bits", "--json", "--no-torch"]) == 1
    assert json.loads(capsys.readouterr().out)["plot"] == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.png"]
    assert main(["audit", GOOD, "--plot", str(tmp_path / "no" / "x.png")]) == 2
    assert "no directory" in capsys.readouterr().err


def test_plot_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["audit", GOOD, "--plot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "exactseq[plot]" in err and err.count("\n") == 1 and not (tmp_path / "x.png").exists()


def test_audit_without_numpy(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)
    assert main(["audit", GOOD]) == 2
    assert "exactseq[export]" in capsys.readouterr().err


def test_audit_summary():
    cert = json.loads(Path(GOOD).read_text())
    r, text = audit.audit_summary(cert, "float64", use_torch=False)
    assert r["interpolates"] and r["first_wrong_block"] is None and isinstance(r["bits_needed"], int)
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].startswith("audit        float64: interpolates within 4e-09")
    assert f"bits needed {r['bits_needed']}" in lines[1]
    with pytest.raises(audit.AuditError):
        audit.audit_summary({"format": "x"}, "float64")
    with pytest.raises(audit.AuditError):
        audit.audit_summary(cert, "float16")
