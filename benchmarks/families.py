"""Seeded generators of benchmark datasets, one per kind of data users bring.

Each generator returns a dataset object in the documented format
(``{"dimension": d, "sequences": [{"input": [...], "output": [...]}]}``) with
every coordinate as an exact string, ready for ``exactseq.dataset.from_obj``
or ``json.dump``.  Every dataset meets Assumption 1.3: inputs pairwise
distinct as sets, no token repeated inside an input or an output, outputs
non-empty and no longer than their inputs.  The same arguments (seed
included) always give the same dataset.

- ``generic``: p/q with p a random signed 40-bit integer and q a random
  23-bit integer, so nearly every coordinate has its own denominator;
- ``decimals``: 6-significant-digit decimals ("0.123456", "-3.14159",
  "27.1828"), a fraction ``overlap`` of each input copied from the previous
  input (so separation blocks are needed);
- ``dyadic``: k / 2^bits with |k| < 2^bits (one shared power-of-two
  denominator, the easiest case for exact arithmetic);
- ``algebraic``: small rationals, a share of them multiplied by one of
  sqrt(2), sqrt(3), (1+sqrt(5))/2 (a field of degree at most 8).
"""
from __future__ import annotations

import random
from fractions import Fraction

from exactseq.hostile import build_sequences as _build, decimal_text

__all__ = ["generic", "decimals", "dyadic", "algebraic", "FAMILIES", "validate"]


def _lengths(rng, N, nmin, nmax):
    if not 1 <= nmin <= nmax:
        raise ValueError("need 1 <= nmin <= nmax")
    return [rng.randint(nmin, nmax) for _ in range(N)]


def generic(N, nmin, nmax, d, m, seed=0, overlap=0.0):
    """p/q with p a signed 40-bit integer and q a 23-bit integer (2^22 <= q < 2^23)."""
    rng = random.Random(f"generic-{seed}")

    def coord():
        q = rng.randrange(2 ** 22, 2 ** 23)
        p = rng.randrange(-2 ** 40 + 1, 2 ** 40)
        return str(Fraction(p, q))  # lowest terms: distinct texts are distinct numbers

    return _build(rng, N, _lengths(rng, N, nmin, nmax), d, m, coord, overlap)


def decimals(N, n, d, m, overlap=0.3, seed=0, nmax=None):
    """6-significant-digit decimals between 0.1 and 100 in absolute value, either sign
    ("0.123456", "-3.14159", "27.1828").  Inputs of n tokens (n to nmax if given),
    a fraction ``overlap`` of each copied from the previous input; m fresh outputs."""
    rng = random.Random(f"decimals-{seed}")

    def coord():
        k = rng.randrange(100000, 1000000) * rng.choice((1, -1))
        return decimal_text(k, rng.choice((4, 5, 6)))

    def canonical(c):  # equal decimals have equal text once trailing zeros are dropped
        return c.rstrip("0").rstrip(".") if "." in c else c

    return _build(rng, N, _lengths(rng, N, n, nmax or n), d, m, coord, overlap,
                  key=lambda t: tuple(map(canonical, t)))


def dyadic(N, nmin, nmax, d, m, bits=40, overlap=0.0, seed=0):
    """k / 2^bits with |k| < 2^bits, as written (not reduced): one denominator, so
    equal texts are equal numbers.  The random stream is the original benchmark's
    (``random.Random(seed)``, lengths drawn sequence by sequence), so its tables
    are reproduced."""
    rng = random.Random(seed)

    def coord():
        return f"{rng.randrange(-2 ** bits + 1, 2 ** bits)}/{2 ** bits}"

    def point():
        return tuple(coord() for _ in range(d))

    seqs, prev, input_sets = [], [], set()
    for _ in range(N):
        n = rng.randint(nmin, nmax)
        k = int(overlap * min(n, len(prev)))
        toks = rng.sample(prev, k) if k else []
        seen = set(toks)
        while len(toks) < n:
            t = point()
            if t not in seen:
                seen.add(t)
                toks.append(t)
        out, seen_out = [], set()
        while len(out) < min(m, n):
            t = point()
            if t not in seen_out:
                seen_out.add(t)
                out.append(t)
        if frozenset(seen) in input_sets:  # probability about 2^-(bits d)
            raise ValueError("two equal inputs drawn; use another seed")
        input_sets.add(frozenset(seen))
        seqs.append({"input": [list(t) for t in toks], "output": [list(t) for t in out]})
        prev = toks
    return {"dimension": d, "sequences": seqs}


RADICALS = ("sqrt(2)", "sqrt(3)", "(1+sqrt(5))/2")


def algebraic(N, n, d, m, seed=0, radicals=RADICALS, share=0.25, overlap=0.0, nmax=None):
    """Small rationals r = p/q (0 < |p| <= 20, 1 <= q <= 9); a fraction ``share`` of
    the coordinates is r times one of ``radicals`` (at most these three, so the
    number field has degree at most 8).  Inputs of n tokens (n to nmax if given)."""
    rng = random.Random(f"algebraic-{seed}")

    def coord():
        r = Fraction(rng.choice((1, -1)) * rng.randint(1, 20), rng.randint(1, 9))
        if rng.random() < share:
            rad = rng.choice(radicals)
            return f"{r}*{rad}" if r.denominator > 1 or r != 1 else rad
        return str(r)

    def number(c):
        # r * radical (r != 0) is irrational and equals r' * radical' only if both
        # agree; so (radical, r) identifies the number.
        for rad in radicals:
            if c == rad:
                return (rad, Fraction(1))
            if c.endswith("*" + rad):
                return (rad, Fraction(c[:-len(rad) - 1]))
        return ("", Fraction(c))

    return _build(rng, N, _lengths(rng, N, n, nmax or n), d, m, coord, overlap,
                  key=lambda t: tuple(map(number, t)))


FAMILIES = {"generic": generic, "decimals": decimals, "dyadic": dyadic, "algebraic": algebraic}


def validate(obj):
    """Raise ValueError unless obj meets Assumption 1.3 (for rational datasets, by
    value; for others, by text; exactseq.dataset.from_obj decides exactly)."""
    def point(t):
        try:
            return tuple(Fraction(c) for c in t)
        except (ValueError, ZeroDivisionError):
            return tuple(t)
    d = obj["dimension"]
    sets = set()
    for j, s in enumerate(obj["sequences"]):
        X, Y = [point(t) for t in s["input"]], [point(t) for t in s["output"]]
        if any(len(t) != d for t in X + Y):
            raise ValueError(f"sequence {j}: a token not of dimension {d}")
        if len(set(X)) != len(X) or len(set(Y)) != len(Y):
            raise ValueError(f"sequence {j}: a repeated token")
        if not 1 <= len(Y) <= len(X):
            raise ValueError(f"sequence {j}: {len(Y)} outputs for {len(X)} inputs")
        if frozenset(X) in sets:
            raise ValueError(f"sequence {j}: input equal to an earlier one")
        sets.add(frozenset(X))
