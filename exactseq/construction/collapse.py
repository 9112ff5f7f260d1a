"""Phase 3: the collapse (Lemma 4.4, partial clustering).

FF = identity, SA with A = I, V = I, rho = 0.  In sequence j every token of
the cube Q has the diagonal leader t_j (1, ..., 1) as its unique maximiser,
and each leader is its own, so the sequence becomes its m_j leaders.
"""
from __future__ import annotations

from ..model import identity_ff
from .common import SA, Block, Mat, ONE
from fractions import Fraction

PHASE = "collapse"


def collapse(seqs, data, d, m, counts=True):
    sa = SA(Fraction(0), Mat("scalar", ONE), Mat("scalar", ONE))
    claims = [dict(data, kind="collapse")]
    if counts:
        claims.append({"kind": "counts", "m": list(m)})
    block = Block(identity_ff(d), sa, PHASE, claims)
    new = [X[:m[j]] for j, X in enumerate(seqs)]
    return [block], new
