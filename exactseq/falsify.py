"""Falsifying the float claim: real float passes run against every verified claim.

    from exactseq.falsify import campaign
    report = campaign(200, seed=1)             # counts; report["contradictions"] must be 0

A hardmax certificate's ``"float_claim"`` states that *every* float forward pass of
its exported weights, under the rounding model of CLAIMS.md (weights and inputs
rounded once; every sum in any order, with or without fused multiply-add), takes
every decision of the exact model and ends within the tolerance of every target.
``proofs_check`` proves such claims by forward error analysis; this module tries to
contradict the claims it verifies:

* **generators** (:data:`KINDS`) of small certificates aimed at the analysis' edges:
  the robust construction on small random datasets and mutants of it (weights
  perturbed, a one-token sequence added, the tolerance cut to the proven bound),
  and weights-only certificates built by hand (blocks without lemma claims, which
  the hardmax checker accepts: it still proves that every output equals its
  target exactly): magnitudes near the format's extremes, subnormals, weights in
  Q(sqrt 2), Q(sqrt 3) and Q(2^(1/3)), one-token sequences, attention scores a few
  ulps apart (A a full matrix, or c I on tokens of very different sizes), runs of
  one-row FF layers (trapezoids, tokens far above them and a few ulps from a
  kink), wide FF layers (d and width up to 16), full A and V, rho and eta
  scalings, exact inverse pairs of scalings, tolerance texts at the edge.  The
  outputs of a hand-made certificate are its weights' exact outputs (evaluated
  here with Fractions and the checker's number fields), so the certificate is
  true and only its float claim is at stake.  :data:`AIMED` are kinds aimed at
  weak points the analysis once had, with the reason each was contradicted then
  (:data:`HOSTILE`, the kinds still expected to fail, is empty);
* **float passes** (:data:`PASSES`), each an independent evaluation of the
  exported weights in the claim's format: NumPy/BLAS (:mod:`exactseq.floatpass`),
  its batched form, pure Python sums left to right, right to left, pairwise and in
  seeded random orders, fused multiply-add accumulation (each fma emulated with
  exact integers and rounded once), the key-side score order (A^T x_j).x_i, NumPy
  ``einsum`` contractions (``einsum3``: the score as one sum of the d^2 triple
  products x_id A_de x_je), and PyTorch on one and two threads.  A pass marked
  outside the rounding model (``Pass.in_model``; none at present) has its
  deviations reported apart, never as contradictions;
* **the comparison** (:func:`judge`, :func:`decisions`): an inf or NaN anywhere in a
  pass, a ReLU or argmax decision other than the exact model's (a unit whose exact
  pre-activation is 0 may go either way), an output set farther than the tolerance
  from its target set (exactly, in rationals; relative claims: each token within
  T max(1, |y|) of its own exact output y; class claims: each token strictly
  nearer its own target point than any other target point of the dataset)
  contradicts the claim.  A token farther from its exact value than
  the checker's proven bound (``bound_exact``) is reported too ("bound exceeded"):
  the analysis was wrong even if the claim's tolerance still holds.

Hardmax semantics in every pass: the maximisers are the keys whose float score
equals the row's maximum exactly, ties averaged.  Rational arithmetic decides every
comparison against a tolerance; a target over a number field is read to 300 bits.
"""
from __future__ import annotations

import copy
import json
import math
import os
import random
import struct
import time
from fractions import Fraction

import numpy as np

from . import floatpass as fp
from . import weights as wt

__all__ = ["KINDS", "HAND", "AIMED", "HOSTILE", "PASSES", "generate", "certificate", "block", "set_outputs",
           "exact_trace", "run_pass", "judge", "decisions", "falsify", "campaign", "fma", "Result",
           "fuzz_case", "fuzz_run"]

FORMATS = {"binary64": "float64", "binary32": "float32"}
PARAMS = {"float64": (53, -1022, 1023), "float32": (24, -126, 127)}
TARGET_BITS = 300          # a target over a number field, read to this many bits


