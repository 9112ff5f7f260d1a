"""Reading a transformer's weights from a file, exactly.

:func:`read` reads the weight files ``exactseq export`` writes, and the same
names written by anyone else: ``blocks.{k}.ff.eta`` (), ``blocks.{k}.ff.U``
(w x d), ``blocks.{k}.ff.b`` (w), ``blocks.{k}.ff.W`` (d x w),
``blocks.{k}.sa.rho`` (), ``blocks.{k}.sa.A`` and ``blocks.{k}.sa.V`` (d x d
for one head, H x d x d for H heads), k = 0 .. L-1, in four formats:

* ``npz`` (NumPy ``savez``): every member a ``.npy`` array; an optional
  ``__metadata__`` string array holds a JSON object;
* ``safetensors``: its header's optional ``__metadata__`` (strings);
* ``torch`` (``.pt``, ``.pth``): a state_dict of tensors, or the
  ``{"state_dict": ..., "metadata": ...}`` that ``exactseq export`` writes,
  loaded with ``weights_only=True`` (no other object is ever unpickled);
* ``json``: ``{"format": "exactseq-weights", "version": 1, "dimension": d,
  "blocks": L, "weights": {name: number or nested lists of numbers}}`` with
  optional ``"attention"`` and ``"tau"``; a number is exact text ("p", "p/q"
  or a decimal such as "0.25") or a JSON integer.  A JSON number with a
  fraction or an exponent is refused: ``0.1`` may mean the decimal 1/10 or
  the binary float nearest to it, and the two are different models.  Other
  top-level entries are ignored.

Every float weight becomes the exact dyadic rational it is,
``Fraction(float(x))`` (float16, bfloat16, float32 and float64 all convert
to a Python float exactly); integer arrays are allowed; inf and NaN are
refused.  The metadata, when present, may say the attention ("hardmax",
"softmax", "causal") and the exact softmax temperature (``"tau_exact"``;
the JSON format's ``"tau"``); a float ``"tau"`` is never used.

The file is read once (``proofs_check.limits.read_bytes``, so
``--max-file-size`` holds) and hashed; everything is parsed from those bytes.
npz and safetensors are parsed here, not by NumPy's ``np.load`` or the
safetensors library: every array's declared shape is compared with the
bytes that hold it before anything is allocated, so a header that asks for
4 GB in a small file is refused at once.  The number of blocks is bounded by
``--max-blocks`` before any array is read, JSON numbers by ``--max-digits``,
an npz archive's uncompressed size by ``--max-file-size``, and the number of
weights by ``--max-file-size`` / 64 (each becomes a Fraction).

Every problem is a :class:`WeightsError` (an InputError) with a one-line
message that starts with the file's path and names the key, e.g.
``model.npz: blocks.1.sa.V: missing``.
"""
from __future__ import annotations

import gc
import hashlib
import io
import json
import math
import os
import re
import struct
from itertools import chain
from dataclasses import dataclass
from fractions import Fraction

from proofs_check.limits import KBITS, DEFAULT, FloatText, LimitError, read_bytes, read_json, spend

from .errors import InputError, MissingExtra
from .numbers import NumberError, parse_coordinate, quote, rational, to_text

__all__ = ["WeightsError", "Block", "Weights", "read", "FORMATS", "EXTENSIONS", "NAMES",
           "ATTENTIONS", "json_obj", "dumps", "sniff"]

FORMATS = ("npz", "safetensors", "torch", "json")
EXTENSIONS = {".npz": "npz", ".safetensors": "safetensors", ".pt": "torch", ".pth": "torch",
              ".json": "json"}
NAMES = ("ff.eta", "ff.U", "ff.b", "ff.W", "sa.rho", "sa.A", "sa.V")
ATTENTIONS = ("hardmax", "softmax", "causal")
JSON_FORMAT = "exactseq-weights"
JSON_VERSION = 1
METADATA = "__metadata__"
_KEY = re.compile(r"blocks\.(0|[1-9][0-9]*)\.(ff\.eta|ff\.U|ff\.b|ff\.W|sa\.rho|sa\.A|sa\.V)\Z")
_KEY_TEXT = re.compile(rb'"blocks\.(0|[1-9][0-9]*)\.(?:ff\.eta|ff\.U|ff\.b|ff\.W|sa\.rho|sa\.A|sa\.V)"\s*:')
_DECIMAL = re.compile(r"[+-]?(?=\.?[0-9])[0-9]*(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?\Z")
EXPECTED = "blocks.{k}.ff.eta, ff.U, ff.b, ff.W, sa.rho, sa.A, sa.V"
_MAX_HEADER = 100_000_000        # a safetensors header (the library's own bound)
NUMBER_BYTES = 64                # at most --max-file-size / 64 weights (16.7 million by default)


