"""The float claim: a float forward pass of a certificate's weights decides and interpolates.

A hardmax certificate may state
``"float_claim": {"format": F, "tolerance": "p/q", "relative": R, "classes": C}``,
F "binary64" or "binary32", R and C optional booleans (default false).  Claim: every
float forward pass of its exported weights under the model below takes every
activation and attention decision of the exact model, stays finite, and ends

* R false: with each output set within Euclidean Hausdorff distance T (the
  tolerance) of its target set;
* R true: with each float output token within Euclidean distance T max(1, |y|_2)
  of the exact output token y it tracks (a target point);
* C true (only when every sequence has one target, else malformed): moreover with
  each float output token strictly nearer its own sequence's target point than
  any other distinct target point of the dataset.

Rounding model.  IEEE 754 format F (precision p = 53 or 24, u = 2^-p, smallest
subnormal eta = 2^-1074 or 2^-149), round to nearest.  Every entry of the exported
dense eta, U, b, W, rho, A, V of every block (A = c a a^T and c I expanded, each
entry rounded from its exact value) and every input coordinate is its exact value
correctly rounded to F, once, from the exact value (text -> float32 must not go
through float64: double rounding is outside the model; a value beyond the format
is unknown).  FF: h_k = fl(sum_i U_ki x_i + b_k), relu exact,
x'_l = fl(eta x_l + sum_k W_lk relu(h_k)).  Attention with V != 0: the score
s_ij = fl(sum_{d,e} A_de x_id x_je) in any of these orders: (A x_i).x_j,
(A^T x_j).x_i, or one sum of the d^2 triple products, each product formed in any
order (einsum('id,de,je->ij')); the maximisers are the keys whose float score is
the row's maximum; x'_i = fl(rho x_i + V m_i), m_i the mean of the maximisers
(on a proven unique maximiser x_b it is x_b exactly, however it is formed:
sum_j w_ij x_j with w in {0, 1}, or V applied to every key first).  With V = 0:
x'_i = fl(rho x_i) (no score is computed).  Each sum of n terms in any order, with
or without fused multiply-add: it errs by at most gamma_n sum |terms| + n eta,
gamma_n = n u / (1 - n u) (Higham, Theorem 3.1, plus one underflow per product; a
triple product is two roundings, so a score errs by at most
gamma_{d^2+1} sum |A_de x_id x_je| + 2 d^2 eta (1 + max |A^| + |x_i| + |x_j|)); one
term 1 * x is exact, one term 2^k * x errs by at most eta.  Every intermediate is
proven finite: each sum's sum of |terms| is at most 2^(emax-1) (a quarter of the
largest finite number) and n u <= 1/2, so every partial sum, product and result is
finite (this covers U x + b, the relu sum and W times it, eta x, rho x, V times
the maximiser or any key, A x_i, A^T x_j, x_id x_je, every score of every row,
also of a one-token row and of rows whose keys tie).

Method.  The tokens are re-evaluated exactly (as checker.py does) and each carries
a bound E >= max_l |float x_l - exact x_l|, through every layer, as an integer
meaning E 2^-S (S fixed per format and dataset, independent of the tolerance),
rounded up at every step.  A unit's decision is proven when |h| > B, B the bound
on its pre-activation's error (an exact h = 0 may go either way, relu being
continuous; else unknown); on the proven pattern the layer is affine, with matrix
eta I + sum_{k on} W_k u_k^T, whose largest row 1-norm carries E (exact
cancellation is kept).  An attention decision is proven when the exact maximiser
is one point of multiplicity one whose score exceeds every other by more than the
two score error bounds (ties: unknown).  At the end the exact tokens must be the
targets; then sqrt(d) E <= T (R: sqrt(d) E <= T max(1, |y|), by squares) for every
token, and (C) 2 sqrt(d) E_j < |y_j - y'| for every sequence j and every other
distinct target point y' (E_j the largest bound of its tokens; by squares).

Speed (each step exact; none decides alone):
* an FF layer whose units all read one rational row u, with eta = 1, in a run of
  such layers on the same row: the tokens are sorted by a float reading of
  <u, x> (monotone rounding: a superset of a range is found by binary search).
  With the largest E and |x| of all tokens, every unit is proven off below a
  threshold and on above another; those tokens are not visited.  Off: the layer
  is exactly the identity in floats too.  On, where the exact map of the all-on
  pattern is the identity: the bound becomes at most (1 + a) E + g per layer,
  g = c_X |x| + c_P <u, x> + c_0 >= 0 there, a, c_X, c_P >= 0 constants of the
  layer; by induction E_end <= prod (1 + a) (E_0 + sum g), so these g are summed
  lazily (Fenwick trees over the sorted order, one suffix per layer) and applied
  with G >= the product of every (1 + a) of the run so far, whenever the token is
  visited, merged or the run ends.  Every other token is visited and decided
  exactly as above;
* attention with A = c I on rational tokens: a float Gram matrix with a written
  error bound (filters.py) discards keys; the best key and the keys kept are
  compared exactly, the discarded ones bounded from above;
* rational tokens are integers over one denominator throughout.

Verdicts: a tolerance <= 0, or one that no point of F meets at some target (in the
sense of R), is rejected; anything not proven is unknown.
"""
from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from fractions import Fraction
from math import gcd, isqrt
from operator import itemgetter, mul

from .engine import Tok, apply_mat, dot, key, proj
from .filters import Filter, query_keys
from .limits import DEFAULT, LimitError, parse_int_text
from .numbers import K, Malformed, Rejected, Unknown, _show, sgn
from .sparse import _fl, reading

# name: (precision p, smallest normal exponent, largest exponent, largest SCALE of the bounds)
FORMATS = {"binary64": (53, -1022, 1023, 1200), "binary32": (24, -126, 127, 300)}
KEYS = ("format", "tolerance", "relative", "classes")
EXPECTED = 'float_claim: expected {"format": "binary64" | "binary32", "tolerance": "p/q"}'
_RATIONAL = re.compile(r"[+-]?\d+(/\d+)?\Z", re.ASCII)
_DECIMAL = re.compile(r"([+-]?)(\d*)\.?(\d*)(?:[eE]([+-]?)(\d+))?\Z", re.ASCII)
DENSE = 64            # a rank-one d x d matrix is expanded entry by entry up to this d
DENSE_NORM = 1 << 20  # entries of an exact dense norm computation (else the triangle bound)
LAZY = True           # lazy runs of one-row layers (False: every token visited; the tests compare)


def _rat(z):
    """z as a Fraction, or None for an irrational field element."""
    return z if type(z) is not K else (z.c[0] if not any(z.c[1:]) else None)


def _nz(x):
    return x != 0 if type(x) is Fraction else sgn(x) != 0


# ------------------------------------------------------------------ reading the claim
def read_claim(fc, pairs, limits=DEFAULT):
    """(format, tolerance, its text for the summary, relative, classes) of a claim
    object; Malformed (one line) when it is not of the documented form or beyond a
    limit, Rejected for a tolerance <= 0."""
    if not isinstance(fc, dict):
        raise Malformed(EXPECTED)
    fmt, text = fc.get("format"), fc.get("tolerance")
    if type(fmt) is not str or fmt not in FORMATS or type(text) is not str:
        raise Malformed(EXPECTED)
    for k in fc:
        if k not in KEYS:
            raise Malformed(f"float_claim: unknown key {_show(k)}")
    flags = []
    for k in ("relative", "classes"):
        v = fc.get(k, False)
        if type(v) is not bool:
            raise Malformed(f'float_claim: "{k}" must be true or false')
        flags.append(v)
    if flags[1]:
        for j, (_, Y) in enumerate(pairs):
            if len(Y) != 1:
                raise Malformed(f'float_claim: "classes" needs one output token per sequence '
                                f'(sequence {j} has {len(Y)})')
    tol = tolerance(text, limits)
    if tol <= 0:
        raise Rejected("float claim: the tolerance must be positive")
    small = tol.numerator.bit_length() < 12000 and tol.denominator.bit_length() < 12000
    return fmt, tol, str(tol) if small else text, flags[0], flags[1]


