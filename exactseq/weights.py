"""A certificate's weights as exact numbers, and their correctly rounded floats.

Shared by ``exactseq export``, ``exactseq audit``, :mod:`exactseq.floatpass`
and :mod:`exactseq.torch`.

Reading: :func:`read_certificate` reads a file with the resource limits of
the rest of the tool (``proofs_check.limits.read_json``: size, nesting,
digits, no duplicate keys) and :func:`parse` turns the object into exact
numbers with ``proofs_check.numbers.Numbers`` (rationals as Fractions,
number-field elements as values of the proven field Q(theta)), checking
every shape.  Claims are not read: nothing here certifies anything.  Every
problem is an :class:`InputError` with a one-line message.

Rounding: :func:`round_exact` rounds an exact number to nearest (ties to
even) with p significant bits, optionally with an IEEE exponent range
(subnormals, overflow to infinity).  It rounds once, from the exact value:
a rational p/q by integer division; a number-field element by bisecting
theta's isolating interval until the interval enclosure of the element
lies between two rounding boundaries (so float32 is never rounded through
float64, and algebraic weights are not evaluated in floats).
"""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field as dc_field
from fractions import Fraction

from proofs_check.reading import read_matrix as _mat   # a factored matrix, read as the checker reads it
from proofs_check.limits import DEFAULT, LimitError, read_json

__all__ = ["InputError", "Block", "Model", "FORMATS", "read_certificate", "parse", "load",
           "round_exact", "to_float", "dense", "is_zero", "arrays", "NAMES"]

# name: (significant bits p, smallest normal exponent, largest exponent)
FORMATS = {"float64": (53, -1022, 1023), "float32": (24, -126, 127), "bfloat16": (8, -126, 127)}
NAMES = ("ff.eta", "ff.U", "ff.b", "ff.W", "sa.rho", "sa.A", "sa.V")
FIELD_BISECTIONS = 2000
MAX_DENSE = 1 << 27        # numbers of all dense weights together (1 GiB in float64)
MAX_SCORES = 1 << 26       # n^2 scores of the longest sequence, in a dense attention layer


from .errors import InputError  # noqa: E402  (re-exported: weights.InputError)


@dataclass
class Block:
    phase: str        # None in a weights certificate
    eta: object
    U: tuple          # w rows of d numbers
    b: tuple          # w
    W: tuple          # d rows of w numbers
    rho: object
    A: tuple          # ("zero",) | ("scalar", c) | ("rank1", c, a) | ("full", rows)
    V: tuple          # A and V: the first head
    heads: tuple = None   # every head's (A, V); default ((A, V),)

    def __post_init__(self):
        if self.heads is None:
            self.heads = ((self.A, self.V),)

    @property
    def width(self):
        return len(self.U)

    @property
    def v_zero(self):
        """Is every head's V exactly zero (the layer is x -> rho x)?"""
        return all(is_zero(V) for _, V in self.heads)


@dataclass
class Model:
    d: int
    attention: str                  # "hardmax" | "softmax"
    tau: object                     # Fraction (softmax) or None
    blocks: list
    inputs: list                    # per sequence: list of tokens (tuples of exact numbers)
    targets: list
    names: list
    field: object = None            # proofs_check.numbers.Field or None
    dataset_sha256: object = None
    sha256: object = None           # of the certificate file, when read from one
    raw: dict = dc_field(default=None, repr=False)

    @property
    def phases(self):
        return [b.phase for b in self.blocks]

    @property
    def heads(self):
        """The largest number of attention heads of a block."""
        return max((len(b.heads) for b in self.blocks), default=1)


# ------------------------------------------------------------------ reading
def read_certificate(path, limits=DEFAULT):
    """(JSON object, SHA-256 hex of the file's bytes); InputError if unreadable."""
    try:
        size = os.stat(path).st_size
        if size > limits.max_file_size:
            raise limits.refuse(f"certificate: file of {size} bytes", "max_file_size")
        with open(path, "rb") as fh:
            raw = fh.read(limits.max_file_size + 1)
        obj = read_json(raw, limits, "certificate")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (LimitError, ValueError, RecursionError, MemoryError) as exc:
        raise InputError(f"{path}: malformed certificate: {_line(exc)}") from None
    return obj, hashlib.sha256(raw).hexdigest()


