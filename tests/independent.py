"""An independent judge of hardmax certificates over real number fields.

It shares no number code with the checker or with the constructor: the field
generator theta is isolated with sympy and computed with mpmath, every dataset
coordinate is evaluated from its text with mpmath (the certificate's atoms are
ignored), and the model is run densely, token by token, at 300 decimal digits.

    judge(cert) -> (True, "") or (False, reason)

A certificate is TRUE when

(a) theta is well defined: field.minpoly is monic and has exactly one distinct
    real root in the open interval field.interval (no field: rational data);
(b) every coordinate text evaluates to a real number (sqrt and fractional
    powers are positive real roots of positive numbers);
(c) Assumption 1.3 holds: inputs pairwise distinct as sets, no input or output
    repeats a token, every output non-empty and no longer than its input;
(d) the model's output set on every input equals the target set (Hausdorff
    distance below 1e-200), with hardmax ties taken within 1e-250;
(e) the block and width bounds of the statement hold (2 sum m + 2N + 1, 4).

Numbers closer than 1e-250 count as equal in (c) and in hardmax ties.
"""
from __future__ import annotations

import re
from fractions import Fraction

import mpmath
import sympy

DIGITS = 300
EQUAL = "1e-250"        # tokens / scores this close are equal
HAUSDORFF = "1e-200"    # output sets this close are equal


class Invalid(Exception):
    """The certificate does not define a model and dataset (counts as FALSE)."""


def _ctx():
    c = mpmath.MPContext()
    c.dps = DIGITS + 20
    return c


# ------------------------------------------------------------------ theta
def _rational(s):
    if isinstance(s, bool) or not isinstance(s, (str, int)):
        raise Invalid(f"not a rational: {s!r}")
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        raise Invalid(f"not a rational: {s!r}") from None


def theta_of(field, ctx):
    """theta as an mpf: the unique real root of field.minpoly in field.interval."""
    if not isinstance(field, dict):
        raise Invalid("field is not an object")
    try:
        coeffs = [_rational(c) for c in field["minpoly"]]
        lo, hi = (_rational(c) for c in field["interval"])
    except (KeyError, TypeError, ValueError):
        raise Invalid("field needs minpoly and interval [lo, hi]") from None
    if len(coeffs) < 2 or coeffs[-1] != 1:
        raise Invalid("minpoly is not monic of degree >= 1")
    if not lo < hi:
        raise Invalid("interval is empty")
    x = sympy.Symbol("x")
    poly = sympy.Poly([sympy.Rational(c.numerator, c.denominator) for c in reversed(coeffs)],
                      x, domain="QQ")
    slo = sympy.Rational(lo.numerator, lo.denominator)
    shi = sympy.Rational(hi.numerator, hi.denominator)
    sqf = sympy.Poly(sympy.sqf_part(poly.as_expr()), x, domain="QQ")
    q = [Fraction(int(c.p), int(c.q)) for c in reversed(sqf.all_coeffs())]

    def val(t):
        acc = ctx.mpf(0) if not isinstance(t, Fraction) else Fraction(0)
        for c in reversed(q):
            acc = acc * t + c
        return acc

    # distinct real roots in the open interval (lo, hi)
    n = sqf.count_roots(slo, shi) - (val(lo) == 0) - (val(hi) == 0)
    if n != 1:
        raise Invalid(f"minpoly has {n} distinct real roots in the interval")
    # an isolating interval [a, b] of that root, free of roots at lo and hi
    (a, b), = [(u, v) for u, v in ((Fraction(str(u)), Fraction(str(v)))
                                   for (u, v), _ in sqf.intervals(inf=slo, sup=shi))
               if not (u == v and u in (lo, hi))]
    while a < b and (val(a) == 0 and a in (lo, hi) or val(b) == 0 and b in (lo, hi)):
        u, v = sqf.refine_root(a, b, eps=(b - a) / 4)
        a, b = Fraction(str(u)), Fraction(str(v))
    for end in (a, b):
        if val(end) == 0:
            return ctx.mpf(end.numerator) / end.denominator
    a, b = ctx.mpf(a.numerator) / a.denominator, ctx.mpf(b.numerator) / b.denominator
    sa = val(a) > 0
    for _ in range(4 * ctx.prec):
        m = (a + b) / 2
        if m == a or m == b:
            break
        vm = val(m)
        if vm == 0:
            return m
        if (vm > 0) == sa:
            a = m
        else:
            b = m
    return (a + b) / 2


# ------------------------------------------------------------ coordinates
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(sqrt)|(\*\*|[-+*/^()]))")