def tolerance(text, limits=DEFAULT):
    """The rational of a tolerance text ("p", "p/q" or a decimal such as "1e-9"),
    read within the checker's limits (Malformed beyond them)."""
    where = "float_claim.tolerance"
    if _RATIONAL.match(text):
        n, _, d = text.lstrip("+").partition("/")
        try:
            n, d = parse_int_text(n, limits), parse_int_text(d or "1", limits)
        except LimitError as exc:
            raise Malformed(f"{where}: {exc}") from None
        if d == 0:
            raise Malformed(f"{where}: zero denominator")
        return Fraction(n, d)
    m = _DECIMAL.match(text)
    if not m or not (m.group(2) or m.group(3)):
        raise Malformed('float_claim: the tolerance must be a rational "p/q"')
    sign, whole, frac, esign, exp = m.groups()
    digits = len(whole) + len(frac)
    if exp is not None and len(exp.lstrip("0")) > 18:
        raise Malformed(f"{where}: " + str(limits.refuse(f"a decimal exponent of {len(exp)} digits", "max_digits")))
    e = int(exp or 0) * (-1 if esign == "-" else 1)
    if abs(e) + digits > limits.max_digits:
        raise Malformed(f"{where}: {limits.refuse(f'a literal of about {abs(e) + digits} digits', 'max_digits')}")
    try:
        v = Fraction(parse_int_text(whole + frac or "0", limits), 10 ** len(frac))
    except LimitError as exc:
        raise Malformed(f"{where}: {exc}") from None
    v = v * 10 ** e if e >= 0 else v / 10 ** -e
    return -v if sign == "-" else v


