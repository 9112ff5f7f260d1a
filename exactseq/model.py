"""Transformer layers with exact weights, and a plain exact evaluator.

Semantics (MATH.md section 2):

* ``FF(x) = eta * x + W relu(U x + b)``, per token; ``U`` is w x d, ``W`` d x w.
* ``SA(X)_i = rho * x_i + sum_j w_ij V x_j`` with hardmax weights: the
  maximisers C_i of ``<A x_i, x_j>`` over j share weight 1/|C_i| (ties kept).
* Several heads, :class:`MultiSA`: ``SA(X)_i = rho * x_i + sum_h V_h mean{x_j :
  j maximises <A_h x_i, x_j>}`` (each head's maximisers share its weight, ties
  kept); one head is :class:`SA`.
* A block is ``SA(FF(X))``; a transformer applies its blocks in order.
* Masked (causal) attention, :class:`MaskedSA` and :class:`MaskedMultiSA`: the
  same with j <= i only.

``evaluate`` here is deliberately simple (index by index, no caching); the
certified path is the independent checker in ``proofs_check``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .numbers import dot, sign

__all__ = ["Mat", "FF", "SA", "MaskedSA", "MultiSA", "MaskedMultiSA", "Block", "Transformer",
           "ZERO", "identity_ff", "identity_sa", "heads_of"]


@dataclass(frozen=True)
class Mat:
    """A d x d matrix in factored form: zero, c*I, c*a a^T, or full rows."""
    kind: str                 # "zero" | "scalar" | "rank1" | "full"
    c: object = Fraction(0)
    a: tuple = ()
    rows: tuple = ()

    def apply(self, x):
        if self.kind == "zero":
            return tuple(0 * xi for xi in x)
        if self.kind == "scalar":
            return tuple(self.c * xi for xi in x)
        if self.kind == "rank1":
            s = self.c * dot(self.a, x)
            return tuple(s * ai for ai in self.a)
        return tuple(dot(r, x) for r in self.rows)

    def is_zero(self):
        if self.kind == "zero":
            return True
        if self.kind == "scalar":
            return self.c == 0
        if self.kind == "rank1":
            return self.c == 0 or not any(self.a)
        return not any(any(r) for r in self.rows)

    def params(self):
        if self.kind == "zero":
            return []
        if self.kind == "scalar":
            return [self.c]
        if self.kind == "rank1":
            return ([self.c] if self.c != 1 else []) + list(self.a)
        return [v for r in self.rows for v in r]


ZERO = Mat("zero")


@dataclass(frozen=True)
class FF:
    eta: object
    U: tuple                 # w rows of length d
    b: tuple                 # w
    W: tuple                 # d rows of length w

    @property
    def width(self):
        return len(self.U)

    def apply(self, x):
        acts = [dot(u, x) + bk for u, bk in zip(self.U, self.b)]
        acts = [a if sign(a) > 0 else 0 for a in acts]
        out = []
        for i, xi in enumerate(x):
            v = self.eta * xi
            for wik, ak in zip(self.W[i], acts):
                if ak != 0 and wik != 0:
                    v = v + wik * ak
            out.append(v)
        return tuple(out)

    def params(self):
        return [self.eta] + [v for r in self.U for v in r] + list(self.b) + \
            [v for r in self.W for v in r]


@dataclass(frozen=True)
class SA:
    rho: object
    A: Mat
    V: Mat

    def apply(self, X):
        X = list(X)
        if self.V.is_zero():          # no attention term, whatever the scores
            return [tuple(self.rho * x for x in xi) for xi in X]
        means = {}
        out = []
        for xi, C in zip(X, maximiser_sets(self.A, X)):
            if C not in means:
                acc = [0] * len(xi)
                for j in C:
                    acc = [a + v for a, v in zip(acc, self.V.apply(X[j]))]
                n = Fraction(len(C))
                means[C] = [a / n for a in acc]
            out.append(tuple(self.rho * x + a for x, a in zip(xi, means[C])))
        return out

    def params(self):
        return [self.rho] + self.A.params() + self.V.params()


@dataclass(frozen=True)
class MaskedSA(SA):
    """Causal (masked) hardmax attention: position i attends to positions 1..i only.

    ``SA(X)_i = rho * x_i + sum_{j <= i} w_ij V x_j``, the maximisers of
    ``<A x_i, x_j>`` over j <= i sharing weight equally; so output i depends on
    x_1..x_i alone.
    """

    def apply(self, X):
        X = list(X)
        return [self._one(X[:i + 1]) for i in range(len(X))]

    def _one(self, P):
        """The output at the last position of the prefix P."""
        xi = P[-1]
        return tuple(self.rho * x + m for x, m in zip(xi, _head_mean(self.A, self.V, xi, P)))


FILTER_AT = 32      # tokens from which the float filter of proofs_check pays


def maximiser_sets(A, X):
    """For each query x_i of X, the indices j maximising <A x_i, x_j> (ties kept), one
    tuple object per distinct set.  Rational tokens with a rational A = c I or full
    A go through the checker's float filter (proofs_check/filters.py: float scores
    with a written error bound discard keys, the rest compared exactly), a block of
    queries at a time: no n x n scores; anything else is compared exactly."""
    n = len(X)
    rational = n >= FILTER_AT and all(type(c) is Fraction for x in X for c in x)
    if rational and A.kind == "scalar" and type(A.c) is Fraction and A.c != 0:
        from proofs_check.filters import gram_argmax
        from proofs_check.reading import key
        return gram_argmax([key(x) for x in X], 1 if A.c > 0 else -1)
    if rational and A.kind == "full" and all(type(c) is Fraction for r in A.rows for c in r):
        from proofs_check.filters import argmax_keys, query_keys
        from proofs_check.reading import key
        keys = [key(x) for x in X]
        return argmax_keys(query_keys(A.rows, keys), keys)
    if A.kind == "zero" or A.kind in ("scalar", "rank1") and sign(A.c) == 0:
        every = tuple(range(n))
        return [every] * n
    if A.kind == "rank1":         # c <a, x_i> <a, x_j>: the extremes of <a, x_j> by the sign
        p = [dot(A.a, x) for x in X]
        hi, lo = max(p), min(p)
        top = tuple(j for j, v in enumerate(p) if sign(v - hi) == 0)
        bottom = tuple(j for j, v in enumerate(p) if sign(v - lo) == 0)
        every = tuple(range(n))
        return [top if sign(A.c * v) > 0 else bottom if sign(A.c * v) < 0 else every for v in p]
    sets, out = {}, []
    for xi in X:
        q = A.apply(xi)
        scores = [dot(q, xj) for xj in X]
        best = scores[0]
        for s in scores[1:]:
            if sign(s - best) > 0:
                best = s
        C = tuple(j for j, s in enumerate(scores) if sign(s - best) == 0)
        out.append(sets.setdefault(C, C))
    return out


def _head_mean(A, V, xi, P):
    """V times the mean of the keys of P that maximise <A xi, x_j> (ties averaged)."""
    q = A.apply(xi)
    scores = [dot(q, xj) for xj in P]
    best = scores[0]
    for s in scores[1:]:
        if sign(s - best) > 0:
            best = s
    C = [j for j, s in enumerate(scores) if s == best]
    acc = [0] * len(xi)
    for j in C:
        acc = [a + v for a, v in zip(acc, V.apply(P[j]))]
    n = Fraction(len(C))
    return [a / n for a in acc]


@dataclass(frozen=True)
class MultiSA:
    """Hardmax attention with several heads, each a pair (A, V) of :class:`Mat`:

    ``SA(X)_i = rho * x_i + sum_h V_h mean{x_j : j maximises <A_h x_i, x_j>}``.

    A head whose V is exactly zero adds nothing whatever its scores, so it is
    skipped (the same function).  With one head this is :class:`SA`'s map."""
    rho: object
    heads: tuple              # ((A, V), ...) of Mats

    def apply(self, X):
        X = list(X)
        out = [[self.rho * x for x in xi] for xi in X]
        for A, V in self.heads:
            if not V.is_zero():
                head = SA(0 * self.rho, A, V).apply(X)
                out = [[o + m for o, m in zip(oi, hi)] for oi, hi in zip(out, head)]
        return [tuple(o) for o in out]

    def _one(self, P, xi):
        out = [self.rho * x for x in xi]
        for A, V in self.heads:
            if not V.is_zero():
                out = [o + m for o, m in zip(out, _head_mean(A, V, xi, P))]
        return tuple(out)

    def params(self):
        return [self.rho] + [p for A, V in self.heads for p in A.params() + V.params()]