# ================================================================== float arithmetic
def _f32(x):
    """x (a Python float) rounded to binary32 (to nearest, ties to even)."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _round_dyadic(n, k, fmt):
    """n * 2^-k (integers, k >= 0) rounded once to fmt, as a Python float."""
    if n == 0:
        return 0.0
    p, emin, emax = PARAMS[fmt]
    m = abs(n)
    e = m.bit_length() - 1 - k                  # 2^e <= |value| < 2^(e+1)
    qe = max(e, emin) - (p - 1)                 # the quantum is 2^qe
    shift = qe + k
    if shift <= 0:
        r = m << -shift
    else:
        r, rem = m >> shift, m & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and r & 1):
            r += 1
    if r.bit_length() + qe > emax + 1:
        return math.inf if n > 0 else -math.inf
    v = math.ldexp(r, qe)
    return -v if n < 0 else v


def fma(a, b, c, fmt="float64"):
    """fl(a * b + c) with one rounding (a correctly rounded fused multiply-add in fmt),
    computed with exact integers; non-finite operands as IEEE 754 gives them."""
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c
    na, da = a.as_integer_ratio()
    nb, db = b.as_integer_ratio()
    nc, dc = c.as_integer_ratio()
    kp, kc = (da * db).bit_length() - 1, dc.bit_length() - 1
    K = max(kp, kc)
    return _round_dyadic((na * nb << (K - kp)) + (nc << (K - kc)), K, fmt)


class Arith:
    """Sums of products in one format, order and accumulation style."""

    def __init__(self, fmt, order="seq", use_fma=False, seed=0):
        self.fmt, self.order, self.fma = fmt, order, use_fma
        self.rng = random.Random(seed)
        self.r = _f32 if fmt == "float32" else None

    def rnd(self, x):
        return self.r(x) if self.r else x

    def _ordered(self, items):
        if self.order == "rev":
            return items[::-1]
        if self.order == "random":
            items = list(items)
            self.rng.shuffle(items)
        return items

    def _pairwise(self, vals):
        if len(vals) == 1:
            return vals[0]
        h = len(vals) // 2
        return self.rnd(self._pairwise(vals[:h]) + self._pairwise(vals[h:]))

    def dot(self, pairs):
        """fl(sum a b) over the (a, b) pairs."""
        if not pairs:
            return 0.0
        if self.fma:
            acc = None
            for a, b in self._ordered(pairs):
                acc = self.rnd(a * b) if acc is None else fma(a, b, acc, self.fmt)
            return acc
        r = self.r
        prods = [r(a * b) for a, b in pairs] if r else [a * b for a, b in pairs]
        if self.order == "pairwise":
            return self._pairwise(prods)
        acc = None
        for v in self._ordered(prods):
            acc = v if acc is None else (r(acc + v) if r else acc + v)
        return acc

    def div(self, a, n):
        return self.rnd(a / n) if n else math.nan


# ================================================================== results
class Result:
    """One float pass: ``outputs[j][i]`` the final token i of sequence j (a tuple of
    floats); per block ``patterns[k][j][i]`` (tuple of unit > 0) and ``argmax[k][j][i]``
    (frozenset of keys, or None when V is exactly zero); ``nonfinite`` says where an
    inf or NaN was first seen (None if never)."""

    def __init__(self):
        self.outputs, self.patterns, self.argmax, self.nonfinite = [], [], [], None

    def seen(self, vals, where):
        if self.nonfinite is None and not all(map(math.isfinite, vals)):
            self.nonfinite = where


def _converted(model, fmt):
    """floatpass.convert's (blocks, inputs) in fmt: every weight and input rounded once
    (remembered on the model, which the passes share; no pass changes the arrays)."""
    memo = model.__dict__.setdefault("_falsify_converted", {})
    if fmt not in memo:
        blocks, inputs, _ = fp.convert(model, np.float64 if fmt == "float64" else np.float32)
        memo[fmt] = (blocks, inputs)
    return memo[fmt]


def _weights(model, fmt):
    """Python-float weights per block (eta, U rows, b, W rows, rho, A rows, V rows or
    None) and inputs, each the exact value rounded once to fmt."""
    blocks, inputs = _converted(model, fmt)
    out = []
    for eta, Ut, b, Wt, rho, At, Vt in blocks:
        out.append((float(eta), Ut.T.tolist(), b.tolist(), Wt.T.tolist(), float(rho), At.T.tolist(),
                    None if Vt is None else Vt.T.tolist()))
    return out, [[tuple(r) for r in X.tolist()] for X in inputs], blocks, inputs


def _python_pass(model, fmt, order="seq", use_fma=False, seed=0, keyside=False):
    blocks, inputs, _, _ = _weights(model, fmt)
    ar = Arith(fmt, order, use_fma, seed)
    res = Result()
    seqs = [list(X) for X in inputs]
    for k, (eta, U, b, W, rho, A, V) in enumerate(blocks, 1):
        d = len(W)
        pats, args = [], []
        for j, X in enumerate(seqs):
            new, pj = [], []
            for x in X:
                h = [ar.dot([(1.0, bk)] + [(u[i], x[i]) for i in range(d)]) for u, bk in zip(U, b)]
                res.seen(h, f"block {k}: pre-activation")
                pj.append(tuple(v > 0 for v in h))
                r = [v if v > 0 else 0.0 for v in h]
                y = tuple(ar.dot([(eta, x[l])] + [(W[l][m], r[m]) for m in range(len(r))]) for l in range(d))
                res.seen(y, f"block {k}: FF output")
                new.append(y)
            seqs[j] = new
            pats.append(pj)
        res.patterns.append(pats)
        if V is None:
            res.argmax.append(None)
            if rho != 1:
                seqs = [[tuple(ar.rnd(rho * c) for c in x) for x in X] for X in seqs]
                for X in seqs:
                    for x in X:
                        res.seen(x, f"block {k}: rho x")
            continue
        for j, X in enumerate(seqs):
            if keyside:     # (A^T x_j) . x_i
                keys = [[ar.dot([(A[e][c], xj[e]) for e in range(d)]) for c in range(d)] for xj in X]
                S = [[ar.dot([(kj[c], xi[c]) for c in range(d)]) for kj in keys] for xi in X]
                for kj in keys:
                    res.seen(kj, f"block {k}: A^T x_j")
            else:           # (A x_i) . x_j
                S = []
                for xi in X:
                    q = [ar.dot([(A[e][c], xi[c]) for c in range(d)]) for e in range(d)]
                    res.seen(q, f"block {k}: A x_i")
                    S.append([ar.dot([(q[e], xj[e]) for e in range(d)]) for xj in X])
            new, aj = [], []
            for i, (xi, s) in enumerate(zip(X, S)):
                res.seen(s, f"block {k}: scores")
                top = max(s)
                C = [m for m, v in enumerate(s) if v == top]
                aj.append(frozenset(C))
                if len(C) == 1:
                    avg = X[C[0]]
                else:
                    avg = [ar.div(ar.dot([(1.0, X[m][l]) for m in C]), len(C)) for l in range(d)]
                y = tuple(ar.dot([(rho, xi[l])] + [(V[l][e], avg[e]) for e in range(d)]) for l in range(d))
                res.seen(y, f"block {k}: attention output")
                new.append(y)
            seqs[j] = new
            args.append(aj)
        res.argmax.append(args)
    res.outputs = seqs
    return res


def _numpy_pass(model, fmt, mode="blas"):
    """NumPy passes: ``blas`` (floatpass.step, one sequence at a time), ``batch``
    (floatpass.run on the stacked, padded sequences: outputs only), ``einsum``
    (two-operand contractions) and ``einsum3`` (the score as one triple sum)."""
    dtype = np.float64 if fmt == "float64" else np.float32
    blocks, inputs = _converted(model, fmt)
    res = Result()
    with np.errstate(all="ignore"):
        if mode == "batch":
            outs = fp.run(blocks, inputs, dtype)
            res.outputs = [[tuple(map(float, r)) for r in Y.tolist()] for Y in outs]
            for Y in res.outputs:
                for y in Y:
                    res.seen(y, "output")
            res.patterns = res.argmax = None
            return res
        seqs = [X.copy() for X in inputs]
        for k, blk in enumerate(blocks, 1):
            pats, args = [], []
            for j, X in enumerate(seqs):
                if mode == "blas":
                    Y, pat, am = fp.step(blk, X[None], want=True)
                    Y, pat, am = Y[0], pat[0], None if am is None else am[0]
                else:
                    Y, pat, am = _einsum_step(blk, X, mode == "einsum3")
                res.seen(Y.ravel().tolist(), f"block {k}")
                seqs[j] = Y
                pats.append([tuple(bool(v) for v in r) for r in pat.tolist()])
                args.append(None if am is None else [frozenset(np.flatnonzero(r).tolist()) for r in am])
            res.patterns.append(pats)
            res.argmax.append(None if all(a is None for a in args) else args)
    res.outputs = [[tuple(map(float, r)) for r in X.tolist()] for X in seqs]
    return res


def _einsum_step(blk, X, triple):
    eta, Ut, b, Wt, rho, At, Vt = blk
    H = np.einsum("nd,dw->nw", X, Ut) + b
    pat = H > 0
    H = np.maximum(H, 0)
    X = eta * X + np.einsum("nw,wd->nd", H, Wt)
    if Vt is None:
        return (rho * X if rho != 1 else X), pat, None
    A = At.T
    if triple:
        S = np.einsum("id,ed,je->ij", X, A, X)
    else:
        S = np.einsum("ne,me->nm", np.einsum("nd,ed->ne", X, A), X)
    M = S == S.max(axis=1, keepdims=True)
    Mf = M.astype(X.dtype)
    w = Mf / Mf.sum(axis=1, keepdims=True)
    X = rho * X + np.einsum("ne,le->nl", np.einsum("nm,md->nd", w, X), Vt.T)
    return X, pat, M


def _torch_pass(model, fmt, threads=1):
    import torch
    from .torch import ExactTransformer
    dtype = torch.float64 if fmt == "float64" else torch.float32
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        blocks, inputs = _converted(model, fmt)
        sd = {}
        for k, (eta, Ut, b, Wt, rho, At, Vt) in enumerate(blocks):
            d = At.shape[0]
            sd.update({f"blocks.{k}.ff.eta": np.asarray(eta), f"blocks.{k}.ff.U": Ut.T, f"blocks.{k}.ff.b": b,
                       f"blocks.{k}.ff.W": Wt.T, f"blocks.{k}.sa.rho": np.asarray(rho),
                       f"blocks.{k}.sa.A": At.T, f"blocks.{k}.sa.V": np.zeros((d, d), At.dtype)
                       if Vt is None else Vt.T})
        net = ExactTransformer.from_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                                                for k, v in sd.items()}, {"attention": "hardmax"}, dtype)
        res = Result()
        seqs = [torch.from_numpy(X.copy()).to(dtype)[None] for X in inputs]
        with torch.no_grad():
            for k in range(len(net.blocks)):
                pats, args = [], []
                for j, X in enumerate(seqs):
                    Y, pat, am = net.step(k, X)
                    res.seen(Y.ravel().tolist(), f"block {k + 1}")
                    seqs[j] = Y
                    pats.append([tuple(bool(v) for v in r) for r in pat[0].tolist()])
                    args.append(None if am is None else
                                [frozenset(i for i, v in enumerate(r) if v) for r in am[0].tolist()])
                res.patterns.append(pats)
                res.argmax.append(None if all(a is None for a in args) else args)
        res.outputs = [[tuple(map(float, r)) for r in X[0].tolist()] for X in seqs]
        return res
    finally:
        torch.set_num_threads(old)


class Pass:
    """A named float pass; ``in_model``: inside the claim's rounding model."""

    def __init__(self, name, run, in_model=True, needs=None):
        self.name, self.run, self.in_model, self.needs = name, run, in_model, needs

    def __repr__(self):
        return f"Pass({self.name!r})"


