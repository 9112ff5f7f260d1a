"""Float-safe by default: which construction ``check`` builds, and the float claim it states.

``exactseq check`` (hardmax) builds the construction whose free parameters are
chosen for floating point (:mod:`exactseq.construction.robust`) unless asked
for the paper's literal parameters (``paper=True``) or for packed layers
(``max_width``), and falls back to the paper's construction, saying why, when
the float-safe one cannot be built.  Every certificate it writes is about the
exact model; the float claim is an extra statement:

* :func:`trial_claim` is the claim put into the certificate before the
  check: binary64 (or binary32), relative (each float output within
  ``T max(1, |y|)`` of its exact output y), with class decisions for a
  labelled dataset.  Without a demanded tolerance, T = 1, only so that the
  checker reports the bound it proves;
* the checker runs once, with ``claim_required=False``: the exact statements
  decide the verdict, and the claim is proven or not beside it;
* :func:`settle` then writes into the certificate the smallest ``2^-k``
  (k >= 0) not below the proven bound (or the demanded tolerance), or drops
  the claim when it is not proven.  The claim's verdict is monotone in the
  tolerance: the analysis (``proofs_check/floatclaim.py``) does not depend on
  it, and its last comparison is ``bound <= tolerance``; its only other use,
  the refusal of a tolerance that no float point meets at a target, cannot
  fire for a tolerance at or above a proven bound, since some float pass
  ends within the bound.  Re-checking the written certificate (``exactseq
  verify``) proves the stated claim again.
"""
from __future__ import annotations

from fractions import Fraction

FORMATS = {"float64": "binary64", "float32": "binary32"}
DTYPES = {v: k for k, v in FORMATS.items()}


def construct(ds, *, robust=None, paper=False, max_width=None, progress=None):
    """(construction, how): the float-safe construction for ``robust`` (default
    "float64") unless ``paper`` or ``max_width``; ``how`` is a dict
    {"construction": "float-safe" | "paper", "format": ..., "note": reason or None}."""
    from .construction import ConstructionError, build
    fmt = robust or "float64"
    if getattr(ds, "causal", False):       # masked attention: one construction (causal.py)
        return build(ds, progress=progress), {"construction": "causal", "format": fmt, "note": None}
    if paper or max_width is not None:
        why = "asked for with --paper" if paper else "packed layers, --max-width"
        return build(ds, progress=progress, max_width=max_width), \
            {"construction": "paper", "format": fmt, "note": why}
    try:
        cons = build(ds, progress=progress, robust=fmt)
        return cons, {"construction": "float-safe", "format": fmt, "note": None,
                      "scale": getattr(cons, "robust", {}).get("scale")}
    except ConstructionError as exc:       # a float-safe choice not found: the paper's
        return build(ds, progress=progress), \
            {"construction": "paper", "format": fmt,
             "note": f"the float-safe construction could not be built ({exc})"}


def target_scale(ds):
    """max(1, largest |target coordinate|), a rational upper bound."""
    from .numbers import sign, upper_bound
    return max([Fraction(1)] + [upper_bound(c if sign(c) >= 0 else -c)
                                for p in ds.pairs for y in p.output for c in y])


def float_claim(ds, fmt, cert, limits=None, tolerance=None):
    """The float claim to state for a certificate object of ``ds`` (as
    ``exactseq check`` does, but on its own): ``tolerance`` when given, else
    the smallest 2^-k the checker proves for these weights (one run of
    proofs_check), else (nothing proven) the format's default, 1e-9 for binary64
    and 2^-10 for binary32, which the checker will then not prove."""
    import proofs_check
    if tolerance is not None:
        tolerance = Fraction(tolerance)
        if tolerance <= 0:
            raise ValueError("the tolerance must be positive")
        return trial_claim(ds, fmt, tolerance)
    trial = dict(cert, float_claim=trial_claim(ds, fmt))
    trial.pop("verdict", None)
    try:
        proven = proofs_check.check(trial, limits=limits or proofs_check.DEFAULT,
                                    claim_required=False).get("float_claim")
    except (proofs_check.Unknown, proofs_check.Rejected, proofs_check.Malformed):
        proven = None
    tol = tightest(Fraction(proven["bound_exact"])) if proven else \
        {"float64": Fraction(1, 10 ** 9), "float32": Fraction(1, 2 ** 10)}[fmt]
    return trial_claim(ds, fmt, tol)


