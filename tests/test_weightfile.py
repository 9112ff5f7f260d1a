"""Reading weight files exactly (exactseq.weightfile) and the weights certificate
(exactseq.weightcert): round trips in npz, safetensors, torch and exact JSON, every
refusal with its exact one-line message, hostile files, and examples/two_heads."""
import hashlib
import importlib.util
import json
import math
import os
import struct
import tempfile
import zipfile
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exactseq import weightcert, weightfile as wf
from exactseq.dataset import canonical_hash, canonical_obj, from_obj, load
from exactseq.errors import InputError, MissingExtra
from proofs_check.limits import Limits

np = pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "two_heads"
EXPECTED = "expected blocks.{k}.ff.eta, ff.U, ff.b, ff.W, sa.rho, sa.A, sa.V"
TINY = 2.0 ** -1074                     # the smallest float64


# ------------------------------------------------------------------ writing test files
def model(U0=((0.5, TINY), (1, -0.0), (3, 1e308)), heads1=2):
    """{name: nested lists of floats}: block 0 one head, width 3; block 1 ``heads1``
    heads, width 0."""
    A2 = [[[1, 0], [0, 1]], [[0, 0.1], [-2.5, 0]], [[0.25, 0], [0, 0]]][:heads1]
    V2 = [[[0, 0], [0, 0]], [[-1, 0], [0, 0.75]], [[1, 1], [1, 1]]][:heads1]
    return {"blocks.0.ff.eta": 1.0, "blocks.0.ff.U": [list(r) for r in U0],
            "blocks.0.ff.b": [1, -2, 0.125], "blocks.0.ff.W": [[1, 0, 3], [-0.0, 5, 6]],
            "blocks.0.sa.rho": 0.5, "blocks.0.sa.A": [[1, 0], [0, 0]],
            "blocks.0.sa.V": [[0.0625, 0], [0, 0.0625]],
            "blocks.1.ff.eta": 2.0, "blocks.1.ff.U": np.zeros((0, 2)), "blocks.1.ff.b": [],
            "blocks.1.ff.W": np.zeros((2, 0)), "blocks.1.sa.rho": 1.0,
            "blocks.1.sa.A": A2 if heads1 > 1 else A2[0], "blocks.1.sa.V": V2 if heads1 > 1 else V2[0]}


def arrays(m, dtype="float64"):
    return {k: np.array(v, dtype=dtype, order="C") for k, v in m.items()}


def write(fmt, path, m, meta=None, dtype="float64", U=None):
    """Write the model m in fmt (npz, safetensors, torch, json) to path, in dtype (or
    blocks.0.ff.U alone in dtype, given as U); returns path."""
    path = str(path)
    if U is not None:
        return write_arrays(fmt, path, {**arrays(m), "blocks.0.ff.U": U})
    if fmt == "json":
        obj = {"format": "exactseq-weights", "version": 1,
               "weights": {k: exact_texts(np.array(v, dtype=object).tolist() if isinstance(v, np.ndarray)
                                          else v) for k, v in m.items()}}
        obj.update(meta or {})
        Path(path).write_text(json.dumps(obj))
        return path
    if dtype == "bfloat16":
        import torch
        return write_arrays(fmt, path, {k: torch.tensor(np.array(v, dtype="float64")).to(torch.bfloat16)
                                        for k, v in m.items()}, meta)
    return write_arrays(fmt, path, arrays(m, dtype), meta)


def write_arrays(fmt, path, a, meta=None):
    """Write named NumPy arrays (or torch tensors: safetensors and torch) in fmt."""
    if fmt == "npz":
        extra = {"__metadata__": np.array([json.dumps(meta)])} if meta is not None else {}
        with open(path, "wb") as fh:
            np.savez(fh, **a, **extra)
    elif fmt == "safetensors":
        import torch
        from safetensors.torch import save_file
        save_file({k: (v if isinstance(v, torch.Tensor) else torch.from_numpy(v)).contiguous()
                   for k, v in a.items()}, path, metadata=meta)
    else:
        import torch
        sd = {k: v if isinstance(v, torch.Tensor) else torch.from_numpy(v) for k, v in a.items()}
        torch.save(sd if meta is None else {"state_dict": sd, "metadata": meta}, path)
    return path


def exact_texts(x):
    if isinstance(x, (list, tuple)):
        return [exact_texts(y) for y in x]
    q = F(x)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def fr(x):
    """Nested lists of numbers as nested tuples of Fractions (floats exactly)."""
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return tuple(fr(y) for y in x)
    return F(x)


def expected_blocks(m):
    out = []
    for k in range(2):
        g = {n: fr(m[f"blocks.{k}.{n}"]) for n in wf.NAMES}
        A, V = g["sa.A"], g["sa.V"]
        heads = ((A, V),) if len(np.shape(m[f"blocks.{k}.sa.A"])) == 2 else tuple(zip(A, V))
        out.append(wf.Block(g["ff.eta"], g["ff.U"], g["ff.b"], g["ff.W"], g["sa.rho"], heads))
    return tuple(out)


def refusal(path, fmt=None, limits=None):
    with pytest.raises(InputError) as exc:
        wf.read(path, fmt, limits)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{path}: ")
    return msg[len(str(path)) + 2:]


