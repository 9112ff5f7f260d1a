"""A dense NumPy forward pass of a certificate's weights, in floating point.

    from exactseq.floatpass import forward, timed
    outputs, error = forward(cert)            # float64 outputs, max Hausdorff error
    r = timed(cert, repeats=3)                # the same, plus the best time of 3

The same weights as the exact model, each rounded once to the float format
(correctly, from its exact value: see :mod:`exactseq.weights`), evaluated the
way a float implementation would, densely, with the model's semantics
(CLAIMS.md):

* ``FF(x) = eta x + W relu(U x + b)`` on every token;
* hardmax ``SA(X)_i = rho x_i + V * mean{x_j : j maximises <A x_i, x_j>}`` (several
  heads: ``rho x_i`` plus every head's term, added in head order), the
  maximisers being the keys whose float score equals the row's maximum
  exactly (``scores == scores.max(axis=-1, keepdims=True)``); softmax
  ``SA(X)_i = rho x_i + sum_j w_ij V x_j`` with ``w_i = softmax(s_i / tau)``,
  ``s_ij = <A x_i, x_j>`` (the row maximum of ``s_i / tau`` subtracted before
  ``exp``); A and V expanded to dense d x d;
* a block is ``SA(FF(X))``.

Operation order (which :class:`exactseq.torch.ExactTransformer` follows):
``H = X @ U^T + b``, ``X = eta X + relu(H) @ W^T``, ``S = (X @ A^T) @ X^T``,
``X = rho X + (w @ X) @ V^T``; with several heads ``X = (rho X + T_1) + T_2 ...``,
``T_h = (w_h @ X) @ V_h^T`` (a head whose V is exactly zero is skipped).

Tokens are vectorised: a sequence is one (n x d) array per block, and
sequences are stacked, padded to a common length, into (B x n x d) arrays of
at most ``CHUNK`` score entries (padding keys are masked out of every
maximum, padding rows reset to zero after each block).  A block whose V is
exactly zero skips the score computation: then ``SA(X) = rho X`` whatever
the scores are, so this is the same function.

``dtype=object`` runs the same pass on exact Fractions (rational hardmax
certificates).  ``fmt="bfloat16"`` emulates bfloat16 in float32 arrays: the
weights and inputs are rounded correctly to bfloat16 (8 significant bits,
float32's exponent range) and every intermediate array (each product, sum,
matrix product, exponential, quotient) is rounded to bfloat16 to nearest,
ties to even, after float32 computes it, as bfloat16 hardware that
accumulates matrix products in float32 does.
"""
from __future__ import annotations

import ast
import math
import time
from fractions import Fraction

import numpy as np

from . import weights as wt

__all__ = ["forward", "timed", "convert", "run", "step", "hausdorff", "text_to_float",
           "theta_of", "round_bfloat16", "Weights", "DTYPES"]

CHUNK = 1 << 22          # score entries (B * n * n) per stacked batch
THETA_BITS = 256
DTYPES = {"float64": np.float64, "float32": np.float32, "bfloat16": np.float32}


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


_FUNCS = {"sqrt": math.sqrt}


def text_to_float(value):
    """A dataset coordinate (int, "p/q", decimal or whitelisted expression) as a float
    (evaluated in floats: a quick reading, not correctly rounded for expressions)."""
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


def round_bfloat16(a):
    """float32 array a rounded to bfloat16 values (nearest, ties to even; NaN kept),
    still as float32."""
    a = np.asarray(a, np.float32)
    u = a.view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000))
    out = r.view(np.float32)
    nan = np.isnan(a)
    if nan.any():
        out = np.where(nan, a, out)
    return out.reshape(a.shape)


# ---------------------------------------------------------------- the model
class Weights(list):
    """The blocks (eta, U^T, b, W^T, rho, A^T, V^T or None; with several heads A^T and
    V^T are tuples, one entry per head, see :func:`_heads`) of a converted certificate,
    with ``attention``, ``tau`` (a scalar of the pass's dtype, or None), ``fmt``
    and ``phases``."""
    attention = "hardmax"
    tau = None
    fmt = "float64"
    phases = ()
    overflow = underflow = 0      # weights beyond the format's range, non-zero ones rounding to 0


def _heads(As, Vs):
    """A block's (A^T, V^T) entries: the arrays for one head, tuples (one entry per
    head, V^T None where V is exactly zero) for several; V^T None when every V is."""
    if len(As) == 1:
        return As[0], Vs[0]
    return tuple(As), (None if all(V is None for V in Vs) else tuple(Vs))


def _model(cert):
    return cert if isinstance(cert, wt.Model) else wt.parse(cert)


