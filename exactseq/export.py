"""``exactseq export``: a certificate's weights as NumPy, safetensors or PyTorch files,
or exactly as JSON.

Names (k = 0, 1, ... the block; matrices dense, floats correctly rounded from
the exact numbers, see :mod:`exactseq.weights`):
``blocks.{k}.ff.eta`` (), ``blocks.{k}.ff.U`` (w x d), ``blocks.{k}.ff.b`` (w),
``blocks.{k}.ff.W`` (d x w), ``blocks.{k}.sa.rho`` (), ``blocks.{k}.sa.A`` (d x d),
``blocks.{k}.sa.V`` (d x d); a width-0 FF layer has U of shape (0, d).  A block
with H > 1 attention heads has ``sa.A`` and ``sa.V`` of shape (H, d, d).

JSON (``.json``, :func:`json_weights`): the same names with the exact numbers,
never rounded: ``{"format": "exactseq-weights", "version": 1, "dimension": d,
"blocks": L, "attention": ..., "tau": "p/q" (softmax only), "weights": {name:
"p/q" text, or nested lists of texts}}``.  Rational certificates only (a number
field's elements have no such text).

Metadata (:func:`metadata`): format "exactseq-weights", format_version,
attention, tau (float) and tau_exact (text), certificate_sha256 (of the
certificate file's bytes), dataset_sha256, dtype, dimension, blocks, phases,
exactseq_version.  npz: a one-element string array ``__metadata__`` holding
the JSON object; safetensors: the header's string metadata (strings as they
are, other values as JSON text, null values left out); torch: ``torch.save``
of ``{"state_dict": ..., "metadata": ...}`` (loads with ``weights_only=True``).
"""
from __future__ import annotations

import json
import os


FORMATS = ("npz", "safetensors", "torch", "json")
EXTENSIONS = {".npz": "npz", ".safetensors": "safetensors", ".pt": "torch", ".pth": "torch",
              ".json": "json"}
JSON_FORMAT = "exactseq-weights"     # the "format" of an exact JSON weights file
STRING_KEYS = ("format", "attention", "tau_exact", "certificate_sha256", "dataset_sha256",
               "dtype", "exactseq_version")
NEEDS = {"npz": (("numpy",), "npz export needs numpy: pip install 'exactseq[export]'"),
         "safetensors": (("numpy", "safetensors"),
                         "safetensors export needs safetensors and numpy: "
                         "pip install 'exactseq[safetensors]'"),
         "torch": (("numpy", "torch"), "torch export needs torch: pip install 'exactseq[torch]'"),
         "json": ((), "")}


from .errors import ExportError  # noqa: E402  (re-exported: export.ExportError)


def verified_claim(path, limits, dtype):
    """Verify the certificate at path (ExportError if it is not verified); return
    (the report's "float_claim" entry or None, a warning or None) for ``dtype``."""
    from proofs_check import report as pcr
    from proofs_check.numbers import Malformed
    from .floatsafe import DTYPES, stated
    try:
        cert = pcr.load(path, limits)
    except Malformed as exc:
        raise ExportError(f"{path}: malformed certificate: {exc}") from None
    verdict, result = pcr.run(cert, limits)
    if verdict != "verified":
        raise ExportError(f"{path}: not exported: the certificate is {verdict}: {result['reason']} "
                          "(--no-verify writes it anyway)", pcr.STATUS[verdict])
    if dtype == "exact":          # exact weights: no float pass, nothing to claim
        return None, None
    claim = cert.get("float_claim")
    if not claim:
        return None, (f"no proven float claim covers {dtype}: a {dtype} pass of these weights is not "
                      "known to interpolate (exactseq audit measures it)")
    entry = stated(claim, result["float_claim"])
    if DTYPES.get(claim["format"]) != dtype:
        return entry, (f"the certificate's float claim is about {DTYPES.get(claim['format'])}, not "
                       f"{dtype}: a {dtype} pass of these weights is not known to interpolate")
    return entry, None