FORMATS = [("npz", "m.npz"), ("safetensors", "m.safetensors"), ("torch", "m.pt"), ("json", "m.json")]


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("fmt,name", FORMATS)
def test_round_trip_exact(tmp_path, fmt, name):
    m = model()
    p = write(fmt, tmp_path / name, m)
    w = wf.read(p)
    assert (w.d, w.L, w.heads, w.format, w.attention, w.tau, w.path) == (2, 2, 2, fmt, None, None, p)
    assert w.sha256 == hashlib.sha256(Path(p).read_bytes()).hexdigest()
    assert w.blocks == expected_blocks(m)
    b0, b1 = w.blocks
    assert b0.U[0][1] == F(1, 2 ** 1074) and b0.U[1][1] == 0 and b0.U[2][1] == F(int(1e308))
    assert b1.heads[1][0][0][1] == F(0.1) != F(1, 10)           # the float 0.1, exactly
    assert (b0.width, b1.width, b0.H, b1.H, b1.U, b1.b, b1.W) == (3, 0, 1, 2, (), (), ((), ()))


@pytest.mark.parametrize("fmt,name", FORMATS)
def test_one_head_and_three_heads(tmp_path, fmt, name):
    for heads1 in (1, 3):
        m = model(heads1=heads1)
        w = wf.read(write(fmt, tmp_path / name, m))
        assert w.heads == heads1
        assert w.blocks == expected_blocks(m)


def test_fortran_order_and_describe(tmp_path):
    a = arrays(model())
    a["blocks.0.ff.U"] = np.asfortranarray(a["blocks.0.ff.U"])
    a["blocks.1.sa.V"] = np.asfortranarray(a["blocks.1.sa.V"])
    w = wf.read(write_arrays("npz", str(tmp_path / "m.npz"), a))
    assert w.blocks == expected_blocks(model())
    assert w.describe() == f"{w.path}: npz, d = 2, 2 blocks, 1..2 heads, FF width 0..3"


def test_torch_missing(tmp_path, monkeypatch):
    import sys
    p = write("torch", tmp_path / "m.pt", model())
    q = write("safetensors", tmp_path / "m.safetensors", model())
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtra) as exc:
        wf.read(p)
    assert str(exc.value) == f"{p}: reading a torch file needs torch: pip install 'exactseq[torch]'"
    assert wf.read(q).L == 2                        # safetensors needs neither torch nor safetensors


def test_json_exact_texts(tmp_path):
    m = model()
    obj = json.loads(Path(write("json", tmp_path / "m.json", m)).read_text())
    obj["weights"]["blocks.0.ff.U"] = [["1/3", "0.25"], [-7, "1e-3"], ["+2", " 3 / 6 "]]
    obj["weights"]["blocks.0.sa.rho"] = "-12345678901234567890123/3"
    (tmp_path / "m.json").write_text(json.dumps(obj))
    b0 = wf.read(tmp_path / "m.json").blocks[0]
    assert b0.U == ((F(1, 3), F(1, 4)), (F(-7), F(1, 1000)), (F(2), F(1, 2)))
    assert b0.rho == F(-12345678901234567890123, 3)


def test_json_writer_round_trip(tmp_path):
    w = wf.read(write("npz", tmp_path / "m.npz", model()))
    (tmp_path / "w.json").write_text(wf.dumps(wf.json_obj(w.d, w.blocks, "softmax", F(1, 3))))
    back = wf.read(tmp_path / "w.json")
    assert back.blocks == w.blocks and (back.attention, back.tau) == ("softmax", F(1, 3))
    assert json.loads((tmp_path / "w.json").read_text())["weights"]["blocks.1.ff.W"] == [[], []]


@pytest.mark.parametrize("fmt,name,dtype,values", [
    ("npz", "m.npz", "float16", [2.0 ** -24, 65504.0, -0.0, 0.1]),
    ("safetensors", "m.safetensors", "float16", [2.0 ** -24, 65504.0, -0.0, 0.1]),
    ("safetensors", "m.safetensors", "float32", [2.0 ** -149, 3.4028234663852886e38, 0.1, -1.5]),
    ("safetensors", "m.safetensors", "bfloat16", [2.0 ** -133, 1.5, -0.0, 0.1]),
    ("torch", "m.pt", "bfloat16", [2.0 ** -133, 1.5, -0.0, 0.1]),
    ("torch", "m.pt", "float16", [2.0 ** -24, 65504.0, -0.0, 0.1]),
    ("npz", "m.npz", "int64", [2 ** 62, -3, 0, 7]),
    ("safetensors", "m.safetensors", "int32", [2 ** 31 - 1, -3, 0, 7]),
    ("torch", "m.pt", "int16", [-32768, 3, 0, 7]),
    ("npz", "m.npz", "uint64", [2 ** 64 - 1, 3, 0, 7]),
    ("torch", "m.pt", "uint8", [255, 3, 0, 7]),
])
def test_dtypes(tmp_path, fmt, name, dtype, values):
    """blocks.0.ff.U in each dtype (the other weights float64), read exactly."""
    m = model()
    rows = [values[:2], values[2:], [1, 2]]
    if dtype == "bfloat16":
        import torch
        U = torch.tensor(rows, dtype=torch.float64).to(torch.bfloat16)
        exact = [F(x) for x in U.flatten().tolist()]
        assert exact[0] == F(1, 2 ** 133) and exact[3] == F(205, 2048)     # bfloat16(0.1)
    else:
        U = np.array(rows, dtype=dtype)
        exact = [F(x) for x in U.flatten().tolist()]
        if fmt == "torch":
            import torch
            U = torch.from_numpy(U)
    w = wf.read(write(fmt, tmp_path / name, m, U=U))
    assert w.blocks[0].U == (tuple(exact[:2]), tuple(exact[2:4]), (F(1), F(2)))
    if dtype == "float16":
        assert exact[0] == F(1, 2 ** 24) and exact[3] == F(819, 8192)      # float16(0.1)
    if dtype == "uint64":
        assert exact[0] == 2 ** 64 - 1


