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
"""
from __future__ import annotations

import math
from operator import mul

U = 2.0 ** -53
LO, HI = 2.0 ** -500, 2.0 ** 500


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


def _gram(F, sign):
    """Rows of the float Gram matrix sign * fl(<x^_i, x^_j>): one matrix product
    in NumPy when it is installed and the matrix is large enough to repay its
    import (the bound above allows any summation order, with or without fused
    multiply-add), else plain Python."""
    try:
        if len(F) ** 2 * len(F[0]) < 50_000:
            raise ImportError
        import numpy
    except ImportError:
        return [[sign * sum(map(mul, fi, fj)) for fj in F] for fi in F]
    A = numpy.array(F, dtype=numpy.float64)
    return (A @ A.T * sign).tolist()


def gram_argmax(keys, sign):
    """For each token i (keys: (den, nums) per token), the indices j maximising
    sign * <x_i, x_j> (sign = +1 or -1), exactly."""
    n = len(keys)
    F = _floats(keys) if n > 2 else None
    res = []
    if F is not None:
        d = len(keys[0][1])
        norms = [math.sqrt(sum(map(mul, v, v))) for v in F]
        big = max(norms)
        c = 4 * (d + 3) * U * big
        G = _gram(F, sign)
    for i in range(n):
        ni = keys[i][1]
        if F is None:
            cand = range(n)
        else:
            s = G[i]
            best = max(s)
            cut = best - c * norms[i]
            cand = [j for j, v in enumerate(s) if not v < cut]
        bj = None
        top = []
        for j in cand:
            a, b = sign * sum(map(mul, ni, keys[j][1])), keys[j][0]
            if bj is None:
                ba, bj, top = a, b, [j]
                continue
            lhs, rhs = a * bj, ba * b
            if lhs > rhs:
                ba, bj, top = a, b, [j]
            elif lhs == rhs:
                top.append(j)
        res.append(tuple(top))
    return res