def text(r):
    """The one-line text report of an export."""
    heads = f", up to {r['heads']} heads a block" if r.get("heads", 1) > 1 else ""
    text = (f"wrote {r['file']}: {r['format']}, {r['dtype']}, {r['blocks']} blocks{heads}, "
            f"{r['tensors']} tensors, {r['numbers']} numbers ({r['attention']}"
            + (f", tau = {r['tau_exact']}" if r["tau_exact"] else "") + ")")
    if r["overflow"]:
        text += f"; {r['overflow']} weights beyond the {r['dtype']} range written as +-inf"
    if r["underflow"]:
        text += f"; {r['underflow']} non-zero weights round to 0 in {r['dtype']}"
    fc = r.get("float_claim")
    if fc and fc["proven"] and not r.get("warning"):
        from fractions import Fraction
        text += (f"; certificate verified, float claim proven: a {r['dtype']} pass ends within "
                 f"{float(Fraction(fc['tolerance'])):.3g}" + (" max(1, |y|)" if fc["relative"] else "")
                 + " of every target")
    elif r.get("verified"):
        text += "; certificate verified"
    return text


def require(fmt):
    """ExportError naming the optional extra if a library fmt needs is missing."""
    mods, msg = NEEDS[fmt]
    for m in mods:
        try:
            __import__(m)
        except ImportError:
            raise ExportError(msg) from None


def out_path(path, source=None, what="weights"):
    """The resolved path to write (through a symlink to its target), or ExportError."""
    if not path:
        raise ExportError("-o needs a file name")
    real = os.path.realpath(path)
    if source and os.path.exists(source) and os.path.exists(real) and os.path.samefile(real, source):
        raise ExportError(f"{path}: is the certificate file; refusing to overwrite it")
    if os.path.lexists(real) and not os.path.isfile(real):
        raise ExportError(f"{path}: not a regular file; refusing to replace it with {what}")
    directory = os.path.dirname(real) or "."
    if not os.path.isdir(directory):
        raise ExportError(f"{path}: cannot write: no directory {directory}")
    if not os.access(directory, os.W_OK):
        raise ExportError(f"{path}: cannot write: directory {directory} is not writable")
    return real


def export_file(cert, output, fmt=None, dtype="float64", limits=None, verify=True):
    """Write the weights of the certificate file ``cert`` to ``output`` (atomically) as
    ``fmt`` ("npz", "safetensors", "torch", "json"; default: from the extension) in
    ``dtype`` (json: exact, ``dtype`` does not apply), verifying the certificate first
    unless ``verify`` is False.  Returns the ``export --json`` object; ExportError
    (one line, with its exit status) otherwise."""
    from proofs_check.limits import DEFAULT
    from . import weights as wt
    limits = limits or DEFAULT
    fmt = fmt or EXTENSIONS.get(os.path.splitext(output)[1].lower())
    if fmt is None:
        raise ExportError(f"{output}: cannot tell the format from the extension: "
                          "give --format npz, safetensors, torch or json")
    require(fmt)
    if fmt == "json":
        dtype = "exact"
    real = out_path(output, cert)
    claim, warning = verified_claim(cert, limits, dtype) if verify else (None, None)
    try:
        model = wt.load(cert, limits, dense=False)     # no float pass here: any length
    except wt.InputError as exc:
        raise ExportError(str(exc)) from None
    if fmt == "json" and model.field is not None:
        raise ExportError(f"{cert}: not exported: json export needs rational weights; this "
                          "certificate is over a number field (export npz, safetensors or torch)")
    from proofs_check.numbers import Malformed, Rejected, Unknown
    rounder = wt.Rounder("float64" if fmt == "json" else dtype)
    md = metadata(model, dtype)
    try:
        if fmt == "json":
            obj = json_weights(model)
            counts = [_count(v) for v in obj["weights"].values()]
        else:
            arrays = state_dict(model, dtype, rounder)
            counts = [int(a.size) for a in arrays.values()]
    except (Malformed, Rejected, Unknown) as exc:
        raise ExportError(f"{cert}: malformed certificate: {exc}") from None
    try:
        if fmt == "json":
            from .certificate import write_atomic
            write_atomic(real, json.dumps(obj, separators=(",", ":")) + "\n")
        else:
            write(real, fmt, arrays, md, dtype)
    except OSError as exc:
        raise ExportError(f"{output}: cannot write: {exc.strerror or exc}") from None
    return {"file": output, "format": fmt, "dtype": dtype, "blocks": len(model.blocks),
            "heads": model.heads, "tensors": len(counts), "numbers": sum(counts),
            "overflow": rounder.overflow, "underflow": rounder.underflow,
            "attention": model.attention, "tau": md["tau"], "tau_exact": md["tau_exact"],
            "certificate": cert, "certificate_sha256": model.sha256,
            "verified": bool(verify), "float_claim": claim, "warning": warning}


