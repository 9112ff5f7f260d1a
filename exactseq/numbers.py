"""Exact scalars for exactseq.

Two kinds of scalar travel through the construction:

* ``fractions.Fraction`` for rational data (the fast, common path);
* :class:`Alg`, an element of one real number field Q(theta) fixed per
  dataset, for coordinates such as ``"sqrt(3)/2"`` or ``"2^(1/3)"``.

A dataset is either wholly rational or wholly algebraic (rationals are then
constants of the field), so a point is a tuple of one kind of scalar.

Algebraic elements are polynomials in theta of degree < k with rational
coefficients, reduced modulo the (monic, irreducible) minimal polynomial of
theta, so equality is equality of coefficients.  The sign of a non-zero
element is decided with exact rational interval arithmetic on an isolating
interval of theta that is bisected until the enclosure excludes zero; nothing
here uses floating point.

Coordinate text is parsed by a whitelist over Python's ``ast`` (numbers,
``+ - * /``, ``^`` or ``**``, ``sqrt``, parentheses); ``eval`` and sympy's
``sympify`` are never called on user text.
"""
from __future__ import annotations

import ast
import math
import re
from fractions import Fraction
from functools import reduce
from operator import mul

__all__ = [
    "NumberError", "Alg", "AlgField", "JsonDecimal", "parse_coordinate",
    "RadicalExpr", "build_field", "to_text", "simplest_in", "dot", "sign",
    "lower_bound", "upper_bound", "floor_of", "intform",
]


class NumberError(ValueError):
    """A coordinate that is not an exact real number we can represent."""


class JsonDecimal(str):
    """The text of a JSON number literal with a fraction or exponent.

    ``json.loads(..., parse_float=JsonDecimal)`` keeps ``0.1`` as the decimal
    it spells (1/10), never as its binary float.
    """


_INT = re.compile(r"[+-]?\d+\Z")
_FRAC = re.compile(r"[+-]?\d+/\d+\Z")
_DEC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")
_MAX_EXPONENT = 10_000


# ---------------------------------------------------------------- parsing
class RadicalExpr:
    """A coordinate whose value is real algebraic but not (visibly) rational.

    ``tree`` is the validated ``ast`` expression, ``text`` the source text.
    :func:`build_field` turns a dataset's radical expressions into field
    elements.
    """

    __slots__ = ("text", "tree", "sym")

    def __init__(self, text, tree, sym):
        self.text, self.tree, self.sym = text, tree, sym


