"""Phase 1: make the input sequences pairwise disjoint (Lemma 5.1).

A separation block is [FF: optional hat move of one token to a fresh extreme
point, plus a shift c*a making <a, x> > 0 for every token] then
[SA: A = a a^T, V = lambda I, rho = 1], which translates each sequence j by
lambda * L_j, L_j the unique maximiser of <a, .> in sequence j (its leader).

For all but finitely many lambda, two sequences with different leaders are
disjoint afterwards, and two with the same leader keep their relation; we try
simple lambdas until that holds exactly.  The induction over sequences
k = 2..N (MATH.md section 4, step 2) spends at most two blocks per sequence.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from types import SimpleNamespace

from ..numbers import (Point, dot, translate, floor_of, intform, lower_bound, sign, simplest_in, translate_key,
                       upper_bound)
from . import vector
from .common import (ONE, SA, TUBE_HARDMAX, Block, ConstructionError, Mat, hat_ff, hat_claim,
                     injective_direction, moment, shift_ff, tube_eps)
from ..model import identity_ff

PHASE = "separation"


def overlapping_pairs(seqs):
    owners = {}
    for j, X in enumerate(seqs):
        for p in X:
            owners.setdefault(p, set()).add(j)
    pairs = set()
    for js in owners.values():
        if len(js) > 1:
            pairs.update(combinations(sorted(js), 2))
    return pairs


def separate(seqs, d, tube=TUBE_HARDMAX, choices=None):
    """Return (blocks, new sequences) with the new sequences pairwise disjoint.

    ``choices`` replaces the free choices (directions, shift, lambda) of every
    block; default ``DEFAULT_CHOICES`` (robust.py has the float-robust ones)."""
    seqs = [list(X) for X in seqs]
    blocks = []
    if not overlapping_pairs(seqs):
        return blocks, seqs
    earlier = set(seqs[0])             # the tokens of seqs[:k], kept up to date
    for k in range(1, len(seqs)):
        if k > 1:
            earlier |= set(seqs[k - 1])
        Xk = set(seqs[k])
        if not Xk & earlier:
            continue
        private = [p for p in seqs[k] if p not in earlier]
        if not private:
            cand = [l for l in range(k) if Xk & set(seqs[l]) and not set(seqs[l]) <= Xk]
            if cand:
                l = cand[0]
                q = _pick([p for p in seqs[l] if p not in Xk], seqs[l], d, choices)
                blk, seqs = _block(seqs, d, l, q, tube, choices)
            else:
                blk, seqs = _block(seqs, d, None, None, tube, choices)
            blocks.append(blk)
            earlier = set().union(*map(set, seqs[:k]))
            private = [p for p in seqs[k] if p not in earlier]
            if not private:
                raise ConstructionError(f"sequence {k} has no private token after a block")
        blk, seqs = _block(seqs, d, k, _pick(private, seqs[k], d, choices), tube, choices)
        blocks.append(blk)
        earlier = set().union(*map(set, seqs[:k]))
        if set(seqs[k]) & earlier:
            raise ConstructionError(f"sequence {k} still overlaps an earlier one")
    if overlapping_pairs(seqs):
        raise ConstructionError("sequences still overlap after separation")
    blocks[-1].claims.append({"kind": "disjoint"})
    return blocks, seqs


def _pick(cands, X, d, choices):
    """The token of ``cands`` (tokens of X) to make the leader of X: the first, unless
    the choices say otherwise (robust.py prefers one exposed without a hat move)."""
    pick = getattr(choices, "pick", None)
    return pick(cands, X, d) if pick is not None else cands[0]


def _unique_max(a, X):
    """The unique maximiser of <a, .> over X, or None when the maximum is taken twice."""
    return vector.unique_max(a, X)


def _exposing(p, X, d):
    """A simple rational direction with p the unique maximiser over X, or None."""
    cands = []
    if type(p[0]) is Fraction:
        n = Fraction(len(X))
        cen = tuple(sum(x[i] for x in X) / n for i in range(d))
        a = tuple(pi - ci for pi, ci in zip(p, cen))
        if any(a):
            cands.append(_integral(a))
    for i in range(d):
        for s in (1, -1):
            cands.append(tuple(Fraction(s if j == i else 0) for j in range(d)))
    for a in cands:
        if _unique_max(a, X) == p:
            return a
    return None


def _integral(a):
    from math import gcd, lcm
    den = lcm(*(x.denominator for x in a))
    nums = [int(x * den) for x in a]
    g = gcd(*nums)
    return tuple(Fraction(n // g) for n in nums)


def _block(seqs, d, target, p, tube, choices=None):
    """One separation block; the leader of sequence ``target`` will be p (or where p goes)."""
    ch = choices or DEFAULT_CHOICES
    allpts = set().union(*map(set, seqs))
    ff_hat = None
    cur = seqs
    if target is not None:
        a = ch.exposing(p, seqs[target], d)
        if a is None:  # hat-move p to a fresh point beyond the rest of its sequence
            a = tuple(Fraction(1 if i == 0 else 0) for i in range(d))
            top = max((x[0] for x in seqs[target] if x != p), key=lambda s: s)
            f = (p[0] * 0 + (floor_of(top) + 1),) + tuple(p[1:])   # same scalar kind as p
            while f in allpts:
                f = (f[0] + 1,) + f[1:]
            v = ch.hat_direction(allpts | {f}, d, p)[0]
            s0, gap = vector.value_unique_gap(v, [q for q in allpts if q != p], p)
            if gap is None:
                raise ConstructionError("the hat direction does not single out the moved token")
            eps = tube_eps(gap, tube)
            ff_hat = (v, s0, eps, p, f)
            cur = [[f if x == p else x for x in X] for X in seqs]
            p = f
    else:
        a = ch.direction(d)
    leaders = ch.perturb(a, cur, target, p, d)
    a, leaders = leaders
    low = vector.extreme(a, [x for X in cur for x in X], largest=False)
    shift = None
    c = ch.shift(a, cur, low)
    if c is not None:
        shift = tuple(c * ai for ai in a)
        shift = Point(shift)
        cur = [[translate(x, shift) for x in X] for X in cur]
        leaders = [tuple(li + si for li, si in zip(L, shift)) for L in leaders]
    lam, new = _choose_lambda(seqs, cur, leaders, ch.lambdas)
    if ff_hat is not None:
        v, s0, eps, p0, f = ff_hat
        ff = hat_ff(v, s0, eps, p0, f, shift)
        target_pos = f if shift is None else tuple(x + s for x, s in zip(f, shift))
        claims = [hat_claim(v, s0, eps, p0, target_pos)]
    else:
        ff = shift_ff(shift) if shift is not None else identity_ff(d)
        claims = []
    claims.append({"kind": "leaders", "a": a, "leaders": leaders})
    sa = SA(ONE, Mat("rank1", ONE, a), Mat("scalar", lam))
    return Block(ff, sa, PHASE, claims), new


def abs_(x):
    return x if sign(x) >= 0 else -x


def _perturb(a, seqs, target, p, d):
    """Perturb a until every sequence has a unique maximiser, keeping p for target.

    With b injective on all tokens and 0 < delta < gap_j / spread_j for every
    sequence j (gap_j: top value of <a, .> minus the next lower one; spread_j:
    an upper bound of |<b, x - y>| on the sequence), a + delta b keeps every
    strict order of <a, .> and breaks each tie of the top by <b, .>.
    """
    tokens = vector.Tokens(seqs, d)

    def ok(a2):
        leaders = vector.unique_maxima(a2, tokens)
        if any(L is None for L in leaders) or (target is not None and leaders[target] != p):
            return None
        return leaders

    res = ok(a)
    if res is not None:
        return a, res
    allpts = list({x for X in seqs for x in X})
    Fall = vector.float_rows(allpts, d)
    tops = [(lower_bound(vals[-1] - vals[-2]) if len(vals) > 1 else None)
            for vals in (vector.sort_exact(list({dot(a, x) for x in X})) for X in seqs)]
    for t in range(2, 200):
        b = moment(t, d)
        if not vector.injective(b, allpts, Fall):
            continue
        bound = None
        for gap, big in zip(tops, vector.max_abs(b, tokens)):
            if gap is None:
                continue
            spread = 2 * upper_bound(big) + 1
            bound = gap / spread if bound is None else min(bound, gap / spread)
        delta = simplest_in(bound / 2, bound) if bound is not None else ONE
        a2 = Point(x + delta * y for x, y in zip(a, b))
        res = ok(a2)
        if res is not None:
            return a2, res
    raise ConstructionError("no direction with unique leaders found")


def _lambdas():
    yield Fraction(1)
    n = 2
    while True:
        yield Fraction(n)
        yield Fraction(1, n)
        n += 1


def _translated(cur, leaders, lam):
    return [[Point(xi + lam * li for xi, li in zip(x, leaders[j])) for x in X]
            for j, X in enumerate(cur)]


def _translated_keys(keys, shifts, leaders, before_pairs):
    """The translated integer keys of every sequence, or None as soon as two sequences
    that may not meet (different leaders, or disjoint before) share a token."""
    owners = {}
    new = []
    for j, (X, sh) in enumerate(zip(keys, shifts)):
        out = []
        for k in X:
            t = translate_key(k, sh)
            out.append(t)
            js = owners.get(t)
            if js is None:
                owners[t] = j
                continue
            for i in (js if type(js) is list else (js,)):
                if i != j and not (leaders[i] == leaders[j] and (i, j) in before_pairs):
                    return None
            owners[t] = (js if type(js) is list else [js]) + [j]
        new.append(out)
    return new


def _choose_lambda(before, cur, leaders, lambdas=None):
    """lambda such that pairs with distinct leaders end disjoint, the rest keep status.

    Rational points are tried on integer keys (intform), which hash fast; the
    translated Fractions are built once, for the lambda chosen."""
    before_pairs = overlapping_pairs(before)
    N = len(cur)
    rational = all(type(c) is Fraction for X in cur for x in X for c in x)
    keys = [[intform(x) for x in X] for X in cur] if rational else None
    for lam, _ in zip((lambdas or _lambdas)(), range(1000)):
        # equal leaders translate both sequences alike, so their relation is kept;
        # otherwise lambda must avoid the finitely many values that make them meet
        if rational:
            shifts = [intform(tuple(lam * li for li in leaders[j])) for j in range(N)]
            new = _translated_keys(keys, shifts, leaders, before_pairs)
            good = new is not None
        else:
            new = _translated(cur, leaders, lam)
            after = overlapping_pairs(new)
            good = all(leaders[i] == leaders[j] and (i, j) in before_pairs for (i, j) in after)
        if good and len({frozenset(X) for X in new}) == N:
            if rational:
                new = [[Point.from_key(k) for k in X] for X in new]
            return lam, new
    raise ConstructionError("no admissible lambda found")


def _default_shift(a, cur, low):
    """The multiple c of a making <a, x> > 0 for every token (None: no shift needed)."""
    return floor_of(-low / dot(a, a)) + 1 if sign(low) <= 0 else None


DEFAULT_CHOICES = SimpleNamespace(
    exposing=_exposing, direction=lambda d: moment(2, d), perturb=_perturb,
    hat_direction=lambda points, d, p: injective_direction(points, d),
    shift=_default_shift, lambdas=_lambdas)