def test_metadata(tmp_path):
    md = {"format": "exactseq-weights", "attention": "softmax", "tau": 0.01, "tau_exact": "1/100"}
    w = wf.read(write("npz", tmp_path / "m.npz", model(), meta=md))
    assert (w.attention, w.tau) == ("softmax", F(1, 100))
    w = wf.read(write("safetensors", tmp_path / "m.safetensors", model(),
                      meta={"attention": "causal", "tau": "0.5"}))
    assert (w.attention, w.tau) == ("causal", None)                   # a float tau is never used
    w = wf.read(write("torch", tmp_path / "m.pt", model(), meta={"attention": "hardmax", "tau_exact": None}))
    assert (w.attention, w.tau) == ("hardmax", None)
    w = wf.read(write("json", tmp_path / "m.json", model(), meta={"attention": "softmax", "tau": "0.25"}))
    assert (w.attention, w.tau) == ("softmax", F(1, 4))


def test_files_exactseq_export_writes(tmp_path):
    """The writer of ``exactseq export``: its metadata and layout are read."""
    from exactseq import export
    md = {"format": "exactseq-weights", "format_version": 1, "attention": "softmax", "tau": 0.1,
          "tau_exact": "1/10", "certificate_sha256": "ab", "dataset_sha256": None,
          "dtype": "float64", "dimension": 2, "blocks": 2, "phases": ["a", "b"]}
    m = model(heads1=1)
    for fmt, name in FORMATS[:3]:
        p = str(tmp_path / name)
        export.write(p, fmt, arrays(m), md)
        w = wf.read(p)
        assert (w.format, w.attention, w.tau, w.blocks) == (fmt, "softmax", F(1, 10), expected_blocks(m))


@pytest.mark.parametrize("fmt,name", FORMATS)
def test_format_from_content(tmp_path, fmt, name):
    p = write(fmt, tmp_path / name, model())
    os.rename(p, tmp_path / "weights.bin")
    assert wf.read(tmp_path / "weights.bin").format == fmt
    assert wf.read(tmp_path / "weights.bin", fmt).format == fmt


# ------------------------------------------------------------------ refusals
def _drop(key):
    def f(m):
        del m[key]
    return f


def _set(key, value):
    def f(m):
        m[key] = value
    return f


def _rename(old, new):
    def f(m):
        m[new] = m.pop(old)
    return f


def _renumber(m):
    for name in wf.NAMES:
        m[f"blocks.2.{name}"] = m.pop(f"blocks.1.{name}")


REFUSALS = [   # (change to the model, message after the path; "{s}": the reader's shape text)
    (_drop("blocks.1.sa.V"), "blocks.1.sa.V: missing"),
    (_set("blocks.0.ff.U", np.zeros((3, 5))), "blocks.0.ff.U: shape (3, 5), expected (w, 2) "
     "(d from blocks.0.sa.A)"),
    (_set("blocks.0.ff.b", [1, 2]), "blocks.0.ff.b: shape (2,), expected (3,) (w = 3 from blocks.0.ff.U)"),
    (_set("blocks.0.ff.W", np.zeros((3, 2))), "blocks.0.ff.W: shape (3, 2), expected (2, 3)"),
    (_set("blocks.0.ff.eta", [1.0]), "blocks.0.ff.eta: shape (1,), expected ()"),
    (_set("blocks.1.sa.A", np.eye(3)), "blocks.1.sa.A: shape (3, 3), expected (2, 2) or (H, 2, 2) "
     "(d from blocks.0.sa.A)"),
    (_set("blocks.0.sa.A", np.zeros((2, 3))), "blocks.0.sa.A: shape (2, 3), expected (d, d) or (H, d, d)"),
    (_renumber, "block 1 is missing (the file has blocks up to 2; blocks are numbered 0..L-1)"),
    (_rename("blocks.0.ff.b", "blocks.0.ff.bias"), f"unknown key 'blocks.0.ff.bias' ({EXPECTED})"),
    (_rename("blocks.0.ff.b", "blocks.00.ff.b"), f"unknown key 'blocks.00.ff.b' ({EXPECTED})"),
    (_set("blocks.0.sa.A", [[1, 0], [math.nan, 0]]), "blocks.0.sa.A[1,0]: nan is not a number"),
    (_set("blocks.1.sa.V", [[[0, 0], [0, 0]], [[0, math.inf], [0, 0]]]),
     "blocks.1.sa.V[1,0,1]: inf is not a number"),
    (_set("blocks.0.ff.eta", -math.inf), "blocks.0.ff.eta: -inf is not a number"),
    (_set("blocks.1.sa.V", np.zeros((3, 2, 2))), "blocks.1.sa.V: 3 heads but blocks.1.sa.A has 2"),
    (_set("blocks.1.sa.A", np.zeros((0, 2, 2))), "blocks.1.sa.A: shape (0, 2, 2): no heads (H = 0)"),
]


@pytest.mark.parametrize("fmt,name", FORMATS)
@pytest.mark.parametrize("change,message", REFUSALS, ids=[m[:30] for _, m in REFUSALS])
def test_refusals(tmp_path, fmt, name, change, message):
    m = model()
    change(m)
    if fmt == "json" and ("nan" in message or "inf is" in message or "H = 0" in message):
        pytest.skip("JSON has no inf, NaN or (0, 2, 2) array (see test_json_refusals)")
    p = write(fmt, tmp_path / name, m)
    assert refusal(p) == message


def test_no_weights(tmp_path):
    assert refusal(write("npz", tmp_path / "m.npz", {})) == f"no weights ({EXPECTED})"
    (tmp_path / "e.npz").write_bytes(b"")
    assert refusal(tmp_path / "e.npz") == "empty file"
    assert refusal(tmp_path / "missing.npz").startswith("cannot read: No such file")
    assert refusal(tmp_path, "npz").startswith("cannot read: Is a directory")