# ------------------------------------------------------------------ the contents
def _count(v):
    return sum(_count(x) for x in v) if isinstance(v, (list, tuple)) else 1


def _exact_text(x):
    from fractions import Fraction
    q = Fraction(x)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def json_weights(model):
    """The exact JSON weights object of a rational :class:`exactseq.weights.Model`
    (see the module docstring): every number its exact text, nested lists for arrays."""
    import sys
    from . import weights as wt
    if model.field is not None:
        raise ValueError("exact JSON weights need rational weights (this model is over a number field)")
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # exact integers of any size (--max-digits bounded them when read)

    def texts(v):
        return [texts(x) for x in v] if isinstance(v, (list, tuple)) else _exact_text(v)
    weights = {}
    for k, a in enumerate(wt.exact_arrays(model)):
        for name in wt.NAMES:
            weights[f"blocks.{k}.{name}"] = texts(a[name])
    obj = {"format": JSON_FORMAT, "version": 1, "dimension": model.d, "blocks": len(model.blocks),
           "attention": model.attention}
    if model.tau is not None:
        obj["tau"] = _exact_text(model.tau)
    obj["weights"] = weights
    return obj


def state_dict(model, fmt, rounder=None):
    """{name: float64 NumPy array} of the weights correctly rounded to fmt (cast with
    ``astype`` to the format's dtype: exact, the values are representable)."""
    from . import weights as wt
    out = {}
    for k, a in enumerate(wt.arrays(model, fmt, rounder)):
        for name in wt.NAMES:
            out[f"blocks.{k}.{name}"] = a[name]
    return out


def metadata(model, fmt):
    """The metadata object of an export (see the module docstring)."""
    from . import __version__
    from . import weights as wt
    tau = None if model.tau is None else wt.to_float(model.tau, "float64")
    tau_text = None
    if model.tau is not None:
        q = model.tau
        tau_text = str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"
    return {"format": "exactseq-weights", "format_version": 1, "attention": model.attention,
            "tau": tau, "tau_exact": tau_text, "certificate_sha256": model.sha256,
            "dataset_sha256": model.dataset_sha256, "dtype": fmt, "dimension": model.d,
            "blocks": len(model.blocks), "phases": list(model.phases),
            "heads": [len(b.heads) for b in model.blocks], "exactseq_version": __version__}


def _encode(md):
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in md.items() if v is not None}


def _decode(md):
    out = {k: None for k in ("tau", "tau_exact", "certificate_sha256", "dataset_sha256")}
    for k, v in (md or {}).items():
        out[k] = v if k in STRING_KEYS else json.loads(v)
    return out


def write(path, fmt, arrays, md, dtype="float64"):
    """Write arrays (float64 NumPy arrays) and metadata to path atomically."""
    import numpy as np
    np_dtype = np.float32 if dtype == "float32" else np.float64
    arrays = {k: np.array(v, np_dtype, order="C") for k, v in arrays.items()}

    def go(fh):
        if fmt == "npz":
            np.savez(fh, **arrays, __metadata__=np.array([json.dumps(md, sort_keys=True)]))
        elif fmt == "safetensors":
            from safetensors.numpy import save
            fh.write(save(arrays, metadata=_encode(md)))
        else:
            import torch
            torch.save({"state_dict": {k: torch.from_numpy(v) for k, v in arrays.items()},
                        "metadata": md}, fh)
    from .certificate import write_atomic_with
    write_atomic_with(path, go)


