"""Checking softmax certificates (Theorem 1.6) with rational enclosures.

Standard library only.  A token is an enclosure: a ball in the max-norm with
a rational centre c and a rational radius r (r = 0: an exact token).  Every
step below over-approximates the true set of values, so a claim proven on the
enclosures holds for the real softmax transformer.

* Softmax weights with temperature tau (certificate "softmax": {"tau", "order"}).
  If key k* has a score interval strictly above every other key's, then for any
  other key j with scaled gap g_j = (lo(s_k*) - hi(s_j)) / tau >= 0,
      w_j = n_j e^{s_j/tau} / sum_l n_l e^{s_l/tau} <= n_j / (n_k* T(g_j)),
  T(x) = sum_{i <= order} x^i / i! <= e^x (x >= 0).  Then
      sum_j w_j V x_j = V x_k* + sum_{j != k*} w_j V (x_j - x_k*)
  gives a ball around V c_k* of radius at most
      |V| r_k* + |V| sum_{j != k*} w_j (|c_j - c_k*|_max + r_j - r_k*)^+
  (the deviation is w_k* V (x_k* - c_k*) + sum_{j != k*} w_j V (x_j - c_k*) and
  w_k* = 1 - sum_{j != k*} w_j, so only the excess of each other key's reach
  over r_k* counts, and the upper bounds of the w_j may be used for it).
  These bounds are computed in integers (:func:`sa_balls`): coordinates at
  2^-FIX, the scaled gaps x rounded down, 1 / T(x) and the distances up; a
  query whose integers are too coarse is redone in exact rationals
  (:func:`sa_query`).  Radii are rounded up to dyadics of about 40
  significant bits.  No k* (scores not separated): verdict unknown.
* FF layers: on a ball each unit's pre-activation is an interval; the units
  that straddle 0 are enumerated, and on each resulting activation pattern S the
  layer is the affine map eta x + M_S x + c_S, whose image of the ball is a ball;
  the enclosure is the hull of those images.  A layer whose patterns are fixed
  and whose maps have M_S = eta I = 0 (a saturating, non-residual layer) sends the
  whole ball to the exact point c_S.
"""
from __future__ import annotations

from bisect import bisect_left
from fractions import Fraction
from operator import mul, sub

from . import lemmas
from .reading import compare_outputs, declared_width, prescan, read_block, start
from .limits import DEFAULT
from .numbers import Malformed, Rejected, Unknown, _need, check_growth

MAX_STRADDLE = 6


class Ball:
    """Centre c, radius r, multiplicity n; never changed once made.  ``memo``
    keeps intervals <u, x> already computed for this ball (by row, see
    :meth:`Balls.row`), ``h`` the hash of (c, r)."""
    __slots__ = ("c", "r", "n", "h", "memo")

    def __init__(self, c, r, n=1):
        self.c, self.r, self.n, self.h, self.memo = c, r, n, None, {}

    def key_hash(self):
        if self.h is None:
            self.h = hash((self.c, self.r))
        return self.h


def l1(u):
    return sum(abs(x) for x in u)


def dot(u, x):
    return sum(a * b for a, b in zip(u, x))


def interval(u, ball, b=Fraction(0)):
    s = dot(u, ball.c) + b
    w = ball.r * l1(u)
    return s - w, s + w


def merge(balls):
    """Balls with equal centre and radius become one, multiplicities added (a
    ball met once is kept as the same object)."""
    out = {}
    for bl in balls:
        group = out.setdefault(bl.key_hash(), [])
        for i, e in enumerate(group):
            if e.c == bl.c and e.r == bl.r:
                group[i] = Ball(bl.c, bl.r, e.n + bl.n)
                break
        else:
            group.append(bl)
    return [bl for group in out.values() for bl in group]


