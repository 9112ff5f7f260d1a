"""Free parameters chosen for floating point: ``build(ds, robust="float64")``.

The exact construction is correct for any admissible choice of its free
parameters (directions, tube widths, leader positions, lambda); run in floats
its weights are often useless (README, "Floats: fragility and robust
constructions").  Measured, the float error comes from four places:

1. far-field cancellation: the hat h(s) = relu(s - s0 + eps) - 2 relu(s - s0)
   + relu(s - s0 - eps) is 0 above the tube only because three active units
   cancel, so every token above the tube picks up an error of about
   |c| |s| u (c = (y - p) / eps, u the unit roundoff);
2. amplification at the peak: the hat has slope +-1 beside s0, so the moved
   token leaves with its incoming error multiplied by about |c| |v|_1;
3. huge directions and shifts (separation's exposing direction written with
   integer coefficients of 10 digits; a moment curve (1, t, ..., t^(d-1)) with
   t > 1 would add t^(d-1)), which move the tokens to magnitudes where the
   data's resolution is below u;
4. leader positions of a fixed size (the unit sphere) next to data of another.

The choices here remove 2, 3 and 4 and confine 1 to tokens whose error does
not matter:

* a power-of-two scaling (exact in floats) brings every input coordinate below
  1 in magnitude, and another every target coordinate; the last block scales
  back (eta = 1/s_out, again exact).  Scaling the targets on their own keeps the
  leader positions (fitted to the data and the targets) near the data when the
  targets are of another size: a move's slope (y - p) / eps, which multiplies
  every rounding error above its tube, then stays small;
* separation (separation.py, through ``SeparationChoices``): each sequence is
  led by a token some direction exposes whenever one exists (no hat move, so no
  tube as narrow as the data's nearest twins and no far-field error on every
  token above it), small-integer
  directions chosen for the largest relative gap, a shift putting <a, x> at
  least a quarter of its spread above 0, lambda a power of two (small first),
  hat tubes of at most half the gap (every other token at least a tube width
  from every kink, so tokens 1e-9 apart still get provable decisions);
* the leaders phase starts with its own shift block into a cube with margins
  (x -> s x + c), then moves each leader with a *trapezoid*
  relu(z + 2e) - relu(z + e) - relu(z - e) + relu(z - 2e): constant e on
  [-e, e] (no amplification), every unit at distance >= e from its kink at
  every token; leaders are the tokens with the widest gaps along a
  small-integer direction v_L with mixed signs (ranked in floats, or exactly
  when values are equal in floats; of two near twins the upper one, since a
  trapezoid's errors land on the tokens above it), moved from the top down, and
  every leader position (t_j (1, ..., 1) with t_j >= 2q, sphere points of a
  radius fitted to the data and the targets) lies below all data along v_L,
  so a position, once
  reached, and a leader not yet moved are always on the side where every unit
  is off (exactly 0 in floats); only non-leaders see cancellation, and the
  collapse maps them onto exact copies of their leader;
* interpolation moves each point while it is the topmost token along its
  direction, with two units relu(<v,x> - b1) - relu(<v,x> - b2), both off at
  every other token (so nothing else changes in floats) and both on at the
  point (a constant move: no amplification).

All weights the construction is free to choose are dyadic rationals with few
bits (exact in binary32 when they fit), and the checker proves the same
claims as for the plain construction (hat, leaders, disjoint, collapse,
counts).  Cost: one block for the shift into the cube (two when the data
needs a scaling before separation), within 2 sum m + 2N + 1.
"""
from __future__ import annotations

import math
from operator import mul
import random

import numpy as np
from fractions import Fraction

from ..model import FF, Block, identity_sa
from ..numbers import Point, dot, intform, lower_bound, sign, translate_key, upper_bound
from . import vector
from .common import ONE, ConstructionError, Projections, hat_claim

FORMATS = ("float64", "float32")
EARLY_SCALE = 16          # scale before separation when max |coordinate| is beyond 2^+-16
LEADER_CANDIDATES = 6     # directions tried for the leaders phase
SEP_CANDIDATES = 12       # perturbations tried for a separation direction
PICK_TRIES = 24           # tokens tried for one exposed without a hat move


# ------------------------------------------------------------------ numbers
def dyadic_in(a, b):
    """A dyadic rational m / 2^k in the open interval (a, b) with the fewest bits."""
    a, b = Fraction(a), Fraction(b)
    if not a < b:
        raise ConstructionError("empty interval for a dyadic choice")
    if a < 0 < b:
        return Fraction(0)
    if b <= 0:
        return -dyadic_in(-b, -a)
    k = -(b - a).numerator.bit_length() + (b - a).denominator.bit_length() - 1
    while True:        # the coarsest grid 2^-k with a point strictly inside
        step = Fraction(2) ** -k
        m = math.floor(a / step) + 1
        if m * step < b:
            return m * step
        k += 1