@pytest.mark.parametrize("dtype,name", [("complex128", "complex128"), ("bool", "bool"),
                                        ("<U3", "str96"), ("longdouble", "float128")])
def test_npz_dtypes_refused(tmp_path, dtype, name):
    a = arrays(model())
    a["blocks.0.sa.A"] = np.zeros((2, 2), dtype=dtype)
    np.savez(tmp_path / "m.npz", **a)
    assert refusal(tmp_path / "m.npz") == (f"blocks.0.sa.A: dtype {name} is not a number type we read "
                                           "exactly (float16, bfloat16, float32, float64 or integers)")


def test_npz_object_array_never_unpickled(tmp_path):
    a = arrays(model())
    a["blocks.0.sa.A"] = np.array([[os.system, 0], [0, 0]], dtype=object)
    np.savez(tmp_path / "m.npz", **a)          # a pickle inside the .npy member
    assert refusal(tmp_path / "m.npz") == ("blocks.0.sa.A: dtype object is not a number type we read "
                                           "exactly (float16, bfloat16, float32, float64 or integers)")


def test_safetensors_dtypes_refused(tmp_path):
    import torch
    from safetensors.torch import save_file
    sd = {k: torch.from_numpy(v) for k, v in arrays(model()).items()}
    sd["blocks.0.sa.A"] = torch.zeros((2, 2), dtype=torch.bool)
    save_file(sd, tmp_path / "m.safetensors")
    assert refusal(tmp_path / "m.safetensors") == (
        "blocks.0.sa.A: dtype 'BOOL' is not a number type we read exactly (F16, BF16, F32, F64 or "
        "integers)")


def test_torch_refusals(tmp_path):
    import torch
    sd = {k: torch.from_numpy(v) for k, v in arrays(model()).items()}
    p = tmp_path / "m.pt"
    torch.save(list(sd.values()), p)
    assert refusal(p) == "not a state_dict of tensors (a list)"
    torch.save({**sd, "blocks.0.ff.eta": 1.0}, p)
    assert refusal(p) == "blocks.0.ff.eta: not a tensor (a float)"
    torch.save({"state_dict": sd, "epoch": 3}, p)
    assert refusal(p) == ("unknown entry 'epoch' beside 'state_dict' (expected a state_dict of "
                          "tensors, or {'state_dict': ..., 'metadata': ...})")
    torch.save({**sd, "blocks.0.sa.A": torch.zeros((2, 2), dtype=torch.complex64)}, p)
    assert refusal(p) == ("blocks.0.sa.A: dtype complex64 is not a number type we read exactly "
                          "(float16, bfloat16, float32, float64 or integers)")
    torch.save({**sd, "blocks.0.sa.A": torch.zeros((2, 2), dtype=torch.bool)}, p)
    assert refusal(p).startswith("blocks.0.sa.A: dtype bool is not a number type")


class Planted:
    """An object whose unpickling would write a file."""
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (Path(self.target), "unpickled"))


def test_torch_never_unpickles_objects(tmp_path):
    import torch
    target = tmp_path / "planted.txt"
    torch.save({"blocks.0.ff.eta": Planted(target)}, tmp_path / "m.pt")
    assert refusal(tmp_path / "m.pt") == ("not a state_dict checkpoint: the safe loader (weights_only=True) "
                                          "reads tensors and plain containers only, and refused: Unsupported "
                                          "global: GLOBAL getattr was not an allowed global by default")
    assert not target.exists()


