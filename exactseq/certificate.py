"""Certificates: the construction as plain, canonical JSON for proofs_check.

Numbers are exact text: "p" or "p/q" in lowest terms; over a number field
Q(theta) an element is the list [c0, ..., c_{k-1}] of rationals meaning
sum c_i theta^i, and the top-level "field" gives theta by its monic minimal
polynomial (coefficients lowest degree first) and an isolating interval,
plus the value of every root that the dataset's coordinate texts use.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

from . import __version__
from .dataset import canonical_hash, canonical_obj
from .numbers import Alg, rational, to_text

FORMAT = "exactseq-certificate"
SCHEMA_VERSION = 1


def num(x):
    if isinstance(x, Alg):
        return [to_text(c) for c in x.c]
    return to_text(x)


def vec(v):
    return [num(x) for x in v]


def _mat(M):
    if M.kind == "zero":
        return {"kind": "zero"}
    if M.kind == "scalar":
        return {"kind": "scalar", "c": num(M.c)}
    if M.kind == "rank1":
        return {"kind": "rank1", "c": num(M.c), "a": vec(M.a)}
    return {"kind": "full", "rows": [vec(r) for r in M.rows]}


# How each claim field is shaped: 0 kept as is, "list" a list of numbers,
# 1 a vector, 2 a list of vectors, 3 a list of lists of vectors; else a number.
CLAIM_SHAPES = {"kind": 0, "m": 0, "t": "list", "v": 1, "point": 1, "target": 1, "a": 1,
                "leaders": 2, "sphere": 3}


def map_claim(c, f, vec=list):
    """Apply f to every number of a claim, building vectors with vec."""
    def deep(x, depth):
        if depth == 1:
            return vec(f(y) for y in x)
        return [deep(y, depth - 1) for y in x]
    out = {}
    for key, val in c.items():
        shape = CLAIM_SHAPES.get(key)
        out[key] = (val if shape == 0 else [f(y) for y in val] if shape == "list"
                    else f(val) if shape is None else deep(val, shape))
    return out


def _claim(c):
    return map_claim(c, num)


def block_obj(b):
    ff, sa = b.ff, b.sa
    return {"phase": b.phase,
            "ff": {"eta": num(ff.eta), "U": [vec(u) for u in ff.U], "b": vec(ff.b),
                   "W": [vec(r) for r in ff.W]},
            "sa": {"rho": num(sa.rho), "A": _mat(sa.A), "V": _mat(sa.V)},
            "claims": [_claim(c) for c in b.claims]}


def field_obj(ds):
    if ds.field is None:
        return None
    obj = ds.field.describe()
    obj["atoms"] = [{"base": num(b), "exponent": to_text(e), "value": num(v)}
                    for (b, e), v in sorted(ds.atoms.items(), key=lambda kv: repr(kv[0]))]
    return obj


def versions():
    """Versions for the record (sympy's from its metadata: importing it costs 0.3 s)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version
    try:
        sym = version("sympy")
    except PackageNotFoundError:   # pragma: no cover - sympy is a dependency
        sym = "unknown"
    return {"exactseq": __version__, "python": platform.python_version(), "sympy": sym}


def build(ds, construction, attention="hardmax", tau=None, order=None):
    """The certificate object (without a verdict)."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # exact integers of any size
    data = canonical_obj(ds)
    if getattr(ds, "causal", False):      # "targets": every attention layer is masked
        attention = "causal"
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "attention": attention,
            "versions": versions(), "dataset_sha256": canonical_hash(data), "dataset": data,
            "field": field_obj(ds), "blocks": [block_obj(b) for b in construction.blocks],
            **({"softmax": {"tau": to_text(tau), "order": order}} if attention == "softmax" else {})}


def dumps(cert):
    return json.dumps(cert, sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def write_atomic(path, text):
    """Write text to path via a temporary file and rename: never a partial file."""
    def go(fh):
        fh.write(text.encode("utf-8"))
    write_atomic_with(path, go)


def write_atomic_with(path, go, suffix=".tmp"):
    """Call go(binary file) on a temporary file in path's directory, then rename it
    onto path: never a partial file; the new file gets the ordinary permissions
    (0666 & ~umask), not mkstemp's 0600."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".exactseq-", suffix=suffix, dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            go(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------ loading
from .errors import CertificateError  # noqa: E402  (re-exported: certificate.CertificateError)


def load_model(cert):
    """Rebuild the Transformer (blocks with their claims) from a certificate object.

    A weights certificate (``"kind": "weights"``) has no phases (None) and no claims;
    its blocks' attention gives ``"heads"``, a list of {"A", "V"} (or "A" and "V"
    directly: one head).  One head loads as :class:`SA`, several as :class:`MultiSA`
    (masked for causal certificates)."""
    from .model import FF, SA, Block, MaskedMultiSA, MaskedSA, Mat, MultiSA, Transformer
    causal = isinstance(cert, dict) and cert.get("attention") == "causal"   # every layer masked
    one, several = (MaskedSA, MaskedMultiSA) if causal else (SA, MultiSA)
    try:
        weights = _kind_of(cert) == "weights"
        field = _field_of(cert)
        d = cert["dataset"]["dimension"]
        if type(d) is not int or d < 1:
            raise ValueError("dataset: 'dimension' must be a positive integer")

        def n(x):
            if isinstance(x, list):
                return field.elem([rational(c) for c in x])
            q = rational(x)
            return field.const(q) if field is not None else q

        def sized(xs, length, where):
            if not isinstance(xs, list) or len(xs) != length:
                raise ValueError(f"{where}: expected a list of {length}")
            return xs

        def v(xs, length=d, where="vector"):
            return tuple(n(x) for x in sized(xs, length, where))

        def mat(M):
            if M["kind"] == "zero":
                return Mat("zero")
            if M["kind"] == "scalar":
                return Mat("scalar", n(M["c"]))
            if M["kind"] == "rank1":
                return Mat("rank1", n(M.get("c", "1")), v(M["a"]))
            if M["kind"] == "full":
                return Mat("full", rows=tuple(v(r, d, "matrix row")
                                              for r in sized(M["rows"], d, "matrix rows")))
            raise ValueError(f"unknown matrix kind {str(M['kind'])[:40]!r}")

        def claim(c):
            return map_claim(c, n, tuple)

        blocks = []
        for k, b in enumerate(cert["blocks"], 1):
            ff, sa = b["ff"], b["sa"]
            w = len(ff["U"])
            heads = tuple((mat(h["A"]), mat(h["V"])) for h in _heads(sa, weights, k))
            attention = one(n(sa["rho"]), *heads[0]) if len(heads) == 1 else \
                several(n(sa["rho"]), heads)
            if weights and b.get("claims"):
                raise ValueError(f"block {k}: a weights certificate has no claims")
            blocks.append(Block(
                FF(n(ff["eta"]), tuple(v(u, d, "ff.U row") for u in ff["U"]), v(ff["b"], w, "ff.b"),
                   tuple(v(r, w, "ff.W row") for r in sized(ff["W"], d, "ff.W rows"))),
                attention, None if weights else phase_of(b),
                [] if weights else [claim(c) for c in b.get("claims", [])]))
        return Transformer(blocks, d)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, AttributeError) as exc:
        raise CertificateError(f"malformed certificate: {type(exc).__name__}: {exc}") from None


