"""Float filters for exact decisions (standard library floats, IEEE 754 binary64).

A filter never decides alone: it only discards candidates that it *proves* are
not maximal, from an error bound written out below; every candidate it keeps
is decided in exact integer arithmetic.  Where the bound's premises fail
(a coordinate outside [2^-500, 2^500] in absolute value, or not finite), the
filter is skipped and everything is decided exactly.

Gram argmax (attention with A = c I on rational tokens)
-------------------------------------------------------
Token j is x_j = nums_j / den_j (integers).  u = 2^-53.

* x^_jk = fl(nums_jk / den_j) is correctly rounded (CPython's int / int), so
  x^_jk = x_jk (1 + a), |a| <= u, with every non-zero |x^_jk| in [2^-500, 2^500]
  (checked): products lie in [2^-1000, 2^1000], normal numbers, so no
  underflow or overflow occurs in a dot product of d <= 2^20 terms.
* s^_ij = fl(sum_k x^_ik x^_jk) (products, then any summation order):
  |s^_ij - s_ij| <= ((1 + u)^3 (1 + g) - 1) sum_k |x_ik x_jk|, g = (d-1) u / (1 - (d-1) u),
  which is below 1.01 (d + 3) u sum_k |x_ik x_jk|.
* sum_k |x_ik x_jk| <= |x_i| |x_j| (Cauchy-Schwarz), and the float norms
  n^_i = fl(sqrt(fl(sum x^_ik^2))) satisfy |x_i| <= 1.01 n^_i: the sum of
  squares is within (d + 2) u of |x^_i|^2 (no underflow: squares >= 2^-1000),
  x^ within u of x, and IEEE 754 sqrt is correctly rounded (math.sqrt), so
  the relative error of n^_i is below (d + 4) u, far below 1%.
* So e_ij = 2 (d + 3) u n^_i n^_j bounds the error, and with M = max_j n^_j,
  E_i = 4 (d + 3) u n^_i M >= 2 e_ij for all j.
* If fl(s^_ij) < fl(s^_ib - E_i) for the float best b, then s_ij < s_ib: the
  rounding of the subtraction is at most u (|s^_ib| + E_i) <= 2.1 u n^_i M,
  well inside the slack E_i / 2 - max e_ij >= 2 (d + 3) u n^_i M - ... >= 0 that
  remains after the two errors of E_i / 2 each.
Negating a float (sign = -1) is exact.  Every j not discarded is compared exactly: s_ij = (nums_i . nums_j) / (den_i den_j),
and den_i > 0 is common to the row, so the exact maximisers of
(nums_i . nums_j) / den_j are found by cross-multiplication.

Any rational A (:class:`Filter`)
---------------------------------
The score <A x_i, x_j> is <q_i, x_j> with the query q_i = A x_i, computed
exactly as integers (qnums_i / qden_i).  Nothing above used q_i = x_i: with
x^_i replaced by q^_i = fl(qnums_i / qden_i) (correctly rounded, premises
checked the same way) and n^_i by the float norm of q^_i, the same bound
holds, so the same cut discards the same way.  The Gram case is q_i = sign x_i.

Memory: the float scores are formed a block of rows at a time (at most
2^21 floats), never as an n x n matrix; each row keeps its candidates only.
"""
from __future__ import annotations

import math
from operator import mul

U = 2.0 ** -53
LO, HI = 2.0 ** -500, 2.0 ** 500
BLOCK = 1 << 21          # floats of scores formed at once
NUMPY_AT = 50_000        # products from which NumPy repays its import


def _floats(keys):
    """Float coordinates of tokens given as (den, nums), or None where the
    premises of the bound fail."""
    out = []
    for den, nums in keys:
        try:
            v = [k / den for k in nums]
        except OverflowError:
            return None
        for f, k in zip(v, nums):
            if k and not LO <= abs(f) <= HI:
                return None
        out.append(v)
    return out


def _numpy():
    try:
        import numpy
    except ImportError:          # the filter works in plain Python, row by row
        return None
    return numpy


