"""Phase 2: leader selection.

A constant shift puts every token in the open cube Q = (0, q)^d.  Then, by hat
moves (one per block, or several per layer with a larger width: packing.py),
each sequence j sends m_j of its tokens to leader positions: the first to the
diagonal point t_j (1, ..., 1) with t_j >= q, the others to distinct rational
points of the unit sphere inside the open negative orthant (inverse
stereographic projection of rational points).  No leader position equals an
output token of the dataset.  The shift shares the FF layer of the first hat
move, so the phase costs sum_j m_j blocks (fewer when packed).
"""
from __future__ import annotations

from fractions import Fraction

from ..numbers import Point, floor_of, sign, translate
from .common import ONE, TUBE_HARDMAX, Projections, injective_direction
from .packing import DEFAULT_WIDTH, pack

PHASE = "leaders"


def sphere_point(s, d):
    """The s-th rational point of the unit sphere with all coordinates < 0."""
    u = [Fraction(-1, s + d)] * (d - 1)
    n2 = sum(x * x for x in u)
    return tuple(2 * x / (n2 + 1) for x in u) + ((n2 - 1) / (n2 + 1),)


def select_leaders(seqs, outputs, d, tube=TUBE_HARDMAX, width=DEFAULT_WIDTH, share=False):
    """Return (blocks, new sequences, collapse data).

    ``outputs``: the dataset's output sequences (leader positions avoid them).
    ``width``: the widest FF layer allowed (several hat moves per layer, packing.py).
    ``share``: sequences with the same output list get the same leader positions,
    so after the collapse they sit on the same points and the interpolation moves
    them together (the collapse is a statement per sequence; nothing else asks
    leaders of different sequences to differ).
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
    placed = {}
    for j, X in enumerate(moved):
        key = tuple(outputs[j])
        if share and key in placed:
            t_vals.append(placed[key][0])
            sphere.append(placed[key][1])
            moves += [(j, X[i], y) for i, y in enumerate([(placed[key][0],) * d] + placed[key][1])]
            continue
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
        placed[key] = (t_vals[-1], sph)
        dests += sph
        moves += [(j, X[i], y) for i, y in enumerate(dests)]

    v, proj = injective_direction([x for X in moved for x in X] +
                                  [y for _, _, y in moves], d)
    projs = Projections(proj[x] for X in moved for x in X)
    has_shift = any(shift)
    blocks = pack(PHASE, v, proj, projs, [(p, y) for _, p, y in moves], tube, width,
                  shift if has_shift else None)
    if not moves and has_shift:  # pragma: no cover - every sequence has m_j >= 1
        raise AssertionError("no leaders")
    new = [[(t_vals[j],) * d] + sphere[j] + X[len(outputs[j]):] for j, X in enumerate(moved)]
    data = {"q": q, "r": ONE, "t": t_vals, "sphere": sphere}
    return blocks, new, data
