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
from .common import TUBE_HARDMAX, TUBE_SOFTMAX, ConstructionError
from .interpolation import interpolate
from .leaders import select_leaders
from .separation import separate
from .softmax import staircase

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
    d, softmax = ds.dim, attention == "softmax"
    tube = TUBE_SOFTMAX if softmax else TUBE_HARDMAX
    outputs = [list(p.output) for p in ds.pairs]
    m = [len(Y) for Y in outputs]
    seqs = [list(p.input) for p in ds.pairs]
    blocks, counts, states = [], {}, {}

    def record(phase, new_blocks, new_seqs):
        blocks.extend(new_blocks)
        counts[phase] = len(new_blocks)
        states[phase] = [list(X) for X in new_seqs]
        return new_seqs

    say = progress or (lambda phase: None)
    say("separation")
    seqs = record("separation", *separate(seqs, d, tube))
    say("leaders")
    lead_blocks, seqs, data = select_leaders(seqs, outputs, d, tube)
    seqs = record("leaders", lead_blocks, seqs)
    say("collapse")
    col_blocks, seqs = collapse(seqs, data, d, m, counts=not softmax)
    if softmax:
        col_blocks.append(staircase(seqs, m, d))
    seqs = record("collapse", col_blocks, seqs)
    say("interpolation")
    record("interpolation", *interpolate(seqs, outputs, d, tube))
    return Construction(Transformer(blocks, d), counts, states)


__all__ = ["build", "Construction", "ConstructionError", "PHASES", "block_bound",
           "WIDTH_BOUND"]
