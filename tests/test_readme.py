"""The README's NumPy reference of the model, run as written on exported weights."""
import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from exactseq.cli import main

np = pytest.importorskip("numpy")
ROOT = Path(__file__).resolve().parent.parent


def snippet():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- numpy-reference -->\n```python\n(.*?)```\n<!-- /numpy-reference -->", text, re.S)
    assert m, "the README's NumPy reference is missing"
    return m.group(1)


@pytest.mark.parametrize("example", ["figure5.json", "classification.json"])
def test_numpy_reference_reproduces_the_certificate(tmp_path, capsys, example):
    cert, w = tmp_path / "c.json", tmp_path / "w.npz"
    assert main(["check", str(ROOT / "examples" / example), "--quiet", "--certificate", str(cert)]) == 0
    assert main(["export", str(cert), "-o", str(w), "--quiet"]) == 0
    scope = {}
    exec(compile(snippet(), "README.md", "exec"), scope)
    c = json.loads(cert.read_text())
    tol = float(Fraction(c["float_claim"]["tolerance"]))
    for s in c["dataset"]["sequences"]:
        X = np.array([[float(Fraction(v)) for v in x] for x in s["input"]])
        Y = np.array([[float(Fraction(v)) for v in y] for y in s["output"]])
        out = scope["forward"](str(w), X)
        assert out.shape == Y.shape          # the output set has exactly the target's size
        for y in Y:                          # each target met within the proven claim
            dist = np.linalg.norm(out - y, axis=1).min()
            assert dist <= tol * max(1.0, np.linalg.norm(y))


def test_the_reference_notices_wrong_weights(tmp_path, capsys):
    """The same snippet on weights of a moved target does not reproduce the old targets."""
    cert, w = tmp_path / "c.json", tmp_path / "w.npz"
    assert main(["check", str(ROOT / "examples/figure5.json"), "--quiet", "--certificate", str(cert)]) == 0
    assert main(["export", str(cert), "-o", str(w), "--quiet"]) == 0
    z = dict(np.load(w))
    z["blocks.10.ff.W"] = z["blocks.10.ff.W"] * 1.5          # the last interpolation move, wrong
    np.savez(w, **z)
    scope = {}
    exec(compile(snippet(), "README.md", "exec"), scope)
    c = json.loads(cert.read_text())
    errs = []
    for s in c["dataset"]["sequences"]:
        X = np.array([[float(Fraction(v)) for v in x] for x in s["input"]])
        Y = np.array([[float(Fraction(v)) for v in y] for y in s["output"]])
        out = scope["forward"](str(w), X)
        errs.append(max(np.linalg.norm(out - y, axis=1).min() for y in Y))
    assert max(errs) > 1e-3


def test_numpy_reference_computes_no_scores_when_v_is_zero(tmp_path):
    """A = [[2^1023, 2^1023], [-2^1023, -2^1023]] with V = 0: the scores would be
    inf - inf = NaN, but the model (and the snippet) computes none; the float claim
    verifies and the snippet's outputs are the targets."""
    import proofs_check
    cert = ROOT / "tests/data/float/v-zero-overflow.cert.json"
    c = json.loads(cert.read_text())
    assert proofs_check.check(c)["float_claim"]["relative"] is True
    w = tmp_path / "w.npz"
    assert main(["export", str(cert), "-o", str(w), "--quiet"]) == 0
    scope = {}
    exec(compile(snippet(), "README.md", "exec"), scope)
    for s in c["dataset"]["sequences"]:
        X = np.array([[float(Fraction(v)) for v in x] for x in s["input"]])
        Y = np.array([[float(Fraction(v)) for v in y] for y in s["output"]])
        out = scope["forward"](str(w), X)
        assert np.isfinite(out).all() and sorted(map(tuple, out)) == sorted(map(tuple, Y))
