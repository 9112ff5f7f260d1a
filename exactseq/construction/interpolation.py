"""Phase 4: interpolation.

After the collapse sequence j is exactly m_j distinct points, none of them an
output token; hat moves send each onto its output token, one per block (or
several per layer with a larger width: packing.py).
"""
from __future__ import annotations

from .common import TUBE_HARDMAX, Projections, injective_direction
from .packing import DEFAULT_WIDTH, pack

PHASE = "interpolation"


def interpolate(seqs, outputs, d, tube=TUBE_HARDMAX, width=DEFAULT_WIDTH):
    """Blocks moving every point onto its output token, several per layer as
    ``width`` allows (packing.py).  A point that several sequences share (with the
    same target) moves once."""
    moves = list(dict.fromkeys((p, y) for X, Y in zip(seqs, outputs) for p, y in zip(X, Y)))
    v, proj = injective_direction([x for X in seqs for x in X] + [y for Y in outputs for y in Y], d)
    projs = Projections(proj[x] for X in seqs for x in X)
    blocks = pack(PHASE, v, proj, projs, moves, tube, width)
    return blocks, [list(Y) for Y in outputs]