def load(path, limits=DEFAULT, dense=True):
    """The parsed :class:`Model` of the certificate file at path (``dense``: refuse
    a sequence too long for a dense float pass, as the audit runs one)."""
    obj, sha = read_certificate(path, limits)
    model = parse(obj, limits, source=path, dense=dense)
    model.sha256 = sha
    return model


def _line(exc):
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "") if text else type(exc).__name__


class Unsupported(InputError):
    """A well-formed certificate of a kind this reader does not handle."""


def parse(cert, limits=DEFAULT, source="certificate", dense=True):
    """A certificate object as a :class:`Model` of exact numbers (InputError if it
    does not have the documented form or exceeds a limit; with ``dense``,
    Unsupported for a sequence too long for a dense float pass)."""
    from proofs_check.numbers import Malformed, Rejected, Unknown
    try:
        return _parse(cert, limits, dense)
    except Unsupported as exc:
        raise InputError(f"{source}: {exc}") from None
    except InputError as exc:
        raise InputError(f"{source}: malformed certificate: {exc}") from None
    except (Malformed, Rejected, Unknown, LimitError, ValueError, TypeError, ZeroDivisionError,
            RecursionError, MemoryError) as exc:
        raise InputError(f"{source}: malformed certificate: {_line(exc)}") from None


def _need(x, typ, where):
    if not isinstance(x, typ):
        raise InputError(f"{where}: expected a JSON {'object' if typ is dict else 'array'}")
    return x


def _parse(cert, limits, dense=True):
    from proofs_check.numbers import Numbers
    from proofs_check.report import envelope
    _need(cert, dict, "certificate")
    envelope(cert)
    if cert.get("schema_version") != 1:
        raise InputError("unknown schema_version (expected 1)")
    attention = cert.get("attention", "hardmax")
    if attention == "causal":
        raise Unsupported("causal (masked) attention certificates are not supported here "
                          "(hardmax and softmax only)")
    if attention not in ("hardmax", "softmax"):
        raise InputError(f"unknown attention {str(attention)[:40]!r}")
    kind = cert.get("kind")
    if kind not in (None, "weights"):
        raise InputError(f"unknown certificate kind {str(kind)[:40]!r}")
    nums = Numbers(cert.get("field"), limits)
    tau = None
    if attention == "softmax":
        sm = _need(cert.get("softmax"), dict, "softmax")
        tau = nums.rat(sm.get("tau"), "softmax.tau")
        if tau <= 0:
            raise InputError("softmax.tau must be positive")
    ds = _need(cert.get("dataset"), dict, "dataset")
    d = ds.get("dimension")
    if type(d) is not int or not 1 <= d <= 1 << 20:
        raise InputError("dataset: 'dimension' must be a positive integer")
    seqs = _need(ds.get("sequences"), list, "dataset.sequences")
    if not seqs:
        raise InputError("dataset: no sequences")
    inputs, targets, names = [], [], []
    for j, s in enumerate(seqs):
        _need(s, dict, f"dataset sequence {j}")
        sides = []
        for side in ("input", "output"):
            toks = _need(s.get(side), list, f"dataset sequence {j} {side}")
            if not toks:
                raise InputError(f"dataset sequence {j}: {side} is empty")
            pts = []
            for i, t in enumerate(toks):
                where = f"dataset sequence {j} {side} token {i}"
                if not isinstance(t, list) or len(t) != d:
                    raise InputError(f"{where}: expected {d} coordinates")
                pts.append(tuple(nums.coordinate(c, where) for c in t))
            sides.append(pts)
        inputs.append(sides[0])
        targets.append(sides[1])
        name = s.get("name")
        names.append(name if isinstance(name, str) else None)
    raw_blocks = _need(cert.get("blocks"), list, "blocks")
    if len(raw_blocks) > limits.max_blocks:
        raise limits.refuse(f"blocks: {len(raw_blocks)} blocks", "max_blocks")
    blocks = [_block(blk, k, nums, d, kind == "weights") for k, blk in enumerate(raw_blocks, 1)]
    size = sum(2 * len(b.heads) * d * d + 2 * b.width * d + b.width + 2 for b in blocks)
    if size > MAX_DENSE:
        raise InputError(f"the dense weights would hold {size} numbers (more than {MAX_DENSE})")
    n = max(len(X) for X in inputs)
    if dense and n * n > MAX_SCORES and any(not b.v_zero for b in blocks):
        raise Unsupported(f"not audited: a sequence of {n} tokens needs {n * n} attention scores in "
                          f"the audit's dense float passes (more than {MAX_SCORES})")
    return Model(d, attention, tau, blocks, inputs, targets, names, nums.field,
                 cert.get("dataset_sha256"), raw=cert)