class WeightsError(InputError):
    """A weight file that cannot be read as a transformer (one line, starting with its path)."""


@dataclass(frozen=True)
class Block:
    """One block, SA(FF(X)), with exact weights (Fractions)."""
    eta: Fraction
    U: tuple          # w rows of d numbers
    b: tuple          # w numbers
    W: tuple          # d rows of w numbers
    rho: Fraction
    heads: tuple      # ((A, V), ...): each A and V d rows of d numbers

    @property
    def width(self):
        return len(self.U)

    @property
    def H(self):
        return len(self.heads)


@dataclass(frozen=True)
class Weights:
    """A transformer read from a file: ``blocks[k]`` is the file's block k."""
    d: int
    blocks: tuple
    format: str                   # "npz" | "safetensors" | "torch" | "json"
    sha256: str                   # of the file's bytes
    path: str
    attention: str = None         # from the file's metadata, else None
    tau: Fraction = None          # exact softmax temperature from the metadata, else None

    @property
    def L(self):
        return len(self.blocks)

    @property
    def heads(self):
        """The most heads of any block (1: every block has one head)."""
        return max(b.H for b in self.blocks)

    def describe(self):
        """One line: the format, d, L, heads and widths."""
        def span(values):
            lo, hi = min(values), max(values)
            return str(lo) if lo == hi else f"{lo}..{hi}"

        heads = span([b.H for b in self.blocks])
        return (f"{self.path}: {self.format}, d = {self.d}, {self.L} block{'s' * (self.L != 1)}, "
                f"{heads} head{'s' * (heads != '1')}, FF width {span([b.width for b in self.blocks])}"
                + (f", {self.attention}" if self.attention else "")
                + (f", tau = {to_text(self.tau)}" if self.tau is not None else ""))


# ------------------------------------------------------------------ entry points
def read(path, fmt=None, limits=None):
    """The :class:`Weights` of the file at ``path`` (format ``fmt``, default from the
    extension, else from the content); WeightsError (one line) on any problem,
    MissingExtra if torch is needed and absent."""
    limits = limits or DEFAULT
    path = os.fspath(path)

    def fail(msg):
        raise WeightsError(f"{path}: {msg}")

    if fmt is not None and fmt not in FORMATS:
        fail(f"unknown weights format {quote(fmt)} (known: {', '.join(FORMATS)})")
    try:
        raw = read_bytes(path, limits)
    except OSError as exc:
        fail(f"cannot read: {exc.strerror or exc}")
    except LimitError as exc:
        fail(str(exc))
    if not raw:
        fail("empty file")
    if fmt is None:
        fmt = EXTENSIONS.get(os.path.splitext(path)[1].lower()) or sniff(raw)
        if fmt is None:
            fail("cannot tell the weights format from the extension or the content: give "
                 "the format (npz, safetensors, torch or json)")
    sha = hashlib.sha256(raw).hexdigest()
    reader = {"npz": _npz, "safetensors": _safetensors, "torch": _torch, "json": _json}[fmt]
    collecting = gc.isenabled()
    gc.disable()        # millions of small acyclic objects: the cycle collector only costs time
    try:
        entries, meta, declared = reader(raw, path, limits)
        attention, tau = _metadata(meta, path, limits)
        d, blocks = _assemble(entries, path, fmt, limits, declared or {}, len(raw))
    except LimitError as exc:
        fail(str(exc).removeprefix(f"{path}: "))
    finally:
        if collecting:
            gc.enable()
    return Weights(d, tuple(blocks), fmt, sha, path, attention, tau)