# ------------------------------------------------------------------ arithmetic
class Arith:
    """Upper bounds as integers scaled by 2^-s, and correct rounding to the format."""

    def __init__(self, fmt, tiny=Fraction(1)):
        self.fmt = fmt
        self.p, self.emin, self.emax, top = FORMATS[fmt]
        # any s is sound (bounds round up); this one resolves the smallest non-zero
        # coordinate ``tiny`` of the dataset finely; it does not depend on the tolerance
        bits = max(0, tiny.denominator.bit_length() - tiny.numerator.bit_length())
        self.s = s = min(top, self.p + 128 + bits)
        self.one = 1 << s
        self.eta = self.up(Fraction(1, 1 << (self.p - 1 - self.emin)))
        self.omega = 1 << (s + self.emax - 1)        # 2^(emax-1): every sum's |terms| stay below it
        self.top = 1 << (s + self.emax)              # 2^emax: a number beyond it may round to infinity
        self.u = self.up(Fraction(1, 1 << self.p))
        self.gam, self.rc, self.wmemo = {}, {}, {}

    def up(self, q, den=1):
        """ceil(|q| / den * 2^s) for a rational q (or an integer q and den > 0)."""
        if type(q) is not int:
            q, den = q.numerator, q.denominator * den
        return -((-abs(q) << self.s) // den)

    def mul(self, a, b):
        return -((-a * b) >> self.s)

    def gamma(self, n):
        """gamma_n = n u / (1 - n u), scaled and rounded up; unknown unless n u <= 1/2."""
        g = self.gam.get(n)
        if g is None:
            if n > 1 << (self.p - 1):
                raise Unknown(f"float claim: a sum of {n} terms is beyond the error analysis (n u > 1/2)")
            g = self.gam[n] = -((-n << self.s) // ((1 << self.p) - n))
        return g

    def rcoef(self, n, kind=3):
        """(g, c): a float sum of n non-zero products whose |.| sum to T errs by at most
        g T + c (kind: of the only product's weight when n = 1)."""
        r = self.rc.get((n, kind))
        if r is None:
            r = self.rc[(n, kind)] = ((0, 0) if n == 0 or n == 1 and kind == 1 else
                                      (0, self.eta) if n == 1 and kind == 2 else
                                      (self.gamma(n), n * self.eta))
        return r

    def fits(self, total, what):
        """Unknown unless a sum whose |terms| sum to ``total`` (scaled) is surely finite."""
        if total > self.omega:
            raise Unknown(f"float claim: {what} may overflow the format")

    def _round(self, n, d):
        """(m, sh) with m 2^-sh the float nearest n / d > 0 (ties to even); unknown on overflow."""
        e = n.bit_length() - d.bit_length()               # then 2^e <= n/d < 2^(e+1)
        e -= (n < d << e) if e >= 0 else ((n << -e) < d)
        sh = self.p - 1 - max(e, self.emin)                # the quantum is 2^-sh
        D = d if sh >= 0 else d << -sh
        m, r = divmod(n << sh if sh >= 0 else n, D)
        if 2 * r > D or 2 * r == D and m & 1:
            m += 1
        if m.bit_length() - sh > self.emax + 1:
            raise Unknown(f"float claim: a number of about 2^{m.bit_length() - sh} overflows the format")
        return m, sh

    def rnd(self, q):
        """The float of F nearest the rational q (ties to even); unknown on overflow."""
        if not q:
            return Fraction(0)
        m, sh = self._round(abs(q.numerator), q.denominator)
        m = m if q > 0 else -m
        return Fraction(m, 1 << sh) if sh >= 0 else Fraction(m << -sh)

    def mag(self, z):
        """Scaled upper bound of |z|: z a rational, an integer pair (n, d) or a field element."""
        if type(z) is tuple:
            return self.up(z[0], z[1])
        if type(z) is not K:
            return self.up(z)
        if not any(z.c[1:]):
            return self.up(z.c[0])
        sgn(z)
        lo, hi = z.f.enclose(z.c)
        return self.up(max(abs(lo), abs(hi)))

    def weight(self, w):
        """(bound of |w^|, bound of |w^ - w|, kind, bound of |w|) of a weight w rounded to F
        (scaled); kind 0 zero, 1 exactly +-1, 2 a power of two, 3 other.  Remembered by value."""
        if type(w) is not Fraction:
            q = _rat(w)
            if q is None:
                k = ("K", w.c)
                r = self.wmemo.get(k)
                if r is None:
                    r = self.wmemo[k] = self._weight_field(w)
                return r
            w = q
        k = (abs(w.numerator), w.denominator)
        r = self.wmemo.get(k)
        if r is None:
            r = self.wmemo[k] = self._weight(*k)
        return r

    def coord_err(self, n, d):
        """Scaled bound of |fl(n / d) - n / d| (integers, d > 0), as weight()[1]."""
        if not n:
            return 0
        n = abs(n)
        m, sh = self._round(n, d)
        if sh >= 0:
            return self.up(abs(m * d - (n << sh)), d << sh)
        return self.up(abs((m << -sh) * d - n), d)

    def _weight_field(self, w):
        """weight() of an irrational field element: |w^ - w| <= u |w| + eta."""
        m = self.mag(w)
        if m >= self.top:
            raise Unknown("float claim: a weight of about 2^%d may overflow the format"
                          % (m.bit_length() - self.s))
        err = self.mul(m, self.u) + self.eta
        return m + err, err, 3, m

    def _weight(self, n, d):
        """weight() of the rational n / d, n >= 0, d > 0."""
        if not n:
            return 0, 0, 0, 0
        m, sh = self._round(n, d)
        s = self.s
        if sh >= 0:     # w^ = m / 2^sh
            hat = m << (s - sh) if s >= sh else -((-m) >> (sh - s))
            err = self.up(abs(m * d - (n << sh)), d << sh)
        else:
            hat = m << (s - sh)
            err = self.up(abs((m << -sh) * d - n), d)
        kind = 3 if m & (m - 1) else (1 if sh >= 0 and m == 1 << sh else 2)
        return hat, err, kind, self.up(n, d)

    def decide(self, h, B):
        """(beyond(h, B), a scaled upper bound of |h| when that is +-1) for a field element h:
        one enclosure first, the full sign search only when it does not decide."""
        if type(h) is K:
            lo, hi = h.f.enclose(h.c)
            low = lo if lo > 0 else -hi if hi < 0 else 0
            if low and self.up(low) > B + 1:
                return (1 if lo > 0 else -1), self.up(max(abs(lo), abs(hi)))
        sg = self.beyond(h, B)
        return sg, (self.mag(h) if sg else 0)

    def beyond(self, h, B):
        """+1 if h > B, -1 if h < -B, 0 if h = 0, None otherwise (h as in mag; B scaled)."""
        if type(h) is Fraction:
            h = (h.numerator, h.denominator)
        if type(h) is tuple:
            n, d = h
            return 0 if n == 0 else (1 if n > 0 else -1) if abs(n) << self.s > B * d else None
        s = sgn(h)
        for _ in range(200 if s else 0):
            lo, hi = h.f.enclose(h.c)
            low = lo if lo > 0 else -hi if hi < 0 else 0     # a lower bound of |h|
            if self.up(low) > B + 1:
                return s
            h.f.bisect()
        return 0 if not s else None


def _inf(ar, t):
    """Scaled upper bound of max_i |x_i| of an exact token (remembered on it)."""
    v = t.memo.get("inf")
    if v is None:
        k0 = t.key[0]
        v = t.memo["inf"] = (-((-max(map(abs, t.key[1])) << ar.s) // k0) if type(k0) is int
                             else max(ar.mag(c) for c in t.x))
    return v


def _lin(terms, d):
    """The canonical key (den, nums) of sum_k (cn_k / cd_k) (nums_k / den_k), every
    cd_k, den_k > 0 (the zero vector for no terms)."""
    if not terms:
        return (1, (0,) * d)
    D = 1
    for _, cd, den, _ in terms:
        q = cd * den
        D = D * q // gcd(D, q)
    acc = None
    for cn, cd, den, nums in terms:
        f = cn * (D // (cd * den))
        acc = [f * v for v in nums] if acc is None else [a + f * v for a, v in zip(acc, nums)]
    g = gcd(D, *acc)
    return (D // g, tuple(a // g for a in acc)) if g > 1 else (D, tuple(acc))


def _intvec(v):
    """(D, integers) with v = integers / D, for a tuple of Fractions."""
    D = math.lcm(*(x.denominator for x in v))
    return D, tuple(x.numerator * (D // x.denominator) for x in v)


class Entry:
    """A distinct exact point of one sequence: its token, multiplicity n, bound E, and
    (while a lazy run is on) its place there."""
    __slots__ = ("tok", "n", "E", "j", "pos", "snap")

    def __init__(self, tok, n, E, j):
        self.tok, self.n, self.E, self.j, self.pos, self.snap = tok, n, E, j, -1, None


# ------------------------------------------------------------------ matrices
class MStats:
    """Bounds of a dense d x d matrix M and of its rounded M^ (scaled): largest row
    1-norm and entry sum of |M|; largest row and column sums, entry sum and largest
    entry of |M^|; largest row sum and entry sum of |M^ - M|; most non-zeros in a
    row of M^ and the kind of a row's only weight (3 when rows have several)."""
    __slots__ = ("zero", "exrow", "exsum", "hrow", "hcol", "hsum", "hmax", "drow", "dsum", "nnz", "kind")


def _mkey(M):
    """A matrix by value (never by identity or repr)."""
    v = lambda x: x if type(x) is Fraction else ("K", x.c)
    if M[0] == "zero":
        return ("zero",)
    if M[0] == "scalar":
        return ("scalar", v(M[1]))
    if M[0] == "rank1":
        return ("rank1", v(M[1]), tuple(map(v, M[2])))
    return ("full", tuple(tuple(map(v, r)) for r in M[1]))


def _mstats(ar, M, d):
    st = MStats()
    if M[0] == "zero" or M[0] in ("scalar", "rank1") and sgn(M[1]) == 0:
        st.zero, st.nnz, st.kind = True, 0, 0
        st.exrow = st.exsum = st.hrow = st.hcol = st.hsum = st.hmax = st.drow = st.dsum = 0
        return st
    if M[0] == "scalar":
        h, e, kd, m = ar.weight(M[1])
        st.zero, st.exrow, st.exsum = False, m, d * m
        st.hrow = st.hcol = st.hmax = h
        st.hsum, st.drow, st.dsum, st.nnz, st.kind = d * h, e, d * e, 1 if kd else 0, kd
        return st
    if M[0] == "rank1" and d > DENSE:     # entries c a_i a_j, each rounded once: bounded, not listed
        c, a = M[1], M[2]
        ca, ma = ar.mag(c), [ar.mag(x) for x in a]
        Sa, amax = sum(ma), max(ma)
        if ar.mul(ca, ar.mul(amax, amax)) >= ar.top:
            raise Unknown("float claim: a weight may overflow the format")
        st.zero = not any(sgn(x) for x in a)
        st.exsum, st.exrow = ar.mul(ca, ar.mul(Sa, Sa)), ar.mul(ca, ar.mul(amax, Sa))
        st.dsum, st.drow = ar.mul(ar.u, st.exsum) + d * d * ar.eta, ar.mul(ar.u, st.exrow) + d * ar.eta
        st.hsum, st.hrow = st.exsum + st.dsum, st.exrow + st.drow
        st.hcol = st.hrow
        em = ar.mul(ca, ar.mul(amax, amax))
        st.hmax = em + ar.mul(ar.u, em) + ar.eta
        st.nnz, st.kind = sum(1 for x in ma if x), 3
        return st
    if M[0] == "rank1":
        ca = [M[1] * x for x in M[2]]
        rows = [[ca[i] * x for x in M[2]] for i in range(d)]
    else:
        rows = M[1]
    ws = [[ar.weight(x) for x in r] for r in rows]
    ex = [[w[3] for w in r] for r in ws]
    st.zero = not any(any(r) for r in ex)
    st.exrow, st.exsum = max(map(sum, ex)), sum(map(sum, ex))
    st.hrow = max(sum(w[0] for w in r) for r in ws)
    st.hcol = max(sum(ws[i][j][0] for i in range(d)) for j in range(d))
    st.hsum = sum(w[0] for r in ws for w in r)
    st.hmax = max(w[0] for r in ws for w in r)
    st.drow = max(sum(w[1] for w in r) for r in ws)
    st.dsum = sum(w[1] for r in ws for w in r)
    st.nnz = max(sum(1 for w in r if w[2]) for r in ws)
    st.kind = max((w[2] for r in ws for w in r), default=0) if st.nnz == 1 else 3
    return st


# ------------------------------------------------------------------ FF layers
class FFLayer:
    """An FF layer's per-unit constants and its exact affine map per activation pattern."""

    def __init__(self, eng, ff):
        ar = self.ar = eng.ar
        eta, U, b, W = ff
        self.eta, self.b, self.W, self.d = eta, b, W, len(W)
        self.width = len(U)
        self.ew = ar.weight(eta)
        self.emag = self.ew[3]
        self.rational = eng.rational
        rowidx, self.rows, units = {}, [], []
        rowstats = eng.rowstats
        for k, u in enumerate(U):
            r = -1
            kk = key(u)
            st = rowstats.get(kk)
            if st is None:        # (|u|_1, |u^|_1, |u^ - u|_1, kinds of its non-zero weights, non-zero?)
                wu = [ar.weight(c) for c in u]
                st = rowstats[kk] = (sum(w[3] for w in wu), sum(w[0] for w in wu), sum(w[1] for w in wu),
                                     [w[2] for w in wu if w[2]], any(w[3] for w in wu))
            nU, nUh, dU, terms, nz = st
            if nz:
                r = rowidx.get(kk)
                if r is None:
                    r = rowidx[kk] = len(self.rows)
                    self.rows.append((u, proj(eng.cache, u), []))
                self.rows[r][2].append(k)
            wb = ar.weight(b[k])
            kind = (terms[0] if len(terms) == 1 and not wb[2] else 1 if not terms and wb[2] else 3)
            n = len(terms) + (1 if wb[2] else 0)
            g, c0 = ar.rcoef(n, kind)
            oX = ar.mul(g, nUh) + dU
            o0 = ar.mul(g, wb[0]) + c0 + wb[1]
            col = [ar.weight(row[k]) for row in W]
            bk = b[k]
            bp = (bk.numerator, bk.denominator) if type(bk) is Fraction else None
            units.append((k, r, bk, bp, nU, oX, o0, nUh, wb[0],
                          max((w[3] for w in col), default=0), max((w[0] for w in col), default=0),
                          max((w[1] for w in col), default=0), 1 if any(w[2] for w in col) else 0))
        self.units = units
        self.maps = {}
        self._on = False
        if self.rational:       # columns of W as integers over one denominator each
            self.icols = [_intvec(tuple(row[k] for row in W)) for k in range(self.width)]

    def one_row(self):
        """The key of the row every unit reads (rational layer with eta = 1 and no zero
        row), or None."""
        if not (self.rational and self.width and len(self.rows) == 1 and type(self.eta) is Fraction
                and self.eta == 1 and all(x[1] == 0 for x in self.units)):
            return None
        return key(self.rows[0][0])

    # ---------------------------------------------------------- the exact map on a pattern
    def affine(self, S):
        m = self.maps.get(S)
        if m is None:
            m = self.maps[S] = self._affine(S)
        return m

    def _affine(self, S):
        """(row-norm bound of eta I + sum_S W_k u_k^T (scaled), identity?, cols, c, data):
        cols [(row index, sum of the pattern's W columns on that row)], c = sum_S W_k b_k
        or None, data the same as integers (rational layers)."""
        if self.rational:
            return self._affine_int(S)
        ar, eta, W, b, d = self.ar, self.eta, self.W, self.b, self.d
        zero = 0 * eta
        Sset = set(S)
        cols = []
        for r, (u, pr, ks) in enumerate(self.rows):
            act = [k for k in ks if k in Sset]
            if act:
                w = tuple(sum((W[l][k] for k in act), zero) for l in range(d))
                if any(_nz(x) for x in w):
                    cols.append((r, w))
        c = tuple(sum((W[l][k] * b[k] for k in S), zero) for l in range(d))
        c = c if any(_nz(x) for x in c) else None
        if not cols:
            norm = self.emag
        elif d * d * len(cols) <= DENSE_NORM:
            us = [self.rows[r][0] for r, _ in cols]
            norm = max(sum(ar.mag((eta if i == l else zero) + sum((w[l] * u[i] for u, (_, w) in zip(us, cols)),
                                                                   zero)) for i in range(d)) for l in range(d))
        else:                                     # the triangle inequality
            norm = self.emag + max(sum(ar.mul(ar.mag(w[l]), sum(ar.mag(x) for x in self.rows[r][0]))
                                       for r, w in cols) for l in range(d))
        ident = not cols and c is None and eta == 1
        return norm, ident, cols, c, None

    def _affine_int(self, S):
        """_affine for a rational layer, in integers: data = (eta as (n, d), [(row, w as a
        key (D, ints))], c as a key or None); cols and c as Fractions only where needed."""
        ar, eta, b, d = self.ar, self.eta, self.b, self.d
        Sset = set(S)
        icols = []
        for r, (u, pr, ks) in enumerate(self.rows):
            act = [k for k in ks if k in Sset]
            if act:
                w = _lin([(1, 1) + self.icols[k] for k in act], d)
                if any(w[1]):
                    icols.append((r, w))
        c = _lin([(b[k].numerator, b[k].denominator) + self.icols[k] for k in S if b[k]], d)
        c = c if any(c[1]) else None
        en, ed = eta.numerator, eta.denominator
        if not icols:
            norm = self.emag
        elif len(icols) == 1:   # |eta + w_l u_l| + |w_l| (|u|_1 - |u_l|), over ed wd Du
            wd, wn = icols[0][1]
            Du, ui = _intvec(self.rows[icols[0][0]][0])
            U1 = sum(map(abs, ui))
            top = max(abs(en * wd * Du + ed * a * v) + ed * abs(a) * (U1 - abs(v)) for a, v in zip(wn, ui))
            norm = ar.up(top, ed * wd * Du)
        else:
            zero = Fraction(0)
            cols = [(r, tuple(Fraction(v, w[0]) for v in w[1])) for r, w in icols]
            us = [self.rows[r][0] for r, _ in cols]
            if d * d * len(cols) <= DENSE_NORM:
                norm = max(sum(ar.mag((eta if i == l else zero) + sum((w[l] * u[i] for u, (_, w) in zip(us, cols)),
                                                                       zero)) for i in range(d)) for l in range(d))
            else:
                norm = self.emag + max(sum(ar.mul(ar.mag(w[l]), sum(ar.mag(x) for x in u))
                                           for u, (_, w) in zip(us, cols)) for l in range(d))
        ident = not icols and c is None and eta == 1
        return norm, ident, None, None, ((en, ed), icols, c)

    # ---------------------------------------------------------- one token
    def visit(self, e, where):
        """(new token or None where the exact layer leaves it, new bound) of one entry,
        every decision proven (Unknown otherwise)."""
        ar, s, t, E = self.ar, self.ar.s, e.tok, e.E
        X = _inf(ar, t) + E
        ew = self.ew
        S, extra, tot, n_out, n_units = [], 0, ar.mul(ew[0], X), 1 if ew[2] else 0, 0
        omega = ar.omega
        rational = type(t.key[0]) is int
        memo = t.memo
        rows = self.rows
        for k, r, bk, bp, nU, oX, o0, nUh, wb0, Wm, Whm, dWm, col in self.units:
            if -((-nUh * X) >> s) + wb0 > omega:
                raise Unknown(f"float claim: {where}: sequence {e.j}: unit {k + 1}: a pre-activation "
                              "may overflow the format")
            o = -((-oX * X) >> s) + o0
            B = -((-nU * E) >> s) + o
            if rational and bp is not None:
                if r >= 0:
                    pr = rows[r][1]
                    sn, sd = memo.get(pr) or pr.frac(t)
                    hn, hd = sn * bp[1] + bp[0] * sd, sd * bp[1]
                else:
                    hn, hd = bp
                if hn == 0:
                    sg = 0
                else:
                    a = abs(hn) << s
                    if a <= B * hd:
                        sg = None
                    else:
                        sg = 1 if hn > 0 else -1
                        habs = -((-a) // hd)
            else:
                if r >= 0:
                    pr = rows[r][1]
                    pv = memo.get((pr, "value"))
                    if pv is None:
                        pv = memo[(pr, "value")] = pr.value(t)
                    h = pv + bk
                else:
                    h = bk
                sg, habs = ar.decide(h, B)
            if sg is None:
                raise Unknown(f"float claim: {where}: sequence {e.j}: unit {k + 1}: a pre-activation is "
                              f"within its float error bound {_g(Fraction(B, ar.one))} of 0")
            if sg < 0:
                continue
            if sg > 0:
                S.append(k)
                big = habs + B
                extra += -((-Wm * o) >> s) + -((-dWm * big) >> s)
            else:                               # exact 0: either decision, |relu^ - relu| <= B
                big = B
                extra += -((-(Wm + dWm) * B) >> s)
            tot += -((-Whm * big) >> s)
            n_out += col
            n_units += col
        norm, ident, cols, c, data = self.affine(tuple(S))
        ar.fits(tot, f"{where}: sequence {e.j}: an FF output")
        g, c0 = ar.rcoef(n_out, ew[2] if not n_units else 3)
        E2 = (-((-norm * E) >> s)) + extra + -((-ew[1] * X) >> s) + -((-g * tot) >> s) + c0
        if ident:
            return None, E2
        return self.image(t, cols, c, data), E2

    def image(self, t, cols, c, data):
        """The exact FF of token t on a pattern: eta x + sum w_r <u_r, x> + c."""
        d = self.d
        if data is not None and type(t.key[0]) is int:
            (en, ed), icols, ic = data
            den, nums = t.key
            terms = [(en, ed, den, nums)] if en else []
            for r, (wd, wn) in icols:
                pn, pd = self.rows[r][1].frac(t)
                if pn:
                    terms.append((pn, pd, wd, wn))
            if ic is not None:
                terms.append((1, 1, ic[0], ic[1]))
            return Tok.from_key(_lin(terms, d), 1)
        x = tuple(self.eta * v for v in t.x)
        for r, w in cols:
            h = self.rows[r][1].value(t)
            x = tuple(xi + wi * h for xi, wi in zip(x, w))
        if c is not None:
            x = tuple(xi + ci for xi, ci in zip(x, c))
        return Tok(x, 1)

    # ---------------------------------------------------------- the all-on pattern, lazily
    def oncoef(self):
        """(a, c_X, c_P, c_0): on the all-on pattern whose exact map is the identity, a
        token's bound grows to at most (1 + a) E + c_X |x| + c_P <u, x> + c_0 (scaled;
        c_P <u, x> + c_0 >= 0 there).  None when that map is not the identity."""
        if self._on is not False:
            return self._on
        ar = self.ar
        norm, ident, _, _, _ = self.affine(tuple(range(self.width)))
        if not ident or norm != ar.one:
            self._on = None
            return None
        n_out = (1 if self.ew[2] else 0) + sum(x[12] for x in self.units)
        g, c0 = ar.rcoef(n_out, 3 if any(x[12] for x in self.units) else self.ew[2])
        cs = [x[11] + ar.mul(g, x[10]) for x in self.units]         # dWm + g Whm
        CE = ar.mul(self.units[0][4], sum(cs))
        CX = sum(ar.mul(x[9] + ck, x[5]) for x, ck in zip(self.units, cs)) + ar.mul(g, self.ew[0]) + self.ew[1]
        CP = sum(cs)
        L = math.lcm(*(x[3][1] for x in self.units))
        cb = sum(ck * x[3][0] * (L // x[3][1]) for x, ck in zip(self.units, cs))
        CB = -((-cb) // L) + sum(ar.mul(x[9] + ck, x[6]) for x, ck in
                                                         zip(self.units, cs)) + c0
        self._on = (CE + CX, CX, CP, CB)
        return self._on


# ------------------------------------------------------------------ a lazy run
class Lazy:
    """Tokens sorted by a float reading of <u, x> for one row u, with the growth of the
    bounds of always-on tokens summed in Fenwick trees (see the module docstring)."""

    def __init__(self, eng, rkey, pr):
        self.eng, self.rkey, self.pr = eng, rkey, pr
        ar = eng.ar
        main, self.wild = [], []
        self.Eg = self.Ig = 0
        self.Pmax = None
        for m in eng.seqs:
            for e in m.values():
                self._note(e)
                f = reading(pr, e.tok)
                if f is None:
                    self.wild.append(e)
                else:
                    main.append((f, e))
        main.sort(key=itemgetter(0))
        self.keys = [f for f, _ in main]
        self.ents = [e for _, e in main]
        zero = (0, 0, 0)
        for i, e in enumerate(self.ents):
            e.pos, e.snap = i, zero
        self.n = n = len(self.ents)
        self.bx, self.bp, self.bb = [0] * (n + 1), [0] * (n + 1), [0] * (n + 1)
        self.lkeys, self.lents = [], []
        self.G = ar.one

    def _note(self, e):
        """Keep the largest E, |x| and <u, x> up to date with entry e."""
        self.Eg = max(self.Eg, e.E)
        self.Ig = max(self.Ig, _inf(self.eng.ar, e.tok))
        pn, pd = self.pr.frac(e.tok)
        if self.Pmax is None or pn * self.Pmax[1] > self.Pmax[0] * pd:
            self.Pmax = (pn, pd)

    def query(self, i):
        i += 1
        x = p = b = 0
        bx, bp, bb = self.bx, self.bp, self.bb
        while i > 0:
            x += bx[i]
            p += bp[i]
            b += bb[i]
            i &= i - 1
        return (x, p, b)

    def add(self, i, vx, vp, vb):
        i += 1
        n, bx, bp, bb = self.n, self.bx, self.bp, self.bb
        while i <= n:
            bx[i] += vx
            bp[i] += vp
            bb[i] += vb
            i += i & -i

    def mat(self, e):
        """Bring e.E up to date (a token of the sorted list)."""
        if e.pos < 0:
            return
        q = self.query(e.pos)
        sx, sp, sb = e.snap
        if q != e.snap:
            ar = self.eng.ar
            pn, pd = self.pr.frac(e.tok)
            add = ar.mul(q[0] - sx, _inf(ar, e.tok)) + -((-(q[1] - sp) * pn) // pd) + (q[2] - sb)
            e.E = ar.mul(self.G, e.E + add)
            e.snap = q

    def remove(self, e):
        if e.pos >= 0:
            self.mat(e)
            self.ents[e.pos] = None
            e.pos = -1
            return
        f = reading(self.pr, e.tok)
        if f is None:
            self.wild.remove(e)
            return
        i = bisect_left(self.lkeys, f)
        while self.lents[i] is not e:
            i += 1
        del self.lkeys[i], self.lents[i]

    def insert(self, e):
        self._note(e)
        f = reading(self.pr, e.tok)
        if f is None:
            self.wild.append(e)
            return
        i = bisect_right(self.lkeys, f)
        self.lkeys.insert(i, f)
        self.lents.insert(i, e)

    def flush(self):
        for e in self.ents:
            if e is not None:
                self.mat(e)
                e.pos = -1
        self.ents = []

    def layer(self, lay, where):
        """One FF layer of the run (every unit on this run's row, eta = 1)."""
        ar = self.eng.ar
        Eg, Ig = self.Eg, self.Ig
        Xg = Ig + Eg
        ok = True
        Bmax = 0
        for x in lay.units:
            if ar.mul(x[7], Xg) + x[8] > ar.omega:
                ok = False
            Bmax = max(Bmax, ar.mul(x[4], Eg) + ar.mul(x[5], Xg) + x[6])
        cuts = [-x[2] for x in lay.units]
        Bq = Fraction(Bmax, ar.one)
        on = lay.oncoef() if ok else None
        if on is not None:
            # every on-token's output sum, with the largest bounds: finite?
            Pm = Fraction(*self.Pmax)
            tot = ar.mul(lay.ew[0], Xg)
            for x in lay.units:
                hb = Pm + x[2]
                tot += ar.mul(x[10], (ar.up(hb) if hb > 0 else 0) + Bmax)
            if tot > ar.omega:
                on = None
        lo = bisect_left(self.keys, _fl(min(cuts) - Bq)) if ok else 0
        hi = bisect_right(self.keys, _fl(max(cuts) + Bq)) if on is not None else self.n
        lo = min(lo, hi)
        visit = [e for e in self.ents[lo:hi] if e is not None]
        visit += self.lents[bisect_left(self.lkeys, _fl(min(cuts) - Bq)) if ok else 0:]
        visit += self.wild
        moves, top = [], Eg
        for e in visit:
            self.mat(e)
            new, E2 = lay.visit(e, where)
            if new is None:
                e.E = E2
                top = max(top, E2)
            else:
                moves.append((e, new, E2))
        if on is not None and hi < self.n:
            a, CX, CP, CB = on
            self.add(hi, CX, CP, CB)
            pn, pd = self.Pmax
            grow = -((-CP * pn) // pd) + CB
            top = max(top, Eg + ar.mul(a, Eg) + ar.mul(CX, Ig) + max(0, grow))
            self.G += ar.mul(self.G, a)
        self.Eg = top
        self.eng.apply(moves)
        if len(self.lents) > 256 and 4 * len(self.lents) > self.n:
            self.eng.flush()


# ------------------------------------------------------------------ the pass
class Engine:
    """The exact tokens of every sequence with their bounds, block by block."""

    def __init__(self, ar, d, pairs, pool):
        self.ar, self.d = ar, d
        self.rational = all(type(c) is Fraction for X, _ in pairs for x in X for c in x)
        self.cache, self.mats, self.rowstats = {}, {}, {}
        self.lazy, self.prev_row = None, None
        self.decisions = 0
        self.seqs = []
        for j, (X, _) in enumerate(pairs):
            m = {}
            for x in X:
                t = pool[key(x)]
                E0 = t.memo.get("in")
                if E0 is None:
                    if type(t.key[0]) is int:
                        den = t.key[0]
                        E0 = max(ar.coord_err(v, den) for v in t.key[1])
                    else:
                        E0 = max(ar.weight(c)[1] for c in x)
                    t.memo["in"] = E0
                m[t.key] = Entry(t, 1, E0, j)
            self.seqs.append(m)

    def count(self):
        return sum(map(len, self.seqs))

    def flush(self):
        if self.lazy is not None:
            self.lazy.flush()
            self.lazy = None

    def mstats(self, M):
        k = _mkey(M)
        st = self.mats.get(k)
        if st is None:
            st = self.mats[k] = _mstats(self.ar, M, self.d)
        return st

    def apply(self, moves):
        """Simultaneous moves (entry, new token, new bound): every moved entry leaves
        first, then each lands, merging with an entry at the same point."""
        lz = self.lazy
        for e, _, _ in moves:
            del self.seqs[e.j][e.tok.key]
            if lz is not None:
                lz.remove(e)
        for e, t, E2 in moves:
            m = self.seqs[e.j]
            o = m.get(t.key)
            if o is not None:
                if lz is not None:
                    lz.mat(o)
                    lz.Eg = max(lz.Eg, E2)
                o.E, o.n = max(o.E, E2), o.n + e.n
            else:
                ne = m[t.key] = Entry(t, e.n, E2, e.j)
                if lz is not None:
                    lz.insert(ne)

    # ---------------------------------------------------------- FF
    def ff(self, ff, where):
        lay = FFLayer(self, ff)
        row = lay.one_row()
        if row is not None and self.lazy is not None and self.lazy.rkey == row:
            self.lazy.layer(lay, where)
        elif row is not None and row == self.prev_row and LAZY:
            self.flush()
            self.lazy = Lazy(self, row, lay.rows[0][1])
            self.lazy.layer(lay, where)
        else:
            self.flush()
            moves = []
            for m in self.seqs:
                for e in m.values():
                    new, E2 = lay.visit(e, where)
                    if new is None:
                        e.E = E2
                    else:
                        moves.append((e, new, E2))
            self.apply(moves)
        self.prev_row = row
        self.decisions += self.count() * lay.width

    # ---------------------------------------------------------- attention
    def sa(self, sa, where):
        rho, A, V = sa
        ar = self.ar
        Vs = self.mstats(V)
        if Vs.zero and rho == 1:
            return
        self.flush()
        self.prev_row = None
        rw = ar.weight(rho)
        rmag = rw[3]
        if Vs.zero:                            # x' = fl(rho x)
            g, c0 = ar.rcoef(1 if rw[2] else 0, rw[2])
            moves = []
            for m in self.seqs:
                for e in m.values():
                    X = _inf(ar, e.tok) + e.E
                    T = ar.mul(rw[0], X)
                    ar.fits(T, f"{where}: sequence {e.j}: rho x")
                    E2 = ar.mul(rmag, e.E) + ar.mul(rw[1], X) + ar.mul(g, T) + c0
                    t = e.tok
                    if type(t.key[0]) is int and type(rho) is Fraction:
                        nt = Tok.from_key(_lin([(rho.numerator, rho.denominator) + t.key] if rho else [], self.d), 1)
                    else:
                        nt = Tok(tuple(rho * c for c in t.x), 1)
                    moves.append((e, nt, E2))
            self.apply(moves)
            return
        As = self.mstats(A)
        d = self.d
        natt = (1 if rw[2] else 0) + Vs.nnz
        gc = ar.rcoef(natt, Vs.kind if not rw[2] else rw[2] if not Vs.nnz else 3)
        gs = ar.gamma(d * d + 1)
        coefA = As.dsum + ar.mul(gs, As.hsum)
        uf = 2 * d * d * ar.eta
        for j, m in enumerate(self.seqs):
            ents = list(m.values())
            new = {}
            for e, t, E2 in self._attend(ents, rho, A, V, As, Vs, rw, rmag, gc, coefA, uf,
                                         f"{where}: sequence {j}"):
                o = new.get(t.key)
                if o is None:
                    new[t.key] = Entry(t, e.n, E2, j)
                else:
                    o.E, o.n = max(o.E, E2), o.n + e.n
            self.seqs[j] = new
        self.decisions += self.count()

    def _attend(self, ents, rho, A, V, As, Vs, rw, rmag, gc, coefA, uf, where):
        """(entry, new token, new bound) for every query of one sequence."""
        ar, mul_ = self.ar, self.ar.mul
        toks = [e.tok for e in ents]
        Xs = [_inf(ar, t) + e.E for t, e in zip(toks, ents)]
        Xmax, Emax = max(Xs), max(e.E for e in ents)
        # every intermediate of every score of every row, and V on any key, finite
        ar.fits(mul_(As.hrow, Xmax), f"{where}: A x_i")
        ar.fits(mul_(As.hcol, Xmax), f"{where}: A^T x_j")
        ar.fits(mul_(Xmax, Xmax), f"{where}: a product x_id x_je")
        ar.fits(mul_(mul_(As.hsum, Xmax), Xmax), f"{where}: an attention score")
        ar.fits(mul_(Vs.hrow, Xmax), f"{where}: V x_j")
        one = ar.one

        def err(Ei, Xi, Ej, Xj):      # |float score - exact score|
            return (mul_(As.exsum, mul_(Ei, Xj) + mul_(Xi, Ej)) + mul_(mul_(Xi, Xj), coefA)
                    + mul_(uf, one + As.hmax + Xi + Xj))
        decide = self._argmax(ents, toks, A, where)
        g, c0 = gc
        out = []
        for i, (t, e) in enumerate(zip(toks, ents)):
            b, gap = decide(i)
            if gap is not None:
                B = err(e.E, Xs[i], ents[b].E, Xs[b]) + err(e.E, Xs[i], Emax, Xmax)
                if ar.beyond(gap, B) != 1:
                    raise Unknown(f"float claim: {where}: an attention score gap is within its float "
                                  "error bound")
            Xi, Xb = Xs[i], Xs[b]
            T = mul_(rw[0], Xi) + mul_(Vs.hrow, Xb)
            ar.fits(T, f"{where}: an attention output")
            E2 = (mul_(rmag, e.E) + mul_(Vs.exrow, ents[b].E) + mul_(rw[1], Xi) + mul_(Vs.drow, Xb)
                  + mul_(g, T) + c0)
            out.append((e, self._sa_image(t, toks[b], rho, V), E2))
        return out

    def _sa_image(self, t, kb, rho, V):
        """The exact rho x_i + V x_b."""
        if type(t.key[0]) is int and type(rho) is Fraction and V[0] in ("scalar", "rank1") \
                and type(V[1]) is Fraction and (V[0] == "scalar" or type(V[2][0]) is Fraction):
            terms = [(rho.numerator, rho.denominator) + t.key] if rho else []
            if V[0] == "scalar":
                if not terms and V[1] == 1:
                    return kb
                if V[1]:
                    terms.append((V[1].numerator, V[1].denominator) + kb.key)
            else:
                pn, pd = proj(self.cache, V[2]).frac(kb)
                c = V[1]
                if pn and c:
                    terms.append((c.numerator * pn, c.denominator * pd) + _intvec(V[2]))
            return Tok.from_key(_lin(terms, self.d), 1)
        return Tok(tuple(rho * a + v for a, v in zip(t.x, apply_mat(V, kb.x))), 1)

    def _argmax(self, ents, toks, A, where):
        """decide(i) -> (index of the exact maximiser of query i, score gap to every
        other key or None for a one-token row); Unknown for ties."""
        n = len(toks)

        def tie():
            raise Unknown(f"float claim: {where}: a query has several maximisers (ties are not analysed)")
        if n == 1:        # one exact point: its own maximiser, unless several tokens sit on it
            return (lambda i: (0, None)) if ents[0].n == 1 else (lambda i: tie())
        kind = A[0]
        if kind == "zero" or kind in ("scalar", "rank1") and sgn(A[1]) == 0:
            return lambda i: tie()
        rational = type(toks[0].key[0]) is int
        if kind == "rank1" and rational and type(A[1]) is Fraction and type(A[2][0]) is Fraction:
            c = A[1]
            pr = proj(self.cache, A[2])
            P = [pr.frac(t) for t in toks]

            def top2(sg):
                b = s2 = None
                for idx, (pn, pd) in enumerate(P):
                    if b is None or sg * (pn * P[b][1] - P[b][0] * pd) > 0:
                        b, s2 = idx, b
                    elif s2 is None or sg * (pn * P[s2][1] - P[s2][0] * pd) > 0:
                        s2 = idx
                return b, s2
            tops = {1: top2(1), -1: top2(-1)}

            def decide(i):
                pn, pd = P[i]
                sg = (1 if c > 0 else -1) * (1 if pn > 0 else -1 if pn < 0 else 0)
                if not sg:
                    tie()
                b, s2 = tops[sg]
                (bn, bd), (qn, qd) = P[b], P[s2]
                num = abs(c.numerator * pn) * sg * (bn * qd - qn * bd)
                if num == 0 or ents[b].n != 1:
                    tie()
                return b, (num, c.denominator * pd * bd * qd)
            return decide
        if kind == "scalar" and rational and type(A[1]) is Fraction:
            return self._gram_decide(ents, toks, A[1], tie)
        if kind == "full" and rational and all(type(v) is Fraction for r in A[1] for v in r):
            return self._gram_decide(ents, toks, Fraction(1), tie, A[1])
        # any other case: every exact score
        if kind == "rank1":
            pr = proj(self.cache, A[2])
            p = [pr.value(t) for t in toks]
        else:
            p = None

        def decide(i):
            if p is not None:
                sc = [A[1] * p[i] * v for v in p]
            elif kind == "scalar":
                sc = [A[1] * dot(toks[i].x, u.x) for u in toks]
            else:
                q = apply_mat(A, toks[i].x)
                sc = [dot(q, u.x) for u in toks]
            b, s2 = 0, None
            for m in range(1, n):
                if sgn(sc[m] - sc[b]) > 0:
                    b, s2 = m, b
                elif s2 is None or sgn(sc[m] - sc[s2]) > 0:
                    s2 = m
            gap = sc[b] - sc[s2]
            if sgn(gap) == 0 or ents[b].n != 1:
                tie()
            return b, gap
        return decide

    def _gram_decide(self, ents, toks, c, tie, M=None):
        """decide(i) for A = c I (or, with ``M``, A = the rational rows M and c = 1) on
        rational tokens: float scores discard keys (filters.py states the bound), kept
        keys are compared exactly and discarded ones are bounded from above by their
        float score plus that bound."""
        n, d = len(toks), self.d
        sg = 1 if c > 0 else -1
        keys = [t.key for t in toks]
        qkeys = (keys if sg > 0 else [(den, tuple(-v for v in nums)) for den, nums in keys]) \
            if M is None else query_keys(M, keys)
        F = Filter.make(qkeys, keys) if n > 2 else None     # None: filters.py's premises fail
        if F is not None:
            a3, b3 = F.big.as_integer_ratio()
        cn, cd = abs(c.numerator), c.denominator

        def decide(i):
            den_i, ni = qkeys[i]
            rest = None
            if F is None:
                cand = range(n)
            else:
                cand, low = F.row(i)
                if low is not None:
                    # a discarded key's exact <q_i, x_j> is at most its float value plus
                    # 2 (d + 3) u n_i n_j <= low + 2 (d + 3) u n_i big, here as an integer pair
                    a1, b1 = low.as_integer_ratio()
                    a2, b2 = F.qnorms[i].as_integer_ratio()
                    rest = (a1 * b2 * b3 * 2 ** 53 + 2 * (d + 3) * a2 * a3 * b1, b1 * b2 * b3 * 2 ** 53)
            b = s2 = None
            for m in cand:
                a, dm = sum(map(mul, ni, keys[m][1])), keys[m][0]
                if b is None or a * b[1] > b[0] * dm:
                    b, s2 = (a, dm, m), b
                elif s2 is None or a * s2[1] > s2[0] * dm:
                    s2 = (a, dm, m)
            if ents[b[2]].n != 1 or s2 is not None and s2[0] * b[1] == b[0] * s2[1]:
                tie()
            top = (b[0], b[1] * den_i)                       # the best score / c
            second = None if s2 is None else (s2[0], s2[1] * den_i)
            if rest is not None and (second is None or rest[0] * second[1] > second[0] * rest[1]):
                second = rest
            gn = top[0] * second[1] - second[0] * top[1]
            if gn <= 0:      # the float bound did not separate: every exact score
                second = None
                for m, k in enumerate(keys):
                    if m != b[2]:
                        a = (sum(map(mul, ni, k[1])), k[0] * den_i)
                        if second is None or a[0] * second[1] > second[0] * a[1]:
                            second = a
                gn = top[0] * second[1] - second[0] * top[1]
                if gn <= 0:
                    tie()
            return b[2], (cn * gn, cd * top[1] * second[1])
        return decide


# ------------------------------------------------------------------ the claim
def check_claim(cert, d, pairs, n_blocks, read, limits=DEFAULT):
    """The float claim of a hardmax certificate whose exact check passed: a summary, or
    Rejected / Malformed / Unknown (the first block where a step is not proven)."""
    fmt, tol, tol_text, relative, classes = read_claim(cert["float_claim"], pairs, limits)
    pool = {}
    for X, Y in pairs:
        for x in X + Y:
            t = Tok(x, 1)
            pool.setdefault(t.key, t)
    tn, td = 1, 1                                 # the smallest non-zero |coordinate|, tn / td
    for t in pool.values():
        if type(t.key[0]) is int:
            den, nums = t.key
            m = min((abs(v) for v in nums if v), default=0)
            if m and m * td < tn * den:
                tn, td = m, den
        else:
            for c in t.x:
                q = _rat(c)
                if q and abs(q) * td < tn:
                    tn, td = abs(q.numerator), q.denominator
    ar = Arith(fmt, Fraction(tn, td))
    _reachable(ar, pairs, tol, relative, fmt, d)
    eng = Engine(ar, d, pairs, pool)
    for k in range(1, n_blocks + 1):
        where, ff, sa, _, _ = read(k)
        if ff[1] or ff[0] != 1:
            eng.ff(ff, where)
        eng.sa(sa, where)
    eng.flush()
    for j, (m, (_, Y)) in enumerate(zip(eng.seqs, pairs)):     # the same exact outputs as the check
        if set(m) != {key(y) for y in Y}:
            raise Unknown(f"float claim: sequence {j}: the re-evaluated outputs differ from the targets")
    one = ar.one
    if relative:
        worst = 0
        for m in eng.seqs:
            for e in m.values():
                lo = _norm2_low(e.tok)
                mn, md = (1, 1) if lo < 1 else (lo.numerator, lo.denominator)
                worst = max(worst, isqrt(-((-d * e.E * e.E * md) // mn)) + 1)
    else:
        E = max(e.E for m in eng.seqs for e in m.values())
        worst = isqrt(d * E * E) + 1
    bound = Fraction(worst, one)                  # >= the largest sqrt(d) E (/ max(1, |y|))
    if bound > tol:
        raise Unknown(f"float claim: the proven error bound {_g(bound)} exceeds the "
                      f"tolerance {_g(tol)} (the claim may still hold)")
    out = {"format": fmt, "tolerance": tol_text, "decisions": eng.decisions}
    if classes:
        out["classes"] = _classes(ar, eng, pairs, d)
    n = bound.numerator                           # a dyadic of 24 bits >= bound, as exact text
    cut = max(0, n.bit_length() - 24)
    short = Fraction(((n - 1) >> cut) + 1) * Fraction(2) ** cut / bound.denominator
    out.update(bound=_g(short, ".3e"), bound_exact=str(short), relative=relative)
    return {k: out[k] for k in ("format", "tolerance", "decisions", "bound", "bound_exact", "relative")
            + (("classes",) if classes else ())}


def _norm2_low(t):
    """A rational lower bound of |x|_2^2 of an exact token."""
    if type(t.key[0]) is int:
        den, nums = t.key
        return Fraction(sum(v * v for v in nums), den * den)
    low = Fraction(0)
    for c in t.x:
        q = _rat(c)
        if q is not None:
            low += q * q
            continue
        sgn(c)
        lo, hi = c.f.enclose(c.c)
        a = lo if lo > 0 else -hi if hi < 0 else 0
        low += a * a
    return low


def _reachable(ar, pairs, tol, relative, fmt, d):
    """Rejected when no float point of the format lies within the tolerance of some
    target (in the claim's sense)."""
    U, H = Fraction(1, 1 << ar.p), Fraction(1, 1 << (ar.p - 1 - ar.emin))
    # |fl(q) - q| <= u |q| + eta: a quick sufficient test first
    if relative:
        if U + d * H <= tol:
            return
    else:
        ymax = max((abs(c) for _, Y in pairs for y in Y for c in map(_rat, y) if c is not None),
                   default=Fraction(0))
        if d * (U * ymax + H) <= tol:
            return
    seen = set()
    for j, (_, Y) in enumerate(pairs):
        for y in Y:
            qs = [_rat(c) for c in y]
            if None in qs or tuple(qs) in seen:
                continue
            seen.add(tuple(qs))
            dist2 = sum((ar.rnd(q) - q) ** 2 for q in qs)
            scale = max(Fraction(1), sum(q * q for q in qs)) if relative else 1
            if dist2 > tol * tol * scale:
                raise Rejected(f"float claim: sequence {j}: no {fmt} point lies within the tolerance "
                               f"of the target ({', '.join(map(_qtext, qs))})")


def _classes(ar, eng, pairs, d):
    """Prove, for every sequence (one target y_j each), that every float output token is
    strictly nearer y_j than any other distinct target point: 2 sqrt(d) E_j < |y_j - y'|
    (compared by squares with a rational rho_j >= 2 sqrt(d) E_j).  Returns N."""
    one = ar.one
    pts = {}
    for _, (y,) in pairs:
        pts.setdefault(key(y), y)
    boxes = []                                   # (lo, hi) rational enclosures per point
    for k, y in pts.items():
        lo, hi = [], []
        for c in y:
            q = _rat(c)
            if q is not None:
                lo.append(q)
                hi.append(q)
            else:
                sgn(c)
                a, b = c.f.enclose(c.c)
                lo.append(a)
                hi.append(b)
        boxes.append((lo, hi, k, y))
    boxes.sort(key=lambda b: _fl(b[0][0]))
    firsts = [_fl(b[0][0]) for b in boxes]
    wmax = max(b[1][0] - b[0][0] for b in boxes)
    for j, (m, (_, (y,))) in enumerate(zip(eng.seqs, pairs)):
        E = max(e.E for e in m.values())
        rho = Fraction(isqrt(4 * d * E * E) + 1, one)      # >= 2 sqrt(d) E
        ky = key(y)
        lo_y = [_rat(c) for c in y]
        ylo = next(b for b in boxes if b[2] == ky)
        a = bisect_left(firsts, _fl(ylo[0][0] - rho - wmax))
        z = bisect_right(firsts, _fl(ylo[1][0] + rho))
        for lo, hi, k, p in boxes[a:z]:
            if k == ky:
                continue
            gap2 = sum(max(0, l2 - h1, l1 - h2) ** 2 for l1, h1, l2, h2 in zip(ylo[0], ylo[1], lo, hi))
            if gap2 > rho * rho:
                continue
            if None not in lo_y and all(type(c) is Fraction for c in p):
                ok = sum((a1 - b1) ** 2 for a1, b1 in zip(lo_y, p)) > rho * rho
            else:
                ok = sgn(sum(((a1 - b1) * (a1 - b1) for a1, b1 in zip(y, p)), 0 * y[0]) - rho * rho) > 0
            if not ok:
                raise Unknown(f"float claim: sequence {j}: the class decision is not proven (a float "
                              "output may lie nearer another target point)")
    return len(pairs)


def _qtext(q):
    return str(q) if q.numerator.bit_length() + q.denominator.bit_length() < 12000 else _g(q)


def _g(q, spec=".3g"):
    """A short decimal reading of a rational for a message (~2^k beyond the float range)."""
    if not q:
        return format(0.0, spec)
    try:
        f = float(q)
    except OverflowError:
        f = math.inf
    if f == 0 or math.isinf(f):
        return f"~2^{q.numerator.bit_length() - q.denominator.bit_length()}"
    return format(f, spec)