@dataclass(frozen=True)
class MaskedMultiSA(MultiSA):
    """Causal (masked) attention with several heads: position i attends to
    positions 1..i only, in every head."""

    def apply(self, X):
        X = list(X)
        return [self._one(X[:i + 1], X[i]) for i in range(len(X))]


def heads_of(sa):
    """The (A, V) pairs of an attention layer (one for :class:`SA`)."""
    return sa.heads if isinstance(sa, MultiSA) else ((sa.A, sa.V),)


@dataclass
class Block:
    ff: FF
    sa: SA                    # or MultiSA
    phase: str = None         # None: a block of given weights (no construction phase)
    claims: list = field(default_factory=list)

    def apply(self, X):
        return self.sa.apply([self.ff.apply(x) for x in X])


@dataclass
class Transformer:
    blocks: list
    dim: int

    def evaluate(self, X, upto=None):
        X = list(X)
        for blk in self.blocks[:upto]:
            X = blk.apply(X)
        return X

    @property
    def width(self):
        return max((b.ff.width for b in self.blocks), default=0)

    def nonzero_params(self):
        return sum(1 for b in self.blocks for p in b.ff.params() + b.sa.params() if p != 0)


def identity_ff(d):
    return FF(Fraction(1), (), (), tuple(() for _ in range(d)))


def identity_sa():
    return SA(Fraction(1), ZERO, ZERO)
