"""Rigorous enclosures of a softmax transformer's outputs on any rational input.

Softmax weights are transcendental, so the outputs of a softmax transformer
are in general not rational.  Each token is carried as a ball in the max-norm,
a rational centre c and a rational radius r (r = 0: the token is exact), and
every layer maps a ball to a ball that contains the image of every point of
it:

* FF layer: if no ReLU unit changes sign on the ball, the layer is affine there
  (x -> eta x + M_S x + c_S) and the radius is multiplied by the max-norm of
  eta I + M_S (0 for a saturating, non-residual layer: the ball becomes an
  exact point); if a few units may change sign, the hull of the images under
  every possible activation pattern; otherwise interval arithmetic, unit by
  unit.
* Softmax SA with temperature tau (several heads: the heads' terms enclosed
  one by one and added): score intervals <A x_i, x_j> by interval
  arithmetic.  If one key k* scores robustly above every other key j, by a
  scaled gap g_j, the weight of j is at most n_j / (n_k* T(g_j)) with
  T(x) = sum_{i<=n} x^i / i! <= e^x (rounded down), n the multiplicities of
  equal tokens, so the output lies within sum_j w_j |V (x_j - x_k*)| of
  rho x_i + V x_k*.  Otherwise the weights are only known to sum to 1: the
  output lies in rho x_i plus the box hull of the V x_j.

Radii are rounded up to dyadic rationals of about 40 significant bits;
centres are exact.  Standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from proofs_check.numbers import Unknown
from proofs_check.softmax import Ball, Balls, FFLayer, taylor, up

from .model import heads_of

__all__ = ["Enclosure", "run"]

MAX_STRADDLE = 8


@dataclass(frozen=True)
class Enclosure:
    """A max-norm ball: every coordinate of the true token is within ``radius``
    of ``centre``.  ``radius == 0`` means the token is exactly ``centre``."""
    centre: tuple
    radius: Fraction

    @property
    def exact(self):
        return self.radius == 0

    def contains(self, point):
        return max(abs(Fraction(p) - c) for p, c in zip(point, self.centre)) <= self.radius

    def apart(self, point):
        """True when ``point`` is certainly not the token (outside the ball)."""
        return not self.contains(point)


def exp_lower(x):
    """A rational <= e^x for x >= 0: the checker's Taylor lower bound, order 4096."""
    return taylor(x, 4096)


def dense(M, d):
    """The d x d rows of a model.Mat, or None for the zero matrix."""
    if M.kind == "zero":
        return None
    if M.kind == "scalar":
        return tuple(tuple(M.c if i == j else Fraction(0) for j in range(d)) for i in range(d))
    if M.kind == "rank1":
        return tuple(tuple(M.c * ai * aj for aj in M.a) for ai in M.a)
    return tuple(tuple(r) for r in M.rows)


def _dot(u, x):
    return sum((a * b for a, b in zip(u, x)), Fraction(0))


def _l1(u):
    return sum((abs(a) for a in u), Fraction(0))


def _norm(M):
    return max(_l1(r) for r in M)


_LAYERS = {}
# One row table for every layer, so equal rows share the balls' memos.  Never
# replaced: a ball's memo is keyed by the id of a row object this table keeps alive.
_ROWS = Balls()


def _layer(ff):
    """The checker's FF layer on balls for ``ff`` (patterns memoised), one per FF."""
    hit = _LAYERS.get(id(ff))
    if hit is None or hit[0] is not ff:
        if len(_LAYERS) > 4096:
            _LAYERS.clear()
        hit = _LAYERS[id(ff)] = (ff, FFLayer((ff.eta, tuple(map(tuple, ff.U)), tuple(ff.b),
                                              tuple(map(tuple, ff.W))), "ff", _ROWS))
    return hit[1]


def ff_ball(ff, c, r, seen=None):
    """The FF layer on the ball (c, r): the checker's enclosure (proofs_check.softmax.
    FFLayer) where it decides, else :func:`ff_hull`.  ``seen`` (a dict) keeps the
    checker's ball for a centre object, so that projections it computed are reused
    while a ball passes through layers unchanged."""
    if ff.U:
        try:
            bl = seen.get(id(c)) if seen is not None else None
            if bl is None or bl.c is not c or bl.r != r:
                bl = Ball(c, r)
                if seen is not None:
                    seen[id(c)] = bl
            out = _layer(ff)(bl)
            return out.c, out.r
        except Unknown:              # more ReLU kinks straddled than it enumerates
            pass
    return ff_hull(ff, c, r)