def test_corrupt_archives(tmp_path):
    p = write("npz", tmp_path / "m.npz", model())
    raw = Path(p).read_bytes()
    (tmp_path / "t.npz").write_bytes(raw[: len(raw) // 2])
    assert refusal(tmp_path / "t.npz").startswith("not a valid npz file: ")
    (tmp_path / "x.npz").write_text("hello")
    assert refusal(tmp_path / "x.npz") == "not an npz file (not a zip archive)"
    (tmp_path / "x.pt").write_text("hello")
    assert refusal(tmp_path / "x.pt") == "not a torch file (neither a zip archive nor a pickle)"
    (tmp_path / "x.safetensors").write_bytes(struct.pack("<Q", 10 ** 9) + b"{}")
    assert refusal(tmp_path / "x.safetensors") == ("not a safetensors file (its first 8 bytes give a "
                                                   "header of 1000000000 bytes, the file has 2 after them)")
    (tmp_path / "x.bin").write_bytes(b"\x00\x01hello")
    assert refusal(tmp_path / "x.bin") == ("cannot tell the weights format from the extension or the "
                                           "content: give the format (npz, safetensors, torch or json)")
    p = write("torch", tmp_path / "m.pt", model())
    os.rename(p, tmp_path / "t.npz")
    assert refusal(tmp_path / "t.npz") == "is a torch file, not an npz file (give the format torch)"


def _npy(shape, descr, data):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def test_a_4gb_shape_header_is_refused_at_once(tmp_path):
    p = tmp_path / "m.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("blocks.0.ff.b.npy", _npy((1 << 30,), "<f4", b"\x00" * 16))
    assert refusal(p) == ("blocks.0.ff.b: corrupt: its header says shape (1073741824,) of float32 "
                          "(4294967296 bytes) but it holds 16 bytes")
    head = json.dumps({"blocks.0.ff.b": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 16]}})
    p = tmp_path / "m.safetensors"
    p.write_bytes(struct.pack("<Q", len(head)) + head.encode() + b"\x00" * 16)
    assert refusal(p) == ("blocks.0.ff.b: corrupt: its header says shape (1073741824,) of F32 "
                          "(4294967296 bytes) but data_offsets hold 16 bytes")
    head = json.dumps({"blocks.0.ff.b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 32]}})
    p.write_bytes(struct.pack("<Q", len(head)) + head.encode() + b"\x00" * 16)
    assert refusal(p) == "blocks.0.ff.b: data_offsets [0, 4294967296] are not within the 16 bytes of data"


def test_layout_faults(tmp_path):
    """Data beside the declared arrays: extra bytes, overlaps and gaps are corrupt files."""
    p = tmp_path / "m.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("blocks.0.ff.b.npy", _npy((2,), "<f8", b"\x00" * 24))
    assert refusal(p) == ("blocks.0.ff.b: corrupt: its header says shape (2,) of float64 (16 bytes) "
                          "but it holds 24 bytes")

    def st_file(spans, data):
        head = json.dumps({k: {"dtype": "F32", "shape": [(hi - lo) // 4], "data_offsets": [lo, hi]}
                           for k, (lo, hi) in spans.items()})
        q = tmp_path / "m.safetensors"
        q.write_bytes(struct.pack("<Q", len(head)) + head.encode() + b"\x00" * data)
        return refusal(q)

    assert st_file({"blocks.0.ff.b": (0, 8), "blocks.0.ff.U": (4, 12)}, 12) == (
        "blocks.0.ff.U: corrupt: its data overlaps another's")
    assert st_file({"blocks.0.ff.b": (0, 8), "blocks.0.ff.U": (12, 16)}, 16) == (
        "blocks.0.ff.U: corrupt: its data leaves a gap of 4 bytes")
    assert st_file({"blocks.0.ff.b": (0, 8)}, 12) == "corrupt: 4 bytes after the last array"


def test_block_limit(tmp_path):
    few = Limits(max_blocks=1000)
    a = {f"blocks.99999.{n}": v for n, v in arrays(model()).items() if n.startswith("blocks.0.")}
    a = {k.replace("blocks.0.", ""): v for k, v in a.items()}
    np.savez(tmp_path / "m.npz", **a)
    assert refusal(tmp_path / "m.npz", limits=few) == ("a model of 100000 blocks exceeds the limit of "
                                                       "1000 (raise it with --max-blocks)")
    assert refusal(tmp_path / "m.npz") == ("block 0 is missing (the file has blocks up to 99999; blocks "
                                           "are numbered 0..L-1)")
    # a large JSON file: refused from its bytes, before the parse
    pad = " " * (1 << 20)
    (tmp_path / "m.json").write_text('{"format": "exactseq-weights",%s"weights": {"blocks.0.ff.eta": "1", '
                                     '"blocks.99999.ff.eta": "1"}}' % pad)
    assert refusal(tmp_path / "m.json", limits=few) == ("a model of 100000 blocks exceeds the limit of "
                                                        "1000 (raise it with --max-blocks)")
    # an archive of more members than the limit's blocks can have: refused before its directory is read
    with zipfile.ZipFile(tmp_path / "many.npz", "w") as z:
        for i in range(7100):
            z.writestr(f"x{i}.npy", b"")
    assert refusal(tmp_path / "many.npz", limits=few) == (
        "7100 zip archive entries are more than 7 per block for the limit of 1000 blocks (raise it "
        "with --max-blocks)")
    assert refusal(write("json", tmp_path / "d.json", model(), meta={"blocks": 3})) == (
        '"blocks" is 3 but the weights have 2 blocks')


def test_size_limits(tmp_path):
    p = write("json", tmp_path / "m.json", model())
    assert refusal(p, limits=Limits(max_file_size=64 * 40)) == (
        "a model of 43 numbers exceeds the limit of 40 (--max-file-size / 64: each exact number costs "
        "that much memory or more; raise it with --max-file-size)")
    assert wf.read(p, limits=Limits(max_file_size=64 * 43)).L == 2
    assert refusal(p, limits=Limits(max_file_size=100)).startswith("a file of ")
    a = arrays(model())
    a["blocks.0.ff.U"] = np.zeros((10 ** 6, 2))            # 16 MB that compress to a few kB
    np.savez_compressed(tmp_path / "z.npz", **a)
    assert os.path.getsize(tmp_path / "z.npz") < 10 ** 5
    assert refusal(tmp_path / "z.npz", limits=Limits(max_file_size=10 ** 6)).startswith(
        "an npz archive of 1600")
    assert refusal(tmp_path / "z.npz").startswith("blocks.0.ff.b: shape (3,), expected (1000000,)")


def test_json_refusals(tmp_path):
    base = json.loads(Path(write("json", tmp_path / "m.json", model())).read_text())

    def with_(value, key="blocks.0.ff.eta", raw=None):
        obj = json.loads(json.dumps(base))
        obj["weights"][key] = value
        text = json.dumps(obj) if raw is None else json.dumps(obj).replace('"@"', raw)
        (tmp_path / "m.json").write_text(text)
        return refusal(tmp_path / "m.json")

    assert with_("@", raw="0.5") == ('blocks.0.ff.eta: the JSON number 0.5 is not exact: write it as '
                                     'text ("0.5" for that decimal, "p/q" for a float\'s exact value)')
    assert with_([["1", "@"], ["0", "0"]], "blocks.0.sa.A", raw="1e-3") == (
        'blocks.0.sa.A[0,1]: the JSON number 1e-3 is not exact: write it as text ("1e-3" for that '
        'decimal, "p/q" for a float\'s exact value)')
    assert with_("sqrt(2)") == ("blocks.0.ff.eta: 'sqrt(2)' is not an exact rational (\"p\", \"p/q\" or "
                                "a decimal)")
    assert with_("1/0") == "blocks.0.ff.eta: '1/0' is not an exact rational (\"p\" or \"p/q\")"
    assert with_(True) == "blocks.0.ff.eta: true is not a number"
    assert with_("1" * 10 ** 6 + "/3") == ("blocks.0.ff.eta: an integer of 1000000 digits exceeds the "
                                           "limit of 100000 (raise it with --max-digits)")
    assert with_("@", raw="1" * 10 ** 6) == ("an integer of 1000000 digits exceeds the limit of 100000 "
                                             "(raise it with --max-digits)")
    assert with_("1e-1000000") == ("blocks.0.ff.eta: a decimal number of 1000001 digits exceeds the "
                                   "limit of 100000 (raise it with --max-digits)")
    assert with_("@", raw="NaN") == "NaN is not a number"
    assert with_([[1, 0], [0]], "blocks.0.sa.A") == "blocks.0.sa.A: not a rectangular array of numbers"
    assert with_([[1, 0], 0], "blocks.0.sa.A") == "blocks.0.sa.A: not a rectangular array of numbers"
    for top, message in [
            ({"format": "other"}, 'not an exactseq weights file (expected a JSON object with "format": '
                                  '"exactseq-weights")'),
            ({"version": 2}, "weights format version 2 is not supported (this reader knows version 1)"),
            ({"weights": []}, '"weights" must be an object of named arrays'),
            ({"dimension": 3}, "blocks.0.ff.U: shape (3, 2), expected (w, 3)"),
            ({"dimension": "2"}, "\"dimension\" must be a positive integer, not '2'"),
            ({"tau": 0.5}, '"tau": the JSON number 0.5 is not exact: write it as text ("0.5" for that '
                           'decimal)'),
            ({"tau": "-1"}, "metadata: tau -1 is not positive"),
            ({"attention": "linear"}, "metadata: attention 'linear' is not one of hardmax, softmax, causal")]:
        (tmp_path / "m.json").write_text(json.dumps({**base, **top}))
        assert refusal(tmp_path / "m.json") == message
    (tmp_path / "m.json").write_text("[1, 2")
    assert refusal(tmp_path / "m.json").startswith("invalid JSON at line 1 column ")


def test_corrupt_metadata(tmp_path):
    p = write("npz", tmp_path / "m.npz", model(), meta=None)
    a = arrays(model())
    np.savez(p, **a, __metadata__=np.array(["{not json"]))
    assert refusal(p).startswith("__metadata__: not JSON: invalid JSON at line 1")
    np.savez(p, **a, __metadata__=np.array([json.dumps({"attention": "softmax", "tau_exact": "0"})]))
    assert refusal(p) == "metadata: tau 0 is not positive"
    np.savez(p, **a, __metadata__=np.zeros(2))
    assert refusal(p) == "__metadata__: not a one-element string array"


# ------------------------------------------------------------------ property
def _dyadic():
    return st.builds(lambda m, e: F(m, 2 ** e), st.integers(-(2 ** 20), 2 ** 20), st.integers(0, 40))


@st.composite
def dyadic_models(draw):
    d, L = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    m = {}
    for k in range(L):
        w, H = draw(st.integers(0, 2)), draw(st.integers(1, 2))

        def mat(*shape):
            if not shape:
                return draw(_dyadic())
            return [mat(*shape[1:]) for _ in range(shape[0])]
        p = f"blocks.{k}."
        m.update({p + "ff.eta": mat(), p + "ff.U": np.array(mat(w, d), dtype=object).reshape(w, d),
                  p + "ff.b": mat(w), p + "ff.W": np.array(mat(d, w), dtype=object).reshape(d, w),
                  p + "sa.rho": mat(), p + "sa.A": mat(*((H,) if H > 1 else ()), d, d),
                  p + "sa.V": mat(*((H,) if H > 1 else ()), d, d)})
    return m


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dyadic_models())
def test_dyadic_weights_read_back_equal(m):
    """Random dyadic weights (exact in float32 and float64), in every format, read back equal."""
    floats = {k: np.array(v, dtype=object).astype("float64") for k, v in m.items()}
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for fmt, name in FORMATS:
            dtype = "float32" if fmt == "safetensors" else "float64"
            w = wf.read(write(fmt, os.path.join(tmp, name), floats if fmt != "json" else m, dtype=dtype))
            results.append(w)
        L = len(m) // 7
        for w in results:
            assert w.L == L and w.d == np.shape(m["blocks.0.sa.A"])[-1]
            for k, b in enumerate(w.blocks):
                assert b.U == fr(m[f"blocks.{k}.ff.U"]) and b.W == fr(m[f"blocks.{k}.ff.W"])
                assert (b.eta, b.rho, b.b) == (m[f"blocks.{k}.ff.eta"], m[f"blocks.{k}.sa.rho"],
                                               fr(m[f"blocks.{k}.ff.b"]))
                A, V = fr(m[f"blocks.{k}.sa.A"]), fr(m[f"blocks.{k}.sa.V"])
                assert b.heads == (((A, V),) if np.ndim(m[f"blocks.{k}.sa.A"]) == 2 else tuple(zip(A, V)))
        assert all(w.blocks == results[0].blocks for w in results)


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("valid")
    return {fmt: Path(write(fmt, d / name, model())).read_bytes() for fmt, name in FORMATS}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FORMATS), st.booleans(),
       st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3), st.binary(max_size=8)), min_size=1, max_size=4))