class FFLayer:
    """One FF layer acting on balls; each activation pattern's affine map is built once.
    The units reading one row u are kept sorted by their cut -b_k, so the units
    on (cut < lo) and the units straddled (lo <= cut < hi) by the interval
    [lo, hi] of <u, x> over a ball are found by bisection."""

    def __init__(self, ff, where, G=None):
        self.eta, self.U, self.b, self.W = ff
        G = G or Balls()
        self.where, self.maps, self.iv = where, {}, G.iv
        rows = {}
        for k, u in enumerate(self.U):
            rows.setdefault(G.row(u), []).append((-self.b[k], k))
        self.rows = []
        for u, units in rows.items():
            units.sort(key=lambda e: e[0])
            self.rows.append((u, [c for c, _ in units], [k for _, k in units]))

    def affine(self, key):
        """(M, c, norm of eta I + M, kind) of the map x -> eta x + M x + c on the
        pattern key = (per row, how many of its sorted units are on; the straddled
        units taken on); kind: "id" (the identity), "shift" (M = 0) or "full"."""
        if key not in self.maps:
            counts, extra = key
            S = [k for (_, _, ks), a in zip(self.rows, counts) for k in ks[:a]] + list(extra)
            eta, b, W, d = self.eta, self.b, self.W, len(self.W)
            M = [[Fraction(0)] * d for _ in range(d)]
            on = set(S)
            for u, _, ks in self.rows:          # sum_k W_k u_k^T, one outer product per row
                w = [sum((W[i][k] for k in ks if k in on), Fraction(0)) for i in range(d)]
                for i in range(d):
                    if w[i]:
                        M[i] = [m + w[i] * x for m, x in zip(M[i], u)]
            M = tuple(map(tuple, M))
            c = tuple(sum((W[i][k] * b[k] for k in S), Fraction(0)) for i in range(d))
            norm = max(sum(abs((eta if i == j else 0) + M[i][j]) for j in range(d)) for i in range(d))
            zero = not any(any(r) for r in M)
            kind = "full" if not zero else "id" if eta == 1 and not any(c) else "shift"
            self.maps[key] = (M, c, norm, kind)
        return self.maps[key]

    def image(self, key, bl):
        M, c, norm, kind = self.affine(key)
        if kind == "id":
            return bl.c, bl.r
        if kind == "shift":
            eta = self.eta
            return (c if not eta else tuple(eta * x + ci for x, ci in zip(bl.c, c))), bl.r * norm
        centre = tuple(self.eta * x + dot(r, bl.c) + ci for x, r, ci in zip(bl.c, M, c))
        return centre, bl.r * norm

    def __call__(self, bl):
        counts, straddle = [], []
        for u, cuts, ks in self.rows:
            lo_u, hi_u = self.iv(u, bl)          # s - w, s + w: s = <u, c>, w = r |u|_1
            a = bisect_left(cuts, lo_u)          # unit k's input lo_u + b_k > 0 iff lo_u > -b_k
            counts.append(a)                     # units ks[:a] are on
            straddle += ks[a:bisect_left(cuts, hi_u, a)]
        if len(straddle) > MAX_STRADDLE:
            raise Unknown(f"{self.where}: an enclosure straddles {len(straddle)} ReLU kinks")
        counts = tuple(counts)
        images = [self.image((counts, tuple(k for i, k in enumerate(straddle) if mask >> i & 1)), bl)
                  for mask in range(1 << len(straddle))]
        if len(images) == 1:
            c0, r = images[0]
            return bl if (c0, r) == (bl.c, bl.r) else Ball(c0, up(r), bl.n)
        c0 = images[0][0]
        r = max(max(abs(a - z) for a, z in zip(c, c0)) + rr for c, rr in images)
        return Ball(c0, up(r), bl.n)


def mat_norm(V):
    """An upper bound of the max-norm operator norm of V."""
    if V[0] == "zero":
        return Fraction(0)
    if V[0] == "scalar":
        return abs(V[1])
    if V[0] == "rank1":
        return abs(V[1]) * max(abs(x) for x in V[2]) * l1(V[2])
    return max(l1(r) for r in V[1])


def apply(V, x):
    if V[0] == "zero":
        return tuple(0 * c for c in x)
    if V[0] == "scalar":
        return tuple(V[1] * c for c in x)
    if V[0] == "rank1":
        s = V[1] * dot(V[2], x)
        return tuple(s * a for a in V[2])
    return tuple(dot(r, x) for r in V[1])


