"""Forward passes that record every decision: exact, or rounded to p bits.

A *decision* of the forward pass is, per block and token, which ReLU units
of the FF layer are > 0 (its activation pattern) and, in an attention layer
whose V is not exactly zero, which keys have the largest score
``<A x_i, x_j>`` (its argmax set; an attention layer with V = 0 decides
nothing: its output is rho X whatever the scores).  A pass records the sign
(1, 0 or -1) of every pre-activation; a unit whose exact pre-activation is
exactly 0 has no decision to get wrong (relu is continuous there: on or off,
it adds 0), so :func:`ff_differs` accepts either side for it.

Two arithmetics run the same pass over all sequences:

* :class:`Exact`: the certificate's numbers themselves (Fractions, or
  elements of the proven number field), with A and V in their factored form;
  equal to the model's definition (CLAIMS.md).
* :class:`Rounded`: mpmath with p significant bits and an unbounded exponent;
  every weight and input coordinate is rounded once from its exact value to
  p bits, A and V are expanded to dense matrices first (as an exported model
  has them), and every product, sum, quotient and exponential is rounded to
  p bits, in the order of the NumPy pass (:mod:`exactseq.floatpass`).

Both skip work that cannot change a result, with a float64 filter whose
error bound is written out below: a token whose float64 reading places every
pre-activation below ``-B`` (B the bound of the difference between the
float64 value and the pass's own value) has all units off, so an FF layer
with ``eta = 1`` leaves it as it is; a key whose float64 score is below
another key's by more than both bounds is not a maximiser.  Everything the
filter does not decide is computed in the pass's own arithmetic.  The
filter is used only when every non-zero float64 magnitude involved lies in
[2^-300, 2^300] (so no product under- or overflows) and ``(2d+2) 2^-p <=
1/16``; the bounds, with u = 2^-53 and r = 2^-p (0 when exact):

* FF: ``|fl64(u.x + b) - h| <= 4 ((d+1) r + (d+2) u) (|u|.|x| + |b|)``, from the
  rounding of x, u and b to float64 (3u), a float64 dot product of length
  d + 1 (gamma_{d+1}) and the pass's own dot product (gamma_{d+1} in r);
* scores: ``|fl64(<A x_i, x_j>) - s_ij| <= 4 ((2d+2) r + (2d+4) u) |x_i|^T |A|^T |x_j|``
  (two nested dot products of length d in each arithmetic, plus the
  rounding of x_i, x_j and A); the factor 4 covers the second-order terms
  and the rounding of the bound's own float64 computation.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import weights as wt

TINY, HUGE = 2.0 ** -300, 2.0 ** 300
MAX_REFERENCE_BITS = 1 << 16
U64 = 2.0 ** -53


class Exact:
    """Exact arithmetic on the certificate's numbers."""
    exact = True
    rel = 0.0
    label = "exact"

    def weight(self, x):
        return x

    def mat(self, M, d):
        return M

    def f64(self, x):
        return wt.to_float(x)

    @staticmethod
    def sign(x):
        return wt.sign(x)

    def inv(self, n):
        return Fraction(1, n)

    def exp(self, x):
        raise ValueError("softmax weights are not exact")


class Rounded:
    """mpmath with p significant bits (unbounded exponent)."""
    exact = False

    def __init__(self, p):
        import mpmath
        self.p = p
        self.ctx = mpmath.MPContext()
        self.ctx.prec = p
        self.rel = 2.0 ** -p
        self.label = f"{p} bits"
        self._cache = {}

    def weight(self, x):
        key = x if isinstance(x, (int, Fraction)) else ("K", x.c)
        v = self._cache.get(key)
        if v is None:
            r = wt.round_exact(x, self.p)
            n, dd = r.numerator, r.denominator
            v = self.ctx.ldexp(self.ctx.mpf(n), -(dd.bit_length() - 1))
            self._cache[key] = v
        return v

    def mat(self, M, d):
        if M[0] == "zero":
            return M
        return ("full", tuple(tuple(self.weight(x) for x in r) for r in wt.dense(M, d)))

    @staticmethod
    def f64(x):
        return float(x)

    @staticmethod
    def sign(x):
        return (x > 0) - (x < 0)

    def inv(self, n):
        return self.ctx.mpf(1) / n

    def exp(self, x):
        return self.ctx.exp(x)