def _flt(x):
    """A float reading of an exact scalar, for ranking candidates only."""
    return float(x) if type(x) is Fraction else float(lower_bound(x))


def _rat_bounds(x, width):
    """Rational (lo, hi) around an exact scalar with hi - lo <= width."""
    if type(x) is Fraction:
        return x, x
    while True:
        lo, hi = x.bounds()
        if hi - lo <= width:
            return lo, hi
        x.f.bisect()


def _between(lo, hi, frac_lo, frac_hi):
    """A dyadic strictly between lo + frac_lo (hi - lo) and lo + frac_hi (hi - lo),
    lo < hi exact scalars (rational or algebraic)."""
    gap = hi - lo
    a, b = lo + gap * frac_lo, lo + gap * frac_hi
    w = (lower_bound(gap) if sign(gap) > 0 else Fraction(0)) * (frac_hi - frac_lo) / 8
    a_lo, a_hi = _rat_bounds(a, w)
    b_lo, b_hi = _rat_bounds(b, w)
    return dyadic_in(a_hi, b_lo)


def _abs(x):
    return x if sign(x) >= 0 else -x


def _max_abs(points):
    """max |coordinate| over the points (a rational upper bound for algebraic ones)."""
    best_n, best_d = 0, 1
    for x in points:
        if not all(type(c) is Fraction for c in x):
            return max((upper_bound(_abs(c)) for x in points for c in x), default=Fraction(0))
        den, nums = intform(x)
        big = max(map(abs, nums))
        if big * best_d > best_n * den:      # big / den > best_n / best_d
            best_n, best_d = big, den
    return Fraction(best_n, best_d)


def _small_int(rng, d, lo, hi):
    while True:
        v = tuple(Fraction(rng.randint(lo, hi)) for _ in range(d))
        if any(v):
            return Point(v)


def _l1(v):
    return sum(abs(c) for c in v)


# ------------------------------------------------------------------ scaling
def scale_exponent(ds, which="both"):
    """e with 2^(e-1) < max |coordinate| <= 2^e over the inputs and outputs (``which``
    "inputs" or "outputs": over those only; 0 if all 0)."""
    pts = [x for p in ds.pairs for x in (list(p.input) if which != "outputs" else [])
           + (list(p.output) if which != "inputs" else [])]
    M = _max_abs(pts)
    if M == 0:
        return 0
    e = M.numerator.bit_length() - M.denominator.bit_length()
    while Fraction(2) ** e < M:
        e += 1
    while Fraction(2) ** (e - 1) >= M:
        e -= 1
    return e


def affine_block(phase, d, eta, shift=None):
    """x -> eta x + shift (one unit U = 0, b = 1 carries the shift; none without)."""
    if shift is None or not any(sign(c) for c in shift):
        return Block(FF(eta, (), (), tuple(() for _ in range(d))), identity_sa(), phase, [])
    zero = tuple(Fraction(0) for _ in range(d))
    return Block(FF(eta, (zero,), (ONE,), tuple((c,) for c in shift)), identity_sa(), phase, [])


def _affine(x, eta, shift):
    """eta x + shift, exactly (rational points through their integer forms)."""
    if type(eta) is Fraction and all(type(c) is Fraction for c in x) and all(type(c) is Fraction for c in shift):
        den, nums = intform(x)
        return Point.from_key(translate_key((den * eta.denominator, tuple(eta.numerator * n for n in nums)),
                                            intform(shift)))
    return Point(eta * xi + si for xi, si in zip(x, shift))


