"""The constructions, phase by phase in the paper's order (one module per phase).

``build(dataset)`` returns a :class:`Construction`: the blocks (weights and
claims with witnesses) and, for comparison, the constructor's own record of
where every sequence is after each phase.  It picks the construction:

* ``hardmax.py``: the paper's (Theorem 1.4; softmax, Theorem 1.6), its
  literal parameter choices, with ``max_width`` packing (``packing.py``);
* ``robust.py``: every free parameter chosen for floating point;
* ``causal.py``: masked attention, for a dataset with "targets".

The phases: ``separation.py``, ``leaders.py``, ``collapse.py`` (and the
softmax staircase, ``softmax.py``), ``interpolation.py``; shared pieces in
``common.py`` and the float-filtered exact decisions in ``vector.py``.
"""
from __future__ import annotations

from .common import WIDTH_BOUND, Construction, ConstructionError, block_bound
from .packing import DEFAULT_WIDTH

PHASES = ("separation", "leaders", "collapse", "interpolation")


def build(ds, progress=None, attention="hardmax", max_width=None, share=None, robust=None):
    """The construction for ``ds``; with attention="softmax" (Theorem 1.6) the hat
    tubes are narrower and a saturating staircase block follows the collapse.

    ``max_width`` (hardmax, >= 4): the widest FF layer; the hat moves of the
    leaders and interpolation phases are packed several per layer (packing.py).
    ``share`` (default: for a hardmax classification dataset): sequences with equal
    output lists share their leader positions, so their interpolation moves
    are shared.
    ``robust`` ("float64" or "float32", hardmax, one move per layer): every free
    parameter chosen for floating point (robust.py)."""
    if robust is not None:
        if attention != "hardmax" or max_width not in (None, DEFAULT_WIDTH) or getattr(ds, "causal", False):
            raise ValueError("robust applies to the hardmax construction at width 4 only")
        from .robust import build as build_robust
        if share is None:
            share = getattr(ds, "classes", None) is not None
        return build_robust(ds, robust, progress, share)
    if getattr(ds, "causal", False):     # a dataset with "targets": masked attention (causal.py)
        from .causal import build as build_causal
        return build_causal(ds, progress)
    from .hardmax import build as build_hardmax
    return build_hardmax(ds, progress, attention, max_width, share)


__all__ = ["build", "Construction", "ConstructionError", "PHASES", "block_bound",
           "WIDTH_BOUND", "DEFAULT_WIDTH"]
