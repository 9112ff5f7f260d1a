"""A dense NumPy forward pass of a hardmax certificate's weights, in floating point.

    from benchmarks.floatpass import forward, timed
    outputs, error = forward(cert)            # float64 outputs, max Hausdorff error
    r = timed(cert, repeats=3)                # the same, plus the best time of 3

This is the baseline the exact checker is compared with: the same weights,
rounded to floats once, evaluated the way a float implementation would,
densely, with the model's semantics (CLAIMS.md):

* ``FF(x) = eta x + W relu(U x + b)`` on every token;
* hardmax ``SA(X)_i = rho x_i + V * mean{x_j : j maximises <A x_i, x_j>}``, the
  maximisers being the keys whose float score equals the row's maximum
  exactly (``scores == scores.max(axis=-1, keepdims=True)``); A and V are
  zero, ``c I``, ``c a a^T`` (c defaults to 1) or full, expanded to dense d x d;
* a block is ``SA(FF(X))``.

Tokens are vectorised: a sequence is one (n x d) array per block, and
sequences are stacked, padded to a common length, into (B x n x d) arrays of
at most ``CHUNK`` score entries (padding keys are masked out of every
maximum, padding rows reset to zero after each block).  A block whose V is
exactly zero skips the score computation: then ``SA(X) = rho X`` whatever
the scores are, so this is the same function.

Weights over a number field Q(theta), ``[c_0, ..., c_{k-1}]`` meaning
``sum c_i theta^i``, are converted by finding theta from ``field.minpoly``
and ``field.interval`` by bisection in exact rationals (to 256 bits, on the
square-free part of the polynomial) and evaluating the polynomial exactly at
that rational before rounding once to a float: evaluating it in floats would
lose digits to cancellation between large powers of theta.  The float
targets are the dataset's coordinate texts evaluated in floats (integers,
fractions, decimals and expressions with sqrt, ^, + - * / and parentheses).
"""
from __future__ import annotations

import ast
import math
import time
from fractions import Fraction

import numpy as np

__all__ = ["forward", "timed", "convert", "run", "hausdorff", "text_to_float", "theta_of"]

CHUNK = 1 << 22          # score entries (B * n * n) per stacked batch
THETA_BITS = 256


# ---------------------------------------------------------------- numbers
def _peval(coeffs, x):
    acc = Fraction(0)
    for c in reversed(coeffs):
        acc = acc * x + c
    return acc


def _pdivmod(a, b):
    a = list(a)
    q = [Fraction(0)] * max(len(a) - len(b) + 1, 1)
    while len(a) >= len(b) and any(a):
        f = a[-1] / b[-1]
        k = len(a) - len(b)
        q[k] = f
        for i, c in enumerate(b):
            a[i + k] -= f * c
        a.pop()
        while a and a[-1] == 0:
            a.pop()
    return q, a


def _pgcd(a, b):
    while b and any(b):
        _, r = _pdivmod(a, b)
        a, b = b, r
    return a


def _squarefree(p):
    dp = [i * c for i, c in enumerate(p)][1:]
    g = _pgcd(p, dp)
    if len(g) <= 1:
        return p
    q, _ = _pdivmod(p, g)
    return q


def theta_of(field):
    """A rational within 2^-THETA_BITS * (hi - lo) of theta (the root of
    ``field.minpoly`` in the open interval ``field.interval``)."""
    p = _squarefree([Fraction(c) for c in field["minpoly"]])
    lo, hi = (Fraction(x) for x in field["interval"])
    # The open interval holds one distinct root, simple for the square-free part;
    # find a sub-interval with a sign change (the endpoints themselves may be roots).
    for k in range(11):
        pts = [lo + (hi - lo) * i / 2 ** k for i in range(1, 2 ** k)] if k else []
        pts = [lo, *pts, hi] if k == 0 else pts
        vals = [_peval(p, x) for x in pts]
        hit = next((x for x, v in zip(pts, vals) if v == 0 and lo < x < hi), None)
        if hit is not None:
            return hit
        pairs = [(pts[i], pts[i + 1]) for i in range(len(pts) - 1) if vals[i] * vals[i + 1] < 0]
        if pairs:
            a, b = pairs[0]
            break
    else:
        raise ValueError("no sign change of the minimal polynomial in the field's interval")
    sa = _peval(p, a)
    for _ in range(THETA_BITS):
        mid = (a + b) / 2
        sm = _peval(p, mid)
        if sm == 0:
            return mid
        if (sm > 0) == (sa > 0):
            a, sa = mid, sm
        else:
            b = mid
    return (a + b) / 2