PASSES = [
    Pass("blas", lambda m, f: _numpy_pass(m, f, "blas")),
    Pass("blas-batch", lambda m, f: _numpy_pass(m, f, "batch")),
    Pass("seq", lambda m, f: _python_pass(m, f, "seq")),
    Pass("reversed", lambda m, f: _python_pass(m, f, "rev")),
    Pass("pairwise", lambda m, f: _python_pass(m, f, "pairwise")),
    Pass("random-1", lambda m, f: _python_pass(m, f, "random", seed=1)),
    Pass("random-2", lambda m, f: _python_pass(m, f, "random", seed=2)),
    Pass("random-3", lambda m, f: _python_pass(m, f, "random", seed=3)),
    Pass("fma", lambda m, f: _python_pass(m, f, "seq", use_fma=True)),
    Pass("fma-random", lambda m, f: _python_pass(m, f, "random", use_fma=True, seed=4)),
    Pass("key-scores", lambda m, f: _python_pass(m, f, "rev", keyside=True)),
    Pass("einsum", lambda m, f: _numpy_pass(m, f, "einsum")),
    Pass("torch-1", lambda m, f: _torch_pass(m, f, 1), needs="torch"),
    Pass("torch-2", lambda m, f: _torch_pass(m, f, 2), needs="torch"),
    Pass("einsum3", lambda m, f: _numpy_pass(m, f, "einsum3")),
]
PASS_NAMES = {p.name: p for p in PASSES}


def _have(mod):
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def run_pass(name, model, fmt="float64"):
    """The :class:`Result` of the named pass on a certificate (object or parsed Model)."""
    model = model if isinstance(model, wt.Model) else wt.parse(model)
    return PASS_NAMES[name].run(model, fmt)


# ================================================================== the exact model
def _sign(x):
    return wt.sign(x)


def _dot(u, x):
    acc = 0
    for a, b in zip(u, x):
        acc = acc + a * b
    return acc


def exact_trace(model):
    """The exact model on every input: (outputs[j][i], signs[k][j][i] (tuples of unit
    signs), argmax[k][j][i] (frozensets, None for a layer with V exactly zero),
    points[k][j][i] (the key of token i's exact point entering attention k, None
    likewise))."""
    d = model.d
    seqs = [list(X) for X in model.inputs]
    signs, argmax, points = [], [], []
    for blk in model.blocks:
        eta, U, b, W = blk.eta, blk.U, blk.b, blk.W
        sk = []
        for j, X in enumerate(seqs):
            new, sj = [], []
            for x in X:
                h = [_dot(u, x) + bk for u, bk in zip(U, b)]
                s = tuple(_sign(v) for v in h)
                sj.append(s)
                if not U and eta == 1:
                    new.append(x)
                    continue
                on = [m for m, v in enumerate(s) if v > 0]
                new.append(tuple(eta * x[l] + _dot([W[l][m] for m in on], [h[m] for m in on])
                                 for l in range(d)))
            seqs[j] = new
            sk.append(sj)
        signs.append(sk)
        if wt.is_zero(blk.V):
            argmax.append(None)
            points.append(None)
            if blk.rho != 1:
                seqs = [[tuple(blk.rho * c for c in x) for x in X] for X in seqs]
            continue
        A, Vd, rho = blk.A, wt.dense(blk.V, d), blk.rho
        ak = []
        points.append([[_key(x) for x in X] for X in seqs])
        for j, X in enumerate(seqs):
            if A[0] == "rank1":
                p = [_dot(A[2], x) for x in X]
                S = [[A[1] * pi * pj for pj in p] for pi in p]
            elif A[0] == "scalar":
                S = [[A[1] * _dot(xi, xj) for xj in X] for xi in X]
            elif A[0] == "zero":
                S = [[0] * len(X) for _ in X]
            else:
                S = []
                for xi in X:
                    q = [_dot(r, xi) for r in A[1]]
                    S.append([_dot(q, xj) for xj in X])
            new, aj = [], []
            for xi, s in zip(X, S):
                top = s[0]
                for v in s[1:]:
                    if _sign(v - top) > 0:
                        top = v
                C = [m for m, v in enumerate(s) if _sign(v - top) == 0]
                aj.append(frozenset(C))
                avg = tuple(sum((X[m][l] for m in C), 0 * xi[l]) / len(C) for l in range(d))
                new.append(tuple(rho * xi[l] + _dot(Vd[l], avg) for l in range(d)))
            seqs[j] = new
            ak.append(aj)
        argmax.append(ak)
    return seqs, signs, argmax, points


# ================================================================== comparison
def _q(x):
    """An exact number as a Fraction (a number-field element read to TARGET_BITS)."""
    if isinstance(x, (int, Fraction)):
        return Fraction(x)
    if not any(x.c[1:]):
        return x.c[0]
    return wt.round_exact(x, TARGET_BITS)


def _d2(x, y):
    """Squared Euclidean distance of a float token from an exact (Fraction) point;
    None when x is not finite."""
    if not all(map(math.isfinite, x)):
        return None
    return sum((Fraction(a) - b) ** 2 for a, b in zip(x, y))


def judge(claim, targets, own, outputs):
    """Contradictions of a claim's statement about the outputs: a list of one-line
    strings (empty: consistent).

    ``claim``: {"tolerance": "p/q", optional "relative", "classes"}; ``targets[j]``
    the exact target points of sequence j, ``own[j][i]`` the exact output of token i,
    ``outputs[j][i]`` its float value (exact points as Fractions or field elements)."""
    T = Fraction(claim["tolerance"])
    T2 = T * T
    tg = [[tuple(map(_q, y)) for y in Y] for Y in targets]
    ow = [[tuple(map(_q, y)) for y in Y] for Y in own]
    every = list({y for Y in tg for y in Y})
    bad = []
    for j, (Y, O, X) in enumerate(zip(tg, ow, outputs)):
        D = [[_d2(x, y) for y in Y] for x in X]
        if any(v is None for r in D for v in r):
            bad.append(f"sequence {j}: an output is not finite")
            continue
        if claim.get("relative"):
            for i, (x, y) in enumerate(zip(X, O)):
                lim = T2 * max(Fraction(1), sum(c * c for c in y))
                if _d2(x, y) > lim:
                    bad.append(f"sequence {j}: token {i}: farther than T max(1, |y|) from its exact output")
        else:
            far = [i for i, r in enumerate(D) if min(r) > T2]
            lost = [m for m in range(len(Y)) if min(r[m] for r in D) > T2]
            if far or lost:
                bad.append(f"sequence {j}: Hausdorff distance to the target set exceeds the tolerance")
        if claim.get("classes"):
            for i, (x, y) in enumerate(zip(X, O)):
                mine = _d2(x, y)
                if any(_d2(x, z) <= mine for z in every if z != y):
                    bad.append(f"sequence {j}: token {i}: its nearest target point is not its own")
    return bad


def decisions(trace, res):
    """Decisions of a float pass that differ from the exact model's: a list of strings.
    Maximisers are compared as sets of exact points: copies of one exact point are one
    decision (their mean is that point whichever copies a float pass keeps)."""
    _, signs, argmax, points = trace
    bad = []
    if res.patterns is not None:
        for k, (sk, pk) in enumerate(zip(signs, res.patterns), 1):
            for j, (sj, pj) in enumerate(zip(sk, pk)):
                for i, (s, p) in enumerate(zip(sj, pj)):
                    if any(v and (v > 0) != q for v, q in zip(s, p)):
                        bad.append(f"block {k}: sequence {j}: token {i}: a ReLU decision differs")
    if res.argmax is not None:
        for k, (ak, fk) in enumerate(zip(argmax, res.argmax), 1):
            if ak is None or fk is None:
                if (ak is None) != (fk is None):
                    bad.append(f"block {k}: attention computed on one side only")
                continue
            for j, (aj, fj, pj) in enumerate(zip(ak, fk, points[k - 1])):
                for i, (a, f) in enumerate(zip(aj, fj)):
                    if a != f and {pj[m] for m in a} != {pj[m] for m in f}:
                        bad.append(f"block {k}: sequence {j}: query {i}: maximisers "
                                   f"{sorted(f)} instead of {sorted(a)}")
    return bad


