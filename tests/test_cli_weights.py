"""``exactseq check DATA --weights MODEL`` in every output mode and exit status, its
one-line errors, and the certificate it writes accepted by every other command."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from exactseq.cli import main

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples" / "two_heads"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("model", ["model.npz", "model.json"])
def test_certified_in_every_mode(capsys, tmp_path, model):
    code, out, err = run(capsys, "check", EX / "data.json", "--weights", EX / model)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "exactseq 0.1.0: given weights checked exactly (hardmax attention)"
    assert "2 blocks, up to 2 heads" in lines[2]
    assert lines[3].startswith("model        FF width 1, 19 non-zero parameters (the construction's bound "
                               "for this dataset: 31 blocks; not required)")
    assert "verdict      CERTIFIED: every output equals its target exactly (Hausdorff distance 0)" in lines
    code, out, err = run(capsys, "check", EX / "data.json", "--weights", EX / model, "--json",
                         "--certificate", tmp_path / "c.json")
    r = json.loads(out)
    assert code == 0 and r["verdict"] == "certified" and r["kind"] == "weights"
    assert (r["blocks"], r["heads"], r["width"], r["parameters"]) == (2, 2, 1, 19)
    assert r["weights"]["format"] == model.split(".")[1] and r["certificate"] == str(tmp_path / "c.json")
    assert run(capsys, "check", EX / "data.json", "--weights", EX / model, "--quiet") == (0, "", "")


def test_moved_target_fails_naming_the_sequence(capsys):
    code, out, err = run(capsys, "check", EX / "moved.json", "--weights", EX / "model.npz")
    assert code == 1
    assert ("verdict      FAILED: output: sequence 2: T(X) differs from Y: squared Hausdorff distance "
            "1/1048576 (about 9.53e-7)") in out.splitlines()
    assert "first        sequence 2 ('c')" in out
    assert "sequences    2 passed, 1 failed, 1 not compared (--verbose lists each)" in out
    code, out, _ = run(capsys, "check", EX / "moved.json", "--weights", EX / "model.npz", "-v")
    assert code == 1 and ["sequence 0 ('a'): 2 tokens, 2 targets: passed",
                          "sequence 1 ('b'): 3 tokens, 3 targets: passed",
                          "sequence 2 ('c'): 4 tokens, 4 targets: failed",
                          "sequence 3 ('d'): 2 tokens, 2 targets: not compared"] == \
        [ln for ln in out.splitlines() if ln.startswith("sequence ")]
    code, out, _ = run(capsys, "check", EX / "moved.json", "--weights", EX / "model.npz", "--json")
    r = json.loads(out)
    assert code == 1 and r["difference"] == {"sequence": 2, "name": "c", "position": None,
                                             "distance_sq": "1/1048576", "distance_sq_about": "9.53e-7"}
    assert run(capsys, "check", EX / "moved.json", "--weights", EX / "model.npz", "-q") == (1, "", "")
    code, out, _ = run(capsys, "check", EX / "moved.json", "--weights", EX / "model.npz", "--tolerance", "1/1000")
    assert code == 0 and ("every output is within 1/1000 of its target (largest squared Hausdorff distance "
                          "1/1048576, about 9.53e-7)") in out


def test_softmax_unknown_is_exit_3(capsys):
    code, out, _ = run(capsys, "check", EX / "data.json", "--weights", EX / "model.json",
                       "--attention", "softmax", "--tau", "1", "--tolerance", "1/1000000", "--json")
    r = json.loads(out)
    assert code in (1, 3) and r["verdict"] in ("failed", "unknown") and r["attention"] == "softmax"
    code, out, _ = run(capsys, "check", EX / "data.json", "--weights", EX / "model.json",
                       "--attention", "softmax", "--tau", "1/1000000", "--tolerance", "1/1000")
    assert code == 0 and "softmax attention at tau = 1/1000000" in out


@pytest.mark.parametrize("argv, message", [
    (["--weights", "nosuch.npz"], "nosuch.npz: "),
    (["--weights", "{tmp}/bad.npz"], "bad.npz: blocks.1.sa.V: missing"),
    (["--weights", "{ex}/model.npz", "--paper"], "--paper applies to a construction, not to --weights"),
    (["--weights", "{ex}/model.npz", "--jobs", "2"], "--jobs applies to a construction, not to --weights"),
    (["--weights", "{ex}/model.npz", "--tau", "1"], "--tau applies to softmax only: add --attention softmax"),
    (["--weights", "{ex}/model.npz", "--tolerance", "x"], "--tolerance"),
])
def test_bad_input_is_one_line_exit_2(capsys, tmp_path, argv, message):
    z = dict(np.load(EX / "model.npz"))
    del z["blocks.1.sa.V"]
    np.savez(tmp_path / "bad.npz", **z)
    argv = [a.format(tmp=tmp_path, ex=EX) for a in argv]
    code, out, err = run(capsys, "check", EX / "data.json", *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err, err
    code, out, err = run(capsys, "check", EX / "data.json", *argv, "--json")
    assert code == 2 and json.loads(out)["verdict"] == "error"


def test_the_certificate_is_accepted_everywhere(capsys, tmp_path):
    cert = tmp_path / "c.json"
    assert run(capsys, "check", EX / "data.json", "--weights", EX / "model.npz", "-q",
               "--certificate", cert)[0] == 0
    code, out, _ = run(capsys, "verify", cert)
    assert code == 0 and out.startswith("VERIFIED: given weights, hardmax, 2 blocks, 2 heads, width 1, "
                                        "19 non-zero parameters; every output equals its target exactly")
    code, out, _ = run(capsys, "eval", cert, EX / "data.json")
    assert code == 0 and out.count("equals the given output") == 4
    code, out, _ = run(capsys, "eval", cert, EX / "moved.json")
    assert code == 1 and "sequence 2 ('c')" in out
    assert run(capsys, "export", cert, "-o", tmp_path / "w.json", "-q")[0] == 0
    assert run(capsys, "check", EX / "data.json", "--weights", tmp_path / "w.json", "-q") == (0, "", "")
    assert run(capsys, "plot", cert, "-o", tmp_path / "f.png")[0] == 0
    assert (tmp_path / "f.png").stat().st_size > 0
    code, out, _ = run(capsys, "tikhonov", cert, "--eps", "1/10", "--json")
    assert code == 0 and json.loads(out)["entries"] == 38 and json.loads(out)["bound"] == "41/32"


def test_one_head_export_round_trip_and_audit(capsys, tmp_path):
    """A construction's certificate exported exactly and read back is the same model; the
    weights certificate of its float64 export passes the float audit."""
    shutil.copy(ROOT / "examples" / "figure5.json", tmp_path / "d.json")
    assert run(capsys, "check", tmp_path / "d.json", "-q", "--certificate", tmp_path / "c.json")[0] == 0
    assert run(capsys, "export", tmp_path / "c.json", "-o", tmp_path / "w.npz", "-q")[0] == 0
    assert run(capsys, "check", tmp_path / "d.json", "--weights", tmp_path / "w.npz", "--tolerance", "1e-6",
               "-q", "--certificate", tmp_path / "wc.json")[0] == 0
    code, out, _ = run(capsys, "audit", tmp_path / "wc.json", "--json")
    assert code in (0, 1) and "dtype" in json.loads(out)


def test_exact_transformer_loads_any_weight_file(tmp_path):
    """A plain npz without exactseq's metadata (a researcher's own file) loads into the
    PyTorch module, and its float64 outputs on dyadic data equal the exact ones."""
    torch = pytest.importorskip("torch")
    from fractions import Fraction
    import exactseq
    from exactseq.torch import ExactTransformer
    z = dict(np.load(EX / "model.npz"))
    np.savez(tmp_path / "plain.npz", **{k: v for k, v in z.items() if k != "__metadata__"})
    model = ExactTransformer.load(str(tmp_path / "plain.npz"))
    exact = exactseq.check_weights(str(EX / "data.json"), str(EX / "model.npz")).model
    X = [[0, 0], [1, 0]]
    got = model(torch.tensor([X], dtype=torch.float64))[0].tolist()
    assert got == [[float(c) for c in x] for x in exact(X)]
    assert exact(X) == [(Fraction(15, 64), Fraction(5, 64)), (Fraction(75, 64), Fraction(25, 64))]


def test_any_data_for_given_weights(capsys, tmp_path):
    """Given weights need no Assumption 1.3: an input repeating a token and two inputs
    equal as sets are checked all the same, by both checkers; the construction
    still refuses such data."""
    import exactseq
    from proofs_check import report
    model = exactseq.check_weights(str(EX / "data.json"), str(EX / "model.npz")).model
    X1, X2 = [[0, 0], [0, 0], [1, 0]], [[1, 0], [0, 0]]
    out = [sorted(set(model(X))) for X in (X1, X2)]
    data = {"sequences": [{"input": X1, "output": [[str(c) for c in y] for y in out[0]]},
                          {"input": X2, "output": [[str(c) for c in y] for y in out[1]]}]}
    p = tmp_path / "d.json"
    p.write_text(json.dumps(data))
    code, _, err = run(capsys, "check", p, "--weights", EX / "model.npz", "-q", "--certificate", tmp_path / "c.json")
    assert (code, err) == (0, "")
    cert = json.loads((tmp_path / "c.json").read_text())
    assert report.run(cert)[0] == report.run(cert, reference=True)[0] == "verified"
    code, _, err = run(capsys, "check", p)
    assert code == 2 and "assumption 1.3" in err
