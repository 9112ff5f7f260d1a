"""``exactseq export``: a certificate's weights as NumPy, safetensors or PyTorch files.

Names (k = 0, 1, ... the block; matrices dense, floats correctly rounded from
the exact numbers, see :mod:`exactseq.weights`):
``blocks.{k}.ff.eta`` (), ``blocks.{k}.ff.U`` (w x d), ``blocks.{k}.ff.b`` (w),
``blocks.{k}.ff.W`` (d x w), ``blocks.{k}.sa.rho`` (), ``blocks.{k}.sa.A`` (d x d),
``blocks.{k}.sa.V`` (d x d); a width-0 FF layer has U of shape (0, d).

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


FORMATS = ("npz", "safetensors", "torch")
EXTENSIONS = {".npz": "npz", ".safetensors": "safetensors", ".pt": "torch", ".pth": "torch"}
STRING_KEYS = ("format", "attention", "tau_exact", "certificate_sha256", "dataset_sha256",
               "dtype", "exactseq_version")
NEEDS = {"npz": (("numpy",), "npz export needs numpy: pip install 'exactseq[export]'"),
         "safetensors": (("numpy", "safetensors"),
                         "safetensors export needs safetensors and numpy: "
                         "pip install 'exactseq[safetensors]'"),
         "torch": (("numpy", "torch"), "torch export needs torch: pip install 'exactseq[torch]'")}


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
    text = (f"wrote {r['file']}: {r['format']}, {r['dtype']}, {r['blocks']} blocks, "
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
    ``fmt`` ("npz", "safetensors", "torch"; default: from the extension) in ``dtype``,
    verifying the certificate first unless ``verify`` is False.  Returns the ``export
    --json`` object; ExportError (one line, with its exit status) otherwise."""
    from proofs_check.limits import DEFAULT
    from . import weights as wt
    limits = limits or DEFAULT
    fmt = fmt or EXTENSIONS.get(os.path.splitext(output)[1].lower())
    if fmt is None:
        raise ExportError(f"{output}: cannot tell the format from the extension: "
                          "give --format npz, safetensors or torch")
    require(fmt)
    real = out_path(output, cert)
    claim, warning = verified_claim(cert, limits, dtype) if verify else (None, None)
    try:
        model = wt.load(cert, limits)
    except wt.InputError as exc:
        raise ExportError(str(exc)) from None
    from proofs_check.numbers import Malformed, Rejected, Unknown
    rounder = wt.Rounder(dtype)
    try:
        arrays = state_dict(model, dtype, rounder)
    except (Malformed, Rejected, Unknown) as exc:
        raise ExportError(f"{cert}: malformed certificate: {exc}") from None
    md = metadata(model, dtype)
    try:
        write(real, fmt, arrays, md, dtype)
    except OSError as exc:
        raise ExportError(f"{output}: cannot write: {exc.strerror or exc}") from None
    return {"file": output, "format": fmt, "dtype": dtype, "blocks": len(model.blocks),
            "tensors": len(arrays), "numbers": int(sum(a.size for a in arrays.values())),
            "overflow": rounder.overflow, "underflow": rounder.underflow,
            "attention": model.attention, "tau": md["tau"], "tau_exact": md["tau_exact"],
            "certificate": cert, "certificate_sha256": model.sha256,
            "verified": bool(verify), "float_claim": claim, "warning": warning}


# ------------------------------------------------------------------ the contents
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
            "exactseq_version": __version__}


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
    for npz and safetensors, tensors for torch."""
    import zipfile
    with open(path, "rb") as fh:
        head = fh.read(4)
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