class Patterns:
    """The activation patterns of one FF layer: ``signs[r]`` (int8: the sign of every
    pre-activation) of token ``idx[r]``, for the tokens with some pre-activation >= 0;
    every other token has all of them < 0."""
    __slots__ = ("idx", "signs", "w")

    def __init__(self, idx, signs, w):
        self.idx, self.signs, self.w = idx, signs, w

    @classmethod
    def from_dict(cls, d, w):
        keys = sorted(d)
        return cls(np.array(keys, np.int64), np.array([d[k] for k in keys], np.int8).reshape(-1, w), w)

    def dense(self, total):
        """(total x w) int8 array of every token's signs."""
        R = np.full((total, self.w), -1, np.int8)
        R[self.idx] = self.signs
        return R

    def as_dict(self):
        return {int(i): tuple(int(v) for v in s) for i, s in zip(self.idx, self.signs)}

    def __eq__(self, other):
        return isinstance(other, Patterns) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return f"Patterns({self.as_dict()})"


def ff_differs(ref, pats, total):
    """Tokens whose activation patterns differ (ref and pats :class:`Patterns` of the
    same layer): a unit > 0 in one and not in the other, except where ref's
    pre-activation is exactly 0 (either side matches it)."""
    R, P = ref.dense(total), pats.dense(total)
    return int((((R == 1) & (P != 1)) | ((R == -1) & (P == 1))).any(axis=1).sum())


def dot(u, x):
    acc = u[0] * x[0]
    for a, b in zip(u[1:], x[1:]):
        acc = acc + a * b
    return acc


def apply(M, x):
    """M x for a matrix in kind form, in the arithmetic of its entries."""
    kind = M[0]
    if kind == "zero":
        return tuple(0 * v for v in x)
    if kind == "scalar":
        return tuple(M[1] * v for v in x)
    if kind == "rank1":
        s = M[1] * dot(M[2], x)
        return tuple(s * a for a in M[2])
    return tuple(dot(r, x) for r in M[1])


def _f64(arr_rows, f):
    return np.array([[f(v) for v in r] for r in arr_rows], np.float64)


def _rows_ok(A):
    """Rows of A whose entries are finite and 0 or of magnitude in [TINY, HUGE]."""
    m = np.abs(A)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(A) & ((m == 0) | ((m >= TINY) & (m <= HUGE)))
    return good.all(axis=-1) if A.ndim > 1 else good