def _phase(p):
    if isinstance(p, str) and p.isascii() and p.replace("_", "").replace("-", "").isalnum() \
            and len(p) <= 40:
        return p
    return "?"


def _block(blk, k, nums, d, weights=False):
    _need(blk, dict, f"block {k}")
    phase = None if weights else _phase(blk.get("phase"))
    where = f"block {k}" if weights else f"block {k} ({phase})"
    ff = _need(blk.get("ff"), dict, where + " ff")
    sa = _need(blk.get("sa"), dict, where + " sa")
    U = tuple(nums.vec(u, d, where + " ff.U") for u in _need(ff.get("U"), list, where + " ff.U"))
    b = tuple(nums.num(x, where + " ff.b") for x in _need(ff.get("b"), list, where + " ff.b"))
    W = tuple(tuple(nums.num(x, where + " ff.W") for x in _need(r, list, where + " ff.W"))
              for r in _need(ff.get("W"), list, where + " ff.W"))
    if len(b) != len(U) or len(W) != d or any(len(r) != len(U) for r in W):
        raise InputError(f"{where}: ff shapes do not match (U w x d, b w, W d x w)")
    eta = nums.num(ff.get("eta"), where + " ff.eta")
    rho = nums.num(sa.get("rho"), where + " sa.rho")
    if "heads" not in sa:
        heads = ((_mat(sa.get("A"), nums, d, where + " sa.A"), _mat(sa.get("V"), nums, d, where + " sa.V")),)
    else:
        if not weights:
            raise InputError(f"{where}: 'heads' only in a weights certificate")
        if "A" in sa or "V" in sa:
            raise InputError(f"{where}: both 'heads' and 'A'/'V'")
        raw = _need(sa.get("heads"), list, where + " sa.heads")
        if not raw:
            raise InputError(f"{where}: 'heads' is empty")
        heads = tuple((_mat(_need(h, dict, f"{where} head {i}").get("A"), nums, d, f"{where} head {i} A"),
                       _mat(h.get("V"), nums, d, f"{where} head {i} V")) for i, h in enumerate(raw))
    return Block(phase, eta, U, b, W, rho, heads[0][0], heads[0][1], heads)


# ------------------------------------------------------------------ exact matrices
def sign(x):
    return x.sign() if hasattr(x, "sign") else (x > 0) - (x < 0)


def is_zero(M):
    """Is the matrix (kind tuple) exactly zero?"""
    if M[0] == "zero":
        return True
    if M[0] == "scalar":
        return sign(M[1]) == 0
    if M[0] == "rank1":
        return sign(M[1]) == 0 or all(sign(x) == 0 for x in M[2])
    return all(sign(x) == 0 for r in M[1] for x in r)


def dense(M, d):
    """The d x d matrix (tuple of rows of exact numbers) of a kind tuple."""
    zero = Fraction(0)
    if M[0] == "zero":
        return tuple((zero,) * d for _ in range(d))
    if M[0] == "scalar":
        return tuple(tuple(M[1] if i == j else zero for j in range(d)) for i in range(d))
    if M[0] == "rank1":
        c, a = M[1], M[2]
        ca = [c * x for x in a]
        return tuple(tuple(ca[i] * a[j] for j in range(d)) for i in range(d))
    return M[1]


# ------------------------------------------------------------------ rounding
def _round_fraction(q, p, emin, emax):
    """q rounded to nearest, ties to even, with p significant bits; with emin,
    no exponent below emin (subnormals); with emax, +-inf beyond the largest
    finite number.  A Fraction (or a float infinity)."""
    if q == 0:
        return Fraction(0)
    neg = q < 0
    n, d = abs(q.numerator), q.denominator
    e = n.bit_length() - d.bit_length()
    if (n < (d << e)) if e >= 0 else ((n << -e) < d):
        e -= 1                                   # now 2^e <= n/d < 2^(e+1)
    E = (max(e, emin) if emin is not None else e) - (p - 1)
    num, den = (n, d << E) if E >= 0 else (n << -E, d)
    m, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and m & 1):
        m += 1
    if emax is not None and m.bit_length() + E > emax + 1:
        return -math.inf if neg else math.inf
    val = Fraction(m << E) if E >= 0 else Fraction(m, 1 << -E)
    return -val if neg else val