def falsify(cert, summary, passes=None, model=None, trace=None):
    """Run every pass on a certificate whose float claim verified (``summary`` the
    checker's result) and compare.  Returns a dict: ``runs`` (passes run),
    ``contradictions`` and ``beyond_model`` (lists of (pass, message)), ``bound``
    (lists of (pass, message): tokens beyond the proven bound), ``errors`` (passes
    that raised), ``ratio`` (largest observed error / proven bound, passes inside the
    rounding model) and ``beyond_ratio`` (the same for the passes outside it)."""
    claim = cert["float_claim"]
    fmt = FORMATS[claim["format"]]
    model = model or wt.parse(cert)
    trace = trace or exact_trace(model)
    own = trace[0]
    B = Fraction(summary["float_claim"]["bound_exact"])
    out = {"runs": 0, "contradictions": [], "beyond_model": [], "bound": [], "errors": [], "ratio": 0.0,
           "beyond_ratio": 0.0}
    ownq = [[tuple(map(_q, y)) for y in Y] for Y in own]
    for p in passes or PASSES:
        if p.needs and not _have(p.needs):
            continue
        try:
            res = p.run(model, fmt)
        except Exception as exc:       # a pass that cannot run is a finding, not a pass
            out["errors"].append((p.name, f"{type(exc).__name__}: {exc}"[:200]))
            continue
        out["runs"] += 1
        found = []
        if res.nonfinite:
            found.append(f"inf or NaN ({res.nonfinite})")
        found += decisions(trace, res)
        found += judge(claim, model.targets, own, res.outputs)
        worst = Fraction(0)
        for j, (X, O) in enumerate(zip(res.outputs, ownq)):
            for i, (x, y) in enumerate(zip(X, O)):
                e = _d2(x, y)
                if e is None:
                    continue
                if claim.get("relative"):       # the bound of a relative claim is relative too
                    e /= max(Fraction(1), sum(c * c for c in y))
                worst = max(worst, e)
                if e > B * B:
                    out["bound"].append((p.name, f"sequence {j}: token {i}: error beyond the "
                                                 f"proven bound {float(B):.3g}"))
        if B:
            key = "ratio" if p.in_model else "beyond_ratio"
            out[key] = max(out[key], math.sqrt(float(worst / (B * B))))
        key = "contradictions" if p.in_model else "beyond_model"
        out[key] += [(p.name, m) for m in found]
        if not p.in_model:
            out["bound"] = [b for b in out["bound"] if b[0] != p.name]
    return out


# ================================================================== certificates by hand
class FE(tuple):
    """A number-field element c0 + c1 theta + ... (Fractions) in a generator."""


FIELDS = {   # theta: minpoly (lowest degree first), isolating interval, the coordinate text
    "sqrt2": (["-2", "0", "1"], ["1", "2"], "sqrt(2)", ("2", "1/2")),
    "sqrt3": (["-3", "0", "1"], ["1", "2"], "sqrt(3)", ("3", "1/2")),
    "cbrt2": (["-2", "0", "0", "1"], ["1", "2"], "2^(1/3)", ("2", "1/3")),
}