class _Block:
    """One block's weights in a pass's arithmetic, with their float64 readings."""

    def __init__(self, blk, ar, d):
        self.phase = blk.phase
        self.w = blk.width
        self.eta = ar.weight(blk.eta)
        self.eta_one = self.eta == 1
        rows, self.unit_row = {}, []
        for u in blk.U:
            key = tuple(x if isinstance(x, (int, Fraction)) else ("K", x.c) for x in u)
            if key not in rows:
                rows[key] = (len(rows), tuple(ar.weight(x) for x in u))
            self.unit_row.append(rows[key][0])
        self.rows = [r for _, r in sorted(rows.values(), key=lambda t: t[0])]
        self.b = [ar.weight(x) for x in blk.b]
        self.W = [[ar.weight(x) for x in r] for r in blk.W]
        self.rho = ar.weight(blk.rho)
        self.rho_one = self.rho == 1
        self.v_zero = wt.is_zero(blk.V)
        self.A = ar.mat(blk.A, d)
        self.V = ar.mat(blk.V, d)
        f = ar.f64
        with np.errstate(all="ignore"):
            self.U64 = _f64([self.rows[k] for k in self.unit_row], f).reshape(self.w, d)
            self.b64 = np.array([f(x) for x in self.b], np.float64).reshape(self.w)
            self.A64 = None
            if not self.v_zero:
                self.A64 = _f64(wt.dense(blk.A, d) if ar.exact else
                                (self.A[1] if self.A[0] == "full" else wt.dense(blk.A, d)), f)
        self.ff_ok = bool(_rows_ok(self.U64).all() and _rows_ok(self.b64).all())
        self.sa_ok = self.A64 is not None and bool(_rows_ok(self.A64).all())
        self._ident = {}
        self._exact = blk if ar.exact else None

    def identity(self, code):
        """Exact arithmetic: is the FF layer the identity on the activation pattern
        whose units are the bits of code (eta = 1, sum_S W_k U_k = 0, sum_S W_k b_k = 0)?"""
        if code not in self._ident:
            blk = self._exact
            S = [k for k in range(self.w) if code >> k & 1]
            ok = self.eta_one
            for l in range(len(blk.W)) if ok else ():
                Wl = blk.W[l]
                if wt.sign(sum((Wl[k] * blk.b[k] for k in S), Fraction(0))) != 0 or any(
                        wt.sign(sum((Wl[k] * blk.U[k][m] for k in S), Fraction(0))) != 0
                        for m in range(len(blk.U[0]))):
                    ok = False
                    break
            self._ident[code] = ok
        return self._ident[code]


