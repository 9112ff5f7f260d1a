"""Reading a certificate file and reporting a verdict: shared by
``python -m proofs_check`` and ``exactseq verify`` so both say the same thing.

Verdicts and exit statuses: verified 0, rejected 1, malformed 2 (unreadable,
not of the documented form, or beyond a resource limit), unknown 3 (the
checker could not decide; never a pass).
"""
from __future__ import annotations

import argparse

import hashlib
import json

from .checker import check
from .limits import DEFAULT, LimitError, read_bytes, read_json
from .numbers import Malformed, Rejected, Unknown, work_budget

STATUS = {"verified": 0, "rejected": 1, "malformed": 2, "unknown": 3}


def load(path, limits=DEFAULT):
    """The certificate object at path ("-": standard input); Malformed (one line) if
    it cannot be read."""
    try:
        return read_json(read_bytes(path, limits), limits, "certificate")
    except OSError as exc:
        raise Malformed(f"cannot read: {exc.strerror or exc}") from None
    except (LimitError, ValueError) as exc:
        raise Malformed(str(exc)) from None


FORMAT = "exactseq-certificate"


def dataset_hash(obj):
    """SHA-256 of the canonical JSON text of a dataset object."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def envelope(cert):
    """The certificate's outer form: its format, and the recorded hash of the
    embedded dataset when there is one.  Malformed otherwise."""
    if not isinstance(cert, dict) or cert.get("format") != FORMAT:
        raise Malformed("not an exactseq certificate (missing or wrong 'format')")
    if "dataset_sha256" in cert and (not isinstance(cert.get("dataset"), dict)
                                     or dataset_hash(cert["dataset"]) != cert["dataset_sha256"]):
        raise Malformed("'dataset_sha256' does not match the embedded dataset")


def run(cert, limits=DEFAULT, progress=None, jobs=1, run_shards=None, claim_required=True,
        reference=False):
    """Check a certificate object: (verdict, result object for --json).  ``jobs``,
    ``run_shards`` and ``claim_required`` as in checker.check (the verdict does not
    depend on the first two).  With ``reference`` the reference kernel
    (kernel.py) checks it instead, in one process (``progress``, ``jobs`` and
    ``run_shards`` do not apply), and the result says "reference": true."""
    verdict, result = _run(cert, limits, progress, jobs, run_shards, claim_required, reference)
    if reference:
        result["reference"] = True
    return verdict, result


def _run(cert, limits, progress, jobs, run_shards, claim_required, reference):
    with work_budget(limits):
        return _run_budgeted(cert, limits, progress, jobs, run_shards, claim_required, reference)


def _run_budgeted(cert, limits, progress, jobs, run_shards, claim_required, reference):
    try:
        envelope(cert)
        if reference:
            from .floatclaim import check_claim
            from .kernel import check as reference_check
            summary = reference_check(cert, limits=limits, claim_required=claim_required,
                                      float_claim=check_claim)
        else:
            summary = check(cert, progress=progress, limits=limits, jobs=jobs, run_shards=run_shards,
                            claim_required=claim_required)
    except Malformed as exc:
        return "malformed", {"verdict": "malformed", "reason": str(exc)}
    except Rejected as exc:
        return "rejected", {"verdict": "rejected", "reason": str(exc)}
    except Unknown as exc:
        return "unknown", {"verdict": "unknown", "reason": str(exc)}
    except (RecursionError, MemoryError) as exc:
        return "unknown", {"verdict": "unknown",
                           "reason": f"resources exhausted ({type(exc).__name__}); nothing verified"}
    except Exception as exc:  # a checker bug: never a pass
        return "rejected", {"verdict": "rejected",
                            "reason": f"internal error: {type(exc).__name__}: {exc}"}
    return "verified", {"verdict": "verified", "reason": None, **summary}


def line(result):
    """The one-line text verdict."""
    v = result["verdict"]
    if v != "verified":
        return f"{v.upper()}: {result['reason']}"
    if result.get("kind") == "weights":
        return weights_line(result)
    tau = str(result.get("tau"))
    tau = tau if len(tau) <= 40 else f"{tau[:20]}...{tau[-12:]}"
    scope = (f"softmax at tau = {tau}, " if result.get("attention") == "softmax" else
             "causal (masked) attention, " if result.get("attention") == "causal" else "")
    width = f", width {result['width']}" + (f" (bound {result['width_bound']})"
                                            if result.get("width_bound") else "")
    params = (f", {result['parameters']} non-zero parameters" if "parameters" in result else "")
    fc = result.get("float_claim")
    if fc:
        tol = str(fc["tolerance"])
        tol = tol if len(tol) <= 40 else f"{tol[:20]}...{tol[-12:]}"
        rel = fc.get("relative")
        floats = (f"; a {fc['format']} pass decides as the exact model and ends within {tol}"
                  + (f" relative, i.e. {tol} max(1, |y|) from each exact output y" if rel else "")
                  + f" (proven bound {fc['bound']})"
                  + (f", each output nearer its own target point than any other ({fc['classes']} "
                     "sequences)" if "classes" in fc else ""))
    else:
        floats = ""
    return (f"VERIFIED: {scope}{result['blocks']} blocks (bound {result['block_bound']}){width}"
            f"{params}; every output equals its target exactly{floats}")


def _cut(t):
    t = str(t)
    return t if len(t) <= 40 else f"{t[:20]}...{t[-12:]}"


def _n(k, word):
    return f"{k} {word}{'s' if k != 1 else ''}"


def weights_line(result):
    """The one-line verdict of a verified weights certificate."""
    att = result["attention"]
    scope = {"softmax": f"softmax at tau = {_cut(result.get('tau'))}",
             "causal": "causal (masked) hardmax"}.get(att, "hardmax")
    size = (f"{_n(result['blocks'], 'block')}, {_n(result['heads'], 'head')}, "
            f"width {result['width']}, {_n(result['parameters'], 'non-zero parameter')}")
    tol = result.get("tolerance")
    if tol is None:
        claim = "every output equals its target exactly"
    else:
        far = result.get("largest_distance_sq")
        claim = (f"every output is within {_cut(tol)} of its target"
                 + ("" if att == "softmax" or far is None else
                    " (exactly equal)" if far == "0" else
                    f" (largest squared Hausdorff distance {_cut(far)}, about {result.get('largest_distance')})"
                    if att != "causal" else
                    f" (largest squared distance {_cut(far)}, about {result.get('largest_distance')})"))
    return f"VERIFIED: given weights, {scope}, {size}; {claim}"


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2); with
    ``json_errors`` set (``--json`` given), also one JSON object on stdout."""
    json_errors = False

    def error(self, message):
        msg = f"{self.prog}: error: {message} (see {self.prog} --help)"
        if self.json_errors:
            print(json.dumps({"verdict": "malformed", "reason": msg}, indent=1))
        self.exit(2, msg + "\n")