def convert(cert, dtype=np.float64, fmt=None):
    """(blocks, inputs, targets): every block's weights as dense arrays of dtype (each
    the correctly rounded value of its exact number in fmt, by default the format of
    dtype), each input as an (n x d) array of dtype and each target as an (m x d)
    float64 array.  ``cert`` is a certificate object or an :class:`exactseq.weights.Model`."""
    model = _model(cert)
    d = model.d
    exact = np.dtype(dtype) == np.dtype(object)
    blocks = Weights()
    blocks.attention, blocks.phases = model.attention, tuple(model.phases)
    if exact:
        if model.field is not None:
            raise ValueError("dtype=object evaluates rational certificates only")
        if model.attention != "hardmax":
            raise ValueError("dtype=object evaluates hardmax certificates only (softmax "
                             "weights are not rational)")
        blocks.fmt = "exact"

        def mat(M):
            return np.array([list(r) for r in wt.dense(M, d)], object).reshape(d, d)
        for blk in model.blocks:
            w = blk.width
            U = np.array([list(u) for u in blk.U], object).reshape(w, d)
            W = np.array([list(r) for r in blk.W], object).reshape(d, w)
            At, Vt = _heads([mat(A).T.copy() for A, _ in blk.heads],
                            [None if wt.is_zero(V) else mat(V).T.copy() for _, V in blk.heads])
            blocks.append((blk.eta, U.T.copy(), np.array(list(blk.b), object).reshape(w), W.T.copy(),
                           blk.rho, At, Vt))

        def arr(pts):
            return np.array([list(t) for t in pts], object).reshape(-1, d)
        return blocks, [arr(X) for X in model.inputs], \
            [np.array([[float(c) for c in t] for t in Y]).reshape(-1, d) for Y in model.targets]
    if fmt is None:
        fmt = {np.dtype(np.float64): "float64", np.dtype(np.float32): "float32"}[np.dtype(dtype)]
    blocks.fmt = fmt
    rounder = wt.Rounder(fmt)
    for blk, a in zip(model.blocks, wt.arrays(model, fmt, rounder)):
        cast = {k: v.astype(dtype) for k, v in a.items()}
        As = [cast["sa.A"]] if len(blk.heads) == 1 else list(cast["sa.A"])
        Vs = [cast["sa.V"]] if len(blk.heads) == 1 else list(cast["sa.V"])
        At, Vt = _heads([A.T.copy() for A in As],
                        [None if wt.is_zero(V) else Vf.T.copy() for (_, V), Vf in zip(blk.heads, Vs)])
        blocks.append((cast["ff.eta"][()], cast["ff.U"].T.copy(), cast["ff.b"], cast["ff.W"].T.copy(),
                       cast["sa.rho"][()], At, Vt))
    blocks.overflow, blocks.underflow = rounder.overflow, rounder.underflow
    if model.tau is not None:
        blocks.tau = np.dtype(dtype).type(rounder(model.tau))

    def arr(pts, f, t):
        return np.array([[wt.to_float(c, f) for c in p] for p in pts], t).reshape(-1, d)
    return blocks, [arr(X, fmt, dtype) for X in model.inputs], \
        [arr(Y, "float64", np.float64) for Y in model.targets]


def step(blk, X, pad=None, tau=None, rnd=None, want=False):
    """One block on stacked sequences X (B x n x d); pad (B x n) marks padding tokens.

    Returns (X, pattern, argmax): with ``want``, pattern (B x n x w) says which ReLU
    units are > 0 and argmax (B x n x n) which keys have the row's largest score
    (None when V is exactly zero: no attention is computed; with several heads a
    tuple with one such entry per head); rnd rounds every intermediate array
    (bfloat16 emulation) and tau gives softmax attention.  Several heads add their
    terms to rho X in head order, each sum rounded."""
    eta, Ut, b, Wt, rho, At, Vt = blk
    R = rnd or (lambda a: a)
    H = R(X @ Ut)
    H += b
    H = R(H)
    pattern = H > 0 if want else None
    np.maximum(H, 0, out=H)
    if rnd is None:
        X = eta * X + H @ Wt
    else:
        X = R(R(eta * X) + R(H @ Wt))
    argmax = None
    if Vt is not None:
        if isinstance(At, tuple):               # several heads
            out, argmax = R(rho * X), []
            for Ah, Vh in zip(At, Vt):
                if Vh is None:
                    argmax.append(None)
                    continue
                term, M = _head(X, Ah, Vh, pad, tau, R)
                out = R(out + term)
                argmax.append(M if want else None)
            X, argmax = out, (tuple(argmax) if want else None)
        else:
            term, M = _head(X, At, Vt, pad, tau, R)
            argmax = M if want else None
            X = R(R(rho * X) + term)
    elif rho != 1:
        X = R(rho * X)
    if pad is not None:
        X[pad] = 0
    return X, pattern, argmax


