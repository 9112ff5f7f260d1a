"""The saturating layer of the softmax construction (Theorem 1.6, collapse b).

After the softmax collapse every token of sequence j lies in a small ball
around one of the m_j leader points.  One non-residual FF layer (eta = 0) maps
each ball to its exact centre: with s = <v, x> for a direction v injective on
the K centres c_1..c_K sorted by projection, a ramp
relu(s - beta_i) - relu(s - beta_i - h_i) placed inside the i-th gap is 0 below
it and h_i above, so
    FF(x) = c_1 + sum_i (c_{i+1} - c_i) / h_i * ramp_i(<v, x>)
equals c_k exactly whenever <v, x> lies between ramp k-1 and ramp k.  Width
2K - 1 in one block (the paper spends one layer per ball).
"""
from __future__ import annotations

from fractions import Fraction

from ..model import FF, Block, identity_sa
from ..numbers import simplest_in
from .common import injective_direction

PHASE = "saturate"


def staircase(seqs, m, d):
    centres = [x for X in seqs for x in X]
    v, proj = injective_direction(centres, d)
    order = sorted(set(centres), key=lambda c: proj[c])
    zero = tuple(Fraction(0) for _ in range(d))
    U, b, cols = [zero], [Fraction(1)], [order[0]]
    for lo, hi in zip(order, order[1:]):
        g = proj[hi] - proj[lo]
        beta = proj[lo] + simplest_in(g / 4, g / 3)
        h = simplest_in(g / 4, g / 3)
        diff = tuple((a - c) / h for a, c in zip(hi, lo))
        U += [v, v]
        b += [-beta, -beta - h]
        cols += [diff, tuple(-x for x in diff)]
    W = tuple(tuple(col[i] for col in cols) for i in range(d))
    ff = FF(Fraction(0), tuple(U), tuple(b), W)
    return Block(ff, identity_sa(), PHASE, [{"kind": "saturate"}, {"kind": "counts", "m": list(m)}])
