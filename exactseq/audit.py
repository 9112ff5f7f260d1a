"""``exactseq audit``: a float evaluation of a certificate's weights beside the exact one.

The float pass is the dense NumPy pass of :mod:`exactseq.floatpass` (weights
and inputs correctly rounded to the format; bfloat16 emulated in float32 with
every intermediate array rounded to bfloat16, see there), and, when PyTorch
is installed, :class:`exactseq.torch.ExactTransformer` in the same dtype
(torch.bfloat16 natively), reported beside it.  The reference is the exact
pass of :mod:`exactseq.rounded` (for softmax certificates, whose weights are
transcendental, mpmath at high precision: see ``rounded.reference``).

Per block (numbered from 1, as in the checker's messages; the export's
``blocks.{k}`` is block k + 1): the largest Euclidean distance of a token from
its exact value after the block, and whether a token's FF activation pattern
(which ReLU units are > 0) or attention argmax set (the keys of largest
score, in layers whose V is not zero) differs from the exact pass's.  For the
whole model: the first block where a decision differs, the Hausdorff
distance of each sequence's output set from its target set, and whether
every one is within the tolerance (default 1e-9 times the largest
|coordinate| of the targets, at least 1e-9).

``bits_needed`` is the smallest mantissa precision p found by this search:
p = 8, 16, 32, ... (doubling) until a pass in mpmath at p bits (weights and
inputs rounded once to p bits, every operation rounded to p bits, exponent
unbounded) makes every decision as the exact pass does and ends within the
tolerance; then bisection between the last failing and the first passing p.
Success need not be monotone in p, so it is the smallest found by that
search, not necessarily the smallest that works.  None if no p up to
``--max-bits`` passed.

Exit status: 0 the float pass interpolates within the tolerance, 1 it does
not, 2 bad input, a missing optional library, or bad usage.
"""
from __future__ import annotations

import math
import os

DTYPE_NAMES = ("float64", "float32", "bfloat16")
BITS_FROM = 8


from .errors import AuditError  # noqa: E402  (re-exported: audit.AuditError)


def audit_file(cert, dtype="float64", tol=None, max_bits=4096, bits=True, use_torch=True, plot_to=None,
               limits=None, progress=None):
    """The ``audit --json`` object for a certificate file: ``tol`` (text or number,
    default 1e-9 max(1, |target|)), the bits_needed search up to ``max_bits``
    unless ``bits`` is False, the PyTorch pass when installed and ``use_torch``,
    and the deviation plot written to ``plot_to``.  AuditError (one line) otherwise."""
    from proofs_check.limits import DEFAULT
    from . import weights as wt
    from .errors import ExportError
    from .export import out_path
    limits = limits or DEFAULT
    if tol is not None:
        text_tol = tol
        try:
            tol = float(tol)
        except (TypeError, ValueError):
            tol = math.nan
        if not (math.isfinite(tol) and tol >= 0):
            raise AuditError(f"--tol {text_tol!r} is not a non-negative number")
    if max_bits < BITS_FROM:
        raise AuditError(f"--max-bits must be at least {BITS_FROM}")
    _require_numpy()
    plot_path = None
    if plot_to:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise AuditError("--plot needs matplotlib: pip install 'exactseq[plot]'") from None
        try:
            plot_path = out_path(plot_to, cert, "a plot")
        except ExportError as exc:
            raise AuditError(str(exc)) from None
    try:
        model = wt.load(cert, limits)
    except wt.InputError as exc:
        raise AuditError(str(exc)) from None
    try:
        result = _guarded(lambda: audit(model, dtype, tol, bits=bits, max_bits=max_bits,
                                        use_torch=use_torch, progress=progress), cert)
    except AuditError as exc:
        if not str(exc).startswith("not audited"):
            raise
        raise AuditError(f"{cert}: {exc}") from None
    result["certificate"] = cert
    if plot_path:
        try:
            plot(result, plot_path, os.path.basename(cert))
        except OSError as exc:
            raise AuditError(f"{plot_to}: cannot write: {exc.strerror or exc}") from None
        result["plot"] = plot_to
    return result


def _guarded(fn, source):
    """fn(), with the exact numbers' refusals (a reducible minimal polynomial, an
    undecidable sign) as AuditError."""
    from proofs_check.numbers import Malformed, Rejected, Unknown
    try:
        return fn()
    except (Malformed, Rejected, Unknown) as exc:
        raise AuditError(f"{source}: malformed certificate: {exc}") from None