# ------------------------------------------------------------------ reading back
def read_export(path):
    """(state dict, metadata) of a file written by ``exactseq export``: NumPy arrays
    for npz and safetensors, tensors for torch, and for json NumPy object arrays of
    exact Fractions (metadata "dtype": "exact")."""
    import zipfile
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.lstrip()[:1] == b"{":
        return read_json_weights(path)
    if head.startswith(b"PK"):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        if any(n.endswith("data.pkl") for n in names):
            import torch
            obj = torch.load(path, weights_only=True)
            return dict(obj["state_dict"]), dict(obj["metadata"])
        import numpy as np
        with np.load(path, allow_pickle=False) as z:
            sd = {k: z[k] for k in z.files if k != "__metadata__"}
            md = json.loads(str(z["__metadata__"][0]))
        return sd, md
    from safetensors import safe_open
    with safe_open(path, framework="np") as f:
        sd = {k: f.get_tensor(k) for k in f.keys()}
        md = _decode(f.metadata())
    return sd, md


def read_json_weights(path, limits=None):
    """(state dict of NumPy object arrays of Fractions, metadata) of an exact JSON
    weights file; ValueError (one line) if it does not have that form."""
    import re
    import sys
    from fractions import Fraction
    import numpy as np
    from proofs_check.limits import DEFAULT, read_bytes, read_json
    limits = limits or DEFAULT
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # the digits are bounded below, by --max-digits
    number = re.compile(r"[+-]?([0-9]+(/[0-9]+)?|[0-9]*\.[0-9]+|[0-9]+\.)")   # "p/q" or a plain decimal
    obj = read_json(read_bytes(path, limits), limits, path)
    if not isinstance(obj, dict) or obj.get("format") != JSON_FORMAT or obj.get("version") != 1:
        raise ValueError(f"{path}: not an exact JSON weights file (format {JSON_FORMAT!r}, version 1)")
    d, L, weights = obj.get("dimension"), obj.get("blocks"), obj.get("weights")
    if type(d) is not int or type(L) is not int or d < 1 or L < 0 or not isinstance(weights, dict):
        raise ValueError(f"{path}: needs integers 'dimension' and 'blocks' and a 'weights' object")

    def exact(v, name):
        if isinstance(v, list):
            return [exact(x, name) for x in v]
        if type(v) is int:
            return Fraction(v)
        if not isinstance(v, str) or not number.fullmatch(v) or re.search(r"/0+\Z", v):
            raise ValueError(f"{path}: {name}: not an exact number text: {str(v)[:40]!r}")
        if len(v) > 2 * limits.max_digits + 2:
            raise ValueError(f"{path}: {name}: a number of more than {limits.max_digits} digits")
        return Fraction(v)
    sd = {}
    for name, v in weights.items():
        a = np.array(exact(v, name), object)
        if name.endswith(".ff.U"):
            a = a.reshape(len(v), d)
        sd[name] = a
    md = {"format": JSON_FORMAT, "format_version": 1, "attention": obj.get("attention", "hardmax"),
          "tau": None, "tau_exact": None, "dimension": d, "blocks": L, "dtype": "exact"}
    if obj.get("tau") is not None:
        tau = exact(obj["tau"], "tau")
        from .weights import to_float
        md["tau"], md["tau_exact"] = to_float(tau), obj["tau"]
    return sd, md


def rounded(sd, fmt="float64"):
    """An exact state dict (:func:`read_json_weights`) with every number correctly rounded
    to fmt, as float64 NumPy arrays (exactly representable in fmt)."""
    import numpy as np
    from . import weights as wt
    r = wt.Rounder(fmt)
    return {k: np.array([r(x) for x in a.ravel()], np.float64).reshape(a.shape) for k, a in sd.items()}