class _Numbers:
    """Exact certificate numbers to floats, each text or coefficient list once
    (to Fractions with exact=True, for rational certificates)."""

    def __init__(self, field, exact=False):
        if exact and field:
            raise ValueError("dtype=object evaluates rational certificates only")
        self.theta = theta_of(field) if field else None
        self.cache = {}
        self.exact = exact

    def __call__(self, x):
        k = tuple(x) if isinstance(x, list) else x
        v = self.cache.get(k)
        if v is None:
            if isinstance(x, list):
                v = float(_peval([Fraction(c) for c in x], self.theta))
            else:
                v = Fraction(x) if self.exact else float(Fraction(x))
            self.cache[k] = v
        return v

    def vec(self, xs):
        return [self(x) for x in xs]


def _is_zero_num(x):
    return all(Fraction(c) == 0 for c in x) if isinstance(x, list) else Fraction(x) == 0


_FUNCS = {"sqrt": math.sqrt}


def text_to_float(value):
    """A dataset coordinate (int, "p/q", decimal or whitelisted expression) as a float."""
    if isinstance(value, int):
        return float(value)
    text = value.strip()
    try:
        return float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        pass

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            op = type(node.op)
            if op is ast.Add:
                return a + b
            if op is ast.Sub:
                return a - b
            if op is ast.Mult:
                return a * b
            if op is ast.Div:
                return a / b
            if op is ast.Pow:
                return a ** b
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in _FUNCS and len(node.args) == 1 and not node.keywords:
            return _FUNCS[node.func.id](ev(node.args[0]))
        raise ValueError(f"unsupported coordinate {value!r}")

    return ev(ast.parse(text.replace("^", "**"), mode="eval").body)


# ---------------------------------------------------------------- the model
def _dense(M, num, d, dtype):
    kind = M["kind"]
    if kind == "zero":
        return np.zeros((d, d), dtype), True
    if kind == "scalar":
        return num(M["c"]) * np.eye(d, dtype=dtype), _is_zero_num(M["c"])
    if kind == "rank1":
        a = np.array(num.vec(M["a"]), dtype)
        c = M.get("c", "1")
        return num(c) * np.outer(a, a), _is_zero_num(c) or all(_is_zero_num(x) for x in M["a"])
    if kind == "full":
        return (np.array([num.vec(r) for r in M["rows"]], dtype).reshape(d, d),
                all(_is_zero_num(x) for r in M["rows"] for x in r))
    raise ValueError(f"unknown matrix kind {kind!r}")


def convert(cert, dtype=np.float64):
    """(blocks, inputs, targets): every block's weights as dense arrays of dtype,
    each input as an (n x d) array and each target as an (m x d) array."""
    if cert.get("attention", "hardmax") != "hardmax":
        raise ValueError("the float pass evaluates hardmax certificates only")
    exact = np.dtype(dtype) == np.dtype(object)
    num = _Numbers(cert.get("field"), exact)
    scalar = (lambda x: x) if exact else dtype
    d = cert["dataset"]["dimension"]
    blocks = []
    for b in cert["blocks"]:
        ff, sa = b["ff"], b["sa"]
        U = np.array([num.vec(u) for u in ff["U"]], dtype).reshape(-1, d)
        W = np.array([num.vec(r) for r in ff["W"]], dtype).reshape(d, -1)
        A, _ = _dense(sa["A"], num, d, dtype)
        V, v_zero = _dense(sa["V"], num, d, dtype)
        blocks.append((scalar(num(ff["eta"])), U.T.copy(), np.array(num.vec(ff["b"]), dtype),
                       W.T.copy(), scalar(num(sa["rho"])), A.T.copy(), None if v_zero else V.T.copy()))

    def arr(pts):
        read = (lambda c: Fraction(c)) if exact else text_to_float
        return np.array([[read(c) for c in t] for t in pts], dtype).reshape(-1, d)
    seqs = cert["dataset"]["sequences"]
    return blocks, [arr(s["input"]) for s in seqs], [arr(s["output"]) for s in seqs]