def _head(X, At, Vt, pad, tau, R):
    """(one head's term (w @ X) @ V^T, its argmax mask) on stacked sequences X."""
    S = R(R(X @ At) @ np.swapaxes(X, 1, 2))        # S[i, j] = <A x_i, x_j>
    if pad is not None:
        S[np.broadcast_to(pad[:, None, :], S.shape)] = -np.inf
    M = S == S.max(axis=2, keepdims=True)
    if tau is None:
        if X.dtype == object:  # exact weights 1/|C_i|
            w = np.where(M, Fraction(1), Fraction(0))
            w = w / w.sum(axis=2, keepdims=True)
        else:
            Mf = M.astype(X.dtype)
            w = R(Mf / Mf.sum(axis=2, keepdims=True))
    else:
        Z = R(S / tau)
        Z = R(Z - Z.max(axis=2, keepdims=True))
        E = R(np.exp(Z))
        w = R(E / R(E.sum(axis=2, keepdims=True)))
    return R(R(w @ X) @ Vt), M


def _run_batch(blocks, X, mask, rnd=None):
    """Apply every block to the stacked sequences X (B x n x d); mask (B x n) marks
    real tokens."""
    pad = ~mask
    pad = pad if pad.any() else None
    tau = getattr(blocks, "tau", None)
    for blk in blocks:
        X = step(blk, X, pad, tau, rnd)[0]
    return X


def groups(lengths, chunk=CHUNK):
    """Sequence indices in stacked batches: lengths ascending, while B * nmax^2 fits."""
    order = sorted(range(len(lengths)), key=lambda j: lengths[j])
    out, i = [], 0
    while i < len(order):
        j = i + 1
        while j < len(order) and (j - i + 1) * lengths[order[j]] ** 2 <= chunk:
            j += 1
        out.append(order[i:j])
        i = j
    return out


def stack(inputs, group, dtype):
    """(X, mask) for the sequences of group, padded to a common length."""
    d = inputs[group[0]].shape[1]
    n = max(len(inputs[k]) for k in group)
    X = np.zeros((len(group), n, d), dtype)
    mask = np.zeros((len(group), n), bool)
    for r, k in enumerate(group):
        X[r, :len(inputs[k])] = inputs[k]
        mask[r, :len(inputs[k])] = True
    return X, mask


def run(blocks, inputs, dtype=np.float64, chunk=CHUNK, rnd=None):
    """The final tokens of every sequence (list of (n x d) arrays)."""
    out = [None] * len(inputs)
    for group in groups([len(x) for x in inputs], chunk):
        X, mask = stack(inputs, group, dtype)
        Y = _run_batch(blocks, X, mask, rnd)
        for r, k in enumerate(group):
            out[k] = Y[r, :len(inputs[k])]
    return out


def hausdorff(P, Q):
    """Euclidean Hausdorff distance between the point sets (rows) P and Q."""
    D = np.sqrt(((P[:, None, :] - Q[None, :, :]) ** 2).sum(axis=2))
    return float(max(D.min(axis=1).max(), D.min(axis=0).max()))


def errors(outputs, targets):
    """Hausdorff distance of each output set from its target set, in float64."""
    with np.errstate(all="ignore"):
        return [hausdorff(np.asarray(o, np.float64), np.asarray(t, np.float64))
                for o, t in zip(outputs, targets)]


def _error(outputs, targets):
    errs = errors(outputs, targets)
    if any(math.isnan(e) for e in errs):
        return math.nan
    return max(errs, default=0.0)


def _setup(cert, dtype, fmt):
    if fmt == "bfloat16":
        dtype = np.float32
    blocks, inputs, targets = convert(cert, dtype, fmt)
    return blocks, inputs, targets, dtype, (round_bfloat16 if fmt == "bfloat16" else None)


def forward(cert, dtype=np.float64, fmt=None):
    """(outputs, error): the final tokens of every sequence as (n x d) arrays of
    dtype, and the largest Hausdorff distance between a sequence's output set and
    its target set (nan if a value overflowed).  fmt "bfloat16" emulates bfloat16."""
    blocks, inputs, targets, dtype, rnd = _setup(cert, dtype, fmt)
    with np.errstate(all="ignore"):
        outputs = run(blocks, inputs, dtype, rnd=rnd)
    return outputs, _error(outputs, targets)


def timed(cert, dtype=np.float64, repeats=3, budget=10.0, fmt=None):
    """Convert once, then run the forward pass ``repeats`` times (fewer if one run
    takes more than ``budget`` seconds) and keep the best time.

    Returns a dict: ``seconds`` (best forward pass), ``convert_seconds``,
    ``runs``, ``error`` (max Hausdorff error) and ``outputs``.
    """
    t0 = time.perf_counter()
    blocks, inputs, targets, dtype, rnd = _setup(cert, dtype, fmt)
    conv = time.perf_counter() - t0
    best, outputs, runs = math.inf, None, 0
    with np.errstate(all="ignore"):
        for _ in range(max(1, repeats)):
            t = time.perf_counter()
            outputs = run(blocks, inputs, dtype, rnd=rnd)
            best = min(best, time.perf_counter() - t)
            runs += 1
            if best > budget:
                break
    return {"seconds": best, "convert_seconds": conv, "runs": runs,
            "error": _error(outputs, targets), "outputs": outputs}
