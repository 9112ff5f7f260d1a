"""The Python API (exactseq.api, re-exported lazily by exactseq) and ``exactseq eval``."""
import doctest
import json
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest

import proofs_check
import exactseq
from exactseq import api
from exactseq.cli import main
from exactseq.tikhonov import lower, upper

from helpers import plain_eval

ROOT = Path(__file__).resolve().parent.parent
FIG5 = str(ROOT / "examples/figure5.json")
CIRCLE = str(ROOT / "examples/circle.json")
MASKED = str(ROOT / "examples/masked.json")
GOOD = str(ROOT / "tests/data/figure5.cert.json")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Certificates written by the command line: hardmax for the three examples, softmax for figure5."""
    d = tmp_path_factory.mktemp("certs")
    out = {}
    for name, path, extra in (("figure5", FIG5, []), ("circle", CIRCLE, []), ("masked", MASKED, []),
                              ("softmax", FIG5, ["--attention", "softmax"])):
        out[name] = str(d / f"{name}.json")
        assert main(["check", path, "--quiet", "--certificate", out[name], *extra]) == 0
    return out


def test_doctests_pass():
    assert doctest.testmod(api).failed == 0


def test_names_are_exported_lazily():
    for name in ("load", "dataset_from", "build", "certify", "check", "evaluate", "load_certificate",
                 "save_certificate", "Model", "Result", "parameter_norms", "tikhonov_bound", "figure"):
        assert name in dir(exactseq) and callable(getattr(exactseq, name))
    with pytest.raises(AttributeError):
        getattr(exactseq, "no_such_thing")
    code = ("import sys, exactseq.cli\n"
            "try:\n    exactseq.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sympy', 'exactseq.api', 'matplotlib', 'torch', 'hypothesis') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_strategies_import_without_hypothesis():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import exactseq.strategies as s\n"
            "try:\n    s.datasets()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "pip install 'exactseq[test]'" in out.stdout


def test_load_from_path_dict_and_lists():
    a = exactseq.load(FIG5)
    b = exactseq.load(json.load(open(FIG5)))
    assert exactseq.load(a) is a
    assert [p.input for p in a.pairs] == [p.input for p in b.pairs]
    c = exactseq.dataset_from(inputs=[p.input for p in a.pairs], outputs=[p.output for p in a.pairs],
                              names=[p.name for p in a.pairs])
    assert [(p.name, p.input, p.output) for p in c.pairs] == [(p.name, p.input, p.output) for p in a.pairs]
    g = exactseq.dataset_from(inputs=[np.array([[0, 0], [0.5, 1]])], outputs=[np.array([[0.1, 3]])])
    assert g.pairs[0].input[1] == (Fraction(1, 2), 1) and g.pairs[0].output[0][0] == Fraction(1, 10)
    assert exactseq.build(g)(np.array([[0, 0], [0.5, 1]])) == [(Fraction(1, 10), 3)] * 2
    f = exactseq.dataset_from(inputs=[[[0.1, 2], ["sqrt(2)", 1]]], outputs=[[[0, 0]]])
    assert f.pairs[0].input[0][0] == Fraction(1, 10) and f.field is not None   # 0.1 is 1/10
    with pytest.raises(exactseq.DatasetError) as e:
        exactseq.dataset_from(inputs=[[[0, 0], [0, 0]]], outputs=[[[1, 1]]])
    assert "\n" not in str(e.value) and "equal" in str(e.value)
    with pytest.raises(exactseq.DatasetError):
        exactseq.dataset_from(inputs=[[[0, 0]]], outputs=[])
    with pytest.raises(exactseq.DatasetError):
        exactseq.load({"sequences": []})
    with pytest.raises(TypeError):
        exactseq.load(3)


def test_certify_report_is_the_check_json(capsys):
    for path in (FIG5, CIRCLE):
        assert main(["check", path, "--json"]) == 0
        cli = json.loads(capsys.readouterr().out)
        res = exactseq.certify(exactseq.load(path))
        assert res.verdict == "certified" and res.ok
        rep = res.report
        assert set(cli) <= set(rep)
        for key in cli:
            if key in ("time_s",):
                continue
            if key == "margins" and path == CIRCLE:     # a decimal reading of an algebraic bound
                assert set(rep[key]) == set(cli[key])
                continue
            assert rep[key] == cli[key], key
        # and check() on the certificate alone gives the same, bar the timing
        again = exactseq.check(res.certificate, source=path)
        assert {k: v for k, v in again.items() if k != "time_s"} == \
            {k: v for k, v in rep.items() if k not in ("time_s", "construction")}
        assert rep["construction"]["construction"] == "float-safe" and rep["float_claim"]["proven"]


def test_certify_softmax_report_matches_check(capsys):
    assert main(["check", FIG5, "--json", "--attention", "softmax"]) == 0
    cli = json.loads(capsys.readouterr().out)
    res = exactseq.certify(FIG5, attention="softmax")
    assert res.verdict == "certified" and res.model.tau == Fraction(cli["tau"])
    for key in cli:
        if key != "time_s":
            assert res.report[key] == cli[key], key
    with pytest.raises(ValueError):
        exactseq.build(FIG5, tau="1/10")          # tau is for softmax


def test_save_load_check_and_evaluate(tmp_path, certs, capsys):
    res = exactseq.certify(FIG5)
    path = tmp_path / "c.json"
    res.save(path)
    assert main(["verify", str(path), FIG5]) == 0
    capsys.readouterr()
    assert json.loads(path.read_text()) == json.loads(open(certs["figure5"]).read())
    cert = exactseq.load_certificate(path)
    assert exactseq.check(cert)["verdict"] == "certified"
    assert exactseq.check(str(path))["dataset"]["file"] == str(path)
    bad = json.load(open(ROOT / "tests/data/figure5.bad.cert.json"))
    rep = exactseq.check(bad)
    assert rep["verdict"] == "failed" and rep["reason"].startswith("block")
    assert "parameter_norms" not in rep
    (tmp_path / "junk.json").write_text('{"format": "exactseq-certificate", "a": 1, "a": 2}')
    with pytest.raises(exactseq.CertificateError) as e:
        exactseq.load_certificate(tmp_path / "junk.json")
    assert "\n" not in str(e.value) and "duplicate key" in str(e.value)
    (tmp_path / "other.json").write_text('{"format": "other"}')
    with pytest.raises(exactseq.CertificateError):
        exactseq.load_certificate(tmp_path / "other.json")
    failed = exactseq.Result("failed", {}, None, None)
    with pytest.raises(exactseq.CertificateError):
        failed.save(tmp_path / "never.json")


@pytest.mark.parametrize("name", ["figure5", "circle", "masked"])
def test_model_maps_each_input_onto_its_output(certs, name):
    cert = exactseq.load_certificate(certs[name])
    model = exactseq.Model(cert)
    for s in cert["dataset"]["sequences"]:
        assert set(model(s["input"])) == set(model.tokens(s["output"]))
        states = model.trajectory(s["input"])
        assert len(states) == len(model.blocks) + 1 and states[-1] == model(s["input"])


def test_exact_evaluation_agrees_with_a_plain_evaluator():
    cert = json.load(open(GOOD))
    rng = random.Random(5)
    for _ in range(40):
        X = [[Fraction(rng.randint(-30, 30), rng.randint(1, 6)) for _ in range(2)]
             for _ in range(rng.randint(1, 5))]
        assert [list(t) for t in exactseq.evaluate(cert, X)] == plain_eval(cert, X)


def _mp_eval(cert, X, theta=None):
    """A dense hardmax evaluator in 80-digit floating point (ties within 10^-60 averaged)."""
    mpmath.mp.dps = 80

    def num(x):
        cs = x if isinstance(x, list) else [x]
        return sum(mpmath.mpf(Fraction(c).numerator) / Fraction(c).denominator * (theta ** i if i else 1)
                   for i, c in enumerate(cs))
    d = cert["dataset"]["dimension"]

    def mat(M):
        k = M["kind"]
        if k == "zero":
            return mpmath.zeros(d, d)
        if k == "scalar":
            return num(M["c"]) * mpmath.eye(d)
        if k == "rank1":
            a = mpmath.matrix([num(x) for x in M["a"]])
            return num(M.get("c", "1")) * a * a.T
        return mpmath.matrix([[num(x) for x in r] for r in M["rows"]])
    X = [mpmath.matrix(x) for x in X]
    for b in cert["blocks"]:
        ff, sa = b["ff"], b["sa"]
        H = []
        for x in X:
            h = num(ff["eta"]) * x
            for u, bk, k in zip(ff["U"], ff["b"], range(len(ff["b"]))):
                act = max(sum(num(u[i]) * x[i] for i in range(d)) + num(bk), 0)
                h += mpmath.matrix([num(ff["W"][i][k]) * act for i in range(d)])
            H.append(h)
        A, V = mat(sa["A"]), mat(sa["V"])
        out = []
        for h in H:
            q = A * h
            sc = [(q.T * g)[0] for g in H]
            best = max(sc)
            C = [j for j, s in enumerate(sc) if s >= best - mpmath.mpf(10) ** -60]
            avg = sum((H[j] for j in C), mpmath.zeros(d, 1)) / len(C)
            out.append(num(sa["rho"]) * h + V * avg)
        X = out
    return X


def test_algebraic_inputs(certs):
    # a rational certificate on algebraic inputs: a number field of their own
    cert = json.load(open(GOOD))
    X = [["sqrt(2)", "1/3"], [1, "2^(1/2)/3"], ["(1+sqrt(5))/2", -1]]
    out = exactseq.evaluate(cert, X)
    ref = _mp_eval(cert, [[mpmath.sqrt(2), mpmath.mpf(1) / 3], [1, mpmath.sqrt(2) / 3],
                          [(1 + mpmath.sqrt(5)) / 2, -1]])
    text = exactseq.as_text(out)
    for t, r in zip(out, ref):
        for c, v in zip(t, r):
            mid = (lower(c, 80) + upper(c, 80)) / 2
            assert abs(mpmath.mpf(mid.numerator) / mid.denominator - v) < mpmath.mpf(10) ** -6
    assert all(isinstance(c, str) for t in text for c in t)
    # a certificate over Q(sqrt(2), sqrt(3)): coordinates in its roots, printed in them
    cc = exactseq.load_certificate(certs["circle"])
    model = exactseq.Model(cc)
    got = exactseq.as_text(model([["sqrt(6)/4", "sqrt(8)"], ["1/2", 0]]), model)
    assert all("theta" not in c for t in got for c in t)
    with pytest.raises(exactseq.InputError) as e:
        model([["sqrt(5)", 0]])
    assert "not in the certificate's number field" in str(e.value) and "sqrt(2)" in str(e.value)
    with pytest.raises(exactseq.InputError) as e:
        model([[1, 2, 3]])
    assert str(e.value) == "token 0: expected a list of 2 coordinates"


def _float_softmax(cert, X):
    d = cert["dataset"]["dimension"]
    tau = float(Fraction(cert["softmax"]["tau"]))

    def f(x):
        return float(Fraction(x))

    def dense(M):
        k = M["kind"]
        if k == "zero":
            return np.zeros((d, d))
        if k == "scalar":
            return f(M["c"]) * np.eye(d)
        if k == "rank1":
            a = np.array([f(x) for x in M["a"]])
            return f(M.get("c", "1")) * np.outer(a, a)
        return np.array([[f(x) for x in r] for r in M["rows"]])
    X = np.array(X, dtype=float)
    for b in cert["blocks"]:
        ff, sa = b["ff"], b["sa"]
        U = np.array([[f(x) for x in r] for r in ff["U"]]).reshape(-1, d)
        bb = np.array([f(x) for x in ff["b"]])
        W = np.array([[f(x) for x in r] for r in ff["W"]]).reshape(d, -1)
        X = f(ff["eta"]) * X + np.maximum(X @ U.T + bb, 0) @ W.T
        S = (X @ dense(sa["A"]).T) @ X.T / tau
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        X = f(sa["rho"]) * X + P @ (X @ dense(sa["V"]).T)
    return X


def test_softmax_enclosures_contain_the_float_forward_pass(certs):
    cert = exactseq.load_certificate(certs["softmax"])
    model = exactseq.Model(cert)
    assert model.attention == "softmax" and model.tau is not None
    for s in cert["dataset"]["sequences"]:          # dataset inputs: exact outputs
        out = model(s["input"])
        assert all(e.exact for e in out)
        assert {e.centre for e in out} == set(model.tokens(s["output"]))
    rng = random.Random(3)
    for _ in range(60):
        X = [[Fraction(rng.randint(-40, 40), 8) for _ in range(2)] for _ in range(rng.randint(1, 4))]
        out = model(X)
        ref = _float_softmax(cert, [[float(c) for c in t] for t in X])
        for e, r in zip(out, ref):
            c = np.array([float(x) for x in e.centre])
            assert np.max(np.abs(c - r)) <= float(e.radius) + 1e-7 * (1 + np.max(np.abs(r)))
    with pytest.raises(exactseq.InputError):
        model([["sqrt(2)", 0]])


# ------------------------------------------------------------------ exactseq eval
def _inputs(tmp_path, seqs):
    p = tmp_path / f"in{len(list(tmp_path.glob('in*.json')))}.json"
    p.write_text(json.dumps({"sequences": seqs}))
    return str(p)


def test_eval_text_json_quiet(tmp_path, certs, capsys):
    inp = _inputs(tmp_path, [{"name": "X1", "input": [[0, 0], [2, 0], [1, 2]], "output": [[3, 3]]},
                             {"name": "new", "input": [["1/2", 3], [2, 2], [5, "-0.25"]]}])
    assert main(["eval", certs["figure5"], inp]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("exactseq eval:") and "hardmax" in out[0]
    assert out[1] == "sequence 0 ('X1'): 3 tokens -> {(3, 3) x3}; equals the given output"
    assert out[2].startswith("sequence 1 ('new'): 3 tokens -> {")
    assert main(["eval", certs["figure5"], inp, "--json"]) == 0
    o = json.loads(capsys.readouterr().out)
    assert o["all_equal"] is True and o["sequences"][0]["equal"] is True
    assert o["sequences"][0]["output_set"] == [["3", "3"]] and "equal" not in o["sequences"][1]
    model = exactseq.Model(exactseq.load_certificate(certs["figure5"]))
    assert o["sequences"][1]["output"] == exactseq.as_text(model([["1/2", 3], [2, 2], [5, "-0.25"]]))
    assert main(["eval", certs["figure5"], inp, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_eval_differs_is_status_1(tmp_path, certs, capsys):
    inp = _inputs(tmp_path, [{"input": [[0, 0], [2, 0], [1, 2]], "output": [[3, 4]]}])
    assert main(["eval", certs["figure5"], inp]) == 1
    assert "DIFFERS" in capsys.readouterr().out
    assert main(["eval", certs["figure5"], inp, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["all_equal"] is False


def test_eval_algebraic_and_softmax(tmp_path, certs, capsys):
    inp = _inputs(tmp_path, [{"input": [[1, 0], ["sqrt(3)/2", "1/2"], ["1/2", "sqrt(3)/2"]],
                              "output": [[0, 1]]},
                             {"input": [["sqrt(2)/2", "sqrt(2)/2"], [0, 0]]}])
    assert main(["eval", certs["circle"], inp]) == 0
    out = capsys.readouterr().out
    assert "equals the given output" in out and "sqrt(2)" in out
    inp = _inputs(tmp_path, [{"input": [[0, 0], [2, 0], [1, 2]], "output": [[3, 3]]},
                             {"input": [["-23/8", 4], [-4, -1], ["-25/8", "23/8"]]}])
    assert main(["eval", certs["softmax"], inp]) == 0
    out = capsys.readouterr().out
    assert "softmax" in out and "exact: {(3, 3)}; equals the given output" in out
    assert main(["eval", certs["softmax"], inp, "--json"]) == 0
    o = json.loads(capsys.readouterr().out)
    s0, s1 = o["sequences"]
    assert s0["exact"] and s0["equal"] is True and s0["output"][0] == {"centre": ["3", "3"], "radius": "0"}
    assert set(s1["output"][0]) == {"centre", "radius"}


def test_eval_undecided_softmax_is_status_3(tmp_path, certs, capsys):
    model = exactseq.Model(exactseq.load_certificate(certs["softmax"]))
    rng = random.Random(1)
    for _ in range(200):          # an input whose output is only enclosed
        X = [[Fraction(rng.randint(-40, 40), 8) for _ in range(2)] for _ in range(3)]
        out = model(X)
        if 0 < max(e.radius for e in out) < 1:
            break
    else:
        pytest.skip("no input with a wide enclosure found")
    centres = list(dict.fromkeys(e.centre for e in out))
    inp = _inputs(tmp_path, [{"input": [[str(c) for c in t] for t in X],
                              "output": [[str(c) for c in t] for t in centres]}])
    assert main(["eval", certs["softmax"], inp]) == 3
    assert "undecided" in capsys.readouterr().out


def test_eval_one_line_errors(tmp_path, certs, capsys):
    good = _inputs(tmp_path, [{"input": [[0, 0]]}])
    cases = [
        ([str(tmp_path / "missing.json"), good], "missing.json"),
        ([certs["figure5"], str(tmp_path / "missing.json")], "missing.json"),
        ([certs["figure5"], _inputs(tmp_path, [{"input": [[0, 0, 1]]}])], "input token 0"),
        ([certs["figure5"], _inputs(tmp_path, [{"input": [[0, "x"]]}])], "coordinate 1"),
        ([certs["figure5"], _inputs(tmp_path, [{"input": []}])], "non-empty"),
        ([certs["figure5"], _inputs(tmp_path, [{"output": [[0, 0]]}])], "missing key 'input'"),
        ([certs["circle"], _inputs(tmp_path, [{"input": [["sqrt(7)", 0]]}])], "number field"),
        ([certs["softmax"], _inputs(tmp_path, [{"input": [["sqrt(2)", 0]]}])], "rational"),
        ([certs["figure5"], _inputs(tmp_path, [{"input": [[0, 0]], "output": [[1]]}])], "output token 0"),
    ]
    for argv, needle in cases:
        assert main(["eval", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("exactseq: error:") and needle in err, err
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2")
    assert main(["eval", certs["figure5"], str(junk)]) == 2
    assert "invalid JSON" in capsys.readouterr().err
    assert main(["eval", str(junk), good]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_eval_help_says_what_softmax_gives():
    out = subprocess.run([sys.executable, "-m", "exactseq.cli", "eval", "--help"],
                         capture_output=True, text=True, cwd=ROOT).stdout
    assert "enclosure" in out and "Softmax" in out


# ------------------------------------------------------------------ certificates the checker verifies
def _verified_variants(tmp_path):
    """A certificate without a block's "phase" and one with a 5,001-digit parameter
    (an FF unit that is never on), both verified by proofs_check."""
    c = json.loads((ROOT / "tests/data/figure5.cert.json").read_text())
    c.pop("float_claim", None)
    nophase = json.loads(json.dumps(c))
    nophase["blocks"][0].pop("phase", None)
    big = json.loads(json.dumps(c))
    k = next(i for i, b in enumerate(big["blocks"]) if len(b["ff"]["U"]) == 3)
    ff = big["blocks"][k]["ff"]
    ff["U"].append(["0", "0"])
    ff["b"].append("-" + "9" * 5001)
    for r in ff["W"]:
        r.append("0")
    out = []
    for name, obj in (("nophase", nophase), ("bigparam", big)):
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(obj))
        assert proofs_check.check(obj)["blocks"] == len(obj["blocks"])
        out.append(str(p))
    return out


def test_api_accepts_what_the_checker_verifies(tmp_path, capsys):
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"sequences": [{"input": [[0, 0], [2, 0], [1, 2]], "output": [[3, 3]]}]}))
    for path in _verified_variants(tmp_path):
        assert exactseq.check(path)["verdict"] == "certified"
        m = exactseq.load_certificate(path)
        assert exactseq.evaluate(m, [[0, 0], [2, 0], [1, 2]]) == [(3, 3)] * 3
        assert main(["eval", path, str(inputs), "--quiet"]) == 0
        assert capsys.readouterr() == ("", "")
    assert api.Model(exactseq.load_certificate(path)).phases[0] != "?"
    assert api.Model(exactseq.load_certificate(_verified_variants(tmp_path)[0])).phases[0] == "?"


def test_eval_of_a_5001_digit_input_is_exact(tmp_path, capsys):
    cert = str(ROOT / "tests/data/figure5.cert.json")
    inputs = tmp_path / "in.json"
    big = "1" + "0" * 5000
    inputs.write_text(json.dumps({"sequences": [{"input": [[big, "1"], ["0", "0"]]}]}))
    assert main(["eval", cert, str(inputs), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert any(len(c) > 5000 for tok in r["sequences"][0]["output"] for c in tok)


def test_one_error_family():
    from exactseq import errors
    from exactseq.audit import AuditError
    from exactseq.certificate import CertificateError as C2
    from exactseq.dataset import DatasetError
    from exactseq.distributed import NeedsDask
    from exactseq.export import ExportError
    from exactseq.numbers import NumberError
    from exactseq.tikhonov import NormError
    from exactseq.weights import InputError as I2
    for cls in (AuditError, C2, DatasetError, NeedsDask, ExportError, NumberError, NormError, I2,
                exactseq.CertificateError, exactseq.InputError):
        assert issubclass(cls, exactseq.ExactseqError), cls
    assert exactseq.CertificateError is C2 and exactseq.InputError is I2
    assert issubclass(DatasetError, ValueError) and issubclass(NeedsDask, ImportError)
    with pytest.raises(exactseq.ExactseqError):
        exactseq.load({"sequences": []})
    assert set(errors.__all__) >= {"ExactseqError", "InputError", "DatasetError", "CertificateError"}


def test_block_clock_speed_and_time_left(monkeypatch):
    """The progress line: tokens per second when the tokens are known, blocks per second
    otherwise, and the time left at the measured rate."""
    from exactseq import api
    ticks = iter([100.0, 102.0, 100.0, 104.0])
    monkeypatch.setattr(api.time, "perf_counter", lambda: next(ticks))
    c = api.BlockClock(tokens=3000)
    assert c.text(1, 11) == "checking block 1/11"
    assert c.text(3, 11) == "checking block 3/11, 3e+03 tokens/s, about 8 s left"
    c = api.BlockClock()
    assert c.text(1, 5) == "checking block 1/5"
    assert c.text(5, 5) == "checking block 5/5, 1 blocks/s, about 0 s left"