def score(A, q, k, iq=None, ik=None):
    """Interval of <A x_q, x_k> over the two balls (for A = c a a^T, iq and ik
    may give the intervals of <a, x> on the balls)."""
    if A[0] == "zero":
        return Fraction(0), Fraction(0)
    if A[0] == "rank1":
        (a1, a2), (b1, b2) = iq or interval(A[2], q), ik or interval(A[2], k)
        ps = [a1 * b1, a1 * b2, a2 * b1, a2 * b2]
        lo, hi = min(ps), max(ps)
        c = A[1]
        return (c * lo, c * hi) if c >= 0 else (c * hi, c * lo)
    if A[0] == "scalar":
        s = dot(q.c, k.c)
        w = q.r * l1(k.c) + k.r * l1(q.c) + len(q.c) * q.r * k.r
        c = A[1]
        return (c * (s - w), c * (s + w)) if c >= 0 else (c * (s + w), c * (s - w))
    # full A: <A (c_q + e), c_k + f> with |e|, |f| <= r_q, r_k in the max-norm differs from
    # <A c_q, c_k> by at most r_q |A^T c_k|_1 + r_k |A c_q|_1 + r_q r_k sum |A_ij|
    rows = A[1]
    aq = [dot(r, q.c) for r in rows]
    s = dot(aq, k.c)
    if not q.r and not k.r:
        return s, s
    atk = [sum((rows[i][j] * k.c[i] for i in range(len(rows))), Fraction(0)) for j in range(len(rows))]
    w = q.r * l1(atk) + k.r * l1(aq) + q.r * k.r * sum(l1(r) for r in rows)
    return s - w, s + w


BITS = 40


