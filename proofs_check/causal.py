"""Checking causal (masked attention) certificates: evaluation only.

Standard library only.  A certificate with ``"attention": "causal"`` is about
the transformer whose every attention layer is masked: with the tokens
x_1..x_n entering the layer,

    SA(X)_i = rho x_i + (1/|C_i|) sum_{j in C_i} V x_j,
    C_i = the indices j <= i maximising <A x_i, x_j>   (ties kept),

so the output at position i depends on x_1..x_i only; FF layers act on each
token as in the hardmax path.  Its dataset gives every input sequence one
target point per position ("targets", exactly as long as "input").

The check proves one statement and two bounds, with no lemma claims (a block
that carries a claim is malformed here):

* ``bounds`` (before any evaluation): at most 2T - c blocks, where T is the
  number of distinct non-empty prefixes (ordered) of the inputs and c the
  number of distinct input tokens, and every FF layer of width at most 4;
* ``output``: every block is re-evaluated from the weights alone on every
  input sequence, densely and exactly, with the masked semantics above (no
  prefix reformulation, no caching, nothing taken from the constructor), and
  the token at every position equals that position's target exactly.  One
  exact shortcut: an attention layer with V = 0 is x -> rho x.
"""
from __future__ import annotations

from fractions import Fraction

from .reading import (CAUSAL_WIDTH_BOUND as WIDTH_BOUND, _mat_params, causal_bound, declared_width,
                      prescan, read_block, read_causal_dataset)
from .limits import DEFAULT
from .numbers import Malformed, Numbers, Rejected, _need, check_growth

__all__ = ["check", "evaluate", "masked_attention", "feed_forward", "read_dataset", "bound"]


read_dataset, bound = read_causal_dataset, causal_bound     # the names this module always had


def dot(u, x):
    return sum((a * b for a, b in zip(u, x)), Fraction(0))


def apply_mat(M, x):
    """M x for a matrix as read by checker.read_block: zero, c I, c a a^T or rows."""
    if M[0] == "zero":
        return tuple(Fraction(0) for _ in x)
    if M[0] == "scalar":
        return tuple(M[1] * c for c in x)
    if M[0] == "rank1":
        s = M[1] * dot(M[2], x)
        return tuple(s * c for c in M[2])
    return tuple(dot(r, x) for r in M[1])


def basis(d):
    return [tuple(Fraction(int(i == j)) for j in range(d)) for i in range(d)]


def feed_forward(ff, x):
    """FF(x) = eta x + W relu(U x + b), exactly."""
    eta, U, b, W = ff
    h = [max(Fraction(0), dot(u, x) + bk) for u, bk in zip(U, b)]
    return tuple(eta * xi + dot(row, h) for xi, row in zip(x, W))


def masked_attention(sa, X):
    """Masked hardmax attention on the token list X: position i sees X[:i+1] only."""
    rho, A, V = sa
    if not any(any(apply_mat(V, e)) for e in basis(len(X[0]))):   # V = 0: no attention term
        return [tuple(rho * c for c in x) for x in X]
    out = []
    for i, xi in enumerate(X):
        q = apply_mat(A, xi)
        scores = [dot(q, X[j]) for j in range(i + 1)]
        best = max(scores)
        C = [j for j in range(i + 1) if scores[j] == best]
        mean = tuple(sum((X[j][k] for j in C), Fraction(0)) / len(C) for k in range(len(xi)))
        out.append(tuple(rho * a + v for a, v in zip(xi, apply_mat(V, mean))))
    return out


def evaluate(blocks, inputs, nums, d, progress=None):
    """(outputs, FF width, non-zero parameters): every block, read from its JSON,
    applied to every input sequence with the masked semantics."""
    states = [list(X) for X in inputs]
    width = params = 0
    for k, blk in enumerate(blocks, 1):
        where, ff, sa, claims = read_block(blk, k, nums, d)
        if claims:
            raise Malformed(f"{where}: claim {claims[0]['kind']!r} is not checked in causal mode")
        eta, U, b, W = ff
        rho, A, V = sa
        width = max(width, len(U))
        params += sum(1 for x in (eta, rho, *b, *(v for r in U for v in r), *(v for r in W for v in r))
                      if x != 0) + _mat_params(A) + _mat_params(V)
        states = [masked_attention(sa, [feed_forward(ff, x) for x in X]) for X in states]
        check_growth(states, where, nums.limits, point=lambda x: x)
        if progress:
            progress(k, len(blocks))
    return states, width, params


def check(cert, progress=None, limits=DEFAULT):
    """Check a causal certificate.  Returns a summary (JSON-ready); raises
    Rejected (the first false statement) or Malformed."""
    if cert.get("field") is not None:
        raise Malformed("causal certificates need rational data")
    nums = Numbers(None, limits)
    d, pairs = read_dataset(cert.get("dataset"), nums)
    blocks = _need(cert.get("blocks"), list, "blocks")
    limit, T, c = bound(pairs)
    if "max_width" in cert:      # read like any certificate's; the causal bound stays 4
        declared_width(cert)
    prescan(blocks, limit, WIDTH_BOUND, limits, "2T - c")
    states, width, params = evaluate(blocks, [X for X, _ in pairs], nums, d, progress)
    for j, ((_, Y), out) in enumerate(zip(pairs, states)):
        for i, (y, z) in enumerate(zip(Y, out)):
            if y != z:
                raise Rejected(f"output: sequence {j} position {i}: the output differs from "
                               "its target")
    return {"attention": "causal", "blocks": len(blocks), "block_bound": limit, "width": width,
            "width_bound": WIDTH_BOUND, "parameters": params, "claims_checked": {},
            "N": len(pairs), "d": d, "positions": sum(len(X) for X, _ in pairs),
            "prefixes": T, "tokens": c}