def _require_numpy():
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise AuditError("audit needs numpy: pip install 'exactseq[export]'") from None


def audit_summary(cert_obj, dtype="float64", tol=None, limits=None, bits=True, use_torch=True):
    """(result, text) for a certificate object: the ``audit --json`` object and a short
    report (lines in the style of ``exactseq check``'s).  AuditError if the certificate
    cannot be read, or numpy is missing."""
    from proofs_check.limits import DEFAULT
    from . import weights as wt
    if dtype not in DTYPE_NAMES:
        raise AuditError(f"unknown dtype {dtype!r} (use {', '.join(DTYPE_NAMES)})")
    _require_numpy()
    try:
        model = wt.parse(cert_obj, limits or DEFAULT)
    except wt.InputError as exc:
        raise AuditError(str(exc)) from None
    r = _guarded(lambda: audit(model, dtype, tol, bits=bits, use_torch=use_torch), "certificate")
    return r, summary_text(r)


# ------------------------------------------------------------------ the audit
def audit(model, dtype="float64", tol=None, bits=True, max_bits=4096, use_torch=True,
          progress=None):
    """The audit of a parsed certificate (:class:`exactseq.weights.Model`) as a
    JSON-ready dict (see the module docstring)."""
    import numpy as np
    from . import floatpass as fp
    from . import rounded as rd
    from . import weights as wt
    progress = progress or (lambda msg: None)
    if model.heads > 1:
        raise AuditError("not audited: a block has several attention heads; the audit's exact "
                         "reference pass (exactseq.rounded) handles one head per block")
    d, L = model.d, len(model.blocks)
    targets = [np.array([[wt.to_float(c) for c in t] for t in Y], np.float64).reshape(-1, d)
               for Y in model.targets]
    scale = max((float(np.abs(t[np.isfinite(t)]).max()) for t in targets if np.isfinite(t).any()),
                default=0.0)
    if tol is None:
        tol = max(1e-9, 1e-9 * scale)
    try:
        ar = rd.reference(model)
    except ValueError as exc:
        raise AuditError(str(exc)) from None
    ref = rd.Pass(model, ar)
    np_dtype, rnd = fp.DTYPES[dtype], (fp.round_bfloat16 if dtype == "bfloat16" else None)
    fblocks, finputs, _ = fp.convert(model, np_dtype, fmt=dtype)
    groups = fp.groups([len(x) for x in finputs])
    states = [fp.stack(finputs, g, np_dtype) for g in groups]
    offsets = ref.offsets
    tmodel, tstates = _torch_model(model, dtype, states) if use_torch else (None, None)

    rows, trows = [], []
    first_wrong = t_first_wrong = None
    with np.errstate(all="ignore"):   # overflow and nan are results here, reported
        for k, blk in enumerate(model.blocks):
            progress(f"audit: block {k + 1}/{L}")
            pats, am = ref.step()
            R = pats.dense(len(ref.tokens))
            row = _compare(blk, k, states, groups, offsets, ref, R, am,
                           lambda X, mask, k=k: fp.step(fblocks[k], X, _pad(mask), fblocks.tau, rnd,
                                                         want=True))
            rows.append(row)
            if first_wrong is None and (row["ff_tokens"] or row["attention_tokens"]):
                first_wrong = k + 1
            if tmodel is not None:
                trow = _compare(blk, k, tstates, groups, offsets, ref, R, am,
                                lambda X, mask, k=k: _torch_step(tmodel, k, X, mask))
                trows.append(trow)
                if t_first_wrong is None and (trow["ff_tokens"] or trow["attention_tokens"]):
                    t_first_wrong = k + 1

    def finals(sts):
        out = [None] * len(model.inputs)
        for g, (X, _) in zip(groups, sts):
            for r, j in enumerate(g):
                out[j] = _numpy(X[r, :len(model.inputs[j])])
        return out
    errs = fp.errors(finals(states), targets)
    ref_errs = fp.errors(ref.outputs(), targets)
    if ar.exact:
        exact_ok = all(set(ref.tokens[offsets[j]:offsets[j + 1]]) == set(model.targets[j])
                       for j in range(len(model.inputs)))
    else:
        exact_ok = all(e <= tol for e in ref_errs)
    ok = [math.isfinite(e) and e <= tol for e in errs]
    result = {
        "dtype": dtype, "attention": model.attention,
        "tau": None if model.tau is None else _text(model.tau),
        "float_pass": f"NumPy {dtype}" + (" (emulated: float32 rounded to bfloat16 after every "
                                         "operation)" if dtype == "bfloat16" else ""),
        "reference": "exact" if ar.exact else f"mpmath at {ar.p} bits",
        "certificate_sha256": model.sha256,
        "tol": tol, "interpolates": all(ok), "first_wrong_block": first_wrong,
        "max_error": _num(_worst(errs)), "exact_interpolates": exact_ok,
        "exact_max_error": _num(_worst(ref_errs)),
        "weights_overflow": fblocks.overflow, "weights_underflow": fblocks.underflow,
        "bits_needed": None, "bits_search": None,
        "blocks": rows,
        "sequences": [{"index": j, "name": model.names[j], "n": len(model.inputs[j]),
                       "m": len(model.targets[j]), "error": _num(e), "interpolates": o}
                      for j, (e, o) in enumerate(zip(errs, ok))],
        "torch": None,
    }
    if tmodel is not None:
        terrs = fp.errors(finals(tstates), targets)
        tok = [math.isfinite(e) and e <= tol for e in terrs]
        result["torch"] = {"dtype": dtype, "module": "exactseq.torch.ExactTransformer",
                           "interpolates": all(tok), "first_wrong_block": t_first_wrong,
                           "max_error": _num(_worst(terrs)),
                           "sequence_errors": [_num(e) for e in terrs], "blocks": trows}
    if bits:
        cap = max_bits if ar.exact else min(max_bits, ar.p // 2)
        result["bits_needed"], result["bits_search"] = _bits_needed(model, targets, tol, cap, progress)
    if hasattr(progress, "done"):
        progress.done()
    return result


def _pad(mask):
    pad = ~mask
    return pad if pad.any() else None


def _compare(blk, k, states, groups, offsets, ref, R, am, stepper):
    """Advance every stacked batch by block k with stepper and compare with the
    reference: the block's row of the report."""
    import numpy as np
    dev, ffd, atd = 0.0, 0, 0
    for gi, g in enumerate(groups):
        X, mask = states[gi]
        X, P, M = stepper(X, mask)
        states[gi] = (X, mask)
        Xn = _numpy(X)
        for r, j in enumerate(g):
            lo, hi = offsets[j], offsets[j + 1]
            n = hi - lo
            with np.errstate(all="ignore"):
                dist = np.sqrt(((Xn[r, :n] - ref.F[lo:hi]) ** 2).sum(axis=1))
            dev = _worse(dev, float(np.nan if np.isnan(dist).any() else dist.max(initial=0.0)))
            if blk.width:
                Pn, Rn = _numpy(P)[r, :n], R[lo:hi]
                ffd += int((((Rn == 1) & ~Pn) | ((Rn == -1) & Pn)).any(axis=1).sum())
            if am is not None:
                Ref = np.zeros((n, n), bool)
                for i, C in enumerate(am[j]):
                    Ref[i, list(C)] = True
                if M is None:   # the float V rounded to zero: no attention computed
                    continue
                atd += int((_numpy(M)[r, :n, :n] != Ref).any(axis=1).sum())
    return {"block": k + 1, "phase": blk.phase or "-", "deviation": _num(dev),   # "-": given weights
            "ff_differs": bool(ffd) if blk.width else None, "ff_tokens": ffd,
            "attention_differs": bool(atd) if am is not None else None, "attention_tokens": atd}


def _numpy(X):
    import numpy as np
    if isinstance(X, np.ndarray):
        return X.astype(np.float64) if X.dtype.kind == "f" else X
    if X.dtype.is_floating_point:
        return X.detach().to(dtype=_torch().float64).numpy()
    return X.detach().numpy()


def _torch():
    import torch
    return torch


def _torch_model(model, dtype, states):
    try:
        import torch
        from .torch import TORCH_DTYPES, ExactTransformer
    except ImportError:
        return None, None
    tdt = TORCH_DTYPES[dtype]
    tm = ExactTransformer.from_certificate(model, dtype=tdt)
    return tm, [(torch.from_numpy(X.astype("float64")).to(tdt), torch.from_numpy(mask))
                for X, mask in states]


def _torch_step(tm, k, X, mask):
    import torch
    with torch.no_grad():
        Y, P, M = tm.step(k, X, mask)
    return Y, P, M


def _bits_ok(model, p, targets, tol):
    """(passes, first block whose decisions differ or None) of the pass at p bits, run
    in step with a new reference pass (nothing is stored between blocks)."""
    from . import floatpass as fp
    from . import rounded as rd
    ref, ps = rd.Pass(model, rd.reference(model)), rd.Pass(model, rd.Rounded(p))
    for k, blk in enumerate(model.blocks):
        pats, am = ref.step()
        mp, mam = ps.step()
        if mam != am or rd.ff_differs(pats, mp, len(ref.tokens)):
            return False, k + 1
    errs = fp.errors(ps.outputs(), targets)
    return all(math.isfinite(e) and e <= tol for e in errs), None


def _bits_needed(model, targets, tol, cap, progress):
    tried = []

    def ok(p):
        progress(f"audit: bits_needed: trying {p} bits")
        good, wrong = _bits_ok(model, p, targets, tol)
        tried.append({"bits": p, "passes": good, "first_wrong_block": wrong})
        return good
    lo, p = None, BITS_FROM
    found = None
    while p <= cap:
        if ok(p):
            found = p
            break
        lo, p = p, p * 2
    if found is not None and lo is not None:
        hi = found
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        found = hi
    return found, {"method": f"doubling from {BITS_FROM} bits, then bisection", "max_bits": cap,
                   "tried": tried}


# ------------------------------------------------------------------ numbers and text
def _worse(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def _worst(xs):
    out = 0.0
    for x in xs:
        out = _worse(out, x)
    return out


def _num(x):
    """A float for JSON: finite as is, else the text "inf", "-inf" or "nan"."""
    x = float(x)
    return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _text(q):
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _g(x):
    return x if isinstance(x, str) else ("0" if x == 0 else f"{x:.3g}")


def _where(r, rows):
    if r["first_wrong_block"] is None:
        return "none"
    row = rows[r["first_wrong_block"] - 1]
    what = []
    if row["ff_tokens"]:
        what.append(f"{row['ff_tokens']} ReLU pattern(s)")
    if row["attention_tokens"]:
        what.append(f"{row['attention_tokens']} argmax set(s)")
    return f"{row['block']} ({row['phase']}): {' and '.join(what)} differ"


def _bits_text(r):
    if r["bits_search"] is None:
        return "not searched"
    if r["bits_needed"] is None:
        return f"none found up to {r['bits_search']['max_bits']} bits"
    return f"{r['bits_needed']}"


def summary_text(r):
    """Two lines for a report (the style of exactseq check's)."""
    verdict = "interpolates" if r["interpolates"] else "does NOT interpolate"
    lines = [f"audit        {r['dtype']}: {verdict} within {_g(r['tol'])} (max error "
             f"{_g(r['max_error'])}); first wrong block {_where(r, r['blocks'])}",
             f"             bits needed {_bits_text(r)} (smallest found by doubling from 8, "
             "then bisection)"]
    return "\n".join(lines)


MAX_ROWS = 60


def text(r):
    blocks = r["blocks"]
    lines = [f"exactseq audit: {r.get('certificate', 'certificate')}: {r['attention']}"
             + (f" at tau = {r['tau']}" if r["tau"] else "")
             + f", {len(blocks)} blocks, {len(r['sequences'])} sequences",
             f"float pass   {r['float_pass']}, weights correctly rounded; reference {r['reference']}",
             f"tolerance    {_g(r['tol'])}"]
    if r["weights_overflow"] or r["weights_underflow"]:
        lines.append(f"weights      {r['weights_overflow']} beyond the {r['dtype']} range, "
                     f"{r['weights_underflow']} non-zero ones round to 0")
    if len(blocks) <= MAX_ROWS:
        shown = blocks
    else:            # every block where a decision differs first, then the largest deviations
        ranked = sorted(range(len(blocks)), key=lambda i: (
            not (blocks[i]["ff_tokens"] or blocks[i]["attention_tokens"]),
            -(_sortable(blocks[i]["deviation"]) if blocks[i]["deviation"] is not None else 0)))
        shown = [blocks[i] for i in sorted(ranked[:MAX_ROWS])]
    lines.append("block  phase            deviation  ReLU patterns  argmax sets"
                 + ("" if len(shown) == len(blocks) else
                    f"   ({len(shown)} of {len(blocks)} blocks: every block where a decision differs, "
                    "then the largest deviations; --json lists all)"))
    for b in shown:
        def cell(flag, n):
            return "-" if flag is None else (f"{n} differ" if flag else "same")
        lines.append(f"{b['block']:>5}  {b['phase']:<15} {_g(b['deviation']):>10}  "
                     f"{cell(b['ff_differs'], b['ff_tokens']):<13}  "
                     f"{cell(b['attention_differs'], b['attention_tokens'])}")
    lines.append(f"first wrong  {_where(r, blocks)}")
    seqs = r["sequences"]
    worst = sorted(seqs, key=lambda s: -_sortable(s["error"]))[:10]
    lines.append(f"final error  max {_g(r['max_error'])} (Hausdorff, per sequence below"
                 + (f"; the {len(worst)} worst of {len(seqs)}" if len(seqs) > 10 else "") + ")")
    for s in (seqs if len(seqs) <= 10 else worst):
        name = f" ({s['name']!r})" if s["name"] is not None else ""
        lines.append(f"  sequence {s['index']}{name}: {_g(s['error'])}"
                     + ("" if s["interpolates"] else "  > tol"))
    lines.append(("exact pass   " if r["reference"] == "exact" else "reference    ")
                 + ("interpolates" if r["exact_interpolates"] else
                    "does NOT interpolate (the certificate is wrong: see exactseq verify)")
                 + f" (max error {_g(r['exact_max_error'])})")
    if r["bits_search"] is not None:
        lines.append(f"bits needed  {_bits_text(r)} (smallest precision found by doubling from 8 "
                     "bits, then bisection, at which every decision is the exact one and the "
                     "error is within tol)")
    t = r["torch"]
    if t is not None:
        lines.append(f"torch        {t['dtype']}: max error {_g(t['max_error'])}, "
                     + ("interpolates" if t["interpolates"] else "does NOT interpolate")
                     + f", first wrong {_where(t, t['blocks'])}")
    lines.append("verdict      " + (f"INTERPOLATES in {r['dtype']}" if r["interpolates"] else
                                    f"DOES NOT INTERPOLATE in {r['dtype']}"))
    return "\n".join(lines)


def _sortable(x):
    if isinstance(x, str):
        return math.inf
    return x


# ------------------------------------------------------------------ plot
def plot(r, path, title=""):
    """Deviation per block on a log scale, phases shaded and named; written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from .certificate import write_atomic_with
    blocks = r["blocks"]
    xs = [b["block"] for b in blocks]

    def vals(rows):
        return [math.inf if isinstance(b["deviation"], str) else b["deviation"] for b in rows]
    ys = vals(blocks)
    series = [(f"NumPy {r['dtype']}", ys)]
    if r["torch"] is not None:
        series.append((f"PyTorch {r['dtype']}", vals(r["torch"]["blocks"])))
    pos = [y for _, s in series for y in s if math.isfinite(y) and y > 0]
    floor = min(pos + [r["tol"] or 1e-300]) / 100 if pos or r["tol"] else 1e-18
    top = max(pos + [r["tol"] or floor * 10]) * 100
    fig, ax = plt.subplots(figsize=(max(6.0, min(16.0, 0.12 * len(xs) + 4)), 4.2))
    start = 0
    shade = False
    for i in range(1, len(blocks) + 1):
        if i == len(blocks) or blocks[i]["phase"] != blocks[start]["phase"]:
            if shade:
                ax.axvspan(start + 0.5, i + 0.5, color="0.92", zorder=0)
            ax.text((start + i + 1) / 2, top / 3, blocks[start]["phase"], ha="center", va="top",
                    fontsize=8, rotation=90 if i - start < 3 else 0)
            shade, start = not shade, i
    for (label, s), style in zip(series, ("o-", "x--")):
        ax.plot(xs, [min(max(y, floor), top) if not math.isnan(y) else top for y in s], style,
                label=label, markersize=3)
    if r["tol"]:
        ax.axhline(r["tol"], color="tab:green", linestyle=":", label="tolerance")
    if r["first_wrong_block"] is not None:
        ax.axvline(r["first_wrong_block"], color="tab:red", linestyle="--",
                   label=f"first wrong decision (block {r['first_wrong_block']})")
    ax.set_yscale("log")
    ax.set_ylim(floor, top)
    ax.set_xlabel("block")
    ax.set_ylabel("largest deviation from exact (0 drawn at the bottom)")
    ax.set_title(f"{title}: {r['dtype']} deviation per block" if title else
                 f"{r['dtype']} deviation per block")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    try:
        write_atomic_with(path, lambda fh: fig.savefig(fh, format="png", dpi=110), suffix=".png")
    finally:
        plt.close(fig)