def _t(q):
    q = Fraction(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _num(x, k=None):
    if isinstance(x, FE):
        return [_t(c) for c in x] + ["0"] * (k - len(x))
    return _t(x)


def _coord(x, field):
    """A dataset coordinate text: a rational, or an expression in the field's root."""
    if isinstance(x, (int, Fraction)):
        return _t(x)
    cs = list(x.c if hasattr(x, "c") else x)
    if not any(cs[1:]):
        return _t(cs[0])
    th = FIELDS[field][2]
    return "+".join(f"({_t(c)})" + (f"*({th})^{i}" if i else "") for i, c in enumerate(cs) if c) or "0"


def _mat(M, k):
    if M[0] == "zero":
        return {"kind": "zero"}
    if M[0] == "scalar":
        return {"kind": "scalar", "c": _num(M[1], k)}
    if M[0] == "rank1":
        return {"kind": "rank1", "c": _num(M[1], k), "a": [_num(x, k) for x in M[2]]}
    return {"kind": "full", "rows": [[_num(x, k) for x in r] for r in M[1]]}


def block(d, phase="hand", eta=1, U=(), b=(), W=None, rho=1, A=("zero",), V=("zero",)):
    """A block as plain data (numbers exact: int, Fraction or FE)."""
    W = W if W is not None else [[] for _ in range(d)]
    return {"phase": phase, "eta": eta, "U": [list(u) for u in U], "b": list(b),
            "W": [list(r) for r in W], "rho": rho, "A": A, "V": V}


def certificate(d, inputs, blocks, fmt="binary64", tolerance=None, field=None):
    """A weights-only hardmax certificate whose outputs are its weights' exact outputs
    (None if the inputs break Assumption 1.3 or the outputs exceed the block bound);
    the tolerance by default 2^8 max(1, |target coordinate|)."""
    k = len(FIELDS[field][0]) - 1 if field else None
    spec = None
    if field:
        poly, iv, _, (base, e) = FIELDS[field]
        spec = {"minpoly": poly, "interval": iv,
                "atoms": [{"base": base, "exponent": e, "value": _num(FE((0, 1)), k)}]}
    width = max((len(bk["U"]) for bk in blocks), default=0)
    cert = {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax",
            "field": spec,
            "dataset": {"dimension": d, "sequences": [
                {"input": [[_coord(c, field) for c in x] for x in X],
                 "output": [[_coord(c, field) for c in X[0]]]} for X in inputs]},
            "blocks": [{"phase": bk["phase"],
                        "ff": {"eta": _num(bk["eta"], k), "U": [[_num(c, k) for c in u] for u in bk["U"]],
                               "b": [_num(c, k) for c in bk["b"]],
                               "W": [[_num(c, k) for c in r] for r in bk["W"]]},
                        "sa": {"rho": _num(bk["rho"], k), "A": _mat(bk["A"], k), "V": _mat(bk["V"], k)},
                        "claims": []} for bk in blocks],
            "float_claim": {"format": fmt, "tolerance": tolerance}}
    if width > 4:
        cert["max_width"] = width
    return set_outputs(cert)


def _writer(spec):
    """Coordinate texts of the certificate's numbers (None: elements of this field
    cannot be written as dataset coordinates)."""
    if spec is None:
        return _t
    field = next((f for f, v in FIELDS.items() if v[0] == spec.get("minpoly")), None)
    if field and spec.get("atoms", [{}])[0].get("base") == FIELDS[field][3][0]:
        return lambda x: _coord(x, field)
    from .certfield import CertField
    cf = CertField(spec)
    if cf.uses_theta():
        return None
    return lambda x: _t(x) if isinstance(x, Fraction) else cf.text(cf.number([_t(c) for c in x.c]))


def _key(x):
    return tuple(c.c if hasattr(c, "c") else (c,) for c in x)


def set_outputs(cert):
    """The certificate with each sequence's output set to the exact outputs of its
    weights (claims dropped); None if the dataset would break Assumption 1.3 or the
    block bound."""
    cert = dict(cert, blocks=[dict(b, claims=[]) for b in cert["blocks"]])
    cert.pop("dataset_sha256", None)
    try:
        model = wt.parse(cert)
    except wt.InputError:
        return None
    sets = []
    for X in model.inputs:
        keys = [_key(x) for x in X]
        if len(set(keys)) != len(keys):
            return None
        sets.append(frozenset(keys))
    if len(set(sets)) != len(sets):
        return None
    outs = exact_trace(model)[0]
    write = _writer(cert.get("field"))
    if write is None:
        return None
    seqs = []
    for s, Y in zip(cert["dataset"]["sequences"], outs):
        uniq = list({_key(y): y for y in Y}.values())
        seqs.append(dict(s, output=[[write(c) for c in y] for y in uniq]))
    ds = dict(cert["dataset"], sequences=seqs)
    if len(cert["blocks"]) > 2 * sum(len(s["output"]) for s in seqs) + 2 * len(seqs) + 1:
        return None
    cert = dict(cert, dataset=ds)
    if cert.get("float_claim", {}).get("tolerance") is None:
        top = max([Fraction(1)] + [abs(_q(c)) for Y in outs for y in Y for c in y])
        cert["float_claim"] = dict(cert["float_claim"], tolerance=_t(top * 256))
    return cert


# ------------------------------------------------------------------ random pieces
def _r(rng, den=(1, 2, 3, 4, 5, 7, 8), top=9):
    return Fraction(rng.randint(-top, top), rng.choice(den))


def _points(rng, n, d, gen):
    pts = []
    for _ in range(20 * n):
        p = tuple(gen() for _ in range(d))
        if p not in pts:
            pts.append(p)
        if len(pts) == n:
            return pts
    return pts


def _inputs(rng, d, gen, N=None, lengths=(1, 5)):
    N = rng.randint(1, 3) if N is None else N
    out = []
    for _ in range(N):
        X = _points(rng, rng.randint(*lengths), d, gen)
        if X and set(X) not in [set(Y) for Y in out]:
            out.append(X)
    return out


def _ff(rng, d, w, gen=None, cancel=False):
    gen = gen or (lambda: _r(rng))
    U = [[gen() for _ in range(d)] for _ in range(w)]
    b = [gen() for _ in range(w)]
    W = [[gen() for _ in range(w)] for _ in range(d)]
    if cancel and w >= 2:        # pairs of units on one row whose columns cancel far out
        for m in range(0, w - 1, 2):
            U[m + 1] = list(U[m])
            b[m + 1] = b[m] - abs(gen()) - 1
            for r in W:
                r[m + 1] = -r[m]
    return U, b, W


def _rand_mat(rng, d, gen=None, kinds=("scalar", "rank1", "full")):
    gen = gen or (lambda: _r(rng))
    kind = rng.choice(kinds)
    if kind == "scalar":
        return ("scalar", gen() or Fraction(1))
    if kind == "rank1":
        return ("rank1", gen() or Fraction(1), [gen() for _ in range(d)])
    return ("full", [[gen() for _ in range(d)] for _ in range(d)])


def _limits(fmt):
    return (1022, 126)[fmt == "binary32"]


# ------------------------------------------------------------------ kinds
def _fmt(rng):
    return "binary64" if rng.random() < 0.6 else "binary32"


def gen_magnitude(rng):
    fmt = _fmt(rng)
    top = _limits(fmt)
    E = rng.choice([top - 2, top - 7, top // 2, -top + 2, -top + 7, -(top // 2), 0])
    s = Fraction(2) ** E
    d = rng.randint(2, 4)
    ins = _inputs(rng, d, lambda: _r(rng) * s)
    blocks = []
    U, b, W = _ff(rng, d, rng.randint(1, 4))
    blocks.append(block(d, "magnitude", 1, [[c / s for c in u] for u in U], b, [[c * s for c in r] for r in W]))
    if abs(E) < top - 10 or rng.random() < 0.5:
        blocks.append(block(d, "magnitude", rho=1, A=("scalar", Fraction(1) / (s * s) * rng.choice([1, 3])),
                            V=("scalar", Fraction(1, rng.choice([2, 3, 4])))))
    blocks.append(block(d, "magnitude", rho=Fraction(1, 2) ** rng.randint(0, 3), V=("zero",)))
    return fmt, d, ins, blocks, None


def gen_subnormal(rng):
    fmt = _fmt(rng)
    top = _limits(fmt)
    p = (53, 24)[fmt == "binary32"]
    low = -top - p + 1           # the smallest subnormal's exponent
    d = rng.randint(2, 3)
    E = rng.randint(low + 2, -top - 1)
    s = Fraction(2) ** E
    ins = _inputs(rng, d, lambda: _r(rng, den=(1, 2, 3)) * s)
    up = Fraction(2) ** rng.randint(top // 2, top - 5)
    blocks = [block(d, "subnormal", rho=up * rng.choice([1, 3, Fraction(1, 3)]))]
    U, b, W = _ff(rng, d, rng.randint(1, 3))
    blocks.append(block(d, "subnormal", 1, [[c / (s * up) for c in u] for u in U], b,
                        [[c * s * up for c in r] for r in W]))
    if rng.random() < 0.5:
        blocks.append(block(d, "subnormal", rho=1, A=("scalar", 1 / (s * up) ** 2), V=("scalar", Fraction(1, 2))))
    return fmt, d, ins, blocks, None


def _fe(rng, field, small=False):
    """A random element of the field (small: every coefficient in [-3/2, 3/2])."""
    k = len(FIELDS[field][0]) - 1
    if small:
        return FE(Fraction(rng.randint(-3, 3), rng.choice((2, 4))) for _ in range(k))
    return FE(Fraction(rng.randint(-6, 6), rng.choice((1, 2, 3, 4))) if i == 0 or rng.random() < 0.6
              else Fraction(0) for i in range(k))


def gen_field(rng):
    fmt = _fmt(rng)
    field = rng.choice(sorted(FIELDS))
    d = rng.randint(2, 3)
    g = lambda: _fe(rng, field)
    ins = _inputs(rng, d, g, lengths=(1, 4))
    blocks = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.6:
            U, b, W = _ff(rng, d, rng.randint(1, 4), g)
            blocks.append(block(d, "field", g() if rng.random() < 0.3 else 1, U, b, W))
        else:
            blocks.append(block(d, "field", rho=g(), A=_rand_mat(rng, d, g), V=_rand_mat(rng, d, g)))
    return fmt, d, ins, blocks, field


def gen_one_token(rng):
    fmt = _fmt(rng)
    d = rng.randint(2, 4)
    ins = [_points(rng, 1, d, lambda: _r(rng)) for _ in range(rng.randint(1, 3))]
    ins += _inputs(rng, d, lambda: _r(rng), N=rng.randint(0, 1), lengths=(2, 4))
    ins = [X for i, X in enumerate(ins) if X and set(X) not in [set(Y) for Y in ins[:i]]]
    blocks = []
    for _ in range(rng.randint(1, 3)):
        U, b, W = _ff(rng, d, rng.randint(0, 4))
        blocks.append(block(d, "one-token", rng.choice([1, 1, Fraction(1, 3)]), U, b, W,
                            rho=rng.choice([1, 0, Fraction(1, 2)]), A=_rand_mat(rng, d), V=_rand_mat(rng, d)))
    return fmt, d, ins, blocks, None


def gen_near_tie(rng):
    fmt = _fmt(rng)
    p = (53, 24)[fmt == "binary32"]
    d = rng.randint(2, 4)
    base = [_r(rng, den=(1, 2, 4)) + 10 for _ in range(d)]
    x0 = tuple(base)
    gap = Fraction(2) ** (-p + rng.randint(0, 14)) * rng.choice([1, 3, Fraction(1, 3)])
    e = [Fraction(0)] * d
    e[rng.randrange(d)] = rng.choice([1, -1])
    x1 = tuple(c + gap * v * 10 for c, v in zip(x0, e))
    others = _points(rng, rng.randint(0, 2), d, lambda: _r(rng))
    X = [x0, x1] + [o for o in others if o not in (x0, x1)]
    A = rng.choice([("scalar", Fraction(1)), ("full", [[Fraction(int(i == j)) + _r(rng) / 64 for j in range(d)]
                                                       for i in range(d)])])
    blocks = [block(d, "near-tie", rho=1, A=A, V=("scalar", Fraction(1, 2)))]
    return fmt, d, [X], blocks, None


def gen_gram(rng):
    """Attention with A = c I on rational tokens of very different sizes, some pairs of
    scores a few ulps apart (the checker filters keys with a float Gram matrix)."""
    fmt = _fmt(rng)
    p, top = (53, 1022) if fmt == "binary64" else (24, 126)
    d = rng.randint(2, 4)
    E = rng.choice([0, 0, top // 4, -(top // 4), top // 2 - 4, -(top // 2) + 4])
    s = Fraction(2) ** E
    X = _points(rng, rng.randint(2, 8), d,
                lambda: _r(rng, den=(1, 2, 3, 4)) * s * rng.choice([1, 1, 2 ** 20, Fraction(1, 2 ** 20)]))
    for _ in range(rng.choice([0, 0, 1])):     # a near copy: scores some ulps apart
        x = rng.choice(X)
        i = rng.randrange(d)
        y = tuple(c * (1 + rng.choice([1, -1]) * Fraction(2) ** (-p + rng.randint(0, 30))) if m == i else c
                  for m, c in enumerate(x))
        if y not in X:
            X.append(y)
    c = Fraction(rng.choice([1, -1, 3, Fraction(1, 3)])) / (s * s) * rng.choice([1, 1, 2 ** 10])
    blocks = [block(d, "gram", rho=rng.choice([1, 0, Fraction(1, 2)]), A=("scalar", c),
                    V=("scalar", rng.choice([Fraction(1, 2), Fraction(-1, 3), Fraction(1)])))]
    return fmt, d, [X], blocks, None


def gen_one_row(rng):
    """Runs of FF layers whose units all read one rational row u (eta = 1): trapezoids
    relu(s - t1) - relu(s - t2) - relu(s - t3) + relu(s - t4), the identity where all
    four are on, with tokens below, inside and far above (the checker bounds those
    lazily), some a few ulps from a kink."""
    fmt = _fmt(rng)
    p = (53, 24)[fmt == "binary32"]
    d = rng.randint(2, 3)
    u = [Fraction(rng.randint(1, 5), rng.choice([1, 2, 4])) * rng.choice([1, -1]) for _ in range(d)]
    ins = _inputs(rng, d, lambda: _r(rng, top=20) * rng.choice([1, 1, 1, 10 ** 6, 2 ** 30, Fraction(1, 10 ** 6)]),
                  N=rng.randint(1, 2), lengths=(2, 6))
    if not ins:
        return fmt, d, ins, [], None
    proj = sorted({sum(a * b for a, b in zip(u, x)) for X in ins for x in X})
    blocks = []
    for _ in range(rng.randint(1, 4)):
        lo = rng.choice(proj)
        if rng.random() < 0.5:               # a kink a few ulps from a token's <u, x>
            lo += abs(lo or 1) * Fraction(2) ** (-p + rng.randint(0, 20)) * rng.choice([1, -1])
        e = Fraction(rng.randint(1, 8), rng.choice([1, 4, 16, 3]))
        t = [lo, lo + e, lo + 2 * e + rng.choice([0, e]), 0]
        t[3] = t[2] + (t[1] - t[0])
        w = [_r(rng) / rng.choice([1, e]) for _ in range(d)]
        W = [[c, -c, -c, c] for c in w]
        blocks.append(block(d, "one-row", 1, [list(u)] * 4, [-x for x in t], W))
    return fmt, d, ins, blocks, None


def gen_wide(rng):
    fmt = _fmt(rng)
    d = rng.choice([4, 8, 16])
    w = rng.randint(4, 16)
    ins = _inputs(rng, d, lambda: _r(rng), N=rng.randint(1, 2), lengths=(1, 3))
    blocks = []
    for _ in range(rng.randint(1, 2)):
        U, b, W = _ff(rng, d, w, cancel=rng.random() < 0.5)
        blocks.append(block(d, "wide", rng.choice([1, 0, Fraction(1, 2)]), U, b,
                            [[c / 16 for c in r] for r in W], rho=1,
                            A=_rand_mat(rng, d, kinds=("rank1", "full")) if rng.random() < 0.6 else ("zero",),
                            V=("scalar", Fraction(1, 4)) if rng.random() < 0.6 else ("zero",)))
    return fmt, d, ins, blocks, None


def gen_full(rng):
    fmt = _fmt(rng)
    d = rng.randint(2, 6)
    ins = _inputs(rng, d, lambda: _r(rng), lengths=(2, 4))
    blocks = [block(d, "full", rho=rng.choice([1, 0, Fraction(1, 3), -1]), A=_rand_mat(rng, d, kinds=("full",)),
                    V=_rand_mat(rng, d, lambda: _r(rng) / 8, kinds=("full",))) for _ in range(rng.randint(1, 3))]
    return fmt, d, ins, blocks, None


def gen_scaling(rng):
    fmt = _fmt(rng)
    top = _limits(fmt)
    d = rng.randint(2, 4)
    ins = _inputs(rng, d, lambda: _r(rng))
    opts = [Fraction(2) ** rng.randint(-top // 2, top // 2), Fraction(1, 3), Fraction(3), Fraction(-1),
            Fraction(10) ** 10, Fraction(1, 10 ** 10), Fraction(7, 5), Fraction(0)]
    blocks = []
    for _ in range(rng.randint(1, 3 + 2 * len(ins) - 2)):
        c = rng.choice(opts)
        blocks.append(block(d, "scaling", eta=c) if rng.random() < 0.5 else
                      block(d, "scaling", rho=c, A=_rand_mat(rng, d), V=("zero",)))
    return fmt, d, ins, blocks, None


def gen_inverse(rng):
    fmt = _fmt(rng)
    d = rng.randint(2, 4)
    ins = _inputs(rng, d, lambda: _r(rng))
    c = rng.choice([Fraction(1, 2 ** 30), Fraction(1, 3), Fraction(1, 10 ** 10), Fraction(10 ** 10),
                    Fraction(1, 2), Fraction(-2, 3)])
    f = 1 + c
    if rng.random() < 0.5:        # x -> x + c x, then back
        blocks = [block(d, "inverse", eta=f), block(d, "inverse", eta=1 / f)]
    else:
        blocks = [block(d, "inverse", rho=f), block(d, "inverse", rho=1 / f)]
    if rng.random() < 0.5:        # the same through a unit on every token: x + c relu(<e, x> + B) e
        B = 100
        l = rng.randrange(d)
        U = [[Fraction(int(i == l)) for i in range(d)]]
        W1 = [[c if i == l else Fraction(0)] for i in range(d)]
        blocks.append(block(d, "inverse", 1, U, [B], W1))
        blocks.append(block(d, "inverse", 1, U, [B], [[-c / f if i == l else Fraction(0)] for i in range(d)]))
    return fmt, d, ins, blocks, None


def gen_overflow(rng):
    """A x_i beyond the format while every score is finite: one huge row (or column)
    of A and tokens with coordinates in [1/14, 1/8]."""
    fmt = _fmt(rng)
    top = _limits(fmt) + 1
    d = 16
    big = Fraction(2) ** (top + 1) * Fraction(rng.choice([29, 29, 30]), 32)
    g = lambda: Fraction(rng.randint(72, 124), 1000)
    X = _points(rng, rng.randint(2, 3), d, g)
    row = [big] * d
    zero = [Fraction(0)] * d
    rows = [row] + [zero] * (d - 1)
    if rng.random() < 0.5:
        rows = [[r[c] for r in rows] for c in range(d)]      # the column: (A^T x_j) overflows
    blocks = [block(d, "overflow", rho=1, A=("full", rows), V=("scalar", Fraction(1, 16)))]
    return fmt, d, [X], blocks, None


def gen_one_token_nan(rng):
    """One-token sequences whose single score is inf - inf in floats."""
    fmt = _fmt(rng)
    top = _limits(fmt) + 1
    d = 2
    M = Fraction(2) ** (top - 1) * rng.choice([1, Fraction(3, 2)])
    ins = [[(Fraction(rng.randint(2, 9)), Fraction(rng.randint(2, 9)))] for _ in range(rng.randint(1, 3))]
    ins = [X for i, X in enumerate(ins) if X not in ins[:i]]
    A = ("full", [[M, Fraction(0)], [Fraction(0), -M]]) if rng.random() < 0.7 else ("scalar", M)
    blocks = [block(d, "one-token-nan", rho=1, A=A, V=("scalar", Fraction(1, 2)))]
    return fmt, d, ins, blocks, None


def gen_field_cache(rng):
    """Over a number field, attention blocks of one shape whose weights alternate
    between small and large (a bound remembered for one block must not serve another)."""
    fmt = _fmt(rng)
    field = rng.choice(sorted(FIELDS))
    k = len(FIELDS[field][0]) - 1
    d = 2
    ins = [_points(rng, rng.randint(2, 3), d, lambda: _fe(rng, field, small=True)) for _ in range(2)]
    ins = [X for i, X in enumerate(ins) if set(X) not in [set(Y) for Y in ins[:i]]]
    blocks = []
    n = rng.randint(3, 1 + 2 * sum(map(len, ins)) + 2 * len(ins))
    bigs = rng.randint(1, 3 if fmt == "binary64" else 2)
    for m in range(n):
        c = FE((Fraction(0), Fraction(2) ** (20 if fmt == "binary64" else 8)) + (Fraction(0),) * (k - 2)) \
            if m >= n - bigs else FE((Fraction(1, 2 ** 30),) + (Fraction(0),) * (k - 1))
        blocks.append(block(d, "field-cache", rho=1, A=("scalar", FE((Fraction(1),) + (Fraction(0),) * (k - 1))),
                            V=("scalar", c)))
    return fmt, d, ins, blocks, field


HAND = {"magnitude": gen_magnitude, "subnormal": gen_subnormal, "field": gen_field,
        "one-token": gen_one_token, "near-tie": gen_near_tie, "gram": gen_gram, "one-row": gen_one_row,
        "wide": gen_wide, "full-matrix": gen_full,
        "scaling": gen_scaling, "inverse": gen_inverse, "overflow": gen_overflow,
        "one-token-nan": gen_one_token_nan, "field-cache": gen_field_cache}

# kinds aimed at weak points the analysis once had (each now closed: these kinds end
# unknown or verified true); the reason each was aimed at
AIMED = {
    "field-cache": "bounds of a dense matrix remembered by repr(), which over a number field "
                   "holds object addresses that a later block's weights can reuse",
    "overflow": "A x_i (or A^T x_j) overflows to inf in floats while every score, and the "
                "analysis' product bound, stays finite",
    "one-token-nan": "a one-token sequence has no score gap to prove, so no score overflow test: "
                     "inf - inf gives NaN",
}
HOSTILE = {}        # kinds expected to contradict a verified claim: none


# ------------------------------------------------------------------ the real construction
def _dataset(rng):
    d = rng.choice([2, 2, 3])
    style = rng.choice(["small", "small", "small", "huge", "field", "one", "classes"])
    if style == "classes":       # a labelled dataset: each output is its class point
        pts = _points(rng, rng.randint(2, 3), d, lambda: _r(rng, top=20))
        names = [f"c{i}" for i in range(len(pts))]
        seqs = [{"input": [[_t(c) for c in x] for x in _points(rng, rng.randint(1, 4), d, lambda: _r(rng))],
                 "label": rng.choice(names)} for _ in range(rng.randint(1, 4))]
        return {"dimension": d, "classes": {n: [_t(c) for c in p] for n, p in zip(names, pts)},
                "sequences": seqs}
    if style == "huge":
        gen = lambda: (Fraction(rng.choice([1, -1]) * 10 ** 30) if rng.random() < 0.3 else
                       Fraction(rng.choice([1, -1]), 10 ** 30) if rng.random() < 0.3 else _r(rng))
    else:
        gen = lambda: _r(rng, top=20)
    N = rng.randint(1, 3)
    seqs = []
    for j in range(N):
        n = 1 if style == "one" and j == 0 else rng.randint(1, 4)
        X = _points(rng, n, d, gen)
        Y = _points(rng, rng.randint(1, len(X)), d, gen)
        if style == "field":
            X = [tuple(_coord(c, None) if rng.random() < 0.7 else f"{_t(c)}*sqrt(2)" for c in x) for x in X]
            Y = [tuple(_coord(c, None) if rng.random() < 0.8 else f"sqrt(3)/{rng.randint(1, 4)}" for c in y)
                 for y in Y]
        seqs.append({"input": [[c if isinstance(c, str) else _t(c) for c in x] for x in X],
                     "output": [[c if isinstance(c, str) else _t(c) for c in y] for y in Y]})
    return {"dimension": d, "sequences": seqs}


def _robust(rng, fmt=None):
    """A certificate of ``exactseq check DATA --robust FMT`` on a small random dataset
    (the float-safe construction and the claim ``check`` states: the smallest 2^-k
    proven, else the format's default); one time in four the paper's construction
    (``--paper``)."""
    from . import certificate, floatsafe
    from .dataset import DatasetError, from_obj
    from .errors import ConstructionError
    fmt = fmt or ("float64" if rng.random() < 0.6 else "float32")
    paper = rng.random() < 0.25
    for _ in range(10):
        obj = _dataset(rng)
        try:
            ds = from_obj(obj)
            cons, _ = floatsafe.construct(ds, robust=None if paper else fmt, paper=paper)
        except (DatasetError, ConstructionError):
            continue                      # draw another
        cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
        cert["float_claim"] = floatsafe.float_claim(ds, fmt, cert)
        return cert
    return None


def gen_robust(rng):
    return _robust(rng)


def gen_robust_mutant(rng):
    """The robust construction's weights changed: one weight nudged, a one-token
    sequence added, or a scaling x -> c x and its inverse appended; claims and labels
    dropped, outputs recomputed exactly."""
    cert = _robust(rng)
    if cert is None:
        return None
    cert = copy.deepcopy(cert)
    cert["float_claim"].pop("classes", None)       # the labels no longer describe the outputs
    cert["dataset"].pop("classes", None)
    for s in cert["dataset"]["sequences"]:
        s.pop("label", None)
    what = rng.choice(["nudge", "one-token", "nudge", "one-token", "scale"])
    d = cert["dataset"]["dimension"]
    if what == "nudge" and cert.get("field") is None:
        spots = [(k, side, name) for k, b in enumerate(cert["blocks"]) for side, name in
                 (("ff", "b"), ("ff", "eta"), ("sa", "rho")) if b[side][name] not in ([], "0")]
        if spots:
            k, side, name = rng.choice(spots)
            rel = Fraction(1, 2 ** rng.randint(8, 60)) * rng.choice([1, -1])
            blk = cert["blocks"][k][side]
            if name == "b":
                i = rng.randrange(len(blk["b"]))
                blk["b"][i] = _t(Fraction(blk["b"][i]) * (1 + rel) + rel)
            else:
                blk[name] = _t(Fraction(blk[name]) * (1 + rel))
    elif what == "one-token" and cert.get("field") is None:
        seqs = cert["dataset"]["sequences"]
        seqs.append({"input": [[_t(_r(rng, top=20)) for _ in range(d)]], "output": [["0"] * d]})
    elif what == "scale":
        c = rng.choice([Fraction(2) ** rng.randint(-20, 20), Fraction(1, 3)])
        for eta in (c, 1 / c):        # x -> c x, then back: exact, rounded twice in floats
            cert["blocks"].append({"phase": "scale", "ff": {"eta": _t(eta), "U": [], "b": [],
                                                            "W": [[] for _ in range(d)]},
                                   "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}},
                                   "claims": []})
    return set_outputs(cert)


def gen_tolerance(rng):
    """A simple certificate whose tolerance text sits at an edge."""
    d = 2
    X = _points(rng, rng.randint(1, 3), d, lambda: _r(rng))
    U, b, W = _ff(rng, d, 2)
    cert = certificate(d, [X], [block(d, "tolerance", 1, U, b, W, rho=1, A=("scalar", Fraction(1)),
                                      V=("scalar", Fraction(1, 3)))], _fmt(rng))
    if cert is None:
        return None
    cert["float_claim"]["tolerance"] = rng.choice(
        ["1e-9", "1e-300", "1/" + "1" + "0" * 400, "1" + "0" * 400, "0.5", "1/3", "2e-16", "1e-7", "1e-40",
         "3/4503599627370496", "1e-99999", "1/" + "7" * 5000, "1e+9999"])
    return cert


KINDS = dict(HAND, robust=gen_robust, **{"robust-mutant": gen_robust_mutant}, tolerance=gen_tolerance)


def generate(kind, rng):
    """A certificate of the given kind (with a "float_claim"), or None when the draw
    gives none (an invalid dataset, or one beyond the block bound)."""
    g = KINDS[kind]
    if kind not in HAND:
        return g(rng)
    fmt, d, ins, blocks, field = g(rng)
    if not ins or not blocks:
        return None
    cert = certificate(d, ins, blocks, fmt, None, field)
    if cert is not None and rng.random() < 0.3:
        cert["float_claim"]["relative"] = True
    return cert


# ================================================================== the campaign
def _check(cert, times=None):
    """(verdict, summary or reason) of proofs_check on a certificate: "verified" only
    when the summary carries a proven float claim with its bound.  ``times`` (a list)
    receives the seconds the check took."""
    import proofs_check
    t0 = time.monotonic()
    try:
        res = proofs_check.check(cert)
        fc = res.get("float_claim") if isinstance(res, dict) else None
        if not isinstance(fc, dict) or "bound_exact" not in fc:
            return "unknown", "the float claim is not proven"
        return "verified", res
    except proofs_check.Rejected as exc:
        return "rejected", str(exc)
    except proofs_check.Malformed as exc:
        return "malformed", str(exc)
    except proofs_check.Unknown as exc:
        return "unknown", str(exc)
    except Exception as exc:       # never a pass: a crash is a finding
        return "error", f"{type(exc).__name__}: {exc}"[:300]
    finally:
        if times is not None:
            times.append(time.monotonic() - t0)


def _tighten(cert, rng, summary):
    """The tolerance of a hand-made certificate: cut to the proven bound (tight),
    or left generous."""
    if rng.random() < 0.7:
        cert = dict(cert, float_claim=dict(cert["float_claim"], tolerance=summary["float_claim"]["bound_exact"]))
        return cert, True
    return cert, False


def _empty_counts():
    return {"generated": 0, "verified": 0, "unknown": 0, "rejected": 0, "malformed": 0, "error": 0,
            "generator_errors": 0, "passes": 0, "contradicted": 0, "contradictions": 0, "bound_exceeded": 0,
            "beyond_model": 0, "pass_errors": 0, "ratio": 0.0, "beyond_ratio": 0.0, "slowest_check": 0.0,
            "seconds": 0.0}


def campaign(count, seed=0, kinds=None, out=None, passes=None, progress=None, seconds=None):
    """Generate ``count`` certificates (kinds in turn, each deterministic in (seed,
    kind, index)), check each with proofs_check and, for every verified float claim,
    run every float pass and compare.

    Returns a dict: totals (``generated``, ``verified``, ``unknown``, ``rejected``,
    ``malformed``, ``error`` (the checker raised something else), ``generator_errors``,
    ``passes`` run, ``contradicted`` (certificates with a contradiction or a bound
    exceeded), ``contradictions``, ``bound_exceeded`` and ``beyond_model`` (each
    counted once per certificate and pass), ``pass_errors``, ``ratio`` (the largest
    observed error / proven bound), ``beyond_ratio`` (the same for einsum3),
    ``slowest_check`` (seconds)), ``by_kind`` (the same per kind) and ``findings``
    (one entry per certificate with a contradiction, a bound exceeded or a checker
    error, saved as JSON under ``out`` when given)."""
    kinds = list(kinds or KINDS)
    pl = [PASS_NAMES[p] if isinstance(p, str) else p for p in passes] if passes else PASSES
    total, by = _empty_counts(), {k: _empty_counts() for k in kinds}
    findings = []
    t0 = time.monotonic()
    if out:
        os.makedirs(out, exist_ok=True)
    for i in range(count):
        if seconds is not None and time.monotonic() - t0 > seconds:
            break
        kind = kinds[i % len(kinds)]
        rng = random.Random(f"{seed}:{kind}:{i}")
        t1 = time.monotonic()
        c = by[kind]
        try:
            cert = generate(kind, rng)
        except Exception as exc:      # a generator bug: reported, the campaign goes on
            c["generator_errors"] += 1
            findings.append({"kind": kind, "index": i, "generator_error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        if cert is None:
            continue
        c["generated"] += 1
        times = []
        verdict, res = _check(cert, times)
        tight = False
        if verdict == "verified" and kind != "tolerance":
            cert, tight = _tighten(cert, rng, res)
            if tight:
                verdict, res = _check(cert, times)
        c[verdict] += 1
        c["slowest_check"] = max(c["slowest_check"], *times)
        f = {"kind": kind, "index": i, "verdict": verdict, "format": cert["float_claim"]["format"],
             "tight": tight}
        if verdict == "error":
            f["checker_error"] = res
        if verdict == "verified":
            r = falsify(cert, res, pl)
            c["passes"] += r["runs"]
            c["contradictions"] += len({p for p, _ in r["contradictions"]})
            c["bound_exceeded"] += len({p for p, _ in r["bound"]})
            c["beyond_model"] += len({p for p, _ in r["beyond_model"]})
            c["pass_errors"] += len(r["errors"])
            c["contradicted"] += bool(r["contradictions"] or r["bound"])
            c["ratio"] = max(c["ratio"], r["ratio"])
            c["beyond_ratio"] = max(c["beyond_ratio"], r["beyond_ratio"])
            for key in ("contradictions", "bound", "beyond_model", "errors"):
                if r[key]:
                    f[key] = r[key][:60]
        c["seconds"] += time.monotonic() - t1
        if any(k in f for k in ("contradictions", "bound", "checker_error", "errors")):
            if out:
                path = os.path.join(out, f"{kind}-{seed}-{i}.json")
                with open(path, "w") as fh:
                    json.dump(cert, fh, indent=1)
                f["file"] = path
            findings.append(f)
        elif "beyond_model" in f:
            findings.append(f)
        if progress:
            progress(i + 1, count)
    for c in by.values():
        for k, v in c.items():
            total[k] = max(total[k], v) if k.endswith("ratio") or k == "slowest_check" else total[k] + v
    return dict(total, by_kind=by, findings=findings, seed=seed, count=count)


# ================================================================== the fuzz target
FUZZ_PASSES = ("blas", "seq", "reversed", "pairwise", "random-1", "fma", "fma-random", "key-scores",
               "einsum3", "torch-1")      # one of each kind of pass, for speed


def fuzz_case(rng):
    """A case of ``exactseq fuzz float-claim``: {"kind", "tight", "certificate"} (None
    when the draws give no certificate)."""
    kind = rng.choice(sorted(KINDS))
    for _ in range(4):
        cert = generate(kind, rng)
        if cert is not None:
            return {"kind": kind, "tight": rng.random() < 0.7, "certificate": cert}
    return {"kind": kind, "tight": False, "certificate": None}


def fuzz_run(case):
    """(preconditions, conclusion) of a fuzz case: "verified" (the checker proved the
    claim) and "ordinary" (the kind is not one of HOSTILE); the conclusion: no float
    pass contradicts the claim or exceeds the proven bound.  A checker that raises
    anything but its three verdicts raises here (a finding)."""
    cert = case.get("certificate") if isinstance(case, dict) else None
    if not isinstance(cert, dict) or not isinstance(cert.get("float_claim"), dict):
        return None
    verdict, res = _check(cert)
    if verdict == "error":
        raise RuntimeError(f"the checker raised {res}")
    if verdict == "verified" and case.get("tight"):
        cert = dict(cert, float_claim=dict(cert["float_claim"], tolerance=res["float_claim"]["bound_exact"]))
        verdict, res = _check(cert)
        if verdict == "error":
            raise RuntimeError(f"the checker raised {res}")
    pre = {"verified": verdict == "verified", "ordinary": case.get("kind") not in HOSTILE}
    if verdict != "verified":
        return pre, True
    r = falsify(cert, res, [PASS_NAMES[p] for p in FUZZ_PASSES])
    return pre, not (r["contradictions"] or r["bound"])