def test_damaged_files_end_in_one_line(valid_files, tmp_path, fmt_name, rename, edits):
    """Bytes overwritten, cut, inserted or the file truncated: read() succeeds or raises
    one InputError line naming the file, never anything else."""
    fmt, name = fmt_name
    raw = bytearray(valid_files[fmt])
    for where, op, data in edits:
        i = int(where * (len(raw) - 1))
        if op == 0:
            raw[i:i + len(data)] = data
        elif op == 1:
            del raw[i:i + 1 + len(data)]
        elif op == 2:
            raw[i:i] = data
        else:
            del raw[i:]
    p = tmp_path / ("damaged.bin" if rename else name)
    p.write_bytes(bytes(raw))
    try:
        w = wf.read(p)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(f"{p}: ")
    else:
        assert w.d >= 1 and w.L >= 1


# ------------------------------------------------------------------ the weights certificate
def _example(name):
    return EXAMPLE / name


def _sq(u, v):
    return sum((a - b) ** 2 for a, b in zip(u, v))


def evaluate(cert, X):
    """A plain dense evaluation of a hardmax weights certificate on one sequence."""
    q = F

    def mat(M, x):
        if M["kind"] == "zero":
            return [F(0)] * len(x)
        assert M["kind"] == "full"
        return [sum(q(r[j]) * x[j] for j in range(len(x))) for r in M["rows"]]

    for blk in cert["blocks"]:
        ff, sa = blk["ff"], blk["sa"]
        Y = []
        for x in X:
            h = [max(F(0), sum(q(u[j]) * x[j] for j in range(len(x))) + q(c))
                 for u, c in zip(ff["U"], ff["b"])]
            Y.append([q(ff["eta"]) * x[i] + sum(q(ff["W"][i][j]) * h[j] for j in range(len(h)))
                      for i in range(len(x))])
        Z = []
        for y in Y:
            z = [q(sa["rho"]) * c for c in y]
            for head in sa["heads"]:
                a = mat(head["A"], y)
                s = [sum(ai * bi for ai, bi in zip(a, t)) for t in Y]
                C = [t for t, si in zip(Y, s) if si == max(s)]
                mean = [sum(t[i] for t in C) / len(C) for i in range(len(y))]
                z = [zi + vi for zi, vi in zip(z, mat(head["V"], mean))]
            Z.append(z)
        X = Z
    return {tuple(x) for x in X}