def ff_hull(ff, c, r):
    eta, U, b, W = ff.eta, ff.U, ff.b, ff.W
    d = len(c)
    on, straddle = [], []
    ivs = []
    for k, (u, bk) in enumerate(zip(U, b)):
        s, w = _dot(u, c) + bk, r * _l1(u)
        ivs.append((s - w, s + w))
        if s - w > 0:
            on.append(k)
        elif s + w > 0:
            straddle.append(k)
    if not straddle:
        centre = tuple(eta * c[i] + sum((W[i][k] * (_dot(U[k], c) + b[k]) for k in on), Fraction(0))
                       for i in range(d))
        if r == 0:
            return centre, Fraction(0)
        M = [[(eta if i == j else 0) + sum((W[i][k] * U[k][j] for k in on), Fraction(0))
              for j in range(d)] for i in range(d)]
        return centre, up(r * _norm(M))
    if len(straddle) <= MAX_STRADDLE:   # the hull of the affine images, one per pattern
        images = []
        for mask in range(1 << len(straddle)):
            S = on + [k for i, k in enumerate(straddle) if mask >> i & 1]
            centre = tuple(eta * c[i] + sum((W[i][k] * (_dot(U[k], c) + b[k]) for k in S), Fraction(0))
                           for i in range(d))
            M = [[(eta if i == j else 0) + sum((W[i][k] * U[k][j] for k in S), Fraction(0))
                  for j in range(d)] for i in range(d)]
            images.append((centre, r * _norm(M)))
        c0 = images[0][0]
        return c0, up(max(max(abs(a - z) for a, z in zip(cc, c0)) + rr for cc, rr in images))
    lo, hi = [], []
    for i in range(d):
        a, z = sorted((eta * (c[i] - r), eta * (c[i] + r)))
        for k in range(len(U)):
            h0, h1 = max(ivs[k][0], 0), max(ivs[k][1], 0)
            p, q = sorted((W[i][k] * h0, W[i][k] * h1))
            a, z = a + p, z + q
        lo.append(a)
        hi.append(z)
    centre = tuple((a + z) / 2 for a, z in zip(lo, hi))
    return centre, up(max((z - a) / 2 for a, z in zip(lo, hi)))


def sa_balls(sa, balls, tau, d):
    """Softmax SA on one sequence of (centre, radius) balls (equal balls merged).

    With several heads each head's term ``sum_j w^h_ij V_h x_j`` is enclosed on
    its own (:func:`_head_balls`) and the balls add: centres and radii sum (a
    sum of max-norm balls is the ball of the summed centres and radii).  A head
    whose V is exactly zero adds nothing and is skipped."""
    rho = sa.rho
    heads = [(dense(A, d), dense(V, d)) for A, V in heads_of(sa)]
    heads = [(A, V) for A, V in heads if V is not None]
    if not heads:
        if rho == 1:
            return list(balls)
        return [(tuple(rho * x for x in c), up(abs(rho) * r)) for c, r in balls]
    groups = {}
    for c, r in balls:
        groups[(c, r)] = groups.get((c, r), 0) + 1
    keys = list(groups)
    terms = [_head_balls(A, V, keys, groups, tau, d) for A, V in heads]
    out = {}
    for q in keys:
        qc, qr = q
        vc, vr = terms[0][q]
        for t in terms[1:]:
            c, r = t[q]
            vc, vr = tuple(a + b for a, b in zip(vc, c)), vr + r
        out[q] = (tuple(rho * a + b for a, b in zip(qc, vc)), up(abs(rho) * qr + vr))
    return [out[(c, r)] for c, r in balls]


def _head_balls(A, V, keys, groups, tau, d):
    """{query ball: (centre, radius)} enclosing one head's ``sum_j w_ij V x_j`` for
    every distinct ball (A, V dense rows, A None for zero; radii not yet rounded)."""
    nV = _norm(V)
    Vc = {k: tuple(_dot(row, k[0]) for row in V) for k in keys}
    out = {}
    for q in keys:
        qc, qr = q
        if A is None:
            scores = {k: (Fraction(0), Fraction(0)) for k in keys}
        else:
            aq = tuple(_dot(row, qc) for row in A)
            aw = tuple(qr * _l1(row) for row in A)
            scores = {}
            for k in keys:
                kc, kr = k
                s = _dot(aq, kc)
                w = sum((abs(x) * kr + abs(y) * z + z * kr for x, y, z in zip(aq, kc, aw)), Fraction(0))
                scores[k] = (s - w, s + w)
        best = max(keys, key=lambda k: scores[k][0])
        others = [scores[k][1] for k in keys if k != best]
        if not others or scores[best][0] > max(others):
            br = best[1]
            rad = nV * br
            for k in keys:
                if k == best:
                    continue
                g = (scores[best][0] - scores[k][1]) / tau
                wmax = up(Fraction(groups[k], groups[best]) / exp_lower(g))
                diff = tuple(a - b for a, b in zip(Vc[k], Vc[best]))
                rad += wmax * (max(abs(x) for x in diff) + nV * (k[1] + br))
            out[q] = (Vc[best], rad)
        else:   # no robust maximiser: any convex combination of the V x_j
            lo = [min(Vc[k][i] - nV * k[1] for k in keys) for i in range(d)]
            hi = [max(Vc[k][i] + nV * k[1] for k in keys) for i in range(d)]
            out[q] = (tuple((x + y) / 2 for x, y in zip(lo, hi)),
                      max((y - x) / 2 for x, y in zip(lo, hi)))
    return out


def run(blocks, tau, tokens, d):
    """The enclosures after every block: a list of len(blocks) + 1 states, each a
    list of :class:`Enclosure` in token order (state 0 is the input)."""
    balls = [(tuple(Fraction(x) for x in t), Fraction(0)) for t in tokens]
    states = [balls]
    seen = {}
    for blk in blocks:
        balls = [ff_ball(blk.ff, c, r, seen) for c, r in balls]
        balls = sa_balls(blk.sa, balls, tau, d)
        states.append(balls)
    return [[Enclosure(c, r) for c, r in s] for s in states]
