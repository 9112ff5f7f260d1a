"""Phase 4: interpolation.

After the collapse sequence j is exactly m_j distinct points, none of them an
output token; one hat move per block sends each onto its output token.
"""
from __future__ import annotations

from .common import TUBE_HARDMAX, Projections, hat_block, injective_direction, tube_eps

PHASE = "interpolation"


def interpolate(seqs, outputs, d, tube=TUBE_HARDMAX):
    moves = [(p, y) for X, Y in zip(seqs, outputs) for p, y in zip(X, Y)]
    v, proj = injective_direction([x for X in seqs for x in X] + [y for Y in outputs for y in Y], d)
    projs = Projections(proj[x] for X in seqs for x in X)
    blocks = []
    for p, y in moves:
        s0 = proj[p]
        blocks.append(hat_block(PHASE, v, s0, tube_eps(projs.gap(s0), tube), p, y))
        projs.move(s0, proj[y])
    return blocks, [list(Y) for Y in outputs]