class Pass:
    """One forward pass over every sequence of a :class:`exactseq.weights.Model`.

    ``tokens`` (exact or p-bit numbers) and ``F`` (their float64 readings, one
    row per token, sequences one after the other; ``offsets[j]`` is where
    sequence j starts) advance one block per :meth:`step`, which returns the
    block's decisions: (patterns, argmax) with patterns a :class:`Patterns` (the
    signs of the pre-activations of the tokens with some pre-activation >= 0) and
    argmax None (no attention decision) or a list, per
    sequence, of the tuple of maximising key indices (within the sequence) of
    each query."""

    def __init__(self, model, ar, filtered=True):
        if model.attention == "softmax" and ar.exact:
            raise ValueError("softmax weights are not exact: use a Rounded reference")
        self.model, self.ar, self.d = model, ar, model.d
        self.filtered = filtered and (2 * model.d + 2) * ar.rel <= 1 / 16
        self.tau = None if model.tau is None else ar.weight(model.tau)
        self.tokens = [tuple(ar.weight(c) for c in x) for X in model.inputs for x in X]
        lens = [len(X) for X in model.inputs]
        self.offsets = [sum(lens[:j]) for j in range(len(lens) + 1)]
        with np.errstate(all="ignore"):
            self.F = _f64(self.tokens, ar.f64).reshape(len(self.tokens), self.d)
        self.k = 0

    def weights(self, k):
        return _Block(self.model.blocks[k], self.ar, self.d)

    def step(self):
        blk = self.weights(self.k)
        self.k += 1
        with np.errstate(all="ignore"):
            patterns = self._ff(blk)
            argmax = self._sa(blk)
        return patterns, argmax

    # ------------------------------------------------------------ FF
    def _ff(self, blk):
        T, ar, w = self.tokens, self.ar, blk.w
        if w == 0:
            if not blk.eta_one:
                for i in range(len(T)):
                    self._set(i, tuple(blk.eta * v for v in T[i]))
            return Patterns(np.zeros(0, np.int64), np.zeros((0, 0), np.int8), 0)
        idx, signs = [], []
        if self.filtered and blk.ff_ok:
            d, rel, F = self.d, ar.rel, self.F
            H = F @ blk.U64.T + blk.b64
            B = 4 * ((d + 1) * rel + (d + 2) * U64) * (np.abs(F) @ np.abs(blk.U64).T + np.abs(blk.b64))
            on, off = H > B, H < -B
            decided = (on | off).all(axis=1) & _rows_ok(F)
            if ar.exact:
                # a decided pattern whose affine map is the identity leaves the token as it is
                code = on.astype(np.int64) @ (1 << np.arange(w, dtype=np.int64))
                skip = decided.copy()
                for c in np.unique(code[decided]).tolist():
                    if not blk.identity(c):
                        skip &= code != c
            else:
                skip = decided & off.all(axis=1) & blk.eta_one
            kept = np.nonzero(skip & on.any(axis=1))[0]
            idx.append(kept)
            signs.append(np.where(on[kept], 1, -1).astype(np.int8))
            todo = np.nonzero(~skip)[0].tolist()
        else:
            todo = range(len(T))
        cidx, csigns = [], []
        for i in todo:
            pat, new = self._ff_token(blk, T[i])
            if max(pat) >= 0:
                cidx.append(i)
                csigns.append(pat)
            if new is not None:
                self._set(i, new)
        idx.append(np.array(cidx, np.int64))
        signs.append(np.array(csigns, np.int8).reshape(-1, w))
        return Patterns(np.concatenate(idx), np.concatenate(signs), w)

    def _ff_token(self, blk, x):
        sign = self.ar.sign
        dots = {}
        acts, pat = [], []
        for k, r in enumerate(blk.unit_row):
            if r not in dots:
                dots[r] = dot(blk.rows[r], x)
            h = dots[r] + blk.b[k]
            s = sign(h)
            pat.append(s)
            acts.append(h if s > 0 else None)
        pat = tuple(pat)
        if blk.eta_one and max(pat) <= 0:
            return pat, None
        out = []
        for l, xl in enumerate(x):
            s = None
            Wl = blk.W[l]
            for k, a in enumerate(acts):
                if a is not None:
                    t = Wl[k] * a
                    s = t if s is None else s + t
            v = xl if blk.eta_one else blk.eta * xl
            out.append(v if s is None else v + s)
        return pat, tuple(out)

    def _set(self, i, x):
        self.tokens[i] = x
        self.F[i] = [self.ar.f64(v) for v in x]

    # ------------------------------------------------------------ SA
    def _sa(self, blk):
        T = self.tokens
        if blk.v_zero:
            if not blk.rho_one:
                for i in range(len(T)):
                    self._set(i, tuple(blk.rho * v for v in T[i]))
            return None
        out = []
        for j in range(len(self.offsets) - 1):
            lo, hi = self.offsets[j], self.offsets[j + 1]
            if self.tau is None:
                out.append(self._hardmax(blk, lo, hi))
            else:
                out.append(self._softmax(blk, lo, hi))
        return out

    def _candidates(self, blk, lo, hi):
        n = hi - lo
        Fs = self.F[lo:hi]
        if not (self.filtered and blk.sa_ok and _rows_ok(Fs).all()):
            return None
        d, rel = self.d, self.ar.rel
        S = (Fs @ blk.A64.T) @ Fs.T
        B = 4 * ((2 * d + 2) * rel + (2 * d + 4) * U64) * ((np.abs(Fs) @ np.abs(blk.A64).T) @ np.abs(Fs).T)
        low = (S - B).max(axis=1, keepdims=True)
        C = (S + B) >= low
        return [np.nonzero(C[i])[0].tolist() for i in range(n)]

    def _hardmax(self, blk, lo, hi):
        T, ar, n = self.tokens, self.ar, hi - lo
        cand = self._candidates(blk, lo, hi)
        sets = []
        for i in range(n):
            ci = cand[i] if cand is not None else range(n)
            if len(ci) == 1:
                sets.append((ci[0],))
                continue
            q = apply(blk.A, T[lo + i])
            scores = [(dot(q, T[lo + j]), j) for j in ci]
            best = scores[0][0]
            for s, _ in scores[1:]:
                if s > best:
                    best = s
            sets.append(tuple(j for s, j in scores if s == best))
        new = []
        if ar.exact:
            vx = {}
            for i, C in enumerate(sets):
                acc = None
                for j in C:
                    if j not in vx:
                        vx[j] = apply(blk.V, T[lo + j])
                    acc = vx[j] if acc is None else tuple(a + b for a, b in zip(acc, vx[j]))
                if len(C) > 1:
                    acc = tuple(a / len(C) for a in acc)
                x = T[lo + i]
                new.append(tuple((xl if blk.rho_one else blk.rho * xl) + a for xl, a in zip(x, acc)))
        else:
            for i, C in enumerate(sets):
                wv = ar.inv(len(C))
                s = None
                for j in C:
                    t = tuple(wv * v for v in T[lo + j])
                    s = t if s is None else tuple(a + b for a, b in zip(s, t))
                new.append(self._mix(blk, T[lo + i], apply(blk.V, s)))
        for i, x in enumerate(new):
            self._set(lo + i, x)
        return sets

    def _mix(self, blk, x, vs):
        rho = blk.rho
        return tuple(rho * xl + v for xl, v in zip(x, vs))

    def _softmax(self, blk, lo, hi):
        T, ar, n = self.tokens, self.ar, hi - lo
        sets, new = [], []
        for i in range(n):
            q = apply(blk.A, T[lo + i])
            s = [dot(q, T[lo + j]) for j in range(n)]
            best = max(s)
            sets.append(tuple(j for j in range(n) if s[j] == best))
            z = [v / self.tau for v in s]
            zm = max(z)
            e = [ar.exp(v - zm) for v in z]
            tot = e[0]
            for v in e[1:]:
                tot = tot + v
            w = [v / tot for v in e]
            acc = None
            for j in range(n):
                t = tuple(w[j] * v for v in T[lo + j])
                acc = t if acc is None else tuple(a + b for a, b in zip(acc, t))
            new.append(self._mix(blk, T[lo + i], apply(blk.V, acc)))
        for i, x in enumerate(new):
            self._set(lo + i, x)
        return sets

    # ------------------------------------------------------------ results
    def outputs(self):
        """The current tokens' float64 readings, one (n x d) array per sequence."""
        return [self.F[self.offsets[j]:self.offsets[j + 1]] for j in range(len(self.offsets) - 1)]