class _Expr:
    """Recursive descent over + - * / ^ (or **), unary signs, sqrt( ) and parentheses.

    Values are Fractions while exact and mpf once a root is taken, so that an
    exponent is known exactly.
    """

    def __init__(self, text, ctx):
        self.ctx, self.toks, pos = ctx, [], 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise Invalid(f"cannot read coordinate {text!r}")
            self.toks.append(m.group(1) and ("num", m.group(1)) or m.group(2) and ("sqrt", None)
                             or ("op", "^" if m.group(3) == "**" else m.group(3)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.i = 0
        self.text = text

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, op=None):
        t = self.peek()
        if op is not None and t != ("op", op):
            raise Invalid(f"cannot read coordinate {self.text!r}")
        self.i += 1
        return t

    def parse(self):
        v = self.sum()
        if self.i != len(self.toks):
            raise Invalid(f"cannot read coordinate {self.text!r}")
        return v

    def sum(self):
        v = self.product()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            w = self.product()
            v, w = self.same(v, w)
            v = v + w if op == "+" else v - w
        return v

    def same(self, v, w):
        """Both exact, or both mpf."""
        if isinstance(v, Fraction) and isinstance(w, Fraction):
            return v, w
        mp = self.ctx.mpf
        return tuple(mp(x.numerator) / x.denominator if isinstance(x, Fraction) else x
                     for x in (v, w))

    def product(self):
        v = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            v, w = self.same(v, self.unary())
            if op == "*":
                v = v * w
            else:
                if w == 0 or not isinstance(w, Fraction) and abs(w) <= self.ctx.mpf(EQUAL):
                    raise Invalid(f"division by zero in {self.text!r}")
                v = v / w
        return v

    def unary(self):
        if self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            v = self.unary()
            return -v if op == "-" else v
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek() == ("op", "^"):
            self.take()
            return self.pow(base, self.unary())
        return base

    def atom(self):
        kind, val = self.take()
        if kind == "num":
            return Fraction(val)
        if kind == "sqrt":
            self.take("(")
            v = self.sum()
            self.take(")")
            return self.pow(v, Fraction(1, 2))
        if (kind, val) == ("op", "("):
            v = self.sum()
            self.take(")")
            return v
        raise Invalid(f"cannot read coordinate {self.text!r}")

    def pow(self, base, e):
        if not isinstance(e, Fraction):
            raise Invalid(f"irrational exponent in {self.text!r}")
        if e.denominator == 1:
            if base == 0 and e < 0:
                raise Invalid(f"division by zero in {self.text!r}")
            if isinstance(base, Fraction):
                return base ** int(e)
            return base ** int(e)
        if not base > 0:
            raise Invalid(f"root of a non-positive number in {self.text!r}")
        ctx = self.ctx
        b = ctx.mpf(base.numerator) / base.denominator if isinstance(base, Fraction) else base
        r = ctx.root(b, e.denominator)          # the positive real root
        return r ** e.numerator


def coordinate(text, ctx):
    """The value of one dataset coordinate, read from its text."""
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise Invalid(f"not a coordinate: {text!r}")
    v = _Expr(str(text), ctx).parse()
    return ctx.mpf(v.numerator) / v.denominator if isinstance(v, Fraction) else ctx.mpf(v)


# ------------------------------------------------------------------- model
class _Num:
    def __init__(self, ctx, theta, k):
        self.ctx, self.theta, self.k = ctx, theta, k

    def __call__(self, s):
        ctx = self.ctx
        if isinstance(s, list):
            if self.theta is None or len(s) != self.k:
                raise Invalid(f"coefficient list of the wrong length: {s!r}")
            acc = ctx.mpf(0)
            for c in reversed(s):
                q = _rational(c)
                acc = acc * self.theta + ctx.mpf(q.numerator) / q.denominator
            return acc
        q = _rational(s)
        return ctx.mpf(q.numerator) / q.denominator

    def vec(self, v, d):
        if not isinstance(v, list) or len(v) != d:
            raise Invalid("vector of the wrong length")
        return [self(c) for c in v]


def _matrix(M, num, d):
    if not isinstance(M, dict):
        raise Invalid("matrix is not an object")
    kind = M.get("kind")
    if kind == "zero":
        return lambda x: [0 * c for c in x]
    if kind == "scalar":
        c = num(M.get("c"))
        return lambda x: [c * xi for xi in x]
    if kind == "rank1":
        c, a = num(M.get("c", "1")), num.vec(M.get("a"), d)

        def f(x):
            s = c * sum(ai * xi for ai, xi in zip(a, x))
            return [s * ai for ai in a]
        return f
    if kind == "full":
        rows = M.get("rows")
        if not isinstance(rows, list) or len(rows) != d:
            raise Invalid("full matrix of the wrong shape")
        R = [num.vec(r, d) for r in rows]
        return lambda x: [sum(r[j] * x[j] for j in range(d)) for r in R]
    raise Invalid(f"unknown matrix kind {kind!r}")


def _block(blk, num, d):
    try:
        ff, sa = blk["ff"], blk["sa"]
        eta = num(ff["eta"])
        U = [num.vec(u, d) for u in ff["U"]]
        b = [num(x) for x in ff["b"]]
        W = [[num(x) for x in r] for r in ff["W"]]
        rho = num(sa["rho"])
        A, V = _matrix(sa["A"], num, d), _matrix(sa["V"], num, d)
    except (KeyError, TypeError):
        raise Invalid("block of the wrong form") from None
    if len(b) != len(U) or len(W) != d or any(len(r) != len(U) for r in W):
        raise Invalid("ff shapes do not match")
    return eta, U, b, W, rho, A, V


def run(blocks, X, ctx, tie):
    """The model on the token list X (lists of mpf), every token kept."""
    for eta, U, b, W, rho, A, V in blocks:
        H = []
        for x in X:
            h = [ctx.mpf(0) if (s := sum(u[i] * x[i] for i in range(len(x))) + bk) < 0 else s
                 for u, bk in zip(U, b)]
            H.append([eta * x[i] + sum(W[i][k] * h[k] for k in range(len(h)))
                      for i in range(len(x))])
        out = []
        for hi in H:
            q = A(hi)
            scores = [sum(a * c for a, c in zip(q, hj)) for hj in H]
            best = max(scores)
            C = [j for j, s in enumerate(scores) if best - s <= tie]
            avg = [sum(H[j][i] for j in C) / len(C) for i in range(len(hi))]
            out.append([rho * a + v for a, v in zip(hi, V(avg))])
        X = out
    return X


def _dist(x, y):
    return max(abs(a - b) for a, b in zip(x, y))


def _same_set(P, Q, tol):
    return all(any(_dist(p, q) <= tol for q in Q) for p in P) and \
        all(any(_dist(p, q) <= tol for p in P) for q in Q)


def judge(cert):
    """(True, "") if the certificate's statement is true, else (False, reason)."""
    try:
        _judge(cert)
    except Invalid as exc:
        return False, str(exc)
    except _False as exc:
        return False, str(exc)
    return True, ""


class _False(Exception):
    pass


def _judge(cert):
    ctx = _ctx()
    tie, close = ctx.mpf(EQUAL), ctx.mpf(HAUSDORFF)
    if not isinstance(cert, dict) or cert.get("attention", "hardmax") != "hardmax":
        raise Invalid("only hardmax certificates are judged")
    field = cert.get("field")
    theta, k = None, 1
    if field is not None:
        theta = theta_of(field, ctx)
        k = len(field["minpoly"]) - 1
    num = _Num(ctx, theta, k)

    data = cert.get("dataset")
    if not isinstance(data, dict) or not isinstance(data.get("sequences"), list) \
            or not data["sequences"]:
        raise Invalid("no dataset")
    d = data.get("dimension")
    if type(d) is not int or d < 2:
        raise Invalid("bad dimension")
    pairs = []
    for j, s in enumerate(data["sequences"]):
        sides = []
        for key in ("input", "output"):
            toks = s.get(key) if isinstance(s, dict) else None
            if not isinstance(toks, list) or not toks:
                raise _False(f"sequence {j}: {key} missing or empty")
            pts = []
            for t in toks:
                if not isinstance(t, list) or len(t) != d:
                    raise Invalid(f"sequence {j}: token of the wrong dimension")
                pts.append([coordinate(c, ctx) for c in t])
            for a in range(len(pts)):
                for b in range(a):
                    if _dist(pts[a], pts[b]) <= tie:
                        raise _False(f"sequence {j}: {key} repeats a token (assumption 1.3 ii)")
            sides.append(pts)
        if len(sides[1]) > len(sides[0]):
            raise _False(f"sequence {j}: output longer than input")
        pairs.append(sides)
    for a in range(len(pairs)):
        for b in range(a):
            if _same_set(pairs[a][0], pairs[b][0], tie):
                raise _False(f"sequences {b} and {a} have equal inputs (assumption 1.3 i)")

    raw = cert.get("blocks")
    if not isinstance(raw, list):
        raise Invalid("no blocks")
    blocks = [_block(blk, num, d) for blk in raw]
    bound = 2 * sum(len(Y) for _, Y in pairs) + 2 * len(pairs) + 1
    if len(blocks) > bound:
        raise _False(f"{len(blocks)} blocks exceed the bound {bound}")
    if any(len(blk[1]) > 4 for blk in blocks):
        raise _False("an FF layer is wider than 4")
    for j, (X, Y) in enumerate(pairs):
        got = run(blocks, X, ctx, tie)
        if not _same_set(got, Y, close):
            raise _False(f"sequence {j}: the model's output set differs from the target")


def is_true(cert):
    return judge(cert)[0]