def sniff(raw):
    """The format the bytes look like, or None."""
    if raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "torch" if _zip_is_torch(raw) else "npz"
    if raw[:1] == b"\x80":
        return "torch"               # a pickle: the legacy torch format
    if len(raw) > 9 and raw[8:9] == b"{":
        (n,) = struct.unpack("<Q", raw[:8])
        if n <= len(raw) - 8:
            return "safetensors"
    head = raw[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"{":
        return "json"
    return None


def _zip_is_torch(raw):
    """Whether the zip's first member is a torch archive's data.pkl (torch writes it first)."""
    if len(raw) < 30:
        return False
    (n,) = struct.unpack("<H", raw[26:28])
    return raw[30:30 + n].endswith(b"/data.pkl")


# ------------------------------------------------------------------ arrays
class _Entry:
    """One named array: its shape, and how to get its values (flat, C order)."""
    __slots__ = ("shape", "kind", "values", "dtype")

    def __init__(self, shape, kind, values, dtype=""):
        self.shape = tuple(shape)
        self.kind = kind              # "float": Python floats; "int": ints; "json": JSON values
        self.values = values          # a callable returning the flat list
        self.dtype = dtype


def _np_entry(arr):
    """An entry from a NumPy array of a float or integer dtype (checked by the caller)."""
    kind = "float" if arr.dtype.kind == "f" else "int"
    return _Entry(arr.shape, kind, lambda: arr.ravel().tolist(), str(arr.dtype))


def _npy_dtype_ok(dt):
    """None if the NumPy dtype is one we read exactly, else the reason."""
    if dt.kind == "f" and dt.itemsize in (2, 4, 8):
        return None
    if dt.kind in "iu" and dt.fields is None:
        return None
    name = dt.name if dt.fields is None else "structured"
    return (f"dtype {name} is not a number type we read exactly "
            "(float16, bfloat16, float32, float64 or integers)")


def _zip_entries(raw):
    """The central directory's entry count, read from the end record; None if unclear."""
    tail = raw[-(65535 + 22):]
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or len(tail) < i + 22:
        return None
    total = struct.unpack("<H", tail[i + 10:i + 12])[0]
    if total != 0xFFFF:
        return total
    j = i - 20                          # the zip64 end-record locator
    if j < 0 or tail[j:j + 4] != b"PK\x06\x07":
        return None
    off = struct.unpack("<Q", tail[j + 8:j + 16])[0]
    if off + 40 > len(raw) or raw[off:off + 4] != b"PK\x06\x06":
        return None
    return struct.unpack("<Q", raw[off + 32:off + 40])[0]


FREE_NUMBERS = 1_000_000     # numbers any file may hold, however small


def _storage_guard(numbers, size, limits):
    """A file declares at most max(FREE_NUMBERS, size / 2) numbers (2 bytes is the
    smallest float read): compressed zeros or a zero-stride tensor cannot make a
    few kilobytes into 10^9 numbers of work.  LimitError naming --max-file-size."""
    if size is None:
        return
    cap = max(FREE_NUMBERS, size // 2)
    if numbers > cap:
        raise LimitError(f"{numbers} numbers in a file of {size} bytes: more than {cap} (one per 2 "
                         f"bytes, or {FREE_NUMBERS}): compressed or repeated storage is not expanded; "
                         "write the arrays uncompressed")


def _count_guard(n, limits, what="entries"):
    """Refuse a file of more arrays than --max-blocks blocks can have (before reading them)."""
    if n is not None and n > len(NAMES) * limits.max_blocks + 16:
        raise LimitError(f"{n} {what} are more than {len(NAMES)} per block for the limit of "
                         f"{limits.max_blocks} blocks (raise it with --max-blocks)")


def _check_keys(keys, path, limits):
    """Refuse the first unknown name, and names that number more blocks than
    --max-blocks, before any array is read."""
    top, match = -1, _KEY.match
    for key in keys:
        m = match(key) if isinstance(key, str) else None
        if m is None:
            raise WeightsError(f"{path}: unknown key {quote(key)} (expected {EXPECTED})")
        digits = m.group(1)
        k = int(digits) if len(digits) <= 18 else 10 ** 18
        if k > top:
            top = k
    if top + 1 > limits.max_blocks:
        raise limits.refuse(f"a model of {top + 1} blocks", "max_blocks")


def _prescan(raw, limits):
    """Refuse a large JSON file whose keys number more blocks than --max-blocks,
    from its bytes (before the parse, which costs far more)."""
    found = _KEY_TEXT.findall(raw)
    if found:
        top = max(found, key=lambda t: (len(t), t)).decode("ascii")
        if (int(top) if len(top) <= 18 else 10 ** 18) + 1 > limits.max_blocks:
            raise limits.refuse(f"a model of {int(top) + 1 if len(top) <= 18 else 'over 10^18'} "
                                "blocks", "max_blocks")


def _npz(raw, path, limits):
    import zipfile
    import numpy as np
    from numpy.lib import format as npf

    def fail(msg):
        raise WeightsError(f"{path}: {msg}")

    if raw[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        fail("not an npz file (not a zip archive)")
    _count_guard(_zip_entries(raw), limits, "zip archive entries")
    try:
        z = zipfile.ZipFile(io.BytesIO(raw))
        infos = z.infolist()
    except Exception as exc:            # noqa: BLE001 - any failure of a hostile archive
        fail(f"not a valid npz file: {_one_line(exc)}")
    _count_guard(len(infos), limits, "zip archive entries")
    if any(i.filename.endswith("/data.pkl") for i in infos):
        fail("is a torch file, not an npz file (give the format torch)")
    keys = [i.filename.removesuffix(".npy") for i in infos]
    _check_keys([k for k in keys if k != METADATA], path, limits)
    total = sum(i.file_size for i in infos)
    if total > limits.max_file_size:
        raise limits.refuse(f"an npz archive of {total} bytes uncompressed", "max_file_size")
    entries, meta, seen = {}, None, set()
    for info in infos:
        name = info.filename
        key = name[:-4] if name.endswith(".npy") else name
        if key in seen:
            fail(f"{key}: twice in the archive")
        seen.add(key)
        try:
            with z.open(info) as fp:
                version = npf.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dt = npf.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, fortran, dt = npf.read_array_header_2_0(fp)
                else:
                    fail(f"{key}: .npy format version {version[0]}.{version[1]} is not supported")
                if not isinstance(shape, tuple) or any(type(x) is not int or x < 0 for x in shape):
                    fail(f"{key}: shape {_show(shape)} is not a list of sizes")
                bad = _npy_dtype_ok(dt) if key != METADATA else (
                    None if dt.kind == "U" and shape == (1,) else "not a one-element string array")
                if bad:
                    fail(f"{key}: {bad}")
                need = math.prod(shape) * dt.itemsize
                have = info.file_size - fp.tell()
                if need != have:
                    fail(f"{key}: corrupt: its header says shape {shape} of {dt.name} ({need} bytes) "
                         f"but it holds {have} bytes")
                data = fp.read(need)
        except WeightsError:
            raise
        except Exception as exc:        # noqa: BLE001 - bad header, CRC, decompression
            fail(f"{key}: not a valid .npy array: {_one_line(exc)}")
        if len(data) != need:
            fail(f"{key}: corrupt: {len(data)} of {need} bytes")
        arr = np.frombuffer(data, dt).reshape(shape, order="F" if fortran else "C")
        if key == METADATA:
            meta = _json_text(str(arr[0]), path, limits, METADATA)
        else:
            entries[key] = _np_entry(arr)
    return entries, meta, None


_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "bf16", "I8": "i1", "I16": "<i2",
              "I32": "<i4", "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8"}


def _safetensors(raw, path, limits):
    import numpy as np

    def fail(msg):
        raise WeightsError(f"{path}: {msg}")

    if len(raw) < 10:
        fail(f"not a safetensors file ({len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8 or n > _MAX_HEADER or raw[8:9] != b"{":
        fail(f"not a safetensors file (its first 8 bytes give a header of {n} bytes, "
             f"the file has {len(raw) - 8} after them)")
    try:
        header = read_json(raw[8:8 + n].rstrip(b" "), limits, path)
    except LimitError:
        raise
    except ValueError as exc:
        fail(f"not a safetensors file: its header is {_one_line(exc)}")
    if not isinstance(header, dict):
        fail("not a safetensors file: its header is not a JSON object")
    _count_guard(len(header), limits, "arrays")
    buf = memoryview(raw)[8 + n:]
    meta = header.pop(METADATA, None)
    if meta is not None and not (isinstance(meta, dict) and all(
            isinstance(v, str) for v in meta.values())):
        fail(f"{METADATA}: must be an object of strings")
    _check_keys(header, path, limits)
    entries, spans = {}, []
    for key, info in header.items():
        if not isinstance(info, dict):
            fail(f"{key}: its header entry is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _ST_DTYPES:
            fail(f"{key}: dtype {quote(dtype)} is not a number type we read exactly "
                 "(F16, BF16, F32, F64 or integers)")
        if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
            fail(f"{key}: shape {_show(shape)} is not a list of sizes")
        if not (isinstance(offsets, list) and len(offsets) == 2 and
                all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1] <= len(buf)):
            fail(f"{key}: data_offsets {_show(offsets)} are not within the {len(buf)} bytes of data")
        size = 2 if dtype == "BF16" else np.dtype(_ST_DTYPES[dtype]).itemsize
        need, have = math.prod(shape) * size, offsets[1] - offsets[0]
        if need != have:
            fail(f"{key}: corrupt: its header says shape {tuple(shape)} of {dtype} ({need} bytes) "
                 f"but data_offsets hold {have} bytes")
        spans.append((offsets[0], offsets[1], key))
        data = buf[offsets[0]:offsets[1]]
        if dtype == "BF16":             # the top half of a float32: widening is exact
            arr = (np.frombuffer(data, "<u2").astype("<u4") << 16).view("<f4")
        else:
            arr = np.frombuffer(data, _ST_DTYPES[dtype])
        entries[key] = _np_entry(arr.reshape(shape))
        entries[key].dtype = dtype
    end = 0
    for lo, hi, key in sorted(spans):
        if lo != end:
            fail(f"{key}: corrupt: its data " + ("overlaps another's" if lo < end
                                                  else f"leaves a gap of {lo - end} bytes"))
        end = hi
    if end != len(buf):
        fail(f"corrupt: {len(buf) - end} bytes after the last array")
    return entries, meta, None


_TORCH_FLOATS = ("float64", "float32", "float16", "bfloat16")
_TORCH_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def _torch(raw, path, limits):
    import pickle

    def fail(msg):
        raise WeightsError(f"{path}: {msg}")

    if raw[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        _count_guard(_zip_entries(raw), limits, "zip archive entries")
    elif raw[:1] != b"\x80":
        fail("not a torch file (neither a zip archive nor a pickle)")
    try:
        import torch
    except ImportError:
        raise MissingExtra(f"{path}: reading a torch file needs torch: "
                           "pip install 'exactseq[torch]'") from None
    try:
        import warnings
        with warnings.catch_warnings():          # torch's own advice is not for this file's reader
            warnings.simplefilter("ignore")
            obj = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        why = re.search(r"WeightsUnpickler error: ([^\n]*?)(?:\. |\.?\n|\.?$)", str(exc))
        if why is None:
            fail(f"not a readable torch file: {_one_line(exc)}")
        fail("not a state_dict checkpoint: the safe loader (weights_only=True) reads tensors and "
             f"plain containers only, and refused: {_one_line(why.group(1), 120)}")
    except Exception as exc:            # noqa: BLE001 - any failure of a hostile file
        fail(f"not a readable torch file: {_one_line(exc)}")
    meta = None
    if isinstance(obj, dict) and "state_dict" in obj:
        extra = [k for k in obj if k not in ("state_dict", "metadata")]
        if extra:
            fail(f"unknown entry {quote(extra[0])} beside 'state_dict' (expected a state_dict "
                 "of tensors, or {'state_dict': ..., 'metadata': ...})")
        meta = obj.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            fail(f"'metadata' must be a dict, not {type(meta).__name__}")
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        fail(f"not a state_dict of tensors (a {type(obj).__name__})")
    _count_guard(len(obj), limits, "tensors")
    _check_keys(obj, path, limits)
    # zero-stride (expanded) or shared storage: count the numbers before any copy
    declared = sum(t.numel() for t in obj.values() if isinstance(t, torch.Tensor))
    _storage_guard(declared, len(raw), limits)
    entries = {}
    for key, t in obj.items():
        if not isinstance(t, torch.Tensor):
            fail(f"{key}: not a tensor (a {type(t).__name__})")
        name = str(t.dtype).removeprefix("torch.")
        if t.layout != torch.strided or t.is_quantized or t.is_sparse or t.device.type != "cpu":
            fail(f"{key}: not a dense CPU tensor")
        if name not in _TORCH_FLOATS + _TORCH_INTS:
            fail(f"{key}: dtype {name} is not a number type we read exactly "
                 "(float16, bfloat16, float32, float64 or integers)")
        try:
            t = t.detach().resolve_neg().resolve_conj()
            arr = (t.to(torch.float64) if name in _TORCH_FLOATS else t).numpy()   # widening: exact
        except Exception as exc:        # noqa: BLE001 - a tensor NumPy cannot view
            fail(f"{key}: cannot read the tensor: {_one_line(exc)}")
        entries[key] = _np_entry(arr)
        entries[key].dtype = name
    return entries, meta, None


def _json(raw, path, limits):
    def fail(msg):
        raise WeightsError(f"{path}: {msg}")

    if len(raw) > 1 << 20:                  # a quick look at the keys before parsing
        _prescan(raw, limits)
    try:
        obj = read_json(raw, limits, path)
    except LimitError:
        raise
    except ValueError as exc:
        fail(str(exc).removeprefix(f"{path}: "))
    if not isinstance(obj, dict) or obj.get("format") != JSON_FORMAT:
        fail(f"not an exactseq weights file (expected a JSON object with \"format\": "
             f"\"{JSON_FORMAT}\")")
    version = obj.get("version", JSON_VERSION)
    if version != JSON_VERSION or type(version) is not int:
        fail(f"weights format version {quote(version)} is not supported (this reader knows "
             f"version {JSON_VERSION})")
    weights = obj.get("weights")
    if not isinstance(weights, dict):
        fail("\"weights\" must be an object of named arrays")
    d = obj.get("dimension")
    if d is not None and (type(d) is not int or d < 1):
        fail(f"\"dimension\" must be a positive integer, not {quote(d)}")
    L = obj.get("blocks")
    if L is not None and (type(L) is not int or L < 0):
        fail(f"\"blocks\" must be a non-negative integer, not {quote(L)}")
    if L is not None and L > limits.max_blocks:
        raise limits.refuse(f"a model of {L} blocks", "max_blocks")
    _count_guard(len(weights), limits, "weights")
    _check_keys(weights, path, limits)
    entries = {}
    for key, val in weights.items():
        shape, flat = _nested(val, key, path)
        entries[key] = _Entry(shape, "json", lambda flat=flat: flat, "json")
    meta = {k: obj[k] for k in ("attention", "tau", "tau_exact") if k in obj}
    if isinstance(meta.get("tau"), FloatText):
        fail(f"\"tau\": the JSON number {meta['tau']} is not exact: write it as text "
             f"(\"{meta['tau']}\" for that decimal)")
    if "tau" in meta:
        meta.setdefault("tau_exact", meta.pop("tau"))
    return entries, meta, {"dimension": d, "blocks": L}


def _nested(val, key, path):
    """(shape, flat list of scalars) of nested JSON lists; an empty list ends the shape."""
    if type(val) is not list:
        return (), [val]
    shape, level = [], [val]
    while True:
        types = set(map(type, level))
        if list not in types:
            return tuple(shape), level
        lens = set(map(len, level)) if len(types) == 1 else ()
        if len(lens) != 1:
            raise WeightsError(f"{path}: {key}: not a rectangular array of numbers")
        shape.append(lens.pop())
        level = list(chain.from_iterable(level))
        if not shape[-1]:
            return tuple(shape), level


def _json_text(text, path, limits, where):
    try:
        obj = read_json(text, limits, path)
    except LimitError:
        raise
    except ValueError as exc:
        raise WeightsError(f"{path}: {where}: not JSON: {_one_line(exc)}") from None
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: {where}: not a JSON object")
    return obj


def _show(x, width=60):
    """A JSON value for a message, cut to ``width`` characters."""
    text = json.dumps(x)
    return text if len(text) <= width else text[:width] + "..."


def _one_line(exc, width=160):
    """The first line of an exception's message (or of a text), cut to ``width``."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= width else text[:width] + "..."


# ------------------------------------------------------------------ metadata
def _metadata(meta, path, limits):
    """(attention, tau) from a file's metadata (each None when not said)."""
    if not meta:
        return None, None
    att = meta.get("attention")
    if att is not None and att not in ATTENTIONS:
        raise WeightsError(f"{path}: metadata: attention {quote(att)} is not one of "
                           f"{', '.join(ATTENTIONS)}")
    tau = meta.get("tau_exact")
    if tau is not None:
        try:
            if not isinstance(tau, (str, int)) or isinstance(tau, (bool, FloatText)):
                raise NumberError(f"{quote(tau)} is not exact text")
            tau = _scalar(tau, limits)
        except (NumberError, LimitError) as exc:
            raise WeightsError(f"{path}: metadata: tau: {exc}") from None
        if tau <= 0:
            raise WeightsError(f"{path}: metadata: tau {to_text(tau)} is not positive")
    return att, tau


def _scalar(x, limits):
    """An exact rational from JSON: an int, or text "p", "p/q" or a decimal; each big
    one charged to the work budget (--max-work), however often its text repeats."""
    q = _scalar_value(x, limits)
    if max(q.numerator.bit_length(), q.denominator.bit_length()) >= KBITS:
        spend((q.numerator.bit_length(), q.denominator.bit_length()))
    return q


def _scalar_value(x, limits):
    if isinstance(x, FloatText):
        raise NumberError(f"the JSON number {x} is not exact: write it as text (\"{x}\" for "
                          "that decimal, \"p/q\" for a float's exact value)")
    if type(x) is int:
        return rational(x, limits)
    if type(x) is str:
        t = x.strip()
        if "/" in t or t.lstrip("+-").isdigit():
            return rational(t, limits)
        if _DECIMAL.match(t):
            return parse_coordinate(t, limits)
        raise NumberError(f"{quote(x)} is not an exact rational (\"p\", \"p/q\" or a decimal)")
    raise NumberError(f"{quote(x)} is not a number")


# ------------------------------------------------------------------ assembling
def _assemble(entries, path, fmt, limits, declared, size=None):
    """(d, blocks) from the named entries: keys, then shapes, then values."""
    def fail(msg):
        raise WeightsError(f"{path}: {msg}")

    index = {}
    for key in entries:                 # names checked by _check_keys: blocks.{k}.{ff|sa}.{name}
        _, k, layer, name = key.split(".")
        index.setdefault(int(k), set()).add(layer + "." + name)
    if not index:
        fail(f"no weights (expected {EXPECTED})")
    L = max(index) + 1
    if L > limits.max_blocks:
        raise limits.refuse(f"a model of {L} blocks", "max_blocks")
    if declared.get("blocks") is not None and declared["blocks"] != L:
        fail(f"\"blocks\" is {declared['blocks']} but the weights have {L} block{'s' * (L != 1)}")
    for k in range(L):
        if k not in index:
            fail(f"block {k} is missing (the file has blocks up to {L - 1}; blocks are "
                 "numbered 0..L-1)")
        for name in NAMES:
            if name not in index[k]:
                fail(f"blocks.{k}.{name}: missing")
    first = entries["blocks.0.sa.A"].shape
    d = d_given = declared.get("dimension")
    if d is None:
        if len(first) in (2, 3) and first[-1] == first[-2] and first[-1] > 0:
            d = first[-1]
        else:
            fail(f"blocks.0.sa.A: shape {first}, expected (d, d) or (H, d, d)")
    src = "" if d_given is not None else " (d from blocks.0.sa.A)"
    shapes = {}
    for k in range(L):
        def e(name):
            return entries[f"blocks.{k}.{name}"]

        def shape_fail(name, expected):
            fail(f"blocks.{k}.{name}: shape {e(name).shape}, expected {expected}")

        for name in ("ff.eta", "sa.rho"):
            if e(name).shape != ():
                shape_fail(name, "()")
        U = e("ff.U").shape
        if fmt == "json" and U == (0,):
            U = (0, d)                       # [] : no rows, width 0
        if len(U) != 2 or U[1] != d:
            shape_fail("ff.U", f"(w, {d}){src}")
        w = U[0]
        if e("ff.b").shape != (w,):
            shape_fail("ff.b", f"({w},) (w = {w} from blocks.{k}.ff.U)")
        if e("ff.W").shape != (d, w):
            shape_fail("ff.W", f"({d}, {w})")
        H = {}
        for name in ("sa.A", "sa.V"):
            s = e(name).shape
            if s == (d, d):
                H[name] = 1
            elif len(s) == 3 and s[1:] == (d, d):
                if s[0] == 0:
                    fail(f"blocks.{k}.{name}: shape {s}: no heads (H = 0)")
                H[name] = s[0]
            else:
                shape_fail(name, f"({d}, {d}) or (H, {d}, {d}){src}")
        if H["sa.A"] != H["sa.V"]:
            fail(f"blocks.{k}.sa.V: {H['sa.V']} head{'s' * (H['sa.V'] != 1)} but blocks.{k}.sa.A "
                 f"has {H['sa.A']}")
        shapes[k] = (w, H["sa.A"])
    numbers = sum(math.prod(e.shape) for e in entries.values())
    _storage_guard(numbers, size, limits)
    if numbers > limits.max_file_size // NUMBER_BYTES:
        raise LimitError(f"a model of {numbers} numbers exceeds the limit of "
                         f"{limits.max_file_size // NUMBER_BYTES} (--max-file-size / {NUMBER_BYTES}: each "
                         "exact number costs that much memory or more; raise it with --max-file-size)")
    blocks = []
    for k in range(L):
        w, H = shapes[k]
        vals = {name: _exact(entries[f"blocks.{k}.{name}"], f"blocks.{k}.{name}", path, limits)
                for name in NAMES}

        def rows(flat, r, c):
            return tuple(tuple(flat[i * c:(i + 1) * c]) for i in range(r))

        A, V = vals["sa.A"], vals["sa.V"]
        dd = d * d
        heads = tuple((rows(A[h * dd:(h + 1) * dd], d, d), rows(V[h * dd:(h + 1) * dd], d, d))
                      for h in range(H))
        blocks.append(Block(vals["ff.eta"][0], rows(vals["ff.U"], w, d), tuple(vals["ff.b"]),
                            rows(vals["ff.W"], d, w), vals["sa.rho"][0], heads))
    return d, blocks


def _where(key, shape, i):
    """key[i,j,...] for the flat (C order) index i of an array of that shape."""
    if not shape:
        return key
    idx = []
    for s in reversed(shape):
        i, r = divmod(i, s)
        idx.append(r)
    return f"{key}[{','.join(map(str, reversed(idx)))}]"


def _exact(entry, key, path, limits):
    """The flat list of Fractions of an entry."""
    flat = entry.values()
    if entry.kind == "float":
        try:
            out = list(map(Fraction, flat))
        except (ValueError, OverflowError):
            i = next(i for i, x in enumerate(flat) if not math.isfinite(x))
            raise WeightsError(f"{path}: {_where(key, entry.shape, i)}: {flat[i]} is not a "
                               "number") from None
        if limits.max_digits < 330:      # a float's numerator or denominator: < 330 digits
            for i, q in enumerate(out):
                _digits_ok(q, limits, path, _where(key, entry.shape, i))
        return out
    if entry.kind == "int":
        if limits.max_digits < 21:
            for i, x in enumerate(flat):
                _digits_ok(Fraction(x), limits, path, _where(key, entry.shape, i))
        return list(map(Fraction, flat))
    out = []
    memo = _MEMO if limits is DEFAULT else {}
    for i, x in enumerate(flat):        # JSON: the same texts recur ("0", "1", ...)
        q = memo.get(x) if type(x) is str and len(x) < 40 else None
        if q is None:
            try:
                q = _scalar(x, limits)
            except (NumberError, LimitError) as exc:
                raise WeightsError(f"{path}: {_where(key, entry.shape, i)}: {exc}") from None
            if type(x) is str and len(x) < 40 and len(memo) < 10_000 and \
                    q.denominator.bit_length() < KBITS and q.numerator.bit_length() < KBITS:
                memo[x] = q             # big values are charged each time (--max-work)
        out.append(q)
    return out


_MEMO = {}     # short exact texts (within the default limits) -> their Fractions


def _digits_ok(q, limits, path, where):
    for n in (q.numerator, q.denominator):
        digits = len(str(abs(n)))
        if digits > limits.max_digits:
            raise WeightsError(f"{path}: {where}: "
                               + str(limits.refuse(f"an integer of {digits} digits", "max_digits")))


# ------------------------------------------------------------------ writing exact JSON
def _text_array(x):
    if isinstance(x, (tuple, list)):
        return [_text_array(y) for y in x]
    return to_text(x)


def json_obj(d, blocks, attention=None, tau=None):
    """The exact JSON weights object of blocks (each with eta, U, b, W, rho and heads,
    as :class:`Block`): one head is written d x d, H heads H x d x d."""
    weights = {}
    for k, b in enumerate(blocks):
        p = f"blocks.{k}."
        heads = b.heads
        one = len(heads) == 1
        weights.update({
            p + "ff.eta": to_text(b.eta), p + "ff.U": _text_array(b.U), p + "ff.b": _text_array(b.b),
            p + "ff.W": _text_array(b.W) if len(b.U) else [[] for _ in range(d)],
            p + "sa.rho": to_text(b.rho),
            p + "sa.A": _text_array(heads[0][0] if one else [h[0] for h in heads]),
            p + "sa.V": _text_array(heads[0][1] if one else [h[1] for h in heads])})
    obj = {"format": JSON_FORMAT, "version": JSON_VERSION, "dimension": d, "blocks": len(blocks),
           "weights": weights}
    if attention is not None:
        obj["attention"] = attention
    if tau is not None:
        obj["tau"] = to_text(tau)
    return obj


def dumps(obj):
    """JSON text of a weights object: one weight per line."""
    head = {k: v for k, v in obj.items() if k != "weights"}
    lines = [json.dumps(k) + ": " + json.dumps(v, separators=(", ", ": "))
             for k, v in obj["weights"].items()]
    text = json.dumps(head, indent=1)[:-2] + ',\n "weights": {\n  ' + ",\n  ".join(lines) + "\n }\n}\n"
    return text