def hausdorff_sq(P, Q):
    return max(max(min(_sq(p, q) for q in Q) for p in P), max(min(_sq(p, q) for p in P) for q in Q))


def test_example_certificate():
    ds = load(str(_example("data.json")))
    w = wf.read(_example("model.npz"))
    cert = weightcert.build(ds, w)
    assert (cert["format"], cert["schema_version"], cert["kind"], cert["attention"]) == (
        "exactseq-certificate", 1, "weights", "hardmax")
    assert cert["source"] == {"file": "model.npz", "format": "npz",
                              "sha256": hashlib.sha256(_example("model.npz").read_bytes()).hexdigest()}
    assert cert["dataset"] == canonical_obj(ds) and cert["dataset_sha256"] == canonical_hash(canonical_obj(ds))
    assert cert["field"] is None and "softmax" not in cert and "tolerance" not in cert
    b0, b1 = cert["blocks"]
    assert b0 == {"ff": {"eta": "1", "U": [["1", "0"]], "b": ["-1"], "W": [["0"], ["1/2"]]},
                  "sa": {"rho": "1", "heads": [
                      {"A": {"kind": "full", "rows": [["1", "0"], ["0", "0"]]},
                       "V": {"kind": "full", "rows": [["1/2", "0"], ["0", "0"]]}},
                      {"A": {"kind": "full", "rows": [["0", "0"], ["0", "1"]]},
                       "V": {"kind": "full", "rows": [["0", "0"], ["0", "-1/4"]]}}]}}
    assert b1["sa"]["heads"] == [{"A": {"kind": "full", "rows": [["-1", "0"], ["0", "-1"]]},
                                  "V": {"kind": "full", "rows": [["1/4", "0"], ["0", "1/4"]]}}]
    cert_json = weightcert.build(ds, wf.read(_example("model.json")))
    assert cert_json["blocks"] == cert["blocks"] and cert_json["source"]["format"] == "json"
    json.dumps(cert)
    # the model's outputs are the dataset's outputs, exactly; moved.json is 1/1024 away
    for p in ds.pairs:
        assert evaluate(cert, [list(x) for x in p.input]) == set(p.output)
    moved = load(str(_example("moved.json")))
    gaps = [hausdorff_sq(evaluate(cert, [list(x) for x in p.input]), set(p.output)) for p in moved.pairs]
    assert gaps == [0, 0, F(1, 1024 ** 2), 0]


def test_example_files_are_what_make_py_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("two_heads_make", _example("make.py"))
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    make.check()
    make.write_npz(tmp_path / "model.npz")
    make.write_json(tmp_path / "model.json")
    make.write_dataset(tmp_path / "data.json", make.dataset())
    make.write_dataset(tmp_path / "moved.json", make.dataset(make.MOVE))
    for name in ("model.npz", "model.json", "data.json", "moved.json"):
        assert (tmp_path / name).read_bytes() == _example(name).read_bytes(), name
    # make.py's own evaluator agrees with the one above
    cert = weightcert.build(load(str(_example("data.json"))), wf.read(_example("model.json")))
    for _, X in make.INPUTS:
        assert set(make.output_set(X)) == evaluate(cert, [[F(c) for c in x] for x in X])


DATA = {"sequences": [{"input": [["1", "2"], ["3", "1/2"]], "output": [["1", "1"]]}]}


