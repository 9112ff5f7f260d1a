"""Checking weights certificates: a transformer given by its weights (a
researcher's own construction, a hand-made counterexample, a trained model's
hardmax limit), evaluated exactly on the dataset's inputs.

Standard library only.  A certificate with ``"kind": "weights"`` has no lemma
claims: every block is FF then attention with H >= 1 heads,

    FF(x) = eta x + W relu(U x + b),
    SA(X)_i = rho x_i + sum_h V_h mean{x_j : j maximises <A_h x_i, x_j>}   (hardmax,
              ties averaged; causal: j <= i only),
    SA(X)_i = rho x_i + sum_h sum_j w^h_ij V_h x_j,
              w^h_i = softmax_j(<A_h x_i, x_j> / tau)                       (softmax).

The statement proven: for every sequence the output set equals its target set
(causal: every position its target), or, with a "tolerance" T, the squared
Hausdorff distance is at most T^2 (distance.py; causal: every position within
T).  Hardmax and causal outputs are exact (the engine's exact evaluation, one
head at a time; its shortcuts are tested against the reference kernel);
softmax outputs are enclosures (softmax.py's balls, one head at a time, their
sum), certified within T when every enclosure is, rejected when one is
provably farther, unknown otherwise.  No bound of the paper is required; the
summary reports the size of the model and the construction's bound beside it.
"""
from __future__ import annotations

import math
from fractions import Fraction

from . import distance
from .causal import feed_forward, masked_attention
from .engine import Tok, apply_mat, argmaxes, eval_ff, mat_is_zero, merge
from .limits import DEFAULT
from .numbers import Malformed, Numbers, Rejected, Unknown, _need, check_growth
from .reading import prescan, read_given_block, read_given_dataset, read_tolerance

__all__ = ["check", "heads_hardmax", "heads_causal", "verdict_balls"]


def heads_hardmax(rho, heads, seqs, cache):
    """Exact hardmax attention with several heads on every sequence of Toks."""
    out = []
    live = [(A, V) for A, V in heads if not mat_is_zero(V)]
    for toks in seqs:
        acc = [tuple(rho * c for c in t.x) for t in toks]
        for A, V in live:
            sets = argmaxes(A, toks, cache)
            means = {}
            for i, C in enumerate(sets):
                if C not in means:
                    tot = sum(toks[j].n for j in C)
                    x0 = toks[0].x
                    means[C] = apply_mat(V, tuple(sum((toks[j].x[c] * toks[j].n for j in C), 0 * x0[c]) / tot
                                                  for c in range(len(x0))))
                acc[i] = tuple(a + v for a, v in zip(acc[i], means[C]))
        out.append(merge(Tok(x, t.n) for x, t in zip(acc, toks)))
    return out


def heads_causal(rho, heads, X):
    """Masked hardmax attention with several heads on one token list X (position i
    sees positions j <= i): rho x_i plus each head's term, causal.masked_attention
    with rho = 0."""
    out = [tuple(rho * c for c in x) for x in X]
    for A, V in heads:
        if not mat_is_zero(V):
            term = masked_attention((0 * rho, A, V), X)
            out = [tuple(a + b for a, b in zip(o, t)) for o, t in zip(out, term)]
    return out


def sqrt_up(d):
    """A rational s >= sqrt(d) (within 10^-6)."""
    return Fraction(math.isqrt(d * 10 ** 12) + 1, 10 ** 6)


def verdict_balls(pairs, outs, tol, d):
    """Softmax: every output token z lies in a ball (max-norm) of centre c and radius
    r, so |z - y| lies within |c - y| -+ s r (s >= sqrt d).  Within T when every ball
    and every target is: some partner with |c - y|^2 <= (T - s r)^2, T >= s r;
    rejected when some ball or target has every partner with |c - y|^2 > (T + s r)^2;
    unknown otherwise."""
    T, s = tol or Fraction(0), sqrt_up(d)
    for j, ((_, Y), balls) in enumerate(zip(pairs, outs)):
        def near(c, r, y):
            reach = T - s * r
            return reach >= 0 and distance.sq(c, y) <= reach * reach

        def far(c, r, y):
            return distance.sq(c, y) > (T + s * r) ** 2
        for b in balls:
            if all(far(b.c, b.r, y) for y in Y):
                raise Rejected(f"output: sequence {j}: an output token is farther than {distance.text(T)} "
                               "from every target (enclosure)")
        for y in Y:
            if all(far(b.c, b.r, y) for b in balls):
                raise Rejected(f"output: sequence {j}: a target is farther than {distance.text(T)} "
                               "from every output token (enclosure)")
        if not (all(any(near(b.c, b.r, y) for y in Y) for b in balls)
                and all(any(near(b.c, b.r, y) for b in balls) for y in Y)):
            raise Unknown(f"output: sequence {j}: the enclosures do not decide whether the output is "
                          f"within {distance.text(T)} of its target")


