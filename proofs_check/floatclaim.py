"""The float claim: a float forward pass of a certificate's weights decides and interpolates.

A hardmax certificate may state ``"float_claim": {"format": F, "tolerance": "p/q"}``,
F "binary64" or "binary32".  Claim: every float forward pass of its exported weights
under the model below takes every activation and attention decision of the exact
model and ends with each output set within Euclidean Hausdorff distance
``tolerance`` of its target set.

Error model.  IEEE 754 format F (precision p = 53 or 24, u = 2^-p, smallest
subnormal eta = 2^-1074 or 2^-149), round to nearest.  Every entry of the exported
dense eta, U, b, W, rho, A, V of every block and every input coordinate is its exact
value correctly rounded to F, once (an overflow is unknown).  FF:
h_k = fl(sum_i U_ki x_i + b_k), relu exact, x'_l = fl(eta x_l + sum_k W_lk relu(h_k)).
Attention with V != 0: s_ij = fl(<A x_i, x_j>), as (A x_i).x_j or (A^T x_j).x_i; the
maximisers are the keys whose float score is the row's maximum;
x'_i = fl(rho x_i + V sum_{j in C} x_j / |C|).  With V = 0: x'_i = fl(rho x_i).  Each
sum in any order, with or without fused multiply-add, so a sum of n non-zero
products errs by at most gamma_n sum |a_i b_i| + n eta, gamma_n = n u / (1 - n u)
(Higham, Theorem 3.1, plus one underflow per product); one term 1 * x is exact, one
term 2^k * x errs by at most eta.

Method.  The tokens are re-evaluated exactly (checker.py) and each carries a bound
E >= max_l |float x_l - exact x_l|, through every layer: a unit's decision is proven
when |h| > B, B the bound on its pre-activation's error (an exact h = 0 may go either
way, relu being continuous; else unknown); on the proven pattern S the layer is
affine with matrix eta I + sum_{k in S} W_k u_k^T, whose largest row 1-norm carries E
(exact cancellation is kept); an attention decision is proven when the exact
maximiser is one point of multiplicity one whose score exceeds every other by more
than the two score error bounds (ties: unknown).  Bounds are integers B meaning
B 2^-SCALE, rounded up at every step.  Verdicts: a tolerance <= 0, or one that no
point of F meets at some target, is rejected; anything not proven is unknown.
"""
from __future__ import annotations

from fractions import Fraction
from math import isqrt
from operator import mul

from .checker import Tok, apply_mat, dot, key, proj
from .numbers import K, Malformed, Rejected, Unknown, sgn

# name: (precision p, smallest normal exponent, largest exponent, SCALE of the bounds)
FORMATS = {"binary64": (53, -1022, 1023, 1200), "binary32": (24, -126, 127, 300)}


def _rat(z):
    """z as a Fraction, or None for an irrational field element."""
    return z if type(z) is not K else (z.c[0] if not any(z.c[1:]) else None)