def test_certificate_options_and_refusals(tmp_path):
    w = wf.read(write("npz", tmp_path / "m.npz", model()))
    ds = from_obj(DATA, "d.json")
    c = weightcert.build(ds, w, attention="softmax", tau=F(1, 100), tolerance=F(1, 10 ** 6))
    assert (c["softmax"], c["tolerance"], c["attention"]) == ({"tau": "1/100", "order": 64}, "1/1000000",
                                                              "softmax")
    assert weightcert.build(ds, w, tolerance=F(0))["tolerance"] == "0"
    zero = c["blocks"][1]["sa"]["heads"][0]["V"]
    assert zero == {"kind": "zero"} and c["blocks"][1]["ff"] == {"eta": "2", "U": [], "b": [], "W": [[], []]}
    assert c["blocks"][0]["ff"]["U"][0] == ["1/2", f"1/{2 ** 1074}"]
    causal = from_obj({"sequences": [{"input": [[1, 2], [3, 4]], "targets": [[1, 1], [2, 2]]}]}, "c.json")
    assert weightcert.build(causal, w)["attention"] == "causal"
    circle = from_obj({"sequences": [{"input": [[1, 0], ["1/2", "sqrt(3)/2"]], "output": [[0, 1]]}]}, "f.json")
    fc = weightcert.build(circle, w)
    assert fc["field"]["minpoly"] and fc["blocks"][0]["sa"]["rho"] == "1/2"
    p = w.path
    for kw, data, message in [
            ({}, {"sequences": [{"input": [[1, 2, 3]], "output": [[1, 1, 1]]}]},
             f"{p}: the weights have d = 2 but the dataset d.json has dimension 3"),
            ({"attention": "softmax", "tolerance": F(1)}, DATA,
             f"{p}: softmax attention needs tau (give it, or a weight file whose metadata has tau_exact)"),
            ({"attention": "softmax", "tau": F(1)}, DATA,
             f"{p}: softmax attention needs a positive tolerance (equality cannot be proven through exp)"),
            ({"attention": "softmax", "tau": F(0), "tolerance": F(1)}, DATA, f"{p}: tau 0 is not positive"),
            ({"attention": "softmax", "tau": 0.5, "tolerance": F(1)}, DATA,
             f"{p}: tau must be an exact rational (int or Fraction), not float"),
            ({"tolerance": F(-1)}, DATA, f"{p}: tolerance -1 is not non-negative"),
            ({"attention": "causal"}, DATA, f"{p}: causal attention needs a dataset with 'targets' (one "
             "target per position); d.json gives output sets"),
            ({"attention": "max"}, DATA, f"{p}: attention 'max' is not one of hardmax, softmax, causal")]:
        with pytest.raises(InputError) as exc:
            weightcert.build(from_obj(data, "d.json"), w, **kw)
        assert str(exc.value) == message
    with pytest.raises(InputError) as exc:
        weightcert.build(causal, w, attention="hardmax")
    assert str(exc.value) == (f"{p}: the dataset c.json gives 'targets' (one per position), which needs "
                              "causal attention, not hardmax")
    with pytest.raises(InputError) as exc:
        weightcert.build(circle, w, attention="softmax", tau=F(1), tolerance=F(1))
    assert str(exc.value) == (f"{p}: softmax attention needs rational data; the dataset f.json is over a "
                              "number field (hardmax only)")
    soft = wf.read(write("npz", tmp_path / "s.npz", model(), meta={"attention": "softmax", "tau_exact": "1/8"}))
    c = weightcert.build(ds, soft, tolerance=F(1, 1000))
    assert (c["attention"], c["softmax"]["tau"]) == ("softmax", "1/8")


def test_compressed_or_expanded_storage_is_not_expanded(tmp_path):
    """A few kilobytes cannot declare millions of numbers: compressed zeros in an npz,
    a zero-stride tensor in a .pt; refused before any copy, naming the sizes."""
    import io
    import zipfile
    w = 700_000
    arrays = {"blocks.0.ff.eta": np.array(1.0), "blocks.0.ff.U": np.zeros((w, 2)),
              "blocks.0.ff.b": np.zeros(w), "blocks.0.ff.W": np.zeros((2, w)),
              "blocks.0.sa.rho": np.array(1.0), "blocks.0.sa.A": np.eye(2), "blocks.0.sa.V": np.zeros((2, 2))}
    np.savez_compressed(tmp_path / "wide.npz", **arrays)
    size = (tmp_path / "wide.npz").stat().st_size
    assert refusal(tmp_path / "wide.npz") == (
        f"{4 * w + w + 10} numbers in a file of {size} bytes: more than 1000000 (one per 2 bytes, or "
        "1000000): compressed or repeated storage is not expanded; write the arrays uncompressed")
    torch = pytest.importorskip("torch")
    sd = {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}
    sd["blocks.0.ff.U"] = torch.zeros(1, 1).expand(w, 2)
    sd["blocks.0.ff.W"] = torch.zeros(1, 1).expand(2, w)
    sd["blocks.0.ff.b"] = torch.zeros(1).expand(w)
    torch.save(sd, tmp_path / "wide.pt")
    assert refusal(tmp_path / "wide.pt").startswith(f"{5 * w + 10} numbers in a file of ")


def test_negative_shape_in_an_npy_header(tmp_path):
    import io
    import zipfile
    from numpy.lib import format as npf
    buf = io.BytesIO()
    npf.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (-2, -2)})
    buf.write(b"\0" * 32)
    with zipfile.ZipFile(tmp_path / "neg.npz", "w") as z:
        z.writestr("blocks.0.sa.A.npy", buf.getvalue())
    assert refusal(tmp_path / "neg.npz") == "blocks.0.sa.A: shape [-2, -2] is not a list of sizes"
