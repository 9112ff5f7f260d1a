"""The Theorem 1.4 construction, phase by phase in the paper's order.

``build(dataset)`` returns a :class:`Construction`: the blocks (weights and
claims with witnesses) and, for comparison, the constructor's own record of
where every sequence is after each phase.

The paper's separate non-zero shift is not needed here: every separation
block carries its own shift making <a, x> > 0, so it costs 0 blocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Transformer
from .collapse import collapse
from .common import ConstructionError
from .interpolation import interpolate
from .leaders import select_leaders
from .separation import separate
from .softmax import staircase
from fractions import Fraction

PHASES = ("separation", "leaders", "collapse", "interpolation")


@dataclass
class Construction:
    model: Transformer
    phase_blocks: dict
    states: dict = field(default_factory=dict)   # phase -> sequences after it

    @property
    def blocks(self):
        return self.model.blocks


def block_bound(ds):
    return 2 * ds.sum_m + 2 * ds.N + 1


WIDTH_BOUND = 4


def build(ds, progress=None, attention="hardmax"):
    """The construction; with attention="softmax" (Theorem 1.6) the hat tubes
    are narrower and a saturating staircase block follows the collapse."""
    from . import common
    saved = common.TUBE
    if attention == "softmax":
        common.TUBE = (Fraction(1, 4), Fraction(1, 2))
    try:
        return _build(ds, progress, attention)
    finally:
        common.TUBE = saved


def _build(ds, progress, attention):
    d = ds.dim
    outputs = [list(p.output) for p in ds.pairs]
    m = [len(Y) for Y in outputs]
    seqs = [list(p.input) for p in ds.pairs]
    blocks, counts, states = [], {}, {}
    steps = (
        ("separation", lambda s: separate(s, d)),
        ("leaders", None),
        ("collapse", None),
        ("interpolation", lambda s: interpolate(s, outputs, d)),
    )
    data = None
    for phase, fn in steps:
        if progress:
            progress(phase)
        if phase == "leaders":
            new_blocks, seqs, data = select_leaders(seqs, outputs, d)
        elif phase == "collapse":
            new_blocks, seqs = collapse(seqs, data, d, m, counts=attention != "softmax")
            if attention == "softmax":
                new_blocks.append(staircase(seqs, m, d))
        else:
            new_blocks, seqs = fn(seqs)
        blocks += new_blocks
        counts[phase] = len(new_blocks)
        states[phase] = [list(X) for X in seqs]
    return Construction(Transformer(blocks, d), counts, states)


__all__ = ["build", "Construction", "ConstructionError", "PHASES", "block_bound",
           "WIDTH_BOUND"]
