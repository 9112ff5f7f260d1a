"""Exact decisions over many tokens at NumPy speed: a float filter with a proven bound.

Every function here returns exactly what the plain exact loop over the tokens
would return.  Floats only *filter*: each token's value <a, x> is computed in
float64 together with a rigorous bound on its error, and only the tokens whose
intervals cannot be told apart (the candidates for a maximum, a tie, a nearest
value) are compared in exact arithmetic.  When the filter does not apply (an
algebraic coordinate, a number beyond the float range, a direction that does
not convert with a relative error) the exact loop runs instead.

The error bound.  Let u = 2^-53.  Python's float(Fraction) (true division of
its integers) is correctly rounded: fx = x (1 + e), |e| <= u, for a normal
result, |fx - x| <= 2^-1075 for a subnormal one (0 converts exactly).  A
direction coordinate converts exactly or to a normal float (checked), so
fa = a (1 + e'), |e'| <= u.  The value is summed coordinate by coordinate,
fv = fl(... fl(fl(fa_0 fx_0) + fl(fa_1 fx_1)) ...), so (Higham, Thm 3.1, with
the two conversion errors counted as two more factors (1 + e))

    |fv - <a, x>| <= gamma_{d+2} sum_i |fa_i| |fx_i| (1 + O(u)) + (sum_i |fa_i| + d) 2^-1074,

gamma_k = k u / (1 - k u).  We use ``(d + 4) 2^-52 S + (sum |fa_i| + d) 2^-1000``
with S = sum |fa_i| |fx_i| computed in floats: the factor 2 and the two extra
terms cover gamma's denominator and the rounding of S itself (d < 2^20).  A
value or bound that is not finite sends the computation to the exact loop.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from ..numbers import dot, sign, upper_bound

TINY = 2.0 ** -1000
NORMAL = 2.0 ** -1021
SMALL = 8          # below this many points the exact loop is as fast


def float_row(x):
    """The correctly rounded floats of a rational point (cached on a Point), or None."""
    cache = getattr(x, "__dict__", None)
    if cache is not None:
        f = cache.get("f", False)
        if f is not False:
            return f
    f = None
    if all(type(c) is Fraction for c in x):
        try:
            f = tuple(c.numerator / c.denominator for c in x)
        except OverflowError:
            f = None
    if cache is not None:
        cache["f"] = f
    return f


def float_rows(points, d):
    """(n x d) float64 array of the points, or None when one is not a finite float."""
    rows = []
    for x in points:
        f = float_row(x)
        if f is None:
            return None
        rows.append(f)
    F = np.array(rows, dtype=np.float64).reshape(len(rows), d)
    return F if np.isfinite(F).all() else None


def float_direction(a):
    """float64 coordinates of an exact rational direction, each exact or normal; else None."""
    out = []
    for c in a:
        if type(c) is Fraction:
            try:
                f = c.numerator / c.denominator
            except OverflowError:
                return None
        elif type(c) is int:
            f = float(c)
        else:
            return None
        if f != c and abs(f) < NORMAL:
            return None
        out.append(f)
    return out


def sequential(F, fa):
    """sum_i fa_i F[:, i], summed in coordinate order: the same floats as Python's
    ``sum(x * y for x, y in zip(fa, row))`` for every row."""
    v = F[:, 0] * fa[0]
    for i in range(1, len(fa)):
        v = v + F[:, i] * fa[i]
    return v


def values(a, F):
    """(fv, err): float values of <a, x> for the rows of F and a rigorous bound on
    the error of each (module docstring), or None when the filter does not apply."""
    if F is None or not len(F):
        return None
    fa = float_direction(a)
    if fa is None:
        return None
    d = F.shape[1]
    with np.errstate(all="ignore"):
        fv = sequential(F, fa)
        S = sequential(np.abs(F), [abs(c) for c in fa])
        err = S * ((d + 4) * 2.0 ** -52) + (sum(abs(c) for c in fa) + d) * TINY
    if not (np.isfinite(fv).all() and np.isfinite(err).all()):
        return None
    return fv, err


class Tokens:
    """The tokens of a list of sequences, flattened, with their float rows."""

    def __init__(self, seqs, d):
        self.seqs = seqs
        self.points = [x for X in seqs for x in X]
        lengths = [len(X) for X in seqs]
        self.starts = np.cumsum([0] + lengths[:-1]).astype(np.intp)
        self.group = np.repeat(np.arange(len(seqs)), lengths)
        ok = self.points and all(lengths)
        self.F = float_rows(self.points, d) if ok else None


def _groups(tokens, cand):
    """Indices of the candidates of each sequence (cand: a boolean mask over tokens)."""
    counts = np.add.reduceat(cand.astype(np.intp), tokens.starts).tolist()
    idx = np.flatnonzero(cand).tolist()
    k = 0
    for c in counts:
        yield idx[k:k + c]
        k += c


def unique_maxima(a, tokens):
    """For each sequence, its unique maximiser of <a, .> or None when the maximum is
    taken twice: exactly the answer of comparing every exact value."""
    vb = values(a, tokens.F)
    if vb is None:
        return [exact_unique_max(a, X) for X in tokens.seqs]
    fv, err = vb
    lo, hi = fv - err, fv + err
    top = np.maximum.reduceat(lo, tokens.starts)       # the true maximum is >= top
    cand = hi >= top[tokens.group]                     # so only these can reach it
    pts = tokens.points
    return [pts[ix[0]] if len(ix) == 1 else exact_unique_max(a, [pts[i] for i in ix])
            for ix in _groups(tokens, cand)]


def max_abs(a, tokens):
    """For each sequence, max |<a, x>| over its tokens, exactly (for algebraic
    tokens: the largest rational upper bound of the |<a, x>|)."""
    vb = values(a, tokens.F)
    if vb is None:
        return [max(upper_bound(abs_(dot(a, x))) for x in X) for X in tokens.seqs]
    fv, err = vb
    av = np.abs(fv)
    top = np.maximum.reduceat(av - err, tokens.starts)   # the true maximum is >= top
    cand = av + err >= top[tokens.group]
    pts = tokens.points
    return [max(abs_(dot(a, pts[i])) for i in ix) for ix in _groups(tokens, cand)]


def unique_max(a, X):
    """The unique maximiser of <a, .> over the points X, or None (a tie)."""
    if len(X) < SMALL:
        return exact_unique_max(a, X)
    return unique_maxima(a, Tokens([list(X)], len(a)))[0]


def abs_(x):
    return x if sign(x) >= 0 else -x


def exact_unique_max(a, X):
    best, arg, tie = None, None, False
    for x in X:
        s = dot(a, x)
        if best is None or sign(s - best) > 0:
            best, arg, tie = s, x, False
        elif s == best:
            tie = True
    return None if tie else arg


def extreme(a, points, F=None, largest=True):
    """max (or min) of <a, x> over the points, exactly."""
    if F is None and len(points) >= SMALL:
        F = float_rows(points, len(a))
    vb = values(a, F)
    if vb is None:
        vals = [dot(a, x) for x in points]
        return max(vals) if largest else min(vals)
    fv, err = vb
    if largest:
        idx = np.flatnonzero(fv + err >= (fv - err).max())
        return max(dot(a, points[i]) for i in idx.tolist())
    idx = np.flatnonzero(fv - err <= (fv + err).min())
    return min(dot(a, points[i]) for i in idx.tolist())


def value_unique_gap(v, others, p, F=None):
    """(s0, gap): s0 = <v, p> and the smallest |<v, q> - s0| over the points q of
    ``others`` (none of them p): None when some q has the value s0, 1 when there is
    no other point.  ``F``: the float rows of ``others`` if already computed."""
    s0 = dot(v, p)
    if not others:
        return s0, Fraction(1)
    vb = vp = None
    if len(others) >= SMALL:
        F = float_rows(others, len(v)) if F is None else F
        vb, vp = values(v, F), values(v, float_rows([p], len(v)))
    if vb is None or vp is None:
        g = min(abs_(dot(v, q) - s0) for q in others)
        return s0, (None if g == 0 else g)
    fv, err = vb
    f0, e0 = float(vp[0][0]), float(vp[1][0])
    dist = np.abs(fv - f0)
    upper = (dist + err + e0).min()          # the true gap is at most this
    idx = np.flatnonzero(dist - err - e0 <= upper).tolist()
    g = min(abs_(dot(v, others[i]) - s0) for i in idx)
    return s0, (None if g == 0 else g)


def injective(v, points, F=None):
    """True when <v, .> takes distinct values on the (distinct) points, exactly."""
    n = len(points)
    if n < 2:
        return True
    vb = None
    if n >= SMALL:
        vb = values(v, F if F is not None else float_rows(points, len(v)))
    if vb is None:
        return len({dot(v, x) for x in points}) == n
    fv, err = vb
    lo, hi = fv - err, fv + err
    order = np.argsort(lo, kind="stable")
    # intervals sorted by their lower ends: two points can share a value only if their
    # intervals meet, and then they lie in one run in which every interval starts
    # before the largest upper end of the intervals before it
    hi_run = np.maximum.accumulate(hi[order])
    meets = (lo[order][1:] <= hi_run[:-1]).tolist()
    if not any(meets):
        return True
    order = order.tolist()
    i = 0
    while i < n - 1:
        if not meets[i]:
            i += 1
            continue
        j = i
        while j < n - 1 and meets[j]:
            j += 1
        run = [points[k] for k in order[i:j + 1]]
        if len({dot(v, x) for x in run}) != len(run):
            return False
        i = j + 1
    return True


def sort_exact(vals):
    """The exact scalars sorted: by float first and exactly only among equal floats
    (correctly rounded conversion is monotone, so the order is the exact one)."""
    if all(isinstance(s, Fraction) for s in vals):
        try:
            return sorted(vals, key=lambda s: (s.numerator / s.denominator, s))
        except OverflowError:
            pass
    return sorted(vals)


__all__ = ["float_row", "float_rows", "values", "sequential", "Tokens", "unique_maxima", "unique_max",
           "max_abs", "extreme", "value_unique_gap", "injective", "sort_exact"]