def _run_batch(blocks, X, mask):
    """Apply every block to the stacked sequences X (B x n x d); mask (B x n) marks
    real tokens."""
    pad = ~mask
    has_pad = bool(pad.any())
    key_pad = pad[:, None, :]
    for eta, Ut, b, Wt, rho, At, Vt in blocks:
        H = X @ Ut
        H += b
        np.maximum(H, 0, out=H)
        X = eta * X + H @ Wt
        if Vt is not None:
            S = (X @ At) @ np.swapaxes(X, 1, 2)          # S[i, j] = <A x_i, x_j>
            if has_pad:
                S[np.broadcast_to(key_pad, S.shape)] = -np.inf
            M = S == S.max(axis=2, keepdims=True)
            if X.dtype == object:  # exact weights 1/|C_i|
                M = np.where(M, Fraction(1), Fraction(0))
            w = M / M.sum(axis=2, keepdims=True)
            X = rho * X + (w @ X) @ Vt
        elif rho != 1:
            X = rho * X
        if has_pad:
            X[pad] = 0
    return X


def run(blocks, inputs, dtype=np.float64, chunk=CHUNK):
    """The final tokens of every sequence (list of (n x d) arrays)."""
    order = sorted(range(len(inputs)), key=lambda j: len(inputs[j]))
    out = [None] * len(inputs)
    i = 0
    d = inputs[0].shape[1] if inputs else 0
    while i < len(order):
        # grow the batch (lengths ascending) while B * nmax^2 fits the chunk
        j = i + 1
        while j < len(order) and (j - i + 1) * len(inputs[order[j]]) ** 2 <= chunk:
            j += 1
        group = order[i:j]
        n = max(len(inputs[k]) for k in group)
        X = np.zeros((len(group), n, d), dtype)
        mask = np.zeros((len(group), n), bool)
        for r, k in enumerate(group):
            X[r, :len(inputs[k])] = inputs[k]
            mask[r, :len(inputs[k])] = True
        Y = _run_batch(blocks, X, mask)
        for r, k in enumerate(group):
            out[k] = Y[r, :len(inputs[k])]
        i = j
    return out


def hausdorff(P, Q):
    """Euclidean Hausdorff distance between the point sets (rows) P and Q."""
    D = np.sqrt(((P[:, None, :] - Q[None, :, :]) ** 2).sum(axis=2))
    return float(max(D.min(axis=1).max(), D.min(axis=0).max()))


def _error(outputs, targets):
    errs = [hausdorff(np.asarray(o, np.float64), np.asarray(t, np.float64))
            for o, t in zip(outputs, targets)]
    if any(math.isnan(e) for e in errs):
        return math.nan
    return max(errs, default=0.0)


def forward(cert, dtype=np.float64):
    """(outputs, error): the final tokens of every sequence as (n x d) arrays of
    dtype, and the largest Hausdorff distance between a sequence's output set and
    its float target set (nan if a value overflowed)."""
    blocks, inputs, targets = convert(cert, dtype)
    with np.errstate(all="ignore"):
        outputs = run(blocks, inputs, dtype)
    return outputs, _error(outputs, targets)


def timed(cert, dtype=np.float64, repeats=3, budget=10.0):
    """Convert once, then run the forward pass ``repeats`` times (fewer if one run
    takes more than ``budget`` seconds) and keep the best time.

    Returns a dict: ``seconds`` (best forward pass), ``convert_seconds``,
    ``runs``, ``error`` (max Hausdorff error) and ``outputs``.
    """
    t0 = time.perf_counter()
    blocks, inputs, targets = convert(cert, dtype)
    conv = time.perf_counter() - t0
    best, outputs, runs = math.inf, None, 0
    with np.errstate(all="ignore"):
        for _ in range(max(1, repeats)):
            t = time.perf_counter()
            outputs = run(blocks, inputs, dtype)
            best = min(best, time.perf_counter() - t)
            runs += 1
            if best > budget:
                break
    return {"seconds": best, "convert_seconds": conv, "runs": runs,
            "error": _error(outputs, targets), "outputs": outputs}
