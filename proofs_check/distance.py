"""Distances between an output and its target, exactly: the verdict of a weights
certificate (a given transformer, not a construction).

Standard library only.  For a set of output points Z and a target set Y the
squared Hausdorff distance is

    H^2(Z, Y) = max( max_z min_y |z - y|^2, max_y min_z |z - y|^2 )

(Euclidean norm), computed in exact arithmetic (Fractions, or elements of the
certificate's number field, compared by their sign): no square root is taken,
a tolerance T is compared as H^2 <= T^2.  A causal output is compared position
by position: |z_i - y_i|^2 for each i.
"""
from __future__ import annotations

from fractions import Fraction

from .numbers import KBITS, Rejected, _int_bits, sgn, spend
from .reading import causal_bound, key

__all__ = ["sq", "hausdorff_sq", "larger", "decimal", "text", "verdict_sets", "verdict_positions", "summary"]


def sq(z, y):
    """|z - y|^2, exactly (big results charged to the work budget, --max-work)."""
    acc = None
    for a, b in zip(z, y):
        t = (a - b) * (a - b)
        acc = t if acc is None else acc + t
    if type(acc) is Fraction and acc.denominator.bit_length() + acc.numerator.bit_length() >= KBITS:
        spend(_int_bits(acc), "output")
    return acc


def larger(a, b):
    """The larger of two exact numbers (a when equal)."""
    return b if sgn(b - a) > 0 else a


def _nearest(p, Q):
    best = None
    for q in Q:
        s = sq(p, q)
        if best is None or sgn(s - best) < 0:
            best = s
            if not sgn(best):
                break
    return best


def hausdorff_sq(Z, Y, candidates=None):
    """H^2(Z, Y) of two non-empty point lists, exactly.  ``candidates(P, Q)`` may
    give, for each point of P, indices of Q among which its nearest points are
    (a float filter, filters.nearest_sets; None: all of Q)."""
    worst = None
    for P, Q in ((Z, Y), (Y, Z)):
        cand = candidates(P, Q) if candidates else None
        for i, p in enumerate(P):
            s = _nearest(p, Q if cand is None else [Q[j] for j in cand[i]])
            worst = s if worst is None else larger(worst, s)
    return worst


def decimal(q):
    """A three-digit decimal reading of a rational q >= 0 ("1.23e-4"), from integers
    (no float overflow); None for a number-field element."""
    if type(q) is not Fraction and not isinstance(q, int):
        return None
    q = Fraction(q)
    if q == 0:
        return "0"
    p, d = q.numerator, q.denominator
    e = (p.bit_length() - d.bit_length()) * 30103 // 100000        # about log10(q)
    for e in (e - 1, e, e + 1):
        m = (p * 10 ** (2 - e) // d) if e <= 2 else p // (d * 10 ** (e - 2))
        if 100 <= m < 1000:
            return f"{m // 100}.{m % 100:02d}e{e}"
    return f"~1e{e}"


def text(q):
    """Exact text of a rational ("p" or "p/q", or its decimal reading beyond 10,000
    bits); None for a field element."""
    if isinstance(q, int):
        q = Fraction(q)
    if type(q) is not Fraction:
        return None
    if max(abs(q.numerator).bit_length(), q.denominator.bit_length()) >= 10000:
        return decimal(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _reason(where, h):
    t = text(h)
    if t is None:
        return f"{where}: squared Hausdorff distance > 0"
    return f"{where}: squared Hausdorff distance {t} (about {decimal(h)})"


def verdict_sets(pairs, outs, tol, candidates=None):
    """The largest squared Hausdorff distance between output and target sets (0 when
    every set is equal); Rejected at the first sequence beyond the tolerance (any
    positive distance without one)."""
    worst = 0
    for j, ((_, Y), Z) in enumerate(zip(pairs, outs)):
        if {key(z) for z in Z} == {key(y) for y in Y}:
            continue
        h = hausdorff_sq(Z, Y, candidates)
        if sgn(h) == 0:        # one number written two ways (a field): the same set
            continue
        if tol is None or sgn(h - tol * tol) > 0:
            what = "T(X) differs from Y" if tol is None else f"T(X) is farther than {text(tol)} from Y"
            above = "" if tol is None else f", above T^2 = {text(tol * tol)} (about {decimal(tol * tol)})"
            raise Rejected(_reason(f"output: sequence {j}: {what}", h) + above)
        worst = larger(worst, h)
    return worst


def verdict_positions(pairs, outs, tol):
    """Causal: the largest squared distance of a position to its target;
    Rejected at the first position beyond the tolerance."""
    worst = Fraction(0)
    for j, ((_, Y), Z) in enumerate(zip(pairs, outs)):
        for i, (y, z) in enumerate(zip(Y, Z)):
            if y == z:
                continue
            h = sq(z, y)
            if tol is None or h > tol * tol:
                what = "the output differs from its target" if tol is None else \
                    f"the output is farther than {text(tol)} from its target"
                t = text(h)
                above = "" if tol is None else f", above T^2 = {text(tol * tol)} (about {decimal(tol * tol)})"
                raise Rejected(f"output: sequence {j} position {i}: {what}: squared distance {t} "
                               f"(about {decimal(h)}){above}")
            worst = max(worst, h)
    return worst


def summary(attention, cert, pairs, shape, tol, worst, d):
    """The summary of a verified weights certificate (the construction's block bound
    is reported beside the model's size, not required)."""
    N = len(pairs)
    out = {"kind": "weights", "attention": attention, "blocks": len(shape),
           "heads": max((h for _, h, _ in shape), default=0),
           "width": max((w for w, _, _ in shape), default=0), "width_bound": None,
           "parameters": sum(p for _, _, p in shape), "claims_checked": {}, "N": N, "d": d,
           "tolerance": None if tol is None else text(tol)}
    if attention == "causal":
        limit, T, c = causal_bound(pairs)
        out.update(positions=sum(len(X) for X, _ in pairs), construction_bound=limit)
    else:
        sum_m = sum(len({key(y) for y in Y}) for _, Y in pairs)
        out.update(sum_m=sum_m, construction_bound=(2 * sum_m + 3 * N if attention == "softmax"
                                                    else 2 * sum_m + 2 * N + 1))
        if attention == "softmax":
            out.update(tau=cert["softmax"]["tau"], order=cert["softmax"].get("order", 64))
    out["block_bound"] = None
    if worst is not None:
        out["largest_distance_sq"] = text(worst)
        out["largest_distance"] = decimal(worst)
    return out