def max_bits(model):
    """The largest bit size of a numerator or denominator among the model's numbers."""
    def bits(x):
        cs = (x,) if isinstance(x, (int, Fraction)) else x.c
        return max(max(abs(Fraction(c).numerator).bit_length(), Fraction(c).denominator.bit_length())
                   for c in cs)
    vals = [x for X in model.inputs + model.targets for t in X for x in t]
    for blk in model.blocks:
        vals += [blk.eta, blk.rho, *blk.b, *(x for r in blk.U for x in r), *(x for r in blk.W for x in r)]
        for M in (blk.A, blk.V):
            if M[0] in ("scalar", "rank1"):
                vals.append(M[1])
            if M[0] == "rank1":
                vals += list(M[2])
            if M[0] == "full":
                vals += [x for r in M[1] for x in r]
    if model.tau is not None:
        vals.append(model.tau)
    return max((bits(x) for x in vals), default=1)


def reference(model):
    """The reference arithmetic: exact for hardmax; for softmax (whose weights are
    transcendental) mpmath at max(1024, 4 b + 256) bits, b the largest bit size of
    the certificate's numerators and denominators."""
    if model.attention == "hardmax":
        return Exact()
    bits = max(1024, 4 * max_bits(model) + 256)
    if bits > MAX_REFERENCE_BITS:
        raise ValueError(f"softmax reference: numbers of {max_bits(model)} bits would need "
                         f"{bits}-bit arithmetic (more than {MAX_REFERENCE_BITS})")
    return Rounded(bits)