def _kind_of(cert):
    """The certificate's kind: "weights", or None (a construction certificate)."""
    kind = cert.get("kind")
    if kind not in (None, "weights"):
        raise ValueError(f"unknown certificate kind {str(kind)[:40]!r}")
    return kind


def _heads(sa, weights, k):
    """The [{"A", "V"}] heads of a block's attention object: its "heads" (weights
    certificates only; a non-empty list), or its "A" and "V"."""
    if "heads" not in sa:
        return [sa]
    if not weights:
        raise ValueError(f"block {k}: 'heads' only in a weights certificate")
    if "A" in sa or "V" in sa:
        raise ValueError(f"block {k}: both 'heads' and 'A'/'V'")
    heads = sa["heads"]
    if not isinstance(heads, list) or not heads:
        raise ValueError(f"block {k}: 'heads' must be a non-empty list")
    return heads


def phase_of(block):
    """A block's phase name ("?" when the certificate gives none: the checker needs none)."""
    p = block.get("phase") if isinstance(block, dict) else None
    return p if isinstance(p, str) and p else "?"


def _field_of(cert):
    from .numbers import AlgField
    spec = cert.get("field")
    if spec is None:
        return None
    return AlgField([rational(c) for c in spec["minpoly"]], rational(spec["interval"][0]),
                    rational(spec["interval"][1]))
