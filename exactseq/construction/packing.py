"""Several hat moves in one FF layer: depth against width.

The paper spends one FF layer (3 units, 4 with a shift unit) on each hat move.
A layer of 3k units (3k + 1 with the shift unit) can hold k hats on one
direction v, all acting at once on the layer's input P:

    FF(x) = x + shift + sum_i c_i h_i(<v, x>),   c_i = (y_i - shift - p_i) / eps_i,

with h_i the hat of tube i, |<v, x> - s_i| < eps_i, which is 0 outside the tube
and eps_i at s_i = <v, p_i>.  If each open tube holds p_i and no other point of
P, then every other hat is 0 at p_i (p_i is a point of P outside its tube), so
FF(p_i) = y_i, and every point of P outside all tubes moves by the shift only.
The layer therefore does the k moves, given that

* every moved point is a point of P, the layer's input, and is moved by one hat;
* no moved point is the target of an earlier move of the same layer: one after
  the other, p -> y = p' and then p' -> y' would move the token arriving at y
  again; in one layer it stays at y.  (Later moves whose targets are earlier
  moved points are fine: those points have left.)
* every eps_i is taken from the gaps of <v, .> over P itself, not over the
  tokens after the earlier moves of the layer: targets arrive only after the
  layer, so where they land (even in another tube of the layer) is irrelevant.

Moves are packed greedily in the phase's order; a layer closes when it is full
or the next move would break a condition.  A layer of several hats takes each
eps_i below half its gap (the tube fraction halved), so its tubes are pairwise
disjoint; the checker does not rely on that (each hat claim is checked on the
tokens entering the block, and the layer's image of p_i on the whole layer).
At width 4 a layer holds one hat (with the shift) and the phases are exactly
those of one move per block.
"""
from __future__ import annotations

from fractions import Fraction

from ..model import FF, Block, identity_sa
from ..numbers import dot
from .common import ONE, hat_claim, tube_eps

DEFAULT_WIDTH = 4


def hats_per_layer(width, shift=False):
    """How many hats a layer of ``width`` units holds (at least one)."""
    return max(1, (width - (1 if shift else 0)) // 3)


def layers(moves, width):
    """Blocks for ``moves`` moves (no shift, no broken layer) at ``width``."""
    return -(-moves // hats_per_layer(width))


def hat_layer(v, hats, shift=None):
    """The FF layer of several hats on direction v: hats = [(s0, eps, p, y)] in the
    layer's input coordinates (y the point p must reach); with ``shift`` a last
    unit adds the constant vector shift to every token."""
    d = len(v)
    U, b, W = (), (), [() for _ in range(d)]
    for s0, eps, p, y in hats:
        col = (tuple((yi - pi) / eps for yi, pi in zip(y, p)) if shift is None else
               tuple((yi - si - pi) / eps for yi, si, pi in zip(y, shift, p)))
        U += (v, v, v)
        b += (eps - s0, -s0, -s0 - eps)
        W = [w + (c, -2 * c, c) for w, c in zip(W, col)]
    if shift is not None:
        U += (tuple(Fraction(0) for _ in range(d)),)
        b += (ONE,)
        W = [w + (s,) for w, s in zip(W, shift)]
    return FF(ONE, U, b, tuple(W))


def pack(phase, v, proj, projs, moves, tube, width=DEFAULT_WIDTH, shift=None):
    """Blocks doing ``moves`` [(p, y)] in order, several per layer as ``width``
    allows.  ``proj`` maps every point concerned to <v, .> (injective on them),
    ``projs`` (common.Projections) holds the current tokens and is updated.
    With ``shift`` the first layer also translates every token by it; the points
    and targets of ``moves`` are then in the translated coordinates."""
    half = (tube[0] / 2, tube[1] / 2)
    blocks, i = [], 0
    while i < len(moves):
        first = shift is not None and not blocks
        cap = hats_per_layer(width, first)
        layer, moved, targets = [], set(), set()
        while i < len(moves) and len(layer) < cap:
            p, y = moves[i]
            s0 = proj[p]
            if s0 in moved or s0 in targets:     # moved twice, or a chain: next layer
                break
            layer.append((p, y))
            moved.add(s0)
            targets.add(proj[y])
            i += 1
        frac = tube if len(layer) == 1 else half
        hats, claims = [], []
        for p, y in layer:                        # every tube from the layer's input
            s0 = proj[p]
            eps = tube_eps(projs.gap(s0), frac)
            if first:                             # the layer's input is untranslated
                s0, p = s0 - dot(v, shift), tuple(a - c for a, c in zip(p, shift))
            hats.append((s0, eps, p, y))
            claims.append(hat_claim(v, s0, eps, p, y))
        for p, y in layer:
            projs.move(proj[p], proj[y])
        blocks.append(Block(hat_layer(v, hats, shift if first else None), identity_sa(), phase,
                            claims))
    return blocks


__all__ = ["DEFAULT_WIDTH", "hats_per_layer", "layers", "hat_layer", "pack"]