def parse_coordinate(value):
    """Return a Fraction or a :class:`RadicalExpr` for one JSON coordinate.

    Raises NumberError with a short reason for anything else.
    """
    if isinstance(value, bool) or value is None:
        raise NumberError(f"{_show(value)} is not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, JsonDecimal):
        return _decimal(value)
    if not isinstance(value, str):
        raise NumberError(f"{_show(value)} is not a number")
    text = value.strip()
    if _INT.match(text):
        return Fraction(int(text))
    if _FRAC.match(text):
        num, den = text.split("/")
        if int(den) == 0:
            raise NumberError(f"{value!r} divides by zero")
        return Fraction(int(num), int(den))
    if _DEC.match(text):
        return _decimal(text)
    return _parse_expression(value)


def _show(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return "a JSON " + ("array" if isinstance(value, list) else "object")
    return repr(value)


def _decimal(text):
    mant, _, exp = text.lower().partition("e")
    if exp and abs(int(exp)) > _MAX_EXPONENT:
        raise NumberError(f"{text!r} has an exponent beyond 10^{_MAX_EXPONENT}")
    return Fraction(text)


def _parse_expression(value):
    text = value.replace("^", "**")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise NumberError(f"{value!r} is not a number") from None
    sym = _to_sympy(tree, value)
    if sym.is_Rational:
        return Fraction(int(sym.p), int(sym.q))
    if sym.is_real is not True:
        raise NumberError(f"{value!r} is not a real number")
    return RadicalExpr(value, tree, sym)


def radical_atoms(radical, conv):
    """The roots (base, exponent, value) occurring in a radical's text, as field elements.

    These are what an independent reader of the text needs to evaluate it in
    the field: each value is checked there as the positive root of its base.
    """
    text = radical.text.replace("^", "**")
    out = []
    for node in ast.walk(radical.tree):
        if isinstance(node, ast.Call):
            base, exp = node.args[0], Fraction(1, 2)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            e = _to_sympy(node.right, text)
            if e.is_Integer:
                continue
            base, exp = node.left, Fraction(int(e.p), int(e.q))
        else:
            continue
        out.append((conv(_to_sympy(base, text)), exp, conv(_to_sympy(node, text))))
    return out


def _to_sympy(node, value):
    """Build a sympy expression from a whitelisted ast node (no eval)."""
    import sympy

    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if isinstance(node.value, float):
            seg = ast.get_source_segment(value.replace("^", "**"), node)
            frac = _decimal(seg) if seg else None
            if frac is None:
                raise NumberError(f"{value!r} is not a number")
            return sympy.Rational(frac.numerator, frac.denominator)
        return sympy.Integer(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        inner = _to_sympy(node.operand, value)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and isinstance(
            node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
        left = _to_sympy(node.left, value)
        right = _to_sympy(node.right, value)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise NumberError(f"{value!r} divides by zero")
            return left / right
        if not right.is_Rational:
            raise NumberError(f"{value!r}: exponents must be rational")
        if abs(right.p) > _MAX_EXPONENT or right.q > 64:
            raise NumberError(f"{value!r}: exponent too large")
        if right.q > 1 and not left.is_positive:
            raise NumberError(f"{value!r}: fractional power of a non-positive number")
        if left == 0 and right < 0:
            raise NumberError(f"{value!r} divides by zero")
        return sympy.Pow(left, right)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "sqrt" and len(node.args) == 1 and not node.keywords):
        arg = _to_sympy(node.args[0], value)
        if arg.is_negative:
            raise NumberError(f"{value!r} is not a real number")
        return sympy.sqrt(arg)
    raise NumberError(f"{value!r} is not a number")


# ------------------------------------------------------- algebraic numbers
class AlgField:
    """Q(theta) for one real algebraic theta.

    ``minpoly``: monic minimal polynomial of theta, coefficients lowest degree
    first (Fractions); ``lo < theta < hi`` isolates theta among the real
    roots.  The interval is bisected in place when a sign needs it.
    """

    def __init__(self, minpoly, lo, hi):
        self.minpoly = tuple(Fraction(c) for c in minpoly)
        self.k = len(self.minpoly) - 1
        self.lo, self.hi = Fraction(lo), Fraction(hi)
        self._slo = _sgn(_peval(self.minpoly, self.lo))
        if self.k < 1 or self.minpoly[-1] != 1 or self._slo == 0 or \
                self._slo == _sgn(_peval(self.minpoly, self.hi)):
            raise NumberError("invalid number field description")

    def elem(self, coeffs):
        c = [Fraction(x) for x in coeffs] + [Fraction(0)] * (self.k - len(coeffs))
        return Alg(self, tuple(c[:self.k]))

    def const(self, q):
        return Alg(self, (Fraction(q),) + (Fraction(0),) * (self.k - 1))

    def bisect(self):
        mid = (self.lo + self.hi) / 2
        s = _sgn(_peval(self.minpoly, mid))
        if s == 0:  # cannot happen for an irreducible minpoly of degree > 1
            self.lo = self.hi = mid
        elif s == self._slo:
            self.lo = mid
        else:
            self.hi = mid

    def enclose(self, coeffs):
        """Rational interval containing sum c_i theta^i (exact arithmetic)."""
        lo, hi = Fraction(0), Fraction(0)
        for c in reversed(coeffs):  # Horner over [self.lo, self.hi]
            prods = (lo * self.lo, lo * self.hi, hi * self.lo, hi * self.hi)
            lo, hi = min(prods) + c, max(prods) + c
        return lo, hi

    def describe(self):
        return {"minpoly": [to_text(c) for c in self.minpoly],
                "interval": [to_text(self.lo), to_text(self.hi)]}


def _peval(poly, x):
    acc = Fraction(0)
    for c in reversed(poly):
        acc = acc * x + c
    return acc


def _sgn(q):
    return (q > 0) - (q < 0)


class Alg:
    """An element of an :class:`AlgField`; immutable and hashable."""

    __slots__ = ("f", "c")

    def __init__(self, field, coeffs):
        self.f, self.c = field, coeffs

    def _co(self, other):
        if isinstance(other, Alg):
            return other.c
        if isinstance(other, (int, Fraction)):
            return (Fraction(other),) + (Fraction(0),) * (self.f.k - 1)
        return None

    def __add__(self, other):
        o = self._co(other)
        if o is None:
            return NotImplemented
        return Alg(self.f, tuple(a + b for a, b in zip(self.c, o)))

    __radd__ = __add__

    def __neg__(self):
        return Alg(self.f, tuple(-a for a in self.c))

    def __sub__(self, other):
        o = self._co(other)
        if o is None:
            return NotImplemented
        return Alg(self.f, tuple(a - b for a, b in zip(self.c, o)))

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if isinstance(other, (int, Fraction)):
            return Alg(self.f, tuple(a * other for a in self.c))
        if not isinstance(other, Alg):
            return NotImplemented
        k, m = self.f.k, self.f.minpoly
        prod = [Fraction(0)] * (2 * k - 1)
        for i, a in enumerate(self.c):
            if a:
                for j, b in enumerate(other.c):
                    if b:
                        prod[i + j] += a * b
        for top in range(2 * k - 2, k - 1, -1):  # reduce modulo the monic minpoly
            t = prod[top]
            if t:
                for i in range(k):
                    prod[top - k + i] -= t * m[i]
        return Alg(self.f, tuple(prod[:k]))

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, (int, Fraction)):
            return Alg(self.f, tuple(a / other for a in self.c))
        return NotImplemented

    def sign(self):
        if not any(self.c):
            return 0
        while True:
            lo, hi = self.f.enclose(self.c)
            if lo > 0:
                return 1
            if hi < 0:
                return -1
            self.f.bisect()

    def bounds(self):
        """Rational (lo, hi) with lo <= self <= hi, tight enough to fix the sign."""
        self.sign()
        return self.f.enclose(self.c)

    def _cmp(self, other):
        d = self - other
        return NotImplemented if d is NotImplemented else d.sign()

    def __lt__(self, other):
        return self._cmp(other) < 0

    def __le__(self, other):
        return self._cmp(other) <= 0

    def __gt__(self, other):
        return self._cmp(other) > 0

    def __ge__(self, other):
        return self._cmp(other) >= 0

    def __eq__(self, other):
        o = self._co(other)
        return NotImplemented if o is None else self.c == o

    def __hash__(self):
        if not any(self.c[1:]):
            return hash(self.c[0])
        return hash(self.c)

    def is_rational(self):
        return not any(self.c[1:])

    def __repr__(self):
        return "Alg(" + ", ".join(to_text(c) for c in self.c) + ")"


def build_field(radicals):
    """Fix one number field holding every given :class:`RadicalExpr`.

    Returns ``(field, values, conv)``: values[i] is the field element of
    radicals[i]; conv maps any sympy expression in those radicals into the field.
    Uses sympy for the primitive element only; element arithmetic is ours.
    """
    import sympy
    from sympy import QQ

    atoms = set()
    for r in radicals:
        atoms |= {p for p in r.sym.atoms(sympy.Pow) if not p.exp.is_Integer}
    atoms = sorted(atoms, key=sympy.default_sort_key)
    K = QQ.algebraic_field(*atoms)
    x = sympy.Symbol("x")
    mp = sympy.Poly(K.ext.minpoly.as_expr().subs(K.ext.minpoly.gen, x), x)
    coeffs = [Fraction(int(c.p), int(c.q)) for c in reversed(mp.all_coeffs())]
    approx = sympy.N(K.ext.as_expr(), 60)
    for (lo, hi), _ in mp.intervals():
        if lo < approx < hi:
            break
    else:  # pragma: no cover - sympy always isolates the root
        raise NumberError("could not isolate the primitive element")
    field = AlgField(coeffs, Fraction(int(lo.p), int(lo.q)), Fraction(int(hi.p), int(hi.q)))
    cache = {}

    def conv(e):
        if e.is_Rational:
            return field.const(Fraction(int(e.p), int(e.q)))
        if e.is_Add:
            return reduce(lambda a, b: a + b, (conv(a) for a in e.args))
        if e.is_Mul:
            return reduce(lambda a, b: a * b, (conv(a) for a in e.args))
        if e.is_Pow and e.exp.is_Integer and e.exp > 0:
            base = conv(e.base)
            return reduce(lambda a, b: a * b, [base] * int(e.exp))
        if e not in cache:  # an atom, or a negative integer power: let sympy do it once
            anp = K.from_sympy(e)
            cache[e] = field.elem([Fraction(int(c.numerator), int(c.denominator))
                                   for c in reversed(anp.to_list())])
        return cache[e]

    return field, [conv(r.sym) for r in radicals], conv


# ------------------------------------------------------------- utilities
def to_text(q):
    """Exact text of a rational: "p" or "p/q" in lowest terms."""
    q = Fraction(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def sign(x):
    if isinstance(x, Alg):
        return x.sign()
    return (x > 0) - (x < 0)


def lower_bound(x):
    """A rational <= x (equal when x is rational); positive when x > 0."""
    return x.bounds()[0] if isinstance(x, Alg) else Fraction(x)


def upper_bound(x):
    return x.bounds()[1] if isinstance(x, Alg) else Fraction(x)


def floor_of(x):
    """floor(x) as an int, exactly."""
    if isinstance(x, Alg):
        while True:
            lo, hi = x.bounds()
            if math.floor(lo) == math.floor(hi) and not (hi == math.floor(hi) and hi != lo):
                return math.floor(lo)
            x.f.bisect()
    return math.floor(x)


def intform(point):
    """(den, nums) with point == nums/den, for a tuple of Fractions."""
    den = 1
    for c in point:
        d = c.denominator
        if d != 1 and den % d:
            den = den * d // math.gcd(den, d)
    return den, tuple(c.numerator * (den // c.denominator) for c in point)


def dot(u, x):
    """Exact inner product of two equal-length tuples of scalars."""
    if type(x[0]) is Fraction and type(u[0]) is Fraction:
        ud, un = intform(u)
        xd, xn = intform(x)
        return Fraction(sum(map(mul, un, xn)), ud * xd)
    acc = 0
    for a, b in zip(u, x):
        acc = acc + a * b
    return acc


def simplest_in(a, b):
    """The rational with the smallest denominator in the open interval (a, b)."""
    a, b = Fraction(a), Fraction(b)
    if not a < b:
        raise ValueError("empty interval")
    if a < 0 < b:
        return Fraction(0)
    if b <= 0:
        return -simplest_in(-b, -a)
    n = math.floor(a)
    if n + 1 < b:
        return Fraction(n + 1)
    if a == n:
        return n + Fraction(1, math.floor(1 / (b - n)) + 1)
    return n + 1 / simplest_in(1 / (b - n), 1 / (a - n))