class Filter:
    """Float scores fl(<q^_i, x^_j>) for queries ``qkeys`` against keys ``keys``
    (both as (den, nums)), a block of rows at a time, with the bound above.

    ``row(i)`` gives (candidates, low): the indices j the bound cannot discard
    (the exact maximisers are among them), and the largest float score among
    the discarded ones (None if none); rows are best asked for in order.
    ``Filter.make`` returns None where the premises fail."""

    @classmethod
    def make(cls, qkeys, keys):
        if not keys or not qkeys or len(keys[0][1]) > 1 << 20:
            return None
        Q = _floats(qkeys)
        X = _floats(keys) if Q is not None else None
        if X is None:
            return None
        return cls(Q, X)

    def __init__(self, Q, X):
        d = len(X[0])
        self.np = np = _numpy()
        self.qnorms = [math.sqrt(sum(map(mul, v, v))) for v in Q]
        self.big = max(math.sqrt(sum(map(mul, v, v))) for v in X)
        self.c0 = 4 * (d + 3) * U * self.big
        self.d, self.n = d, len(X)
        if np is not None and len(Q) * len(X) * d >= NUMPY_AT:
            self.Q, self.X = np.array(Q, dtype=np.float64), np.array(X, dtype=np.float64)
            self.step = max(1, BLOCK // len(X))
        else:
            self.np, self.Q, self.X = None, Q, X
        self.at, self.rows = None, None

    def _block(self, i):
        np, lo = self.np, i - i % self.step
        S = self.Q[lo:lo + self.step] @ self.X.T
        best = S.max(axis=1)
        cut = best - self.c0 * np.array(self.qnorms[lo:lo + self.step])
        keep = ~(S < cut[:, None])
        r, c = np.nonzero(keep)                # row-major: each row's columns in order
        ends = np.cumsum(np.bincount(r, minlength=S.shape[0])).tolist()
        c = c.tolist()
        low = np.where(keep, -np.inf, S).max(axis=1).tolist()
        rows, start = [], 0
        for e, lw in zip(ends, low):
            rows.append((c[start:e], None if e - start == self.n else lw))
            start = e
        self.at, self.rows = lo, rows

    def row(self, i):
        if self.np is None:
            s = [sum(map(mul, self.Q[i], x)) for x in self.X]
            cut = max(s) - self.c0 * self.qnorms[i]
            cand = [j for j, v in enumerate(s) if not v < cut]
            low = max((v for v in s if v < cut), default=None)
            return cand, low
        if self.at is None or not self.at <= i < self.at + self.step:
            self._block(i)
        return self.rows[i - self.at]


def argmax_keys(qkeys, keys):
    """For each query (den, nums) in ``qkeys``, the indices j maximising
    <q, x_j> over the tokens x_j = ``keys`` (den, nums), exactly; equal index
    sets are one tuple object."""
    n = len(keys)
    F = Filter.make(qkeys, keys) if n > 2 else None
    res, sets = [], {}
    for i, (_, qn) in enumerate(qkeys):
        cand = range(n) if F is None else F.row(i)[0]
        bj = None
        top = []
        for j in cand:
            a, b = sum(map(mul, qn, keys[j][1])), keys[j][0]
            if bj is None:
                ba, bj, top = a, b, [j]
                continue
            lhs, rhs = a * bj, ba * b
            if lhs > rhs:
                ba, bj, top = a, b, [j]
            elif lhs == rhs:
                top.append(j)
        t = tuple(top)
        res.append(sets.setdefault(t, t))
    return res


def gram_argmax(keys, sign):
    """For each token i (keys: (den, nums) per token), the indices j maximising
    sign * <x_i, x_j> (sign = +1 or -1), exactly."""
    q = keys if sign > 0 else [(den, tuple(-v for v in nums)) for den, nums in keys]
    return argmax_keys(q, keys)


def query_keys(M, keys):
    """The queries q_i = M x_i as (den, nums) for rational rows M and tokens
    (den, nums): integers only."""
    L = math.lcm(*(c.denominator for r in M for c in r))
    Mi = [[int(c * L) for c in r] for r in M]
    return [(den * L, tuple(sum(map(mul, r, nums)) for r in Mi)) for den, nums in keys]


# ------------------------------------------------------------------ nearest points
# The squared Hausdorff distance of a weights certificate (distance.py) needs, for
# every point p of one set, min_q |p - q|^2 over the other set.  Float filter, for
# rational points with every non-zero coordinate in [2^-500, 2^500] (checked):
#
# * p^_k = fl(p_k) = p_k (1 + a), |a| <= u, the same for q; the float difference
#   e_k = fl(p^_k - q^_k) is within u |p_k - q_k| + (1 + u) u (|p_k| + |q_k|)
#   <= 3 u s_k of p_k - q_k, s_k = |p_k| + |q_k|;
# * so |e_k^2 - (p_k - q_k)^2| <= 3 u s_k (2 s_k + 3 u s_k) <= 7 u s_k^2, and the
#   squares and the sum of d terms (any order) add (d + 2) u (1 + ...) relative to
#   sum e_k^2 <= 2 sum s_k^2, plus at most d 2^-1022 for results in the subnormal
#   range: |D^ - D| <= (2 d + 12) u sum s_k^2 + d 2^-1022;
# * sum s_k^2 = | |p| + |q| |_2^2 <= (|p|_2 + |q|_2)^2 <= 1.03 (n^_p + M)^2 with the
#   float norms n^ (within 1% of the norms, as above) and M the largest of the
#   other set: so E_p = 1.03 (2 d + 12) u (n^_p + M)^2 + d 2^-1022 bounds the error
#   of every D^_pq of the row.
# * A q with D^_pq > (D^_min + 2 E_p)(1 + 4 u) cannot be nearest: D_pq > D^_pq - E_p
#   > D^_min + E_p >= D_{q*} for the float best q*.  Every other q is compared
#   exactly.  The differences are formed a block of rows at a time.


def nearest_sets(P, Q):
    """For each point of P (tuples of Fractions), the indices of Q that may be its
    nearest point (a superset of the exact nearest ones); None where the premises
    fail (then every pair is exact)."""
    np = _numpy()
    if np is None or not P or not Q:
        return None
    from .reading import key
    FP, FQ = _floats([key(p) for p in P]), _floats([key(q) for q in Q])
    if FP is None or FQ is None:
        return None
    d = len(P[0])
    A, B = np.array(FP, dtype=np.float64), np.array(FQ, dtype=np.float64)
    nP, nQ = np.sqrt((A * A).sum(axis=1)), np.sqrt((B * B).sum(axis=1))
    M = float(nQ.max())
    E = 1.03 * (2 * d + 12) * U * (nP + M) ** 2 + d * 2.0 ** -1022
    step = max(1, BLOCK // (len(Q) * d))
    out = []
    with np.errstate(all="ignore"):
        for lo in range(0, len(P), step):
            diff = A[lo:lo + step, None, :] - B[None, :, :]
            D = (diff * diff).sum(axis=2)
            if not np.isfinite(D).all():
                return None
            cut = (D.min(axis=1) + 2 * E[lo:lo + step]) * (1 + 4 * U)
            keep = D <= cut[:, None]
            out.extend(np.flatnonzero(row).tolist() for row in keep)
    return out
