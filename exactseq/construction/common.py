"""Pieces shared by the construction phases: hat moves and directions."""
from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field
from fractions import Fraction

from ..model import FF, SA, Block, Mat, Transformer, ZERO, identity_sa
from ..numbers import Point, dot, lower_bound, simplest_in

ONE = Fraction(1)


class ConstructionError(RuntimeError):
    """The constructor could not finish (a bug: valid data always succeeds)."""


def moment(t, d):
    """(1, t, t^2, ..., t^(d-1)): injective on any finite set for all but finitely many t."""
    return Point(Fraction(t) ** i for i in range(d))


def injective_direction(points, d, avoid_zero=False):
    """A simple rational v with <v, .> injective on the given distinct points."""
    from .vector import float_rows, injective
    points = list(set(points))
    F = float_rows(points, d) if len(points) >= 8 else None
    for t in range(1, 10_000):
        v = moment(t, d)
        if injective(v, points, F):
            return v, {p: dot(v, p) for p in points}
    raise ConstructionError("no injective direction found")


# eps is chosen in (lo * gap, hi * gap); the softmax construction narrows the tubes
# so that enclosures of the other tokens stay outside them.
TUBE_HARDMAX = (Fraction(1, 2), Fraction(1))
TUBE_SOFTMAX = (Fraction(1, 4), Fraction(1, 2))


def tube_eps(gap, tube=TUBE_HARDMAX):
    """The simplest rational eps in (lo * gap, hi * gap) (gap > 0, possibly algebraic)."""
    g = lower_bound(gap)
    return simplest_in(tube[0] * g, tube[1] * g)


def hat_ff(v, s0, eps, p, y, shift=None):
    """Width-3 layer sending p to y (and every point outside the tube to itself).

    With ``shift`` a fourth unit adds the constant vector shift to every token,
    so then p goes to y + shift.
    """
    d = len(p)
    col = tuple((yi - pi) / eps for yi, pi in zip(y, p))
    U = (v, v, v)
    b = (eps - s0, -s0, -s0 - eps)
    W = [(c, -2 * c, c) for c in col]
    if shift is not None:
        U += (tuple(Fraction(0) for _ in range(d)),)
        b += (ONE,)
        W = [w + (s,) for w, s in zip(W, shift)]
    return FF(ONE, U, b, tuple(W))


def shift_ff(shift):
    d = len(shift)
    return FF(ONE, (tuple(Fraction(0) for _ in range(d)),), (ONE,), tuple((s,) for s in shift))


def hat_claim(v, s0, eps, p, target):
    return {"kind": "hat", "v": v, "s0": s0, "eps": eps, "point": p, "target": target}


class Projections:
    """Sorted projections <v, x> of the current points, with multiplicity.

    Lets a run of hat moves along one direction find each tube width in
    O(log n) instead of rescanning every token.
    """

    def __init__(self, values):
        self.count = {}
        for s in values:
            self.count[s] = self.count.get(s, 0) + 1
        from .vector import sort_exact
        self.sorted = sort_exact(list(self.count))

    def gap(self, s0):
        i = bisect_left(self.sorted, s0)
        if i >= len(self.sorted) or self.sorted[i] != s0:
            raise ConstructionError("moved point is not current")
        gaps = []
        if i > 0:
            gaps.append(s0 - self.sorted[i - 1])
        if i + 1 < len(self.sorted):
            gaps.append(self.sorted[i + 1] - s0)
        return min(gaps) if gaps else ONE

    def move(self, s0, s1):
        self.count[s0] -= 1
        if not self.count[s0]:
            del self.count[s0]
            self.sorted.pop(bisect_left(self.sorted, s0))
        if s1 not in self.count:
            insort(self.sorted, s1)
            self.count[s1] = 0
        self.count[s1] += 1


def hat_block(phase, v, s0, eps, p, y, shift=None):
    """A block whose FF is a hat move (plus optional shift) and whose SA is identity."""
    ff = hat_ff(v, s0, eps, p, y if shift is None else tuple(a - c for a, c in zip(y, shift)),
                shift)
    return Block(ff, identity_sa(), phase, [hat_claim(v, s0, eps, p, y)])


# ------------------------------------------------------------------ the result of a construction
@dataclass
class Construction:
    model: Transformer
    phase_blocks: dict
    states: dict = field(default_factory=dict)   # phase -> sequences after it
    max_width: int = 4                            # the widest FF layer allowed
    unpacked_blocks: int = None                   # the same moves at one per block
    saved_by_sharing: int = None                  # blocks saved by shared leaders (classification)

    @property
    def blocks(self):
        return self.model.blocks


def block_bound(ds):
    return 2 * ds.sum_m + 2 * ds.N + 1


WIDTH_BOUND = 4


__all__ = ["Construction", "block_bound", "WIDTH_BOUND", "ConstructionError", "TUBE_HARDMAX", "TUBE_SOFTMAX", "moment", "injective_direction", "tube_eps", "hat_ff",
           "shift_ff", "hat_claim", "Projections", "hat_block", "ONE", "FF", "SA",
           "Block", "Mat", "ZERO"]