def round_exact(x, p, emin=None, emax=None):
    """An exact number (int, Fraction, or number-field element) rounded once to p
    significant bits (see the module docstring).  A Fraction, or +-inf."""
    if isinstance(x, (int, Fraction)):
        return _round_fraction(Fraction(x), p, emin, emax)
    c = x.c
    if not any(c[1:]):
        return _round_fraction(c[0], p, emin, emax)
    f = x.f
    lo = hi = None
    for _ in range(FIELD_BISECTIONS):
        lo, hi = f.enclose(c)
        a, b = _round_fraction(lo, p, emin, emax), _round_fraction(hi, p, emin, emax)
        if a == b:
            return a
        if f.lo == f.hi:
            break
        f.bisect()
    return _round_fraction((lo + hi) / 2, p, emin, emax)   # pragma: no cover - reducible minpoly


def to_float(x, fmt="float64"):
    """The correctly rounded value of an exact number in fmt, as a Python float
    (exact: every float32 and bfloat16 value is a float64)."""
    if fmt == "float64" and isinstance(x, (int, Fraction)):
        try:
            return float(x)                      # int / int: correctly rounded in CPython
        except OverflowError:
            return math.inf if x > 0 else -math.inf
    p, emin, emax = FORMATS[fmt]
    r = round_exact(x, p, emin, emax)
    if isinstance(r, float):
        return r
    if r == 0 and sign(x) < 0:
        return -0.0
    return float(r)


class Rounder:
    """to_float with a cache (weights repeat), counting overflows and flushes to zero."""

    def __init__(self, fmt):
        self.fmt, self.cache = fmt, {}
        self.overflow = self.underflow = 0

    def __call__(self, x):
        key = x if isinstance(x, (int, Fraction)) else ("K", x.c)
        v = self.cache.get(key)
        if v is None:
            v = to_float(x, self.fmt)
            self.cache[key] = v
        if math.isinf(v):
            self.overflow += 1
        elif v == 0 and sign(x) != 0:
            self.underflow += 1
        return v


def arrays(model, fmt="float64", rounder=None):
    """Every block's dense weights, correctly rounded to fmt, as float64 NumPy arrays
    (exactly representable in fmt): a list of dicts with the keys of NAMES; "sa.A"
    and "sa.V" are d x d for one head and H x d x d for H > 1 heads."""
    import numpy as np
    r = rounder or Rounder(fmt)
    d = model.d
    out = []
    for blk in model.blocks:
        w = blk.width

        def mat(M):
            if M[0] == "zero":
                return np.zeros((d, d))
            return np.array([[r(x) for x in row] for row in dense(M, d)], np.float64).reshape(d, d)
        out.append({
            "ff.eta": np.array(r(blk.eta), np.float64),
            "ff.U": np.array([[r(x) for x in u] for u in blk.U], np.float64).reshape(w, d),
            "ff.b": np.array([r(x) for x in blk.b], np.float64).reshape(w),
            "ff.W": np.array([[r(x) for x in row] for row in blk.W], np.float64).reshape(d, w),
            "sa.rho": np.array(r(blk.rho), np.float64),
            "sa.A": stacked([mat(A) for A, _ in blk.heads]),
            "sa.V": stacked([mat(V) for _, V in blk.heads]),
        })
    return out


def stacked(mats):
    """One d x d matrix as it is; several as an H x d x d array."""
    import numpy as np
    return mats[0] if len(mats) == 1 else np.stack(mats)


def exact_arrays(model):
    """Every block's dense weights as exact numbers (nested tuples; Fractions, or field
    elements), shaped as :func:`arrays`: a list of dicts with the keys of NAMES."""
    d = model.d
    out = []
    for blk in model.blocks:
        def heads(k):
            mats = [dense(h[k], d) for h in blk.heads]
            return mats[0] if len(mats) == 1 else tuple(mats)
        out.append({"ff.eta": blk.eta, "ff.U": blk.U, "ff.b": blk.b, "ff.W": blk.W,
                    "sa.rho": blk.rho, "sa.A": heads(0), "sa.V": heads(1)})
    return out