def _softmax(cert, nums, d, pairs, blocks, progress, limits):
    from . import softmax as sm
    obj = _need(cert.get("softmax"), dict, "softmax")
    tau = nums.rat(obj.get("tau"), "softmax.tau")
    order = obj.get("order", 64)
    if tau <= 0 or type(order) is not int or not 1 <= order <= 4096:
        raise Malformed("softmax: tau must be positive and order an integer in 1..4096")
    G = sm.Balls()
    seqs = [[sm.Ball(x, Fraction(0)) for x in X] for X, _ in pairs]
    shape = []
    for k in range(1, len(blocks) + 1):
        where, ff, (rho, heads), params = read_given_block(blocks[k - 1], k, nums, d)
        shape.append((len(ff[1]), len(heads), params))
        layer = sm.FFLayer(ff, where, G)
        mid = [sm.merge(layer(t) for t in toks) for toks in seqs]
        new = []
        for j, toks in enumerate(mid):
            c = [tuple(rho * v for v in t.c) for t in toks]
            r = [abs(rho) * t.r for t in toks]
            for h, (A, V) in enumerate(heads):
                try:
                    balls, _ = sm.sa_balls((Fraction(0), A, V), toks, tau, order, where, {})
                except Unknown:
                    raise Unknown(f"{where} head {h}: sequence {j}: the enclosures of a query's scores "
                                  "overlap (the bound on softmax weights needs one score above the "
                                  "others by a margin: a smaller tau, or hardmax)") from None
                c = [tuple(a + b for a, b in zip(ci, bl.c)) for ci, bl in zip(c, balls)]
                r = [ri + bl.r for ri, bl in zip(r, balls)]
            new.append(sm.merge(sm.Ball(ci, sm.up(ri), t.n) for ci, ri, t in zip(c, r, toks)))
        check_growth(new, where, limits, point=lambda t: t.c)
        seqs = new
        if progress:
            progress(k, len(blocks))
    return seqs, shape


def check(cert, progress=None, limits=DEFAULT):
    """Check a weights certificate.  Returns a summary (JSON-ready); raises Rejected
    (the first sequence beyond the tolerance), Unknown (softmax enclosures that do
    not decide) or Malformed."""
    attention = cert.get("attention", "hardmax")
    for extra in ("float_claim", "max_width"):
        if extra in cert:
            raise Malformed(f"{extra}: not checked for weights certificates")
    if cert.get("field") is not None and attention != "hardmax":
        raise Malformed(f"{attention} weights certificates need rational data")
    nums = Numbers(cert.get("field") if attention == "hardmax" else None, limits)
    tol = read_tolerance(cert, nums)
    d, pairs = read_given_dataset(cert, nums, attention)
    blocks = _need(cert.get("blocks"), list, "blocks")
    prescan(blocks, len(blocks), None, limits, "")
    if attention == "softmax":
        outs, shape = _softmax(cert, nums, d, pairs, blocks, progress, limits)
        verdict_balls(pairs, outs, tol, d)
        worst = None
    elif attention == "causal":
        states = [list(X) for X, _ in pairs]
        shape = []
        for k in range(1, len(blocks) + 1):
            where, ff, (rho, heads), params = read_given_block(blocks[k - 1], k, nums, d)
            shape.append((len(ff[1]), len(heads), params))
            states = [heads_causal(rho, heads, [feed_forward(ff, x) for x in X]) for X in states]
            check_growth(states, where, limits, point=lambda x: x)
            if progress:
                progress(k, len(blocks))
        worst = distance.verdict_positions(pairs, states, tol)
    else:
        cache, measured = {}, set()
        seqs = [merge(Tok(x, 1) for x in X) for X, _ in pairs]
        shape = []
        for k in range(1, len(blocks) + 1):
            where, ff, (rho, heads), params = read_given_block(blocks[k - 1], k, nums, d)
            shape.append((len(ff[1]), len(heads), params))
            eta, U = ff[0], ff[1]
            if U or eta != 1:
                seqs = eval_ff(ff, seqs, cache)
            if any(not mat_is_zero(V) for _, V in heads) or rho != 1:
                seqs = heads_hardmax(rho, heads, seqs, cache)
            check_growth(seqs, where, limits, seen=measured)
            if progress:
                progress(k, len(blocks))
        from .filters import nearest_sets
        rational = cert.get("field") is None
        worst = distance.verdict_sets(pairs, [[t.x for t in toks] for toks in seqs], tol,
                                      nearest_sets if rational else None)
    return distance.summary(attention, cert, pairs, shape, tol, worst, d)