def text(q):
    q = Fraction(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def parse_tolerance(textarg):
    """(T, None) for a positive rational text of at most 200 characters, a decimal
    exponent of at most 4 digits (so no huge number is ever built), or (None, error)."""
    import re
    t = textarg.strip()
    ok = len(t) <= 200 and re.fullmatch(r"[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]{1,4})?|[0-9]+/[0-9]+", t, re.ASCII)
    q = Fraction(t) if ok and not t.endswith("/0") and not re.fullmatch(r"0+/[0-9]+", t) else None
    if q is None or q <= 0:
        shown = textarg if len(textarg) <= 40 else textarg[:20] + "..."
        return None, (f"--tolerance {shown!r} is not a positive rational (p, p/q or a decimal such as "
                      "1e-9, at most 200 characters and a 4-digit exponent)")
    return q, None


def trial_claim(ds, fmt="float64", tolerance=None):
    """The claim to check: relative, classes for a labelled dataset, tolerance T or 1."""
    claim = {"format": FORMATS[fmt], "tolerance": text(tolerance if tolerance is not None else 1),
             "relative": True}
    if getattr(ds, "classes", None) is not None:
        claim["classes"] = True
    return claim


def tightest(bound):
    """The smallest power of two 2^-k not below ``bound`` (a positive rational)."""
    t = Fraction(1)
    while t < bound:
        t *= 2
    while t / 2 >= bound:
        t /= 2
    return t


def settle(cert, summary, fmt="float64", tolerance=None):
    """After ``proofs_check.check(cert, claim_required=False)``: the certificate's
    claim tightened (or kept at the demanded tolerance) when proven, dropped when
    not.  Returns the report's "float_claim" entry."""
    claim = cert.get("float_claim")
    proven = summary.get("float_claim") if summary else None
    if claim is None or not proven:
        cert.pop("float_claim", None)
        reason = ((summary or {}).get("float_claim_unproven") or {}).get("reason") or "not checked"
        return {"format": FORMATS[fmt], "dtype": fmt, "relative": True, "proven": False,
                "reason": reason[len("float claim: "):] if reason.startswith("float claim: ") else reason}
    tol = Fraction(claim["tolerance"]) if tolerance is not None else tightest(Fraction(proven["bound_exact"]))
    claim["tolerance"] = text(tol)
    return stated(claim, proven)


def stated(claim, proven):
    """The report's "float_claim" entry for a certificate's own claim and the
    checker's proof of it (its summary's "float_claim", or None)."""
    fmt = DTYPES.get(claim.get("format"), claim.get("format"))
    out = {"format": claim.get("format"), "dtype": fmt, "relative": bool(claim.get("relative")),
           "proven": bool(proven), "tolerance": claim.get("tolerance")}
    if proven:
        out.update(bound=proven["bound"], bound_exact=proven["bound_exact"], decisions=proven["decisions"])
        if "classes" in proven:
            out["classes"] = proven["classes"]
    return out


def line(fc):
    """One line of the text report for the float claim."""
    if fc is None:
        return None
    if fc["proven"]:
        rel = " max(1, |y|) of each target y" if fc.get("relative") else " of the targets (Hausdorff)"
        tol = Fraction(fc["tolerance"])
        k = tol.denominator.bit_length() - 1 if tol.numerator == 1 and tol.denominator & (tol.denominator - 1) == 0 \
            else None
        t = f"2^-{k}" if k is not None else fc["tolerance"]
        cls = f"; each output nearest its own class point ({fc['classes']} proven)" if "classes" in fc else ""
        return (f"float claim  {fc['format']} ({fc['dtype']}): PROVEN: every float pass of the exported "
                f"weights takes every decision of the exact model and ends within {t}{rel} "
                f"(proven bound {fc['bound']}, {fc['decisions']} decisions){cls}")
    return f"float claim  {fc['format']} ({fc['dtype']}): not proven: {fc.get('reason', 'not checked')}"


__all__ = ["FORMATS", "construct", "trial_claim", "settle", "tightest", "line", "float_claim", "target_scale"]
