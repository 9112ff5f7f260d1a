"""Phase 2: leader selection.

A constant shift puts every token in the open cube Q = (0, q)^d.  Then, one
hat move per block, each sequence j sends m_j of its tokens to leader
positions: the first to the diagonal point t_j (1, ..., 1) with t_j >= q, the
others to distinct rational points of the unit sphere inside the open negative
orthant (inverse stereographic projection of rational points).  No leader
position equals an output token of the dataset.  The shift shares the FF layer
of the first hat move, so the phase costs sum_j m_j blocks.
"""
from __future__ import annotations

from fractions import Fraction

from ..numbers import Point, dot, floor_of, sign, translate
from .common import ONE, TUBE_HARDMAX, Projections, hat_block, injective_direction, tube_eps

PHASE = "leaders"


def sphere_point(s, d):
    """The s-th rational point of the unit sphere with all coordinates < 0."""
    u = [Fraction(-1, s + d)] * (d - 1)
    n2 = sum(x * x for x in u)
    return tuple(2 * x / (n2 + 1) for x in u) + ((n2 - 1) / (n2 + 1),)


def select_leaders(seqs, outputs, d, tube=TUBE_HARDMAX):
    """Return (blocks, new sequences, collapse data).

    ``outputs``: the dataset's output sequences (leader positions avoid them).
    """
    allpts = [x for X in seqs for x in X]
    shift = []
    for i in range(d):
        low = min((x[i] for x in allpts), key=lambda s: s)
        shift.append(Fraction(0) if sign(low) > 0 else Fraction(floor_of(-low) + 1))
    shift = tuple(shift)
    shift = Point(shift)
    moved = [[translate(x, shift) for x in X] for X in seqs]
    q = Fraction(floor_of(max((c for X in moved for x in X for c in x), key=lambda s: s)) + 1)

    forbidden = {y for Y in outputs for y in Y}
    t_vals, sphere, moves = [], [], []
    t, s = q, 1
    for j, X in enumerate(moved):
        while (t,) * d in forbidden:
            t += 1
        t_vals.append(t)
        dests = [(t,) * d]
        t += 1
        sph = []
        for _ in range(len(outputs[j]) - 1):
            while sphere_point(s, d) in forbidden:
                s += 1
            sph.append(sphere_point(s, d))
            s += 1
        sphere.append(sph)
        dests += sph
        moves += [(j, X[i], y) for i, y in enumerate(dests)]

    v, proj = injective_direction([x for X in moved for x in X] +
                                  [y for _, _, y in moves], d)
    projs = Projections(proj[x] for X in moved for x in X)
    blocks = []
    has_shift = any(shift)
    for n, (j, p, y) in enumerate(moves):
        s0 = proj[p]
        eps = tube_eps(projs.gap(s0), tube)
        if n == 0 and has_shift:
            p0 = tuple(a - c for a, c in zip(p, shift))
            blocks.append(hat_block(PHASE, v, s0 - dot(v, shift), eps, p0, y, shift))
        else:
            blocks.append(hat_block(PHASE, v, s0, eps, p, y))
        projs.move(s0, proj[y])
    if not moves and has_shift:  # pragma: no cover - every sequence has m_j >= 1
        raise AssertionError("no leaders")
    new = [[(t_vals[j],) * d] + sphere[j] + X[len(outputs[j]):] for j, X in enumerate(moved)]
    data = {"q": q, "r": ONE, "t": t_vals, "sphere": sphere}
    return blocks, new, data