# ------------------------------------------------------------------ separation
class SeparationChoices:
    """Robust replacements for separation.py's free choices (see that module)."""

    def __init__(self, rng):
        self.rng = rng
        from . import separation as sep
        self.sep = sep

    # relative gap of the top of <a, .> in every sequence, in floats (ranking only)
    def _quality(self, a, seqs, target, p):
        """min over sequences of (top - second) / (|a|_1 M) of the float values
        sum_i a_i x_i (summed in coordinate order), the top being the last of the
        values sorted with ties by position; -1 when the top of sequence target is not p."""
        fa = [float(c) for c in a]
        scale = _l1(fa) or 1.0
        if self.F is None:
            return self._quality_loop(fa, scale, seqs, target, p)
        tok = self.tokens
        fv = vector.sequential(self.F, fa)
        order = np.lexsort((fv, tok.group))           # by sequence, then value, then position
        ends = tok.starts + self.lengths - 1
        top = order[ends]
        if target is not None and tok.points[top[target]] != p:
            return -1.0
        many = self.lengths > 1
        if not many.any():
            return math.inf
        gaps = fv[top[many]] - fv[order[ends[many] - 1]]
        return float(np.min(gaps / (scale * self.M)))

    def _quality_loop(self, fa, scale, seqs, target, p):
        worst = math.inf
        for j, X in enumerate(seqs):
            vals = sorted((sum(x * y for x, y in zip(fa, self._fl(pt))), k) for k, pt in enumerate(X))
            if j == target and X[vals[-1][1]] != p:
                return -1.0
            if len(vals) > 1:
                worst = min(worst, (vals[-1][0] - vals[-2][0]) / (scale * self.M))
        return worst

    def _fl(self, pt):
        f = self.cache.get(pt)
        if f is None:
            f = self.cache[pt] = [_flt(c) for c in pt]
        return f

    def _start(self, seqs):
        self.cache = {}
        d = len(seqs[0][0])
        self.tokens = vector.Tokens(seqs, d)
        self.F = self.tokens.F
        self.lengths = np.array([len(X) for X in seqs], dtype=np.intp)
        if self.F is not None:     # the float of the exact max |coordinate| (rounding is monotone)
            self.M = max(1e-300, float(np.abs(self.F).max()) if self.F.size else 0.0)
        else:
            self.M = max(1e-300, float(_max_abs([x for X in seqs for x in X])))

    def exposing(self, p, X, d):
        """A small-integer direction with p the unique maximiser over X, or None."""
        a = self.sep._exposing(p, X, d)
        if a is None:
            return None
        big = max(abs(c) for c in a)
        for k in (4, 16, 64, 256):
            if big <= k:
                break
            b = Point(Fraction(round(c * k / big)) for c in a)
            if any(b) and self.sep._unique_max(b, X) == p:
                return b
        return a

    def direction(self, d):
        return _small_int(self.rng, d, -4, 4)

    def pick(self, cands, X, d):
        """The token of cands to lead X: one that some direction exposes in X (no hat move,
        so no tube and no far-field error), the farthest from the centroid first; else
        the one whose hat move has the widest tube (relative to |v|_1)."""
        if len(cands) == 1:
            return cands[0]
        if all(type(c) is Fraction for x in X for c in x):
            n = len(X)
            cen = [sum(float(x[i]) for x in X) / n for i in range(d)]
            order = sorted(range(len(cands)), key=lambda i: -sum((float(c) - m) ** 2
                                                                 for c, m in zip(cands[i], cen)))
        else:
            order = range(len(cands))
        for i in list(order)[:PICK_TRIES]:
            if self.exposing(cands[i], X, d) is not None:
                return cands[i]
        return cands[0]

    def perturb(self, a, seqs, target, p, d):
        """A direction near a with a unique maximiser of <a, .> in every sequence (p in
        sequence target), the best of several by the smallest relative gap."""
        self._start(seqs)
        cands = [Point(a)]
        for k in (4, 16):
            for _ in range(SEP_CANDIDATES // 2):
                cands.append(Point(k * c + Fraction(self.rng.randint(-2, 2)) for c in a))
        ranked = sorted(cands, key=lambda c: -self._quality(c, seqs, target, p))
        for c in ranked[:4]:
            res = self._check(c, seqs, target, p)
            if res is not None:
                return c, res
        return self.sep._perturb(a, seqs, target, p, d)

    def _check(self, a, seqs, target, p):
        leaders = vector.unique_maxima(a, self.tokens)
        if any(L is None for L in leaders) or (target is not None and leaders[target] != p):
            return None
        return leaders

    def hat_direction(self, points, d, p):
        """(v, projections) with <v, .> taking at p a value no other point takes, the
        largest gap at p relative to |v|_1 among small-integer candidates."""
        others = [q for q in points if q != p]
        self.cache = {}
        fp = self._fl(p)
        F = vector.float_rows(others, d) if others else None
        best, best_q = None, -1.0
        cands = [tuple(Fraction(1 if i == j else 0) for i in range(d)) for j in range(d)]
        cands += [_small_int(self.rng, d, -8, 8) for _ in range(SEP_CANDIDATES)]
        for v in cands:
            fv = [float(c) for c in v]
            s0 = sum(x * y for x, y in zip(fv, fp))
            if not others:
                gap = 1.0
            elif F is not None:       # the same sums, in the same order, over every other point
                gap = float(np.min(np.abs(vector.sequential(F, fv) - s0)))
            else:
                gap = min(abs(sum(x * y for x, y in zip(fv, self._fl(q))) - s0) for q in others)
            if gap / _l1(fv) > best_q:
                best, best_q = v, gap / _l1(fv)
        for v in [best] + cands:
            if vector.value_unique_gap(v, others, p, F)[1] is not None:
                return Point(v), None
        from .common import injective_direction
        return injective_direction(points, d)

    def shift(self, a, cur, low):
        """c with min <a, x + c a> at least a quarter of the spread of <a, .> (a dyadic)."""
        high = vector.extreme(a, [x for X in cur for x in X])
        spread = high - low
        aa = dot(a, a)
        if sign(spread) <= 0:
            spread = _abs(low) + ONE
        need = spread / 4 - low            # c <a, a> >= need
        if sign(need) <= 0:
            return None
        lo = upper_bound(need) / aa
        return dyadic_in(lo, lo * Fraction(9, 8))

    @staticmethod
    def lambdas():
        """Powers of two, small ones first (the translation grows the tokens least)."""
        for k in (1, 2, 3, 0, 4, 5, 6):
            yield Fraction(1, 2 ** k)
        for k in range(1, 40):
            yield Fraction(2) ** k
            yield Fraction(1, 2 ** (k + 6))
        yield from SeparationChoices._others()

    @staticmethod
    def _others():
        n = 3
        while True:
            yield Fraction(n)
            yield Fraction(1, n)
            n += 1


# ------------------------------------------------------------------ leaders
def _sphere_near(k, i, w=Fraction(1, 16)):
    """A rational point of the unit sphere S^(k-1) in R^k, every coordinate > 0, near the
    i-th unit vector (inverse stereographic projection from minus that vector)."""
    if k == 1:
        return (ONE,)
    n2 = (k - 1) * w * w
    rest = [2 * w / (1 + n2)] * (k - 1)
    return tuple(rest[:i]) + ((1 - n2) / (1 + n2),) + tuple(rest[i:])


def _cos_sin(tau):
    """(cos phi, sin phi) for tan(phi / 2) = tau: rational."""
    return (1 - tau * tau) / (1 + tau * tau), 2 * tau / (1 + tau * tau)


def _arc_frame(d, big):
    """(shat, j): shat a rational unit vector, 0 at coordinate j and > 0 elsewhere, near
    the unit vector e_big; the sphere points are -r (cos phi shat + sin phi e_j), every
    coordinate < 0 for 0 < phi < pi/2.  For d > 2, j is a coordinate where the leader
    direction is small (neither big nor the last), so phi may range widely."""
    if d == 2:
        return Point([ONE, Fraction(0)]), 1
    j = next(i for i in range(d - 1) if i != big)
    near = list(_sphere_near(d - 1, big if big < j else big - 1, Fraction(1, 64)))
    return Point(near[:j] + [Fraction(0)] + near[j:]), j


def _arc_point(r, shat, j, tau):
    c, s = _cos_sin(tau)
    return Point(-r * (c * x + (s if i == j else 0)) for i, x in enumerate(shat))


def _gaps(proj_sorted):
    """For each value of a sorted list of distinct values, its leader score (_score)."""
    vals = np.array([_flt(x) for x in proj_sorted], dtype=float)
    if len(proj_sorted) > 1:    # exact differences, read in floats (values may be equal in floats)
        diff = np.array([_flt(b - a) for a, b in zip(proj_sorted, proj_sorted[1:])], dtype=float)
    else:
        diff = np.zeros(0)
    return _score(vals, diff).tolist()


def _score(vals, diff):
    """Leader scores of sorted distinct values (diff their successive differences): the
    gap g to the nearest value (the trapezoid's tube, whose slope multiplies every
    rounding error above it), lowered by sqrt(g_up / 8 g) when the gap g_up to the
    next value above is below 8 g (g_up is the smallest margin a later, lower
    trapezoid leaves to the tokens that picked up those errors): of two near twins,
    the lower one scores about three times lower."""
    if len(vals) < 2:
        return np.full(len(vals), np.inf)
    spread = float(vals[-1] - vals[0]) or 1.0
    up = np.concatenate((diff, [spread]))
    dn = np.concatenate(([spread], diff))
    g = np.minimum(up, dn)
    return g * np.minimum(1.0, np.sqrt(up / (8 * g)))


def _choose_leaders(seqs, m, fv, fl):
    """For a float direction fv: per sequence the m_j tokens with the best leader score
    along <fv, .> (_score; values shared by two tokens are never chosen), and the
    smallest of the chosen scores (ranking only).  With fv None, fl maps each token to
    its exact value."""
    if fv is not None and getattr(fl, "F", None) is not None:
        return _choose_leaders_array(seqs, m, fv, fl)
    vals = {}
    for X in seqs:
        for x in X:
            vals[x] = fl[x] if fv is None else sum(a * b for a, b in zip(fv, fl[x]))
    count = {}
    for s in vals.values():
        count[s] = count.get(s, 0) + 1
    uniq = vector.sort_exact(list(count)) if fv is None else sorted(count)
    gap = dict(zip(uniq, _gaps(uniq)))
    chosen, worst = [], math.inf
    for j, X in enumerate(seqs):
        ok = sorted((x for x in X if count[vals[x]] == 1), key=lambda x: -gap[vals[x]])
        if len(ok) < m[j]:
            return None, -1.0
        chosen.append(ok[:m[j]])
        worst = min(worst, gap[vals[ok[m[j] - 1]]])
    return chosen, worst


class _Value(Fraction):
    """An exact value hashed by its reduced numerator and denominator (Fraction's own
    hash computes a modular inverse: the leaders' exact ranking hashes each value
    several times).  Equal values have equal (numerator, denominator), so equality
    and this hash agree among _Values."""
    __slots__ = ()

    def __hash__(self):
        return hash((self._numerator, self._denominator))


def _exact_values(v, points):
    """{x: <v, x>} as _Values (rational points through their integer forms)."""
    out = {}
    vd = math.lcm(*(c.denominator for c in v))
    vi = [c.numerator * (vd // c.denominator) for c in v]
    for x in points:
        if x in out:
            continue
        if all(type(c) is Fraction for c in x):
            den, nums = intform(x)
            out[x] = _Value(sum(map(mul, vi, nums)), den * vd)
        else:
            q = dot(v, x)
            out[x] = _Value(q.numerator, q.denominator) if isinstance(q, Fraction) else q
    return out


class _FloatTokens(dict):
    """token -> its float coordinates (a list), and the same as rows of F (flat order)."""


def _choose_leaders_array(seqs, m, fv, fl):
    """_choose_leaders on the float rows fl.F (every token of every sequence, flat
    order; fl.tid the distinct token of each row, fl.first a row of each distinct
    token), vectorised: the same float values (summed in coordinate order), counts
    over distinct tokens, scores and ranking (ties in the score by position in the
    sequence)."""
    vals = vector.sequential(fl.F, fv)
    uniq, inv, cnt = np.unique(vals[fl.first], return_inverse=True, return_counts=True)
    gaps = _score(uniq, np.diff(uniq))
    row = inv[fl.tid]                  # each row's value among the distinct tokens' values
    g, c = gaps[row], cnt[row]
    keep = np.flatnonzero(c == 1)
    grp = fl.group[keep]
    order = keep[np.lexsort((keep, -g[keep], grp))]   # by sequence, best score first, then position
    have = np.bincount(grp, minlength=len(seqs))
    if (have < np.asarray(m)).any():
        return None, -1.0
    starts = np.concatenate(([0], np.cumsum(have)[:-1]))
    pts = fl.points
    chosen, worst = [], math.inf
    order = order.tolist()
    for j, (st, mj) in enumerate(zip(starts.tolist(), m)):
        pick = order[st:st + mj]
        chosen.append([pts[i] for i in pick])
        worst = min(worst, float(g[pick[-1]]))
    return chosen, worst


def select_leaders(seqs, outputs, d, share, rng, q):
    """The robust leaders phase on tokens already in the open cube (0, q)^d.

    Returns (blocks, new sequences with leaders first, collapse data, direction)."""
    allpts = [x for X in seqs for x in X]
    fl = _FloatTokens()
    fl.F = vector.float_rows(allpts, d)
    if fl.F is not None:
        ids = {}
        fl.tid = np.array([ids.setdefault(x, len(ids)) for x in allpts], dtype=np.int64)
        fl.first = np.unique(fl.tid, return_index=True)[1]
        fl.points = allpts
        fl.group = np.repeat(np.arange(len(seqs)), [len(X) for X in seqs])
    else:
        fl.update((x, [_flt(c) for c in x]) for x in allpts)
    m = [len(Y) for Y in outputs]
    best = None
    for trial in range(LEADER_CANDIDATES):
        big = rng.randrange(d - 1)           # sparse candidates first: fewer rounding terms
        a = [Fraction(rng.randint(48, 64)) if i == big else
             Fraction(0 if trial < LEADER_CANDIDATES // 2 else rng.randint(1, 4)) for i in range(d - 1)]
        b = 2 * sum(a) + rng.randint(0, 3)
        v = Point(a + [-Fraction(b)])
        fv = [float(c) for c in v]
        chosen, worst = _choose_leaders(seqs, m, fv, fl)
        quality = worst / (_l1(fv) * (1 + sum(1 for c in fv if c)))
        if chosen is not None and (best is None or quality > best[0]):
            best = (quality, v, chosen)
    for trial in range(64 if best is None else 0):
        # the float ranking found no direction (values equal in floats): rank exactly;
        # data of few distinct levels (pixels, counts) need wider coefficients
        a = [Fraction(rng.randint(1, 64 << trial // 4)) for _ in range(d - 1)]
        v = Point(a + [-Fraction(2 * sum(a) + rng.randint(0, 3))])
        exact = _exact_values(v, allpts)
        chosen, worst = _choose_leaders(seqs, m, None, exact)
        if chosen is not None:
            best = (0.0, v, chosen)
            break
    if best is None:
        raise ConstructionError("no direction separates enough leaders")
    _, v, chosen = best
    proj = {x: dot(v, x) for x in allpts}
    # exact re-check of the float ranking: a chosen leader's value is taken by no other token
    count = {}
    for s in proj.values():
        count[s] = count.get(s, 0) + 1
    for j, L in enumerate(chosen):
        if any(count[proj[x]] != 1 for x in L):
            X = sorted((x for x in seqs[j] if count[proj[x]] == 1), key=lambda x: -_flt(proj[x]))
            if len(X) < m[j]:
                raise ConstructionError(f"sequence {j}: too few tokens with a unique value along v")
            chosen[j] = X[:m[j]]
    projs = Projections(proj[x] for x in allpts)
    low, high = projs.sorted[0], projs.sorted[-1]
    spread = high - low if sign(high - low) > 0 else q * _l1(v)
    margin = spread / 4
    sv = sum(v)                         # < 0: the diagonal goes down along v
    shat, arc = _arc_frame(d, max(range(d - 1), key=lambda i: v[i]))
    Av, vj, ssum = dot(v, shat), v[arc], sum(shat)
    vS = _sphere_direction(d, arc)
    # interpolation: the diagonal above every target along (1, ..., 1), the sphere points
    # above every target along vS; leaders: every position below the data along v
    targets = [y for Y in outputs for y in Y]
    maxD = max(upper_bound(sum(y)) for y in targets)
    maxS = max(upper_bound(dot(vS, y)) for y in targets)
    need_t = max(2 * q, (upper_bound(margin - low)) / (-sv), (maxD + q) / d)
    t0 = dyadic_in(need_t, need_t * Fraction(9, 8))
    tau_max = Fraction(1, 4)      # lower bound of cos(phi) <v, shat> + sin(phi) v_j on the arc >= Av / 4
    while (_cos_sin(tau_max)[0] * Av + min(vj, 0) * _cos_sin(tau_max)[1]) * 4 < Av:
        tau_max /= 2
    lowest = _cos_sin(tau_max)[0] * Av + min(vj, 0) * _cos_sin(tau_max)[1]
    need_r = max(q, upper_bound(margin - low) / lowest if sign(margin - low) > 0 else q,
                 (max(maxS, Fraction(0)) + q) / (_cos_sin(tau_max)[0] * ssum))
    r = dyadic_in(need_r, need_r * Fraction(9, 8))
    # positions: one diagonal point per group of sequences sharing them, sphere points
    # spread along the arc (a group's own points about the number of groups apart)
    groups, group_of = [], []
    for j in range(len(seqs)):
        key = tuple(outputs[j]) if share else j
        for g, (k, _) in enumerate(groups):
            if k == key:
                group_of.append(g)
                break
        else:
            group_of.append(len(groups))
            groups.append((key, j))
    slots = sorted((i, g) for g, (_, j) in enumerate(groups) for i in range(1, m[j]))
    n_sph = len(slots)
    dtau = dyadic_in(tau_max / (n_sph + 2), tau_max / (n_sph + 1)) if n_sph else None
    index = {slot: k for k, slot in enumerate(slots)}
    spacing = max(4, len(groups))          # the diagonal points span about [t0, 2 t0]
    dt = dyadic_in(t0 / (2 * spacing), t0 / spacing)
    t_of = [t0 + g * dt for g in range(len(groups))]
    sph_of = [[_arc_point(r, shat, arc, (index[(i, g)] + 1) * dtau) for i in range(1, m[j])]
              for g, (_, j) in enumerate(groups)]
    moves = []                        # (projection, p, destination)
    t_vals, sphere, new = [], [], []
    for j, X in enumerate(seqs):
        g = group_of[j]
        dests = [Point((t_of[g],) * d)] + sph_of[g]
        lead = chosen[j]
        for p, y in zip(lead, dests):
            moves.append((proj[p], p, y))
        t_vals.append(t_of[g])
        sphere.append(list(sph_of[g]))
        rest = [x for x in X if x not in set(lead)]
        new.append(dests + rest)
    # every destination strictly below every data token along v (by margin)
    for _, _, y in moves:
        if not sign(dot(v, y) - (low - margin)) <= 0:
            raise ConstructionError("a leader position is not below the data along v")
    moves.sort(key=lambda mv: mv[0], reverse=True)
    blocks = []
    for s0, p, y in moves:
        gap = projs.gap(s0)
        e = _tube(gap)
        blocks.append(trapezoid_block("leaders", v, s0, e, p, y))
        projs.move(s0, dot(v, y))
    data = {"q": q, "r": r, "t": t_vals, "sphere": sphere}
    return blocks, new, data, v, arc


def _sphere_direction(d, arc):
    """-(1, ..., 1) with -d at coordinate arc: <., l(phi)> = r (cos phi sum(shat) + d sin phi)
    grows with phi on the arc."""
    return Point(-Fraction(d) if i == arc else -ONE for i in range(d))


def _tube(gap):
    lo = lower_bound(gap)
    return dyadic_in(lo / 4, lo / 3)


def trapezoid_block(phase, v, s0, e, p, y, eta=ONE):
    """x -> eta x + c (relu(z+2e) - relu(z+e) - relu(z-e) + relu(z-2e)), z = <v,x> - s0,
    c = (y - eta p) / e: p goes to y, every point with |z| >= 2e stays (eta = 1)."""
    col = tuple((yi - eta * pi) / e for yi, pi in zip(y, p))
    U = (v, v, v, v)
    b = (2 * e - s0, e - s0, -s0 - e, -s0 - 2 * e)
    W = tuple((c, -c, -c, c) for c in col)
    return Block(FF(eta, U, b, W), identity_sa(), phase, [hat_claim(v, s0, 2 * e, p, y)])


def ramp_block(phase, v, s0, b1, b2, gap, p, y, eta=ONE):
    """x -> eta x + c (relu(<v,x> - b1) - relu(<v,x> - b2)), c = (y - eta p) / (b2 - b1),
    for p the only token with <v, x> > b1."""
    col = tuple((yi - eta * pi) / (b2 - b1) for yi, pi in zip(y, p))
    U = (v, v)
    b = (-b1, -b2)
    W = tuple((c, -c) for c in col)
    return Block(FF(eta, U, b, W), identity_sa(), phase, [hat_claim(v, s0, gap, p, y)])


# ------------------------------------------------------------------ interpolation
def interpolate(seqs, outputs, d, eta_last, arc):
    """Move every leader position onto its target (scaled) while it is the topmost
    token along the move's direction: the diagonal points along (1, ..., 1), then the
    sphere points along -(1, ..., 1, d).  The last block also multiplies by eta_last."""
    moves = list(dict.fromkeys((p, y) for X, Y in zip(seqs, outputs) for p, y in zip(X, Y)))
    diag = [(p, y) for p, y in moves if all(c == p[0] for c in p) and sign(p[0]) > 0]
    sph = [(p, y) for p, y in moves if (p, y) not in set(diag)]
    current = list(dict.fromkeys(x for X in seqs for x in X))
    blocks = []
    runs = [(Point([ONE] * d), diag), (_sphere_direction(d, arc), sph)]
    total = len(moves)
    for v, run in runs:
        proj = {x: dot(v, x) for x in current}
        for y in {y for _, y in moves}:
            proj.setdefault(y, dot(v, y))
        projs = Projections(proj[x] for x in current)
        run = sorted(run, key=lambda py: proj[py[0]], reverse=True)
        for p, y in run:
            s0 = proj[p]
            below = projs.sorted
            if below[-1] != s0 or projs.count[s0] != 1:
                raise ConstructionError("a moved point is not the topmost token along v")
            s_next = below[-2] if len(below) > 1 else s0 - ONE
            gap = s0 - s_next
            b1 = _between(s_next, s0, Fraction(1, 4), Fraction(1, 3))
            b2 = _between(s_next, s0, Fraction(2, 3), Fraction(3, 4))
            last = len(blocks) == total - 1
            eta = eta_last if last else ONE
            target = tuple(eta_last * c for c in y) if last else y
            blocks.append(ramp_block("interpolation", v, s0, b1, b2, gap, p, Point(target), eta))
            projs.move(s0, proj[y])
            current = [y if x == p else x for x in current]
    return blocks


# ------------------------------------------------------------------ the whole construction
def build(ds, fmt="float64", progress=None, share=False, seed=0):
    """The construction with every free parameter chosen for floats (module docstring).
    ``fmt`` names the float format the claim will be about; the choices are the same."""
    from .common import Construction
    from .collapse import collapse
    from .common import TUBE_SOFTMAX
    from .separation import overlapping_pairs, separate
    from ..model import Transformer
    if fmt not in FORMATS:
        raise ValueError(f"robust must be one of {', '.join(FORMATS)}, not {fmt!r}")
    rng = random.Random(f"robust-{seed}")
    d = ds.dim
    say = progress or (lambda phase: None)
    outputs = [list(p.output) for p in ds.pairs]
    m = [len(Y) for Y in outputs]
    seqs = [list(p.input) for p in ds.pairs]
    # inputs and targets scaled each by its own power of two: the leader positions, fitted
    # to both, then stay near the data when the targets are of another size
    e = scale_exponent(ds, "inputs")
    s = Fraction(2) ** -e
    e_out = scale_exponent(ds, "outputs")
    s_out = Fraction(2) ** -e_out
    blocks, counts, states = [], {}, {}

    def record(phase, new_blocks, new_seqs):
        blocks.extend(new_blocks)
        counts[phase] = len(new_blocks)
        states[phase] = [list(X) for X in new_seqs]
        return new_seqs

    say("separation")
    sep_blocks, eta_prep = [], s
    if abs(e) > EARLY_SCALE and overlapping_pairs(seqs):
        sep_blocks.append(affine_block("separation", d, s))
        seqs = [[Point(s * c for c in x) for x in X] for X in seqs]
        eta_prep = ONE
    # hat tubes at most half the gap: every other token at least eps from every kink
    more, seqs = separate(seqs, d, TUBE_SOFTMAX, choices=SeparationChoices(rng))
    seqs = record("separation", sep_blocks + more, seqs)

    say("leaders")
    scaled = [[Point(eta_prep * c for c in x) for x in X] for X in seqs]
    pts = [x for X in scaled for x in X]
    lo = [min((x[i] for x in pts)) for i in range(d)]
    hi = [max((x[i] for x in pts)) for i in range(d)]
    R = max(upper_bound(h - l) for h, l in zip(hi, lo))
    if R == 0:
        R = max(_max_abs(pts), ONE)
    shift = []
    for i in range(d):
        l_lo, l_hi = _rat_bounds(lo[i], R / 64)
        shift.append(dyadic_in(-l_lo + R / 8, -l_hi + R / 4))
    shift = Point(shift)
    cube = [[_affine(x, eta_prep, shift) for x in X] for X in seqs]
    top = max(upper_bound(x[i]) for X in cube for x in X for i in range(d))
    q = dyadic_in(top + R / 8, top + R / 4)
    targets = [[Point(s_out * c for c in y) for y in Y] for Y in outputs]
    lead_blocks, new, data, v_lead, arc = select_leaders(cube, targets, d, share, rng, q)
    seqs = record("leaders", [affine_block("leaders", d, eta_prep, shift)] + lead_blocks, new)

    say("collapse")
    col_blocks, seqs = collapse(seqs, data, d, m)
    seqs = record("collapse", col_blocks, seqs)

    say("interpolation")
    record("interpolation", interpolate(seqs, targets, d, 1 / s_out, arc), outputs)
    cons = Construction(Transformer(blocks, d), counts, states, 4, len(blocks), None)
    if share:
        cons.saved_by_sharing = ds.sum_m - counts["interpolation"]
    cons.robust = {"format": fmt, "scale": f"2^{-e}" if e else "1",
                   "output_scale": f"2^{-e_out}" if e_out else "1", "cube_q": q,
                   "leader_direction": v_lead, "sphere_radius": data["r"]}
    return cons


__all__ = ["FORMATS", "build", "dyadic_in", "SeparationChoices", "scale_exponent"]
