"""The weights certificate: "these given weights map these inputs to these targets".

:func:`build` writes the certificate object for a transformer read by
:mod:`exactseq.weightfile` and a dataset: the dataset exactly as a
construction certificate writes it (same canonical object, hash and field),
then the blocks, each ``{"ff": {"eta", "U", "b", "W"}, "sa": {"rho",
"heads": [{"A": MAT, "V": MAT}, ...]}}`` with MAT ``{"kind": "zero"}`` when
every entry is 0, else ``{"kind": "full", "rows": [...]}``.  No phases, no
claims: the checker evaluates the weights on every input.

Verdicts (the checker's, not computed here): hardmax, the output set of every
sequence equals its target set, or is within Hausdorff distance ``tolerance``
of it; causal, position by position within ``tolerance`` (Euclidean) or equal;
softmax, within ``tolerance`` by rigorous enclosures (a tolerance is needed).
"""
from __future__ import annotations

import os
import sys
from fractions import Fraction

from .certificate import FORMAT, SCHEMA_VERSION, field_obj, num, vec, versions
from .dataset import canonical_hash, canonical_obj
from .errors import InputError
from .numbers import to_text
from .weightfile import ATTENTIONS

__all__ = ["KIND", "build", "block_obj", "mat_obj"]

KIND = "weights"


def mat_obj(M):
    """A d x d matrix (rows of Fractions) as a certificate matrix object."""
    if all(x == 0 for r in M for x in r):
        return {"kind": "zero"}
    return {"kind": "full", "rows": [vec(r) for r in M]}


def block_obj(b):
    return {"ff": {"eta": num(b.eta), "U": [vec(u) for u in b.U], "b": vec(b.b),
                   "W": [vec(r) for r in b.W]},
            "sa": {"rho": num(b.rho), "heads": [{"A": mat_obj(A), "V": mat_obj(V)} for A, V in b.heads]}}


def _positive(x, what, path):
    """x as a Fraction; InputError unless it is a rational (not a float) > 0 (>= 0 for a tolerance)."""
    if isinstance(x, bool) or not isinstance(x, (int, Fraction)):
        raise InputError(f"{path}: {what} must be an exact rational (int or Fraction), not "
                         f"{type(x).__name__}")
    x = Fraction(x)
    if x < 0 or (x == 0 and what == "tau"):
        raise InputError(f"{path}: {what} {to_text(x)} is not " + ("positive" if what == "tau"
                                                                   else "non-negative"))
    return x


def build(ds, weights, attention=None, tau=None, order=64, tolerance=None):
    """The weights certificate object (without a verdict) for the dataset ``ds``
    (:class:`exactseq.dataset.Dataset`) and ``weights``
    (:class:`exactseq.weightfile.Weights`).

    ``attention``: "hardmax", "softmax" or "causal"; default the weight file's
    metadata, else "causal" for a dataset with targets, else "hardmax".  Softmax
    needs ``tau`` (default the metadata's) and a ``tolerance``; ``order`` is
    written beside tau.  ``tolerance`` (a Fraction, or None for exact equality)
    lets the checker certify within that distance.  InputError (one line,
    starting with the weight file's path) when they do not fit together.
    """
    path = weights.path
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # exact integers of any size
    if weights.d != ds.dim:
        raise InputError(f"{path}: the weights have d = {weights.d} but the dataset "
                         f"{ds.source} has dimension {ds.dim}")
    attention = attention or weights.attention or ("causal" if ds.causal else "hardmax")
    if attention not in ATTENTIONS:
        raise InputError(f"{path}: attention {attention!r} is not one of {', '.join(ATTENTIONS)}")
    if ds.causal and attention != "causal":
        raise InputError(f"{path}: the dataset {ds.source} gives 'targets' (one per position), "
                         f"which needs causal attention, not {attention}")
    if attention == "causal" and not ds.causal:
        raise InputError(f"{path}: causal attention needs a dataset with 'targets' (one target "
                         f"per position); {ds.source} gives output sets")
    if ds.field is not None and attention != "hardmax":
        raise InputError(f"{path}: {attention} attention needs rational data; the dataset "
                         f"{ds.source} is over a number field (hardmax only)")
    if tolerance is not None:
        tolerance = _positive(tolerance, "tolerance", path)
    softmax = None
    if attention == "softmax":
        tau = tau if tau is not None else weights.tau
        if tau is None:
            raise InputError(f"{path}: softmax attention needs tau (give it, or a weight file whose "
                             "metadata has tau_exact)")
        tau = _positive(tau, "tau", path)
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise InputError(f"{path}: the softmax order must be a positive integer, not {order!r}")
        if not tolerance:
            raise InputError(f"{path}: softmax attention needs a positive tolerance (equality "
                             "cannot be proven through exp)")
        softmax = {"tau": to_text(tau), "order": order}
    data = canonical_obj(ds)
    cert = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "kind": KIND,
            "attention": attention, "versions": versions(), "dataset_sha256": canonical_hash(data),
            "dataset": data, "field": field_obj(ds),
            "source": {"file": os.path.basename(path), "format": weights.format,
                       "sha256": weights.sha256},
            "blocks": [block_obj(b) for b in weights.blocks]}
    if softmax is not None:
        cert["softmax"] = softmax
    if tolerance is not None:
        cert["tolerance"] = to_text(tolerance)
    return cert