class Arith:
    """Upper bounds as integers scaled by 2^-s, and correct rounding to the format."""

    def __init__(self, fmt, tol, tiny=Fraction(1)):
        self.p, self.emin, self.emax, top = FORMATS[fmt]
        # any SCALE is sound (bounds round up); this one resolves the tolerance and the
        # smallest non-zero coordinate ``tiny`` finely
        bits = [max(0, q.denominator.bit_length() - q.numerator.bit_length()) for q in (tol, tiny)]
        self.s = min(top, self.p + 128 + sum(bits))
        self.gam = {}
        self.eta = self.up(Fraction(2) ** (self.emin - self.p + 1))
        self.omega = self.up(Fraction(2) ** self.emax) // 2       # half the largest finite
        self.u = self.up(Fraction(1, 2 ** self.p))

    def up(self, q, den=1):
        """ceil(|q| / den * 2^s) for a rational q (or an integer q and den > 0)."""
        if type(q) is not int:
            q, den = q.numerator, q.denominator * den
        return -((-abs(q) << self.s) // den)

    def mul(self, a, b):
        return -((-a * b) >> self.s)

    def rnd(self, q):
        """The float of F nearest the rational q (ties to even); unknown on overflow."""
        n, d = abs(q.numerator), q.denominator
        if not n:
            return Fraction(0)
        e = n.bit_length() - d.bit_length()               # then 2^e <= n/d < 2^(e+1)
        e -= (n < d << e) if e >= 0 else ((n << -e) < d)
        sh = self.p - 1 - max(e, self.emin)                # the quantum is 2^-sh
        m, r = divmod(n << sh, d) if sh >= 0 else divmod(n, d << -sh)
        m += 2 * r > (d if sh >= 0 else d << -sh) or (2 * r == (d if sh >= 0 else d << -sh) and m & 1)
        if m.bit_length() - sh > self.emax + 1:
            raise Unknown(f"float claim: a number of about 2^{m.bit_length() - sh} overflows the format")
        return Fraction(m if q > 0 else -m, 1 << sh) if sh >= 0 else Fraction((m if q > 0 else -m) << -sh)

    def mag(self, z):
        """Scaled upper bound of |z|: z a rational, an integer pair (n, d) or a field element."""
        if type(z) is tuple:
            return self.up(z[0], z[1])
        if type(z) is not K:
            return self.up(z)
        sgn(z)
        lo, hi = z.f.enclose(z.c)
        return self.up(max(abs(lo), abs(hi)))

    def weight(self, w):
        """(bound of |w^|, bound of |w^ - w|, kind) of a weight w rounded to F; kind 0 zero,
        1 exactly +-1, 2 a power of two, 3 other."""
        q = _rat(w)
        if q is None:                               # irrational: |w^ - w| <= u |w| + eta
            m = self.mag(w)
            err = self.mul(m, self.u) + self.eta
            return m + err, err, 3
        h = abs(self.rnd(q))
        pow2 = h and h.numerator & (h.numerator - 1) == 0 and h.denominator & (h.denominator - 1) == 0
        return self.up(h), self.up(h - abs(q)), 0 if not h else 1 if h == 1 else 2 if pow2 else 3

    def rounding(self, total, n, kind=3):
        """Error bound of a float sum of n non-zero products whose |.| sum to <= total."""
        if total > self.omega:
            raise Unknown("float claim: a sum may overflow the format")
        if n == 0 or (n == 1 and kind == 1):
            return 0
        if n == 1 and kind == 2:
            return self.eta
        if n not in self.gam:
            self.gam[n] = self.up(n, 2 ** self.p - n)
        return self.mul(self.gam[n], total) + n * self.eta

    def beyond(self, h, B):
        """+1 if h > B, -1 if h < -B, 0 if h = 0, None otherwise (h as in mag)."""
        if type(h) is Fraction:
            h = (h.numerator, h.denominator)
        if type(h) is tuple:
            n, d = h
            return 0 if n == 0 else (1 if n > 0 else -1) if abs(n) << self.s > B * d else None
        s = sgn(h)
        for _ in range(200 if s else 0):
            lo, hi = h.f.enclose(h.c)
            if self.up(min(abs(lo), abs(hi))) > B + 1:
                return s
            h.f.bisect()
        return 0 if not s else None


def _inf(ar, t):
    """Scaled upper bound of max_i |x_i| of an exact token (remembered on it)."""
    v = t.memo.get("inf")
    if v is None:
        v = t.memo["inf"] = (ar.up(max(map(abs, t.key[1])), t.key[0]) if type(t.key[0]) is int
                             else max(ar.mag(c) for c in t.x))
    return v


def _matrix(ar, M, d, memo):
    """Bounds of a dense d x d matrix (remembered per matrix): max row 1-norms of |M|,
    |M^|, |M^ - M|; entry sums of |M|, |M^|, |M^ - M|; most non-zeros in a row of M^;
    the kind of a row's only weight (3 when rows have several)."""
    if repr(M) not in memo:
        z = Fraction(0)
        rows = ([[z] * d] * d if M[0] == "zero" else [[M[1] * (i == j) for j in range(d)] for i in range(d)]
                if M[0] == "scalar" else [[M[1] * M[2][i] * M[2][j] for j in range(d)] for i in range(d)]
                if M[0] == "rank1" else [list(r) for r in M[1]])
        ws = [[ar.weight(x) for x in r] for r in rows]
        ex = [[ar.mag(x) for x in r] for r in rows]
        cnt = max(sum(1 for w in r if w[2]) for r in ws)
        kind = max((w[2] for r in ws for w in r), default=0) if cnt == 1 else 3
        memo[repr(M)] = (max(map(sum, ex)), max(sum(w[0] for w in r) for r in ws),
                         max(sum(w[1] for w in r) for r in ws), sum(map(sum, ex)),
                         sum(w[0] for r in ws for w in r), sum(w[1] for r in ws for w in r), cnt, kind)
    return memo[repr(M)]


def check_claim(cert, d, pairs, n_blocks, read):
    """The float claim of a hardmax certificate whose exact check passed: a summary, or
    Rejected / Malformed / Unknown (the first block where a step is not proven)."""
    fc = cert["float_claim"]
    if not isinstance(fc, dict) or fc.get("format") not in FORMATS or not isinstance(fc.get("tolerance"), str):
        raise Malformed('float_claim: expected {"format": "binary64" | "binary32", "tolerance": "p/q"}')
    try:
        tol = Fraction(fc["tolerance"])
    except (ValueError, ZeroDivisionError):
        raise Malformed("float_claim: the tolerance must be a rational \"p/q\"") from None
    if tol <= 0:
        raise Rejected("float claim: the tolerance must be positive")
    tiny = min((abs(q) for X, Y in pairs for x in X + Y for q in map(_rat, x) if q), default=Fraction(1))
    ar, memo, cache, decisions = Arith(fc["format"], tol, tiny), {}, {}, 0
    for j, (_, Y) in enumerate(pairs):              # a float output is a point of F
        for y in Y:
            qs = [_rat(c) for c in y]
            if None not in qs and sum((ar.rnd(q) - q) ** 2 for q in qs) > tol * tol:
                raise Rejected(f"float claim: sequence {j}: no {fc['format']} point lies within "
                               f"the tolerance of the target ({', '.join(map(str, qs))})")
    state = [[(Tok(x, 1), max(ar.weight(c)[1] for c in x)) for x in X] for X, _ in pairs]
    for k in range(1, n_blocks + 1):
        where, ff, (rho, A, V), _, _ = read(k)
        if ff[1] or ff[0] != 1:
            lay = _layer(ar, ff, cache)
            state = [_merge([_ff(ar, lay, t, E, f"{where}: sequence {j}", cache) for t, E in seq])
                     for j, seq in enumerate(state)]
            decisions += sum(len(seq) for seq in state) * len(ff[1])
        Vd, rw = _matrix(ar, V, d, memo), ar.weight(rho)
        if Vd[0] == 0 and rho != 1:
            state = [_merge([(Tok(tuple(rho * c for c in t.x), t.n), ar.mul(ar.mag(rho), E)
                              + ar.mul(rw[1], _inf(ar, t) + E) + ar.rounding(
                                  ar.mul(rw[0], _inf(ar, t) + E), 1 if rw[2] else 0, rw[2]))
                             for t, E in seq]) for seq in state]
        elif Vd[0]:
            Ad = _matrix(ar, A, d, memo)
            state = [_merge(_attend(ar, (rho, A, V), rw, Ad, Vd, seq, cache, f"{where}: sequence {j}", d))
                     for j, seq in enumerate(state)]
            decisions += sum(len(seq) for seq in state)
    worst = max(E for seq in state for _, E in seq)
    bound = Fraction(isqrt(d * worst * worst) + 1, 2 ** ar.s)      # >= sqrt(d) max E
    if bound > tol:
        raise Unknown(f"float claim: the proven error bound {_g(bound)} exceeds the "
                      f"tolerance {_g(tol)} (the claim may still hold)")
    n = bound.numerator                           # a dyadic of 24 bits >= bound, as exact text
    cut = max(0, n.bit_length() - 24)
    short = Fraction(((n - 1) >> cut) + 1) * Fraction(2) ** cut / bound.denominator
    return {"format": fc["format"], "tolerance": str(tol), "decisions": decisions,
            "bound": _g(short, ".3e"), "bound_exact": str(short)}


def _g(q, spec=".3g"):
    """A short decimal reading of a rational for a message (2^k beyond the float range)."""
    try:
        return format(float(q), spec)
    except OverflowError:
        return f"~2^{q.numerator.bit_length() - q.denominator.bit_length()}"


def _merge(items):
    """Tokens at one exact point become one token, with the larger bound."""
    out = {}
    for t, E in items:
        o = out.get(t.key)
        out[t.key] = (t, E) if o is None else (
            Tok.from_key(t.key, o[0].n + t.n) if type(t.key[0]) is int else Tok(t.x, o[0].n + t.n),
            max(E, o[1]))
    return list(out.values())


def _layer(ar, ff, cache):
    """Per-unit constants of an FF layer, and its affine map per activation pattern."""
    eta, U, b, W = ff
    units, rows = [], {}
    for k, u in enumerate(U):
        rows.setdefault(key(u), (u, []))[1].append(k)
    rows = [r for r in rows.values() if any(sgn(c) for c in r[0])]
    d, maps = len(W), {}

    def affine(S):
        """(largest row 1-norm of eta I + sum_S W_k u_k^T (scaled), [(row, its column sum)], c_S)
        on pattern S; the column sums and c_S None where exactly zero."""
        if S not in maps:
            cols = [(u, tuple(sum((W[l][k] for k in ks if k in S), 0 * eta) for l in range(d))) for u, ks in rows]
            cols = [(u, w) for u, w in cols if any(sgn(x) for x in w)]
            c = tuple(sum((W[l][k] * b[k] for k in S), 0 * eta) for l in range(d))
            norm = max(sum(ar.mag((eta if i == l else 0 * eta) + sum((w[l] * u[i] for u, w in cols), 0 * eta))
                           for i in range(d)) for l in range(d))
            maps[S] = (norm, cols, c if any(sgn(x) for x in c) else None)
        return maps[S]
    for k, u in enumerate(U):
        wu, wb = [ar.weight(c) for c in u], ar.weight(b[k])
        terms = [w[2] for w in wu if w[2]] + ([wb[2]] if wb[2] else [])
        kind = 1 if terms == [wb[2]] and wb[2] else terms[0] if len(terms) == 1 else 3
        col = [ar.weight(r[k]) for r in W]
        units.append((proj(cache, u), b[k], sum(map(ar.mag, u)), sum(w[0] for w in wu),
                      sum(w[1] for w in wu), wb, len(terms), kind, max(ar.mag(r[k]) for r in W),
                      max(w[0] for w in col), max(w[1] for w in col), any(w[2] for w in col)))
    return eta, ar.weight(eta), units, affine


def _ff(ar, lay, t, E, where, cache):
    """(new token, bound) of one token through an FF layer, every decision proven."""
    eta, ew, units, affine = lay
    X = _inf(ar, t) + E
    S, extra, total, n_out, n_units = [], 0, ar.mul(ew[0], X), 1 if ew[2] else 0, 0
    rational = type(t.key[0]) is int
    for k, (pr, bk, nU, nUh, dU, wb, n, kind, Wm, Whm, dWm, col) in enumerate(units):
        if rational and pr.rat:
            sn, sd = pr.frac(t)
            h = (sn * bk.denominator + bk.numerator * sd, sd * bk.denominator)
        else:
            h = pr.value(t) + bk
        other = ar.rounding(ar.mul(nUh, X) + wb[0], n, kind) + ar.mul(dU, X) + wb[1]
        B = ar.mul(nU, E) + other
        s = ar.beyond(h, B)
        if s is None:
            raise Unknown(f"float claim: {where}: unit {k + 1}: a pre-activation is within its "
                          f"float error bound {B / 2 ** ar.s:.3g} of 0")
        if s < 0:
            continue
        big = ar.mag(h) + B
        if s > 0:
            S.append(k)
            extra += ar.mul(Wm, other) + ar.mul(dWm, big)
        else:                                   # exact 0: either decision, |relu^ - relu| <= B
            extra += ar.mul(Wm + dWm, B)
        total += ar.mul(Whm, big)
        n_out, n_units = n_out + col, n_units + col
    norm, cols, c = affine(tuple(S))
    E2 = ar.mul(norm, E) + extra + ar.mul(ew[1], X) + ar.rounding(total, n_out, ew[2] if not n_units else 3)
    if not cols and c is None and eta == 1:
        return t, E2
    x = tuple(eta * v for v in t.x)
    for u, w in cols:
        h = proj(cache, u).value(t)
        x = tuple(xi + wi * h for xi, wi in zip(x, w))
    if c is not None:
        x = tuple(xi + ci for xi, ci in zip(x, c))
    return Tok(x, t.n), E2


def _top2(vals):
    """Indices of a largest and of a largest other value (None for one value)."""
    best, second = 0, None
    for m in range(1, len(vals)):
        if vals[m] > vals[best]:
            best, second = m, best
        elif second is None or vals[m] > vals[second]:
            second = m
    return best, second


def _scores(A, toks, i, cache):
    """The exact scores <A x_i, x_j> of query i (A scalar or full)."""
    t = toks[i]
    if A[0] == "scalar" and type(t.key[0]) is int and type(A[1]) is Fraction:
        (den, ni), c = t.key, A[1]
        return [c * Fraction(sum(map(mul, ni, u.key[1])), den * u.key[0]) for u in toks]
    q = apply_mat(A, t.x)
    return [dot(q, u.x) for u in toks]


def _attend(ar, sa, rw, Ad, Vd, seq, cache, where, d):
    """An attention layer on one sequence: every argmax proven; the new (token, bound)s."""
    rho, A, V = sa
    toks = [t for t, _ in seq]
    Xs = [_inf(ar, t) + E for t, E in seq]
    Xmax, Emax = max(Xs), max(E for _, E in seq)

    def err(Ei, Xi, Ej, Xj):      # |float score - exact score|
        if ar.mul(ar.mul(Xi, Xj), Ad[4]) > ar.omega:
            raise Unknown(f"float claim: {where}: a score may overflow the format")
        return (ar.mul(Ad[3], ar.mul(Ei, Xj) + ar.mul(Xi, Ej)) + ar.mul(ar.mul(Xi, Xj), Ad[5]
                + ar.mul(ar.up(Fraction(2 * d, 2 ** ar.p - 2 * d)), Ad[4])) + d * ar.eta
                + ar.mul(d * d * ar.eta, max(Xi, Xj)))
    if A[0] == "rank1":        # <A x_i, x_j> = c <a, x_i> <a, x_j>: the top two of +-<a, x_j>
        pr = proj(cache, A[2])
        p = [pr.value(t) for t in toks]
        tops = {1: _top2(p), -1: _top2([-v for v in p])}
    out = []
    for i, (t, E) in enumerate(seq):
        if A[0] == "rank1":
            sg = sgn(A[1] * p[i])
            best, second = tops[sg] if sg else (0, 1 if len(toks) > 1 else None)
            gap = None if second is None else A[1] * p[i] * (p[best] - p[second])
        else:
            sc = _scores(A, toks, i, cache)
            best, second = _top2(sc)
            gap = None if second is None else sc[best] - sc[second]
        if gap is not None and sgn(gap) == 0 or toks[best].n != 1:
            raise Unknown(f"float claim: {where}: a query has several maximisers (ties are not analysed)")
        if gap is not None and ar.beyond(gap, err(E, Xs[i], seq[best][1], Xs[best])
                                         + err(E, Xs[i], Emax, Xmax)) != 1:
            raise Unknown(f"float claim: {where}: an attention score gap is within its float error bound")
        key, Ej = toks[best], seq[best][1]
        x = tuple(rho * a + v for a, v in zip(t.x, apply_mat(V, key.x)))
        n = (1 if rw[2] else 0) + Vd[6]
        E2 = (ar.mul(ar.mag(rho), E) + ar.mul(Vd[0], Ej) + ar.mul(rw[1], Xs[i]) + ar.mul(Vd[2], Xs[best])
              + ar.rounding(ar.mul(rw[0], Xs[i]) + ar.mul(Vd[1], Xs[best]), n,
                            Vd[7] if not rw[2] else rw[2] if not Vd[6] else 3))
        out.append((Tok(x, t.n), E2))
    return out