def up(r):
    """A dyadic rational >= r >= 0 with about BITS significant bits (outward rounding)."""
    if r <= 0:
        return Fraction(0)
    k = BITS - (r.numerator.bit_length() - r.denominator.bit_length())
    if k >= 0:
        return Fraction(-((-r.numerator << k) // r.denominator), 1 << k)
    return Fraction(-(-r.numerator // (r.denominator << -k)) << -k)


def down(x):
    """A dyadic rational <= x with about BITS significant bits (x >= 0)."""
    if x <= 0:
        return Fraction(0)
    k = BITS - (x.numerator.bit_length() - x.denominator.bit_length())
    if k >= 0:
        return Fraction((x.numerator << k) // x.denominator, 1 << k)
    return Fraction((x.numerator // (x.denominator << -k)) << -k)


TAYLOR_CAP = Fraction(2) ** 256


def taylor(x, order):
    """A lower bound of sum_{i <= order} x^i / i! (<= e^x for x >= 0): x and every
    term are rounded down to dyadics, which keeps each term below its true value.
    The sum stops once the terms, past their peak, fall below 2^-256 of the sum,
    or the sum passes 2^256 (a partial sum is still a lower bound), so a huge
    order or a tiny tau costs nothing."""
    x = down(x)
    t, term = Fraction(1), Fraction(1)
    for i in range(1, order + 1):
        term = down(term * x / i)
        if not term or (i > x and term * TAYLOR_CAP < t):   # the rest is below t / 2^256
            break
        t += term
        if t > TAYLOR_CAP:
            break
    return t


FIX = 96     # bits after the binary point of the fixed-point scores and distances
WBITS = 64   # bits after the binary point of the scaled gaps and Taylor sums
TBITS = 16   # significant bits kept of a scaled gap before its Taylor sum (rounded down)
PREC = 20    # a gap or distance within 2^PREC of its integer rounding is redone exactly


def fixed(bl):
    """(M, R, |M|_1) for a ball: integers with M_i <= c_i 2^FIX < M_i + 1 and
    R >= r 2^FIX, so every x in the ball has |x_i 2^FIX - M_i| <= R + 1."""
    fx = bl.memo.get("fx")
    if fx is None:
        M = tuple((x.numerator << FIX) // x.denominator for x in bl.c)
        R = -(-(bl.r.numerator << FIX) // bl.r.denominator)
        fx = bl.memo["fx"] = (M, R, sum(map(abs, M)))
    return fx


def fixed_scores(A, toks):
    """Integer score intervals: for every query q and key k, (lo, hi, e) with
    f lo <= <A x, y> 2^(2 FIX) <= f hi (x in ball q, y in ball k), and f >= 0;
    e bounds the part of hi - lo that integer rounding added (it only tells
    :func:`sa_balls` when to redo a query exactly).  Returns f and the rows, one
    query's row at a time (a generator: memory O(n), never n x n).
    Scalar A = a I: <x, y> 2^(2 FIX) = sum (M_i + e_i)(M'_i + e'_i) with
    |e| <= E = R + 1, |e'| <= E', within E |M'|_1 + E' |M|_1 + d E E' of <M, M'>.
    Rank one A = c a a^T: the exact interval of <a, x> per ball, widened to
    integers, and the four products of the two intervals."""
    if A[0] == "zero" or A[1] == 0:       # every score is exactly 0: no gap anywhere
        return Fraction(0), ([(0, 0, 0)] * len(toks) for _ in toks)
    if A[0] == "scalar":
        a, d = A[1], len(toks[0].c)
        fx = [fixed(t) for t in toks]
        sgn = 1 if a >= 0 else -1

        def scalar_rows():
            for M, R, L in fx:
                E, row = R + 1, []
                for M2, R2, L2 in fx:
                    p, w = sgn * sum(map(mul, M, M2)), E * L2 + (R2 + 1) * (L + d * E)
                    row.append((p - w, p + w, L + L2 + d * (E + R2 + 1)))
                yield row
        return abs(a), scalar_rows()
    if A[0] == "rank1":
        c = A[1]
        ivs = []
        for t in toks:
            lo, hi = interval(A[2], t)
            ivs.append(((lo.numerator << FIX) // lo.denominator, -(-(hi.numerator << FIX) // hi.denominator)))

        def rank1_rows():
            for l1_, h1 in ivs:
                row = []
                for l2, h2 in ivs:
                    ps = (l1_ * l2, l1_ * h2, h1 * l2, h1 * h2)
                    e = max(-l1_, h1) + max(-l2, h2) + 1
                    row.append((min(ps), max(ps), e) if c >= 0 else (-max(ps), -min(ps), e))
                yield row
        return abs(c), rank1_rows()
    return None, None         # full A: every query in exact rationals (sa_query)


def inverse_taylor(X, order, memo):
    """(m, e) with m / 2^e >= 1 / sum_{i <= order} x^i / i! for x = X / 2^WBITS >= 0
    (``memo``, keyed by X, serves one order: one block of one certificate),
    m of about 64 bits.  The sum is bounded below in integers: X is first cut to
    TBITS significant bits (down), each term is rounded down, and the sum stops
    as :func:`taylor` does; then its inverse is rounded up."""
    s = max(0, X.bit_length() - TBITS)
    X = X >> s << s
    hit = memo.get(X)
    if hit is None:
        one = 1 << WBITS
        t = term = one
        for i in range(1, order + 1):
            term = term * X // (i << WBITS)
            if not term or (i * one > X and term << 256 < t):
                break
            t += term
            if t > one << 256:
                break
        e = t.bit_length() + 64                      # t / 2^WBITS <= T, so 1 / T <= 2^WBITS / t
        hit = memo[X] = (-(-(1 << (WBITS + e)) // t), e)
    return hit


def sa_query(sa, toks, i, tau, order, stats):
    """The softmax SA output ball of query i, in exact rational arithmetic (the
    fallback of :func:`sa_balls` when its integer scores do not separate)."""
    rho, A, V = sa
    nV, t = mat_norm(V), toks[i]
    ivs = [interval(A[2], k) for k in toks] if A[0] == "rank1" else None
    sc = [score(A, t, k, ivs and ivs[i], ivs and ivs[j]) for j, k in enumerate(toks)]
    best = max(range(len(toks)), key=lambda j: sc[j][0])
    others = [sc[j][1] for j in range(len(toks)) if j != best]
    if others and not sc[best][0] > max(others):
        return None
    ks = toks[best]
    rad = nV * ks.r
    for j, k in enumerate(toks):
        if j == best:
            continue
        g = (sc[best][0] - sc[j][1]) / tau
        stats["gap"] = g if stats.get("gap") is None else min(stats["gap"], g)
        wmax = up(Fraction(k.n, ks.n) / taylor(g, order))
        diff = apply(V, tuple(a - b for a, b in zip(k.c, ks.c)))
        rad += wmax * max(0, max(abs(x) for x in diff) + nV * (k.r - ks.r))
    return best, rad


def fixed_query(row, toks, fx, num, den, order, memo):
    """One query in integers: (k*, S, smallest gap G) with
    S >= sum_{j != k*} w_j (|c_j - c_k*|_max + r_j - r_k*)^+, w_j <= n_j / (n_k* T(g_j)),
    or None where the integers are too coarse to be close to the exact bound."""
    los = [s[0] for s in row]
    best = los.index(max(los))
    Mb, Rb, _ = fx[best]
    lo_b, eb, nb, terms, qmin, fine = los[best], row[best][2], toks[best].n, [], None, 1 << PREC
    for j, (k, (_, hi, e), (M, R, _)) in enumerate(zip(toks, row, fx)):
        if j == best:
            continue
        G, dist = lo_b - hi, max(map(abs, map(sub, M, Mb)))
        if G <= 0 or G < (eb + e) * fine or dist < fine:   # G > 0: strictly separated
            return None
        if qmin is None or G < qmin:
            qmin = G
        m, ex = inverse_taylor(num * G // den, order, memo)   # >= 1 / T(g_j), g_j = f G / (2^(2 FIX) tau)
        D = dist + 2 + R - Rb                           # >= (|c_j - c_k*|_max + r_j - r_k*) 2^FIX
        if D > 0:
            terms.append((k.n * m * D, ex))
    top = max((ex for _, ex in terms), default=0)
    return best, Fraction(sum(v << (top - ex) for v, ex in terms), nb << (top + FIX)), qmin


def sa_balls(sa, toks, tau, order, where, stats):
    """Softmax SA on one sequence.  Returns (new balls, robust argmax per query).

    Query i's output is a ball around rho x_i + V c_k* of radius
    |rho| r_i + |V| r_k* + |V| sum_{j != k*} w_j (|c_j - c_k*|_max + r_j - r_k*)^+,
    every quantity bounded in integers (:func:`fixed`, :func:`fixed_scores`,
    :func:`inverse_taylor`), rounded outward: the scaled gap g_j down, the weight
    bound n_j / (n_k* T(g_j)) up (to 64 bits), the distance up (to 2^-FIX).
    A query is redone exactly (:func:`sa_query`) where the integers are too
    coarse: scores not separated, a gap below 2^PREC times its rounding, or a
    distance below 2^PREC units; not separated there either: verdict unknown."""
    rho, A, V = sa
    if V[0] == "zero" or (V[0] == "scalar" and V[1] == 0):
        if rho == 1:
            return list(toks), None
        return [Ball(tuple(rho * c for c in t.c), abs(rho) * t.r, t.n) for t in toks], None
    nV = mat_norm(V)
    f, rows = fixed_scores(A, toks)
    if rows is None:          # a full A (weights certificates): exact rationals, query by query
        out, arg = [], []
        for i, t in enumerate(toks):
            hit = sa_query(sa, toks, i, tau, order, stats)
            if hit is None:
                raise Unknown(f"{where}: scores not separated for a query (no robust maximiser)")
            best, rad = hit
            ks = toks[best]
            out.append(Ball(tuple(rho * a + b for a, b in zip(t.c, apply(V, ks.c))),
                            up(abs(rho) * t.r + rad), t.n))
            arg.append(best)
        return out, arg
    ratio = f / tau
    num, den = ratio.numerator << WBITS, ratio.denominator << 2 * FIX
    memo = stats.setdefault("taylor", {})
    fx = [fixed(t) for t in toks]
    out, arg, gmin = [], [], None
    for i, (t, row) in enumerate(zip(toks, rows)):
        hit = fixed_query(row, toks, fx, num, den, order, memo)
        if hit is None:
            hit = sa_query(sa, toks, i, tau, order, stats)
            if hit is None:
                raise Unknown(f"{where}: scores not separated for a query (no robust maximiser)")
            best, rad = hit
        else:
            best, S, qmin = hit
            rad = nV * (toks[best].r + S)
            if qmin is not None and (gmin is None or qmin < gmin):
                gmin = qmin
        ks = toks[best]
        out.append(Ball(tuple(rho * a + b for a, b in zip(t.c, apply(V, ks.c))), up(abs(rho) * t.r + rad), t.n))
        arg.append(best)
    if gmin is not None:
        g = Fraction(ratio.numerator * gmin, ratio.denominator << 2 * FIX)
        stats["gap"] = g if stats.get("gap") is None else min(stats["gap"], g)
    return out, arg


class Balls:
    """The geometry of enclosures for the lemma predicates (proofs_check.lemmas):
    a token is a max-norm ball with rational centre and radius."""

    def __init__(self):
        self.rows = {}

    def row(self, u):
        """The one object standing for the row value u in this check, so balls can
        remember <u, x> by it."""
        return self.rows.setdefault(tuple(u), tuple(u))

    def tube(self, u, lo, hi):
        u = self.row(u)
        memo = id(u)

        def side(t):
            hit = t.memo.get(memo)
            a, b = hit if hit is not None else self.iv(u, t)
            return "in" if a > lo and b < hi else "out" if b <= lo or a >= hi else "meets"
        return side

    def iv(self, u, t):
        hit = t.memo.get(id(u))    # memo keys are ids of this check's row objects, all
        if hit is not None:         # kept alive in self.rows: an id found is u itself
            return hit
        u = self.row(u)
        hit = t.memo.get(id(u))
        if hit is None:
            hit = t.memo[id(u)] = interval(u, t)
        return hit

    @staticmethod
    def near(u, lo, hi, seqs):
        return [(j, t) for j, toks in enumerate(seqs) for t in toks]

    @staticmethod
    def box(t):
        return [(x - t.r, x + t.r) for x in t.c]

    @staticmethod
    def holds(t, p):
        return max(abs(a - b) for a, b in zip(p, t.c)) <= t.r

    @classmethod
    def holders(cls, toks, p):
        return [i for i, t in enumerate(toks) if cls.holds(t, p)]

    @classmethod
    def in_cube(cls, t, q):
        return all(lo > 0 and hi < q for lo, hi in cls.box(t))

    @staticmethod
    def apart(s, t):
        return max(abs(a - b) for a, b in zip(s.c, t.c)) > s.r + t.r

    @staticmethod
    def exact(t):
        return t.r == 0

    @staticmethod
    def key(t):
        return t.c

    @staticmethod
    def point(t):
        return t.c

    @staticmethod
    def point_key(p):
        return tuple(p)

    @staticmethod
    def distinct(points):
        """Rational data only: different representations are different numbers."""


def ff_point(layer, p):
    """The FF layer on one exact point (a ball of radius 0 stays exact)."""
    out = layer(Ball(tuple(p), Fraction(0)))
    return out.c


def check(cert, progress=None, trace=None, limits=DEFAULT):
    """Check a softmax certificate.  Returns a summary (JSON-ready); raises Rejected,
    Unknown or Malformed.

    ``trace``, a list, receives each block's output enclosures (for tests)."""
    sm = _need(cert.get("softmax"), dict, "softmax")
    if cert.get("field") is not None:
        raise Malformed("softmax certificates need rational data")
    nums, d, pairs, blocks = start(cert, limits)
    tau = nums.rat(sm.get("tau"), "softmax.tau")
    order = sm.get("order")
    if tau <= 0 or type(order) is not int or not 1 <= order <= 4096:
        raise Malformed("softmax: tau must be positive and order an integer in 1..4096")
    N, sum_m = len(pairs), sum(len(Y) for _, Y in pairs)
    bound = 2 * sum_m + 3 * N
    # no width bound of its own (the saturating layer has width 2 sum m - 1); a
    # declared max_width is read and enforced all the same
    prescan(blocks, bound, declared_width(cert) if "max_width" in cert else None, limits,
            "2 sum m + 3N")
    G = Balls()
    seqs = [[Ball(x, Fraction(0)) for x in X] for X, _ in pairs]
    width, per_block, claims_ok = 0, [], {}
    for k, blk in enumerate(blocks, 1):
        where, (eta, U, b, W), (rho, A, V), claims = read_block(blk, k, nums, d)
        width = max(width, len(U))
        layer = FFLayer((eta, U, b, W), where, G)
        mid = [merge(layer(t) for t in toks) for toks in seqs]
        stats = {}
        res = [sa_balls((rho, A, V), toks, tau, order, where, stats) for toks in mid]
        new = [merge(r[0]) for r in res]
        check_growth(new, where, limits, point=lambda t: t.c)
        attends = [r[1] is not None and all(toks[i].n == 1 for i in r[1])   # one index each
                   for r, toks in zip(res, mid)]
        for c in claims:
            kind = c["kind"]
            if kind == "hat":
                err = lemmas.hat(c, seqs, lambda p: ff_point(layer, p), G)
            elif kind == "leaders":
                err = lemmas.leaders(c, mid, G)
            elif kind == "disjoint":
                err = lemmas.disjoint(new, G)
            elif kind == "collapse":
                err = lemmas.collapse(c, mid, attends, d, G)
            elif kind == "saturate":
                err = lemmas.saturate(new, G)
            elif kind == "counts":
                err = lemmas.counts(c, new, G)
            else:
                raise Malformed(f"{where}: claim {kind!r} is not checked in softmax mode")
            if err:
                what, msg = err
                wide = any(t.r for group in (seqs, mid, new) for toks in group for t in toks)
                if what == "tokens" and wide:   # may be the enclosures' width, not the claim
                    raise Unknown(f"{where}: {kind}: {msg} (enclosures too wide to decide)")
                raise Rejected(f"{where}: {kind}: {msg}")
            claims_ok[kind] = claims_ok.get(kind, 0) + 1
        seqs = new
        if trace is not None:
            trace.append([[(t.c, t.r) for t in toks] for toks in seqs])
        gap = stats.get("gap")
        per_block.append({"block": k, "phase": where.split(" (", 1)[1][:-1],
                          "widest": _text(max(t.r for toks in seqs for t in toks), "up"),
                          "smallest_gap": None if gap is None else _text(gap, "down")})
        if progress:
            progress(k, len(blocks))
    for j, toks in enumerate(seqs):
        if any(t.r != 0 for t in toks):
            raise Unknown(f"output: sequence {j} is not exact (enclosure radius > 0)")
    compare_outputs(pairs, seqs, tuple, lambda t: t.c, lambda t: t.c)
    return {"attention": "softmax", "blocks": len(blocks), "block_bound": bound, "width": width,
            "width_bound": None, "claims_checked": claims_ok, "N": N, "d": d, "sum_m": sum_m,
            "tau": sm["tau"], "order": order, "per_block": per_block}


def _text(q, rounding):
    """q as text: exact ("p" or "p/q") while both parts have under 10000 bits
    (Python's integer-to-text limit is 4300 digits); beyond, a 12-digit decimal
    bound "Me-K" of q > 0, rounded "up" or "down"."""
    p, d = q.numerator, q.denominator
    if max(abs(p).bit_length(), d.bit_length()) < 10000:
        return str(p) if d == 1 else f"{p}/{d}"
    e = (p.bit_length() - d.bit_length()) * 30103 // 100000 - 12   # about log10(q) - 12
    m = p * 10 ** -e if e < 0 else p
    n = d if e < 0 else d * 10 ** e                                 # q 10^-e = m / n, >= 10^10
    k = m // n if rounding == "down" else -(-m // n)
    return f"{k}e{e}"
