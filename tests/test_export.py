"""exactseq export: correctly rounded weights in npz, safetensors and torch files, read back;
correct rounding; exactseq.torch.ExactTransformer against the NumPy pass."""
import hashlib
import json
import math
import os
import random
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest

from exactseq import certificate
from exactseq import weights as wt
from exactseq.cli import main
from exactseq.construction import build
from exactseq.dataset import load

np = pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["figure5", "circle", "masked"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Certificate files: the shipped examples (hardmax) and figure5 in softmax."""
    d = tmp_path_factory.mktemp("certs")
    out = {}
    for name in EXAMPLES:
        ds = load(str(ROOT / "examples" / f"{name}.json"))
        out[name] = d / f"{name}.cert.json"
        out[name].write_text(certificate.dumps(certificate.build(ds, build(ds))))
    path = d / "figure5.soft.cert.json"
    assert main(["check", str(ROOT / "examples/figure5.json"), "--attention", "softmax", "--tau", "1",
                 "--certificate", str(path), "--quiet"]) == 0
    out["softmax"] = path
    return out


# ------------------------------------------------------------------ rounding
def mp_round(q, p):
    """An independent correctly rounded p-bit value (mpmath, unbounded exponent)."""
    from mpmath import libmp
    sign, man, exp, _ = libmp.from_rational(q.numerator, q.denominator, p, "n")
    v = F(man) * F(2) ** exp
    return -v if sign else v


def test_float64_rounding_agrees_with_cpython():
    rng = random.Random(1)
    for _ in range(2000):
        q = F(rng.randrange(-10 ** 30, 10 ** 30), rng.randrange(1, 10 ** rng.randrange(1, 40)))
        assert wt.to_float(q) == float(q)
        assert wt.round_exact(q, 53, -1022, 1023) == F(float(q))
    for q in (F(1, 3 * 2 ** 1074), F(3, 2 ** 1076), F(2 ** 1030), F(-(2 ** 1025))):
        r = wt.round_exact(q, 53, -1022, 1023)
        try:
            assert r == F(float(q))
        except OverflowError:
            assert r == (math.inf if q > 0 else -math.inf)


@pytest.mark.parametrize("p", [8, 24, 53, 113])
def test_rounding_matches_mpmath(p):
    rng = random.Random(p)
    for _ in range(500):
        q = F(rng.randrange(-10 ** 25, 10 ** 25), rng.randrange(1, 10 ** 25))
        assert wt.round_exact(q, p) == mp_round(q, p)


def test_float32_halfway_cases_round_once():
    one = F(1)
    assert wt.to_float(one + F(1, 2 ** 24), "float32") == 1.0                  # tie: to even
    assert wt.to_float(one + F(3, 2 ** 24), "float32") == 1 + 2 ** -22         # tie: to even (up)
    assert wt.to_float(-(one + F(1, 2 ** 24)), "float32") == -1.0
    q = one + F(1, 2 ** 24) + F(1, 2 ** 60)      # just above the tie: up
    assert wt.to_float(q, "float32") == 1 + 2 ** -23
    assert float(np.float32(float(q))) == 1.0    # through float64 the 2^-60 is lost: double rounding
    q = one + F(1, 2 ** 24) - F(1, 2 ** 60)      # just below the tie: down
    assert wt.to_float(q, "float32") == 1.0
    # subnormals, zero and overflow
    assert wt.to_float(F(1, 2 ** 149), "float32") == 2.0 ** -149
    assert wt.to_float(F(1, 2 ** 150), "float32") == 0.0                       # tie with 0: even
    assert wt.to_float(F(3, 2 ** 151), "float32") == 2.0 ** -149
    assert math.copysign(1, wt.to_float(F(-1, 2 ** 200), "float32")) == -1     # -0.0
    big = F(2 ** 24 - 1) * 2 ** 104                                             # float32 max
    assert wt.to_float(big, "float32") == float(np.finfo(np.float32).max)
    assert wt.to_float(big + 2 ** 103, "float32") == math.inf                  # tie: up, overflows
    assert wt.to_float(big + 2 ** 103 - 1, "float32") == float(np.finfo(np.float32).max)
    assert wt.to_float(-big * 2, "float32") == -math.inf


def test_bfloat16_rounding():
    assert wt.to_float(F(1) + F(1, 2 ** 8), "bfloat16") == 1.0
    assert wt.to_float(F(1) + F(3, 2 ** 8), "bfloat16") == 1 + 2 ** -6
    assert wt.to_float(F(1, 3), "bfloat16") == float(F(171, 512))
    from exactseq.floatpass import round_bfloat16
    a = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 / 3, -2.5, np.nan, np.inf], np.float32)
    r = round_bfloat16(a)
    assert r[:4].tolist() == [1.0, 1 + 2 ** -6, float(F(171, 512)), -2.5]
    assert np.isnan(r[4]) and r[5] == np.inf


def test_number_field_rounding_is_correct():
    from proofs_check.numbers import Numbers
    nums = Numbers({"minpoly": ["-2", "0", "1"], "interval": ["1", "2"]})
    theta = nums.num(["0", "1"])
    assert wt.to_float(theta) == math.sqrt(2)
    assert wt.to_float(theta, "float32") == float(np.sqrt(np.float32(2)))
    assert wt.to_float(nums.num(["1", "-1"])) == pytest.approx(1 - math.sqrt(2), rel=1e-15)
    # 10^20 (sqrt(2) - 7/5): a cancellation that floats cannot do
    import mpmath
    x = nums.num(["-7/5", "1"]) * F(10 ** 20)
    with mpmath.workprec(600):
        want = float((mpmath.sqrt(2) - mpmath.mpf(7) / 5) * 10 ** 20)
    assert wt.to_float(x) == want
    assert float(F(10 ** 20) * (F(2 ** 0.5) - F(7, 5))) != want   # what a float sqrt(2) gives


# ------------------------------------------------------------------ files
def exact_arrays(path, fmt):
    """{name: array of to_float of each exact dense entry} computed independently."""
    model = wt.load(str(path))
    out = {}
    for k, b in enumerate(model.blocks):
        d, w = model.d, b.width
        out[f"blocks.{k}.ff.eta"] = np.array(wt.to_float(b.eta, fmt))
        out[f"blocks.{k}.ff.U"] = np.array([[wt.to_float(x, fmt) for x in r] for r in b.U]).reshape(w, d)
        out[f"blocks.{k}.ff.b"] = np.array([wt.to_float(x, fmt) for x in b.b]).reshape(w)
        out[f"blocks.{k}.ff.W"] = np.array([[wt.to_float(x, fmt) for x in r] for r in b.W]).reshape(d, w)
        out[f"blocks.{k}.sa.rho"] = np.array(wt.to_float(b.rho, fmt))
        for name, M in (("A", b.A), ("V", b.V)):
            out[f"blocks.{k}.sa.{name}"] = np.array(
                [[wt.to_float(x, fmt) for x in r] for r in wt.dense(M, d)]).reshape(d, d)
    return model, out


FORMAT_EXT = {"npz": ".npz", "safetensors": ".safetensors", "torch": ".pt"}


def needs(fmt):
    if fmt == "safetensors":
        pytest.importorskip("safetensors")
    if fmt == "torch":
        pytest.importorskip("torch")


@pytest.mark.parametrize("fmt", ["npz", "safetensors", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["figure5", "circle", "softmax"])
def test_export_roundtrip_is_correctly_rounded(certs, tmp_path, capsys, fmt, dtype, name):
    needs(fmt)
    from exactseq.export import read_export
    out = tmp_path / f"w{FORMAT_EXT[fmt]}"
    assert main(["export", str(certs[name]), "-o", str(out), "--dtype", dtype]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out}: {fmt}, {dtype}, ") and "\n" not in line
    assert os.listdir(tmp_path) == [out.name]                      # no temporary file left
    sd, md = read_export(str(out))
    model, want = exact_arrays(certs[name], dtype)
    assert set(sd) == set(want)
    np_dtype = np.float32 if dtype == "float32" else np.float64
    for key, exp in want.items():
        got = sd[key]
        got = got.numpy() if hasattr(got, "numpy") else got
        assert got.dtype == np_dtype and got.shape == exp.shape, key
        assert np.array_equal(got.astype(np.float64), exp), key      # every element: the rounded exact value
    sha = hashlib.sha256(Path(certs[name]).read_bytes()).hexdigest()
    assert md["certificate_sha256"] == sha and md["format_version"] == 1
    assert md["format"] == "exactseq-weights" and md["dtype"] == dtype
    assert md["attention"] == model.attention and md["blocks"] == len(model.blocks)
    assert md["phases"] == model.phases and md["dimension"] == model.d
    if name == "softmax":
        assert md["tau"] == 1.0 and md["tau_exact"] == "1"
    else:
        assert md["tau"] is None and md["tau_exact"] is None
    widths = [b.width for b in model.blocks]
    if 0 in widths:                                                 # the collapse: an identity FF
        k = widths.index(0)
        assert tuple(sd[f"blocks.{k}.ff.U"].shape) == (0, model.d)
        assert tuple(sd[f"blocks.{k}.ff.W"].shape) == (model.d, 0)


def test_export_formats_load_natively(certs, tmp_path):
    """Each file opens with its own library, without exactseq's reader."""
    out = tmp_path / "w.npz"
    assert main(["export", str(certs["figure5"]), "-o", str(out), "--quiet"]) == 0
    with np.load(out, allow_pickle=False) as z:
        md = json.loads(str(z["__metadata__"][0]))
        assert z["blocks.0.sa.A"].shape == (2, 2) and md["attention"] == "hardmax"
    pytest.importorskip("safetensors")
    from safetensors import safe_open
    out = tmp_path / "w.safetensors"
    assert main(["export", str(certs["softmax"]), "-o", str(out), "--quiet"]) == 0
    with safe_open(str(out), framework="np") as f:
        meta = f.metadata()
        assert meta["attention"] == "softmax" and meta["tau_exact"] == "1" and meta["tau"] == "1.0"
        assert json.loads(meta["phases"])[0] == "separation"
        assert f.get_tensor("blocks.0.ff.eta").shape == ()


def test_torch_file_loads_with_weights_only(certs, tmp_path):
    torch = pytest.importorskip("torch")
    from exactseq.torch import ExactTransformer
    out = tmp_path / "w.pth"
    assert main(["export", str(certs["figure5"]), "-o", str(out), "--quiet"]) == 0
    obj = torch.load(out, weights_only=True)
    assert set(obj) == {"state_dict", "metadata"}
    m = ExactTransformer.from_certificate(str(certs["figure5"]))
    m.load_state_dict(obj["state_dict"])                            # strict: the same names and shapes
    for fmt in ("npz", "safetensors", "torch"):
        needs(fmt)
        p = tmp_path / f"x{FORMAT_EXT[fmt]}"
        assert main(["export", str(certs["circle"]), "-o", str(p), "--quiet", "--format", fmt]) == 0
        loaded = ExactTransformer.load(str(p))
        ref = ExactTransformer.from_certificate(str(certs["circle"]))
        for (k1, v1), (k2, v2) in zip(loaded.state_dict().items(), ref.state_dict().items()):
            assert k1 == k2 and torch.equal(v1, v2)


def test_export_json_and_quiet(certs, tmp_path, capsys):
    out = tmp_path / "w.data"
    assert main(["export", str(certs["figure5"]), "-o", str(out), "--format", "npz", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["file"] == str(out) and r["format"] == "npz" and r["dtype"] == "float64"
    assert r["blocks"] == 10 and r["tensors"] == 70 and r["overflow"] == r["underflow"] == 0
    assert main(["export", str(certs["figure5"]), "-o", str(out), "--format", "npz", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_export_counts_overflow(tmp_path, capsys):
    cert = json.loads((ROOT / "tests/data/figure5.cert.json").read_text())
    cert["blocks"][1]["ff"]["W"][0][0] = "10" + "0" * 40
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cert))
    assert main(["export", str(p), "-o", str(tmp_path / "w.npz"), "--dtype", "float32"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == (f"exactseq: error: {p}: not exported: the certificate is rejected: "
                                 "block 2 (leaders): hat: the layer does not send the point to its target (--no-verify "
                                 "writes it anyway)\n")
    assert not (tmp_path / "w.npz").exists()
    assert main(["export", str(p), "-o", str(tmp_path / "w.npz"), "--dtype", "float32", "--no-verify"]) == 0
    assert "1 weights beyond the float32 range written as +-inf" in capsys.readouterr().out
    with np.load(tmp_path / "w.npz") as z:
        assert z["blocks.1.ff.W"][0, 0] == np.inf


# ------------------------------------------------------------------ errors
def one_line_error(capsys, code, args):
    assert main(args) == code
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("exactseq: ") and err.count("\n") == 1, err
    return err


HOSTILE = {
    "garbage.json": b"\x00\xff not json",
    "list.json": b"[]",
    "deep.json": b"[" * 200 + b"]" * 200,
    "digits.json": b'{"format": "exactseq-certificate", "x": ' + b"9" * 200_001 + b"}",
    "dup.json": b'{"format": "exactseq-certificate", "format": "x"}',
    "notcert.json": b'{"format": "something-else"}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_one_line_exit_2(tmp_path, capsys, name):
    p = tmp_path / name
    p.write_bytes(HOSTILE[name])
    for cmd in (["export", str(p), "-o", str(tmp_path / "w.npz")], ["audit", str(p)]):
        err = one_line_error(capsys, 2, cmd)
        assert str(p) in err or "limit" in err
    assert not (tmp_path / "w.npz").exists()


def mutated(tmp_path, change):
    cert = json.loads((ROOT / "tests/data/figure5.cert.json").read_text())
    change(cert)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(cert))
    return str(p)


@pytest.mark.parametrize("change", [
    lambda c: c["blocks"][1]["ff"].update(b=["1"]),                          # shapes
    lambda c: c["blocks"][0]["sa"].update(A={"kind": "weird"}),
    lambda c: c["blocks"][0]["ff"].update(eta="1/0"),
    lambda c: c["blocks"][0]["ff"].update(eta=0.5),
    lambda c: c.update(attention="linear"),
    lambda c: c.update(schema_version=7),
    lambda c: c["dataset"].update(dimension=0),
    lambda c: c.update(blocks={"a": 1}),
    lambda c: c["dataset"]["sequences"][0].update(input=[[1, 2, 3]]),
    lambda c: c.update(field={"minpoly": ["-2"] + ["0"] * 16 + ["1"], "interval": ["1", "2"]}),
])
def test_malformed_certificates_are_exit_2(tmp_path, capsys, change):
    p = mutated(tmp_path, change)
    for cmd in (["export", p, "-o", str(tmp_path / "w.npz")], ["audit", p, "--no-bits"]):
        err = one_line_error(capsys, 2, cmd)
        assert "m.json" in err


def test_output_path_errors(certs, tmp_path, capsys):
    c = str(certs["figure5"])
    one_line_error(capsys, 2, ["export", c, "-o", str(tmp_path / "nodir" / "w.npz")])
    one_line_error(capsys, 2, ["export", c, "-o", str(tmp_path), "--format", "npz"])
    assert "refusing to overwrite" in one_line_error(capsys, 2, ["export", c, "-o", c, "--format", "npz"])
    assert "--format" in one_line_error(capsys, 2, ["export", c, "-o", str(tmp_path / "w.bin")])
    one_line_error(capsys, 2, ["export", str(tmp_path / "missing.json"), "-o", str(tmp_path / "w.npz")])
    one_line_error(capsys, 2, ["export", c, "-o", str(tmp_path / "w.npz"), "--max-digits", "0"])
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("fmt, extra", [("npz", "export"), ("safetensors", "safetensors"),
                                        ("torch", "torch")])
def test_missing_library_names_the_extra(certs, tmp_path, capsys, monkeypatch, fmt, extra):
    blocked = {"npz": "numpy", "safetensors": "safetensors", "torch": "torch"}[fmt]
    monkeypatch.setitem(sys.modules, blocked, None)                  # import raises ImportError
    err = one_line_error(capsys, 2, ["export", str(certs["figure5"]), "-o",
                                     str(tmp_path / f"w{FORMAT_EXT[fmt]}")])
    assert f"exactseq[{extra}]" in err


# ------------------------------------------------------------------ torch module
@pytest.mark.parametrize("name", ["figure5", "circle", "masked", "softmax"])
def test_torch_module_matches_numpy_pass(certs, name):
    torch = pytest.importorskip("torch")
    from exactseq import floatpass as fp
    from exactseq.torch import ExactTransformer
    model = wt.load(str(certs[name]))
    m = ExactTransformer.from_certificate(model, dtype=torch.float64)
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad for p in m.parameters())
    assert len(m.state_dict()) == 7 * len(model.blocks)
    outputs, err = fp.forward(model)
    inputs = fp.convert(model)[1]
    scale = max(1.0, max(float(np.abs(o).max()) for o in outputs))
    # BLAS kernels (NumPy's, PyTorch's) may sum in different orders or fuse multiply-adds:
    # the two float64 passes agree to the accuracy of float64 evaluation, here 1e-9
    assert err < 1e-10 * scale
    with torch.no_grad():
        for X, Y in zip(inputs, outputs):                            # one sequence (n x d)
            got = m(torch.from_numpy(X)).numpy()
            np.testing.assert_allclose(got, Y, rtol=0, atol=1e-9 * scale)
        # a padded batch with a mask gives the same tokens and zeros at the padding
        n = max(len(X) for X in inputs)
        Xb = torch.zeros((len(inputs), n, model.d), dtype=torch.float64)
        mask = torch.zeros((len(inputs), n), dtype=torch.bool)
        for j, X in enumerate(inputs):
            Xb[j, :len(X)] = torch.from_numpy(X)
            mask[j, :len(X)] = True
        Yb = m(Xb, mask).numpy()
    for j, Y in enumerate(outputs):
        np.testing.assert_allclose(Yb[j, :len(Y)], Y, rtol=0, atol=1e-9 * scale)
        assert not Yb[j, len(Y):].any()


def test_torch_module_trains(certs):
    torch = pytest.importorskip("torch")
    from exactseq.torch import ExactTransformer
    m = ExactTransformer.from_certificate(str(certs["softmax"]), dtype=torch.float32)
    assert m.attention == "softmax" and m.tau == 1.0 and m.metadata["tau_exact"] == "1"
    X = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 2.0]])
    loss = (m(X) ** 2).sum()
    loss.backward()
    assert m.blocks[0].sa.A.grad is not None and torch.isfinite(m.blocks[0].ff.U.grad).all()
    with pytest.raises(ValueError):
        m(torch.zeros((2, 3)))


# ------------------------------------------------------------------ verified first, the float claim said
def test_export_says_which_dtype_a_proven_claim_covers(tmp_path, capsys):
    cert = tmp_path / "c.json"
    assert main(["check", str(ROOT / "examples/figure5.json"), "--quiet", "--certificate", str(cert)]) == 0
    claim = json.loads(cert.read_text())["float_claim"]
    assert claim["format"] == "binary64" and claim["relative"] is True
    out = tmp_path / "w.npz"
    assert main(["export", str(cert), "-o", str(out)]) == 0
    text, err = capsys.readouterr()
    assert err == "" and text.rstrip().endswith(
        "certificate verified, float claim proven: a float64 pass ends within "
        f"{float(F(claim['tolerance'])):.3g} max(1, |y|) of every target")
    assert main(["export", str(cert), "-o", str(out), "--dtype", "float32", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["verified"] is True and r["float_claim"]["proven"] is True
    assert r["warning"] == ("the certificate's float claim is about float64, not float32: a float32 "
                            "pass of these weights is not known to interpolate")
    assert main(["export", str(cert), "-o", str(out), "--dtype", "float32"]) == 0
    assert capsys.readouterr().err == f"exactseq: warning: {r['warning']}\n"
    assert main(["export", str(cert), "-o", str(out), "--dtype", "float32", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_export_without_a_claim_warns(tmp_path, capsys):
    cert = tmp_path / "c.json"
    c = json.loads((ROOT / "tests/data/figure5.cert.json").read_text())
    c.pop("float_claim", None)
    cert.write_text(json.dumps(c))
    assert main(["export", str(cert), "-o", str(tmp_path / "w.npz")]) == 0
    assert capsys.readouterr().err == ("exactseq: warning: no proven float claim covers float64: a "
                                       "float64 pass of these weights is not known to interpolate "
                                       "(exactseq audit measures it)\n")


def test_export_of_an_unknown_claim_is_exit_3(tmp_path, capsys):
    cert = tmp_path / "c.json"
    c = json.loads((ROOT / "tests/data/figure5.cert.json").read_text())
    c["float_claim"] = {"format": "binary64", "tolerance": "1/10000000000000000000000000000000"}
    cert.write_text(json.dumps(c))
    assert main(["export", str(cert), "-o", str(tmp_path / "w.npz"), "--json"]) == 3
    out, err = capsys.readouterr()
    assert err.startswith(f"exactseq: error: {cert}: not exported: the certificate is "
                          "unknown: float claim: the proven error bound")
    assert json.loads(out) == {"verdict": "unknown", "reason": err[len("exactseq: error: "):].rstrip("\n"),
                               "exit_status": 3}
    assert not (tmp_path / "w.npz").exists()
