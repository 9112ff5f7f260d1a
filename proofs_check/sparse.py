"""Sparse hardmax evaluation: a layer that can move only a few tokens costs
only those tokens.

An FF layer with eta = 1 whose units all read one rational row u (every hat
move is one) is affine on each interval between its cuts -b_k of <u, x>; where
that affine map is the identity, tokens stay where they are.  So only the
tokens with <u, x> in a non-identity interval can move; runs of adjacent such
intervals are searched one by one (a layer of several hats has one per hat).

The :class:`State` keeps the current tokens (per sequence, a dict from the
point's representation to the token) and, for each row u asked about, every
token sorted by a float reading of <u, x>: fl(N / D) for <u, x> = N / D, which
CPython rounds correctly.  Rounding is monotone, so lo <= <u, x> <= hi implies
fl(lo) <= fl(<u, x>) <= fl(hi): a binary search on the readings returns a
superset of the tokens in [lo, hi] (plus every token whose reading overflows),
and each of them is then decided exactly as in checker.eval_ff.  The index
only *finds* tokens; it decides nothing.  The tests compare the result with
the dense evaluation on random and fuzzed certificates.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from fractions import Fraction
from operator import itemgetter


def reading(pr, t):
    """fl(<u, x>), correctly rounded, or None if it overflows."""
    n, d = pr.frac(t)
    try:
        return n / d
    except OverflowError:
        return None


def _fl(q):
    """fl(q), correctly rounded; beyond the float range, +-infinity.  Rounding to
    the extended reals stays monotone, so the search bounds stay valid (a
    token whose own reading overflows is kept aside, in ``loose``)."""
    try:
        return q.numerator / q.denominator
    except OverflowError:
        return float("inf") if q > 0 else float("-inf")


class Index:
    """The tokens of every sequence sorted by their reading on one row."""

    def __init__(self, pr, maps):
        self.pr, entries, self.loose = pr, [], []
        for j, m in enumerate(maps):
            for t in m.values():
                f = reading(pr, t)
                if f is None:
                    self.loose.append((j, t))
                else:
                    entries.append((f, j, t))
        entries.sort(key=itemgetter(0))
        self.keys = [e[0] for e in entries]
        self.items = [(e[1], e[2]) for e in entries]

    def find(self, lo, hi):
        """(j, token) for every token with lo <= <u, x> <= hi, and possibly more
        (lo, hi exact; None for unbounded)."""
        a = 0 if lo is None else bisect_left(self.keys, _fl(lo))
        b = len(self.keys) if hi is None else bisect_right(self.keys, _fl(hi))
        return self.items[a:b] + self.loose

    def remove(self, j, t):
        f = reading(self.pr, t)
        if f is None:
            self.loose.remove((j, t))
            return
        i = bisect_left(self.keys, f)
        while self.items[i][1] is not t:
            i += 1
        del self.keys[i], self.items[i]

    def add(self, j, t):
        f = reading(self.pr, t)
        if f is None:
            self.loose.append((j, t))
            return
        i = bisect_right(self.keys, f)
        self.keys.insert(i, f)
        self.items.insert(i, (j, t))


class State:
    """The current tokens of every sequence (rational data), with search indexes
    by row.  ``from_key(k, n)`` makes the token with canonical key k."""

    def __init__(self, seqs, from_key):
        self.from_key = from_key
        self.reset(seqs)

    def reset(self, seqs):
        self.maps = [{t.key: t for t in toks} for toks in seqs]
        self.indexes = {}

    def lists(self):
        return [list(m.values()) for m in self.maps]

    def near(self, pr, lo, hi):
        if pr not in self.indexes:
            self.indexes[pr] = Index(pr, self.maps)
        return self.indexes[pr].find(lo, hi)

    def move(self, moves):
        """Apply simultaneous moves (j, token, key of its new point): every moved
        token leaves first, then each lands, merging with a token at the same point.
        When many tokens move (a translation of every token, say), the indexes
        are dropped instead of updated one token at a time, and rebuilt when
        next asked for."""
        if len(moves) > 64 and len(moves) * 8 > sum(map(len, self.maps)):
            self.indexes = {}
        for j, t, _ in moves:
            del self.maps[j][t.key]
            for ix in self.indexes.values():
                ix.remove(j, t)
        for j, t, k in moves:
            m = self.maps[j]
            n = t.n
            if k in m:
                e = m.pop(k)
                for ix in self.indexes.values():
                    ix.remove(j, e)
                n += e.n
            new = m[k] = self.from_key(k, n)
            for ix in self.indexes.values():
                ix.add(j, new)


class _Point:
    """A point seen as a token (key and projection memo) for :meth:`OneRow.image_point`."""
    __slots__ = ("key", "memo")

    def __init__(self, k):
        self.key, self.memo = k, {}


def translate(k, v):
    """The canonical key of nums/den + vn/vd for k = (den, nums) canonical and any
    exact (vd, vn): over the common denominator D the lcm of the reduced
    coordinate denominators is D / gcd(D, n_1, ..., n_d)."""
    den, nums = k
    vd, vn = v
    D = den * vd // math.gcd(den, vd)
    a, b = D // den, D // vd
    n = [x * a + y * b for x, y in zip(nums, vn)]
    g = math.gcd(D, *n)
    return (D // g, tuple(x // g for x in n)) if g > 1 else (D, tuple(n))


def intvec(v):
    """(D, integers) with v = integers / D, for a tuple of Fractions."""
    D = math.lcm(*(x.denominator for x in v))
    return D, [x.numerator * (D // x.denominator) for x in v]


class OneRow:
    """An FF layer with eta = 1 whose units all read one rational row u or the
    zero row (a unit with a zero row is constant: active iff b_k > 0).

    On activation pattern S the layer is x + M_S x + c_S with
    M_S = sum_{S, row u} W_k u^T = w_S u^T (all non-zero rows are u), so
    FF(x) = x + <u, x> w_S + c_S, w_S = sum_{k in S, row u} W_k,
    c_S = sum_{k in S} W_k b_k: an exact identity that needs d products instead
    of d^2, done here on integers over one denominator."""

    def __init__(self, ff, pr):
        eta, U, self.b, W = ff
        self.pr, self.d, self.w = pr, len(W), len(U)
        self.rows = [k for k, u in enumerate(U) if any(u)]            # the units reading u
        self.const = tuple(k for k, u in enumerate(U) if not any(u) and self.b[k] > 0)
        self.cols = [tuple(W[i][k] for i in range(self.d)) for k in range(self.w)]
        self.maps = {}
        self.ints = all(type(x) is Fraction for x in self.b) and \
            all(type(x) is Fraction for col in self.cols for x in col)
        if self.ints:    # every column over one denominator Dw: W_k = colsn[k] / Dw
            vs = [intvec(col) for col in self.cols]
            self.Dw = math.lcm(*(D for D, _ in vs))
            self.colsn = [[x * (self.Dw // D) for x in v] for D, v in vs]
        self.prepared = pr.cuts([-self.b[k] for k in self.rows])

    def affine(self, S):
        """(w_S or None if zero, c_S or None if zero), each as (D, integers), not
        necessarily in lowest terms: w_S = sum_S colsn[k] / Dw and, with
        b_k = bn_k / bd_k and Db the lcm of the bd_k, c_S = sum_S colsn[k]
        (bn_k Db / bd_k) / (Dw Db)."""
        if S not in self.maps and self.ints:
            cols = [self.colsn[k] for k in S]
            wcols = [self.colsn[k] for k in S if k not in self.const]
            w = [sum(col[i] for col in wcols) for i in range(self.d)]
            Db = math.lcm(*(self.b[k].denominator for k in S))
            bs = [self.b[k].numerator * (Db // self.b[k].denominator) for k in S]
            c = [sum(col[i] * bk for col, bk in zip(cols, bs)) for i in range(self.d)]
            self.maps[S] = ((self.Dw, w) if any(w) else None, (self.Dw * Db, c) if any(c) else None)
        if S not in self.maps:
            zero = Fraction(0)
            w = tuple(sum((self.cols[k][i] for k in S if k not in self.const), zero)
                      for i in range(self.d))
            c = tuple(sum((self.cols[k][i] * self.b[k] for k in S), zero) for i in range(self.d))
            self.maps[S] = (intvec(w) if any(w) else None, intvec(c) if any(c) else None)
        return self.maps[S]

    def image_key(self, t):
        """The key of FF(t) (exact), or None when the layer leaves t in place:
        x + (N w_n cd + c_n Dp wd) / (Dp wd cd) for <u, x> = N / Dp,
        w = w_n / wd and c = c_n / cd."""
        act = [k for k, sg in zip(self.rows, self.pr.signs(t, self.prepared)) if sg > 0]
        w, c = self.affine(tuple(sorted(self.const + tuple(act))))
        if w is None and c is None:
            return None
        if w is None:
            return translate(t.key, c)
        N, Dp = self.pr.frac(t)
        wd, wn = w
        if c is None:
            return translate(t.key, (Dp * wd, [N * x for x in wn]))
        cd, cn = c
        a, b = N * cd, Dp * wd
        return translate(t.key, (Dp * wd * cd, [x * a + y * b for x, y in zip(wn, cn)]))

    def image_point(self, p):
        """FF of the point p (a tuple of Fractions)."""
        den = math.lcm(*(x.denominator for x in p))
        t = _Point((den, tuple(x.numerator * (den // x.denominator) for x in p)))
        k = self.image_key(t)
        return tuple(p) if k is None else tuple(Fraction(v, k[0]) for v in k[1])

    def apply(self, state):
        """Move, in ``state``, exactly the tokens this layer moves."""
        cuts = sorted({-self.b[k] for k in self.rows})
        moving = []
        for i in range(len(cuts) + 1):   # on (cuts[i-1], cuts[i]] the active units have cut <= cuts[i-1]
            lo, hi = (None if i == 0 else cuts[i - 1]), (None if i == len(cuts) else cuts[i])
            act = [k for k in self.rows if lo is not None and -self.b[k] <= lo]
            if self.affine(tuple(sorted(self.const + tuple(act)))) != (None, None):
                moving.append((lo, hi))
        if not moving:
            return
        groups = [moving[0]]     # runs of adjacent moving intervals (a layer of several hats has several)
        for lo, hi in moving[1:]:
            if groups[-1][1] == lo:
                groups[-1] = (groups[-1][0], hi)
            else:
                groups.append((lo, hi))
        moves, seen = [], set()
        for lo, hi in groups:    # each search returns a superset of its run's tokens
            for j, t in state.near(self.pr, lo, hi):
                if id(t) in seen:            # found twice (equal float readings, or loose)
                    continue
                seen.add(id(t))
                k = self.image_key(t)
                if k is not None:
                    moves.append((j, t, k))
        state.move(moves)


def row_of(U):
    """The row a one-row layer's units read (its first non-zero row)."""
    return next((u for u in U if any(u)), U[0])


def is_one_row(ff, key):
    """Is this an FF layer with eta = 1, rational rows, and every unit on one row
    or on the zero row?"""
    eta, U, b, W = ff
    return (bool(U) and type(eta) is Fraction and eta == 1
            and all(type(x) is Fraction for u in U for x in u)
            and len({key(u) for u in U if any(u)}) <= 1)
