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
``sympify`` are never called on user text.  Every size is bounded by a
:class:`proofs_check.limits.Limits` before the work it would cost is done.
"""
from __future__ import annotations

import ast
import math
import re
import sys
from fractions import Fraction
from functools import reduce
from operator import add, mul, sub, truediv

from proofs_check.limits import DEFAULT, FloatText, LimitError, parse_int_text

__all__ = [
    "NumberError", "Alg", "AlgField", "JsonDecimal", "parse_coordinate", "quote",
    "RadicalExpr", "build_field", "add_roots", "to_text", "simplest_in", "dot", "sign",
    "lower_bound", "upper_bound", "floor_of", "intform", "rational",
]


from .errors import NumberError  # noqa: E402  (re-exported: numbers.NumberError)


# The text of a JSON number literal with a fraction or exponent:
# ``json.loads(..., parse_float=JsonDecimal)`` keeps ``0.1`` as the decimal it
# spells (1/10), never as its binary float.  Same class as the one
# ``proofs_check.limits.read_json`` returns.
JsonDecimal = FloatText

_INT = re.compile(r"[+-]?\d+\Z", re.ASCII)
_FRAC = re.compile(r"([+-]?\d+)\s*/\s*(\d+)\Z", re.ASCII)
_SHORT_DEC = re.compile(r"(-?\d+)(?:\.(\d+))?\Z", re.ASCII)
_DEC = re.compile(r"([+-]?)(?=\.?\d)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\Z", re.ASCII)


def quote(value, width=80):
    """A value for an error message: text quoted, cut to ``width`` characters of it."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, (list, dict)):
        return "a JSON " + ("array" if isinstance(value, list) else "object")
    if not isinstance(value, str):
        text = repr(value)
        return text if len(text) <= width else text[:width] + "..."
    if len(value) <= width:
        return repr(str(value))
    half = width // 2
    return f"{value[:half] + '...' + value[-half:]!r} ({len(value)} characters)"


# ---------------------------------------------------------------- parsing
class RadicalExpr:
    """A coordinate whose value is real algebraic but not (visibly) rational.

    ``tree`` is the validated ``ast`` expression, ``text`` the source text,
    ``sym`` its sympy value and ``syms`` the sympy value of each node of the
    tree (by ``id``).  :func:`build_field` turns a dataset's radical
    expressions into field elements.
    """

    __slots__ = ("text", "tree", "sym", "syms")

    def __init__(self, text, tree, sym, syms=None):
        self.text, self.tree, self.sym, self.syms = text, tree, sym, syms or {}


def parse_coordinate(value, limits=None):
    """Return a Fraction or a :class:`RadicalExpr` for one JSON coordinate.

    Raises NumberError with a short reason for anything else, and
    proofs_check.limits.LimitError for anything beyond ``limits``
    (default: proofs_check.limits.DEFAULT).  Whitespace around the text is
    ignored, also around the ``/`` of a fraction.
    """
    limits = limits or DEFAULT
    if type(value) is str and len(value) <= 40 and len(value) <= limits.max_digits:
        m = _SHORT_DEC.match(value)     # the common case, within every limit
        if m:
            whole, frac = m.groups()
            n = int(whole + frac) if frac else int(whole)
            return Fraction(n, 10 ** len(frac)) if frac else Fraction(n)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise NumberError(f"{quote(value)} is not a number")
    if isinstance(value, int):
        _bound(_digits(value), limits, what="an integer of")
        return Fraction(value)
    text = value.strip()
    if _INT.match(text):
        return _charged(Fraction(parse_int_text(text, limits)))
    m = _FRAC.match(text)
    if m:
        num, den = (parse_int_text(s, limits) for s in m.groups())
        if den == 0:
            raise NumberError(f"{quote(value)} divides by zero")
        return _charged(Fraction(num, den))
    if _DEC.match(text):
        return _charged(_decimal(text, limits))
    return _charged(_parse_expression(value, text, limits))


def _charged(v):
    """v, charged to the work budget of the file being read (proofs_check.limits.spend:
    numbers of 1000 digits or more; LimitError beyond --max-work)."""
    if isinstance(v, Fraction):
        from proofs_check.limits import spend
        spend((v.numerator.bit_length(), v.denominator.bit_length()))
    return v


def _digits(n):
    """Decimal digits of the int n (an upper bound, exact or one more; no conversion)."""
    return int(abs(n).bit_length() * 0.30103) + 1


def _size(q):
    """Digits of the larger of a sympy rational's numerator and denominator."""
    return _digits(max(abs(int(q.p)), int(q.q)))


def _brief(n):
    return str(n) if abs(n) < 10 ** 30 else f"about {'-' if n < 0 else ''}10^{_digits(n) - 1}"


def _bound(size, limits, irrational=False, what="a number of up to"):
    """Refuse a number of more than --max-digits digits.

    An irrational result gets a hundredth of that: sympy factors the integers
    under a root, which takes time cubic in their digits.
    """
    if not irrational:
        if size > limits.max_digits:
            raise limits.refuse(f"{what} {size} digits", "max_digits")
        return
    cap = max(1, limits.max_digits // 100)
    if size > cap:
        raise LimitError(f"an irrational number of up to {size} digits exceeds the limit of "
                         f"{cap} (a hundredth of --max-digits; raise it with --max-digits)")


def _decimal(text, limits):
    """A decimal literal; its exponent counts as digits ("1e-30" has 31)."""
    sign, whole, frac, exp = _DEC.match(text).groups()
    frac = frac or ""
    e = parse_int_text(exp, limits) if exp else 0
    digits = len(whole) + len(frac) + abs(e)
    if digits > limits.max_digits:
        raise limits.refuse(f"a decimal number of {digits} digits", "max_digits")
    n = parse_int_text(whole + frac, limits)
    e -= len(frac)
    q = Fraction(n * 10 ** e) if e >= 0 else Fraction(n, 10 ** -e)
    return -q if sign == "-" else q


def _parse_expression(value, text, limits):
    if len(text) > limits.max_expr_length:
        raise limits.refuse(f"an expression of {len(text)} characters", "max_expr_length")
    run = max(map(len, re.findall(r"\d+", text)), default=0)
    if run > limits.max_digits:  # Python would convert it while parsing
        raise limits.refuse(f"an integer of {run} digits", "max_digits")
    src = text.replace("^", "**")
    try:
        tree = ast.parse(src, mode="eval").body
    except (SyntaxError, ValueError):
        raise NumberError(f"{quote(value)} is not a number") from None
    except (RecursionError, MemoryError):
        raise NumberError(f"{quote(value)} is nested too deeply to parse") from None
    nodes, deepest, stack = 0, 0, [(tree, 1)]
    while stack:  # iteratively: the tree may be deep
        node, depth = stack.pop()
        nodes, deepest = nodes + 1, max(deepest, depth)
        stack.extend((c, depth + 1) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr))
    if nodes > limits.max_expr_length:
        raise limits.refuse(f"an expression of {nodes} syntax nodes", "max_expr_length")
    if deepest > limits.max_depth:
        raise limits.refuse(f"an expression nested {deepest} deep", "max_depth")
    syms = {}
    try:
        sym = _to_sympy(tree, value, src, limits, syms)[0]
    except RecursionError:
        raise NumberError(f"{quote(value)} is nested too deeply to evaluate") from None
    if sym.is_Rational:
        return Fraction(int(sym.p), int(sym.q))
    if sym.is_real is not True:
        raise NumberError(f"{quote(value)} is not a real number")
    degree = add_roots({}, sym)
    if degree > limits.max_field_degree:
        raise limits.refuse(f"a number field of degree up to {degree}", "max_field_degree")
    return RadicalExpr(value, tree, sym, syms)


def add_roots(roots, sym):
    """Record the roots b^(p/q) of a sympy value in ``roots`` (base b -> lcm of the q).

    Returns the product of the lcms: an upper bound of the degree of the
    number field the recorded roots generate (b^(1/q) generates every
    b^(p/q), and each adjunction multiplies the degree by at most q).
    """
    import sympy

    for a in sym.atoms(sympy.Pow):
        if not a.exp.is_Integer:
            roots[a.base] = math.lcm(roots.get(a.base, 1), int(a.exp.q))
    return math.prod(roots.values())


def radical_atoms(radical, conv):
    """The roots (base, exponent, value) occurring in a radical's text, as field elements.

    These are what an independent reader of the text needs to evaluate it in
    the field: each value is checked there as the positive root of its base.
    """
    syms = radical.syms
    out = []
    for node in ast.walk(radical.tree):
        if isinstance(node, ast.Call):
            base, exp = node.args[0], Fraction(1, 2)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            e = syms[id(node.right)]
            if e.is_Integer:
                continue
            base, exp = node.left, Fraction(int(e.p), int(e.q))
        else:
            continue
        out.append((conv(syms[id(base)]), exp, conv(syms[id(node)])))
    return out


_OPS = {ast.Add: add, ast.Sub: sub, ast.Mult: mul, ast.Div: truediv}


def _to_sympy(node, value, src, limits, syms):
    """(sympy value, digit bound) of a whitelisted ast node, built without eval.

    Each result is bounded before it is computed; ``syms[id(node)]`` records it.
    """
    import sympy

    def bad(reason=" is not a number"):
        return NumberError(f"{quote(value)}{reason}")

    def ev(n):
        return _to_sympy(n, value, src, limits, syms)

    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if isinstance(node.value, float):
            seg = ast.get_source_segment(src, node) or ""
            if not _DEC.match(seg):
                raise bad()
            q = _decimal(seg, limits)
            sym = sympy.Rational(q.numerator, q.denominator)
        else:   # plain decimal digits only: no 0x10, 0b11 or 1_000
            if not _INT.match(ast.get_source_segment(src, node) or ""):
                raise bad()
            sym = sympy.Integer(node.value)
        size = _size(sym)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        sym, size = ev(node.operand)
        sym = -sym if isinstance(node.op, ast.USub) else sym
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        (left, sl), (right, _) = ev(node.left), ev(node.right)
        if not right.is_Rational:
            raise bad(": exponents must be rational")
        p, q = int(right.p), int(right.q)
        if abs(p) > limits.max_exponent:
            raise limits.refuse(f"an exponent of {_brief(p)}", "max_exponent")
        if q > limits.max_exponent:
            raise limits.refuse(f"a root index of {_brief(q)}", "max_exponent")
        size = abs(p) * sl
        _bound(size, limits, q > 1 or not left.is_Rational, "a power of up to")
        if q > 1 and not left.is_positive:
            raise bad(": fractional power of a non-positive number")
        if left == 0 and p < 0:
            raise bad(" divides by zero")
        sym = sympy.Pow(left, right)
    elif isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        (left, sl), (right, sr) = ev(node.left), ev(node.right)
        size = sl + sr
        if not (left.is_Rational and right.is_Rational):
            _bound(size, limits, True)
        if isinstance(node.op, ast.Div) and right == 0:
            raise bad(" divides by zero")
        sym = _OPS[type(node.op)](left, right)
    elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "sqrt" and len(node.args) == 1 and not node.keywords):
        arg, size = ev(node.args[0])
        if arg.is_negative:
            raise bad(" is not a real number")
        _bound(size, limits, True)
        sym = sympy.sqrt(arg)
    else:
        raise bad()
    if sym.is_Rational:
        size = _size(sym)
        _bound(size, limits)
        if size >= 1000:          # every intermediate result is work (--max-work)
            from proofs_check.limits import spend
            spend((int(sym.p).bit_length(), int(sym.q).bit_length()))
    syms[id(node)] = sym
    return sym, size


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


def build_field(radicals, limits=None):
    """Fix one number field holding every given :class:`RadicalExpr`.

    Returns ``(field, values, conv)``: values[i] is the field element of
    radicals[i]; conv maps any sympy expression in those radicals into the field.
    Uses sympy for the primitive element only; element arithmetic is ours.
    A field whose degree may exceed --max-field-degree is refused before
    sympy is asked (LimitError), and so is one whose degree does.
    """
    import sympy
    from sympy import QQ

    limits = limits or DEFAULT
    roots, degree = {}, 1
    for r in radicals:
        degree = add_roots(roots, r.sym)
    if degree > limits.max_field_degree:
        raise limits.refuse(f"a number field of degree up to {degree}", "max_field_degree")
    atoms = set()
    for r in radicals:   # every root written in the text, not only those left after simplification
        for e in [r.sym, *r.syms.values()]:
            atoms |= {p for p in e.atoms(sympy.Pow) if not p.exp.is_Integer}
    atoms = sorted(atoms, key=sympy.default_sort_key)
    K = QQ.algebraic_field(*atoms)
    x = sympy.Symbol("x")
    mp = sympy.Poly(K.ext.minpoly.as_expr().subs(K.ext.minpoly.gen, x), x)
    if mp.degree() > limits.max_field_degree:
        raise limits.refuse(f"a number field of degree {mp.degree()}", "max_field_degree")
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
            return _power(conv(e.base), int(e.exp))
        if e not in cache:  # an atom, or a negative integer power: let sympy do it once
            anp = K.from_sympy(e)
            cache[e] = field.elem([Fraction(int(c.numerator), int(c.denominator))
                                   for c in reversed(anp.to_list())])
        return cache[e]

    return field, [conv(r.sym) for r in radicals], conv


def _power(x, n):
    """x^n for an integer n >= 1, by repeated squaring."""
    result = None
    while True:
        if n & 1:
            result = x if result is None else result * x
        n >>= 1
        if not n:
            return result
        x = x * x


# ------------------------------------------------------------- utilities
def rational(x, limits=None):
    """A certificate's exact rational ("p" or "p/q" text, or an int) as a Fraction,
    at any length within ``--max-digits`` (no decimal exponents, so no huge power
    of ten is ever built); NumberError (or LimitError) otherwise."""
    if type(x) is Fraction:
        return x
    if type(x) is int:
        _bound(_digits(x), limits or DEFAULT, what="an integer of")
        return Fraction(x)
    if type(x) is str:
        if _INT.match(x):
            return Fraction(parse_int_text(x.lstrip("+") if x[:1] == "+" else x, limits or DEFAULT))
        m = _FRAC.match(x)
        if m:
            num, den = (parse_int_text(s, limits or DEFAULT) for s in m.groups())
            if den:
                return Fraction(num, den)
    raise NumberError(f"{quote(x)} is not an exact rational (\"p\" or \"p/q\")")


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
    """(den, nums) with point == nums/den, for a tuple of Fractions (cached on a Point)."""
    if type(point) is Point:
        cache = point.__dict__
        k = cache.get("k")
        if k is None:
            k = cache["k"] = _intform(point)
        return k
    return _intform(point)


def _intform(point):
    den = 1
    for c in point:
        d = c.denominator
        if d != 1 and den % d:
            den = den * d // math.gcd(den, d)
    return den, tuple(c.numerator * (den // c.denominator) for c in point)


class Point(tuple):
    """A token or direction: a tuple of scalars that remembers its hash and, when
    rational, its integer form ``intform``.  It equals, and hashes as, the plain
    tuple of the same scalars, so the two mix freely in sets and dicts; the
    cache only saves recomputing 16 Fraction hashes per lookup."""

    def __hash__(self):
        cache = self.__dict__
        h = cache.get("h")
        if h is None:
            k = cache.get("k")
            if k is None and all(type(c) is Fraction for c in self):
                k = cache["k"] = _intform(self)
            h = cache["h"] = tuple.__hash__(self) if k is None else _key_hash(k)
        return h

    @classmethod
    def from_key(cls, key):
        """The rational Point nums/den of an integer form (den, nums)."""
        den, nums = key
        gcd = math.gcd
        out = []
        for n in nums:
            g = gcd(n, den)
            out.append(_fraction(n // g, den // g) if g != 1 else _fraction(n, den))
        p = cls(out)
        p.__dict__["k"] = key
        return p


_MODULUS = sys.hash_info.modulus


def _key_hash(key):
    """hash(tuple(Fraction(n, den) for n in nums)) with one modular inverse instead
    of one per coordinate.  A tuple's hash depends only on its items' hashes, and
    Python hashes n/den to the residue of n * den^-1 modulo the prime M (sign
    kept, -1 read as -2), which is a value in (-M, M) that an int hashes to
    itself; so the tuple of those residues hashes as the tuple of Fractions."""
    den, nums = key
    if den % _MODULUS == 0:
        return hash(tuple(Fraction(n, den) for n in nums))
    dinv = pow(den, -1, _MODULUS)
    hs = []
    for n in nums:
        h = (n % _MODULUS if n >= 0 else -n % _MODULUS) * dinv % _MODULUS
        if n < 0:
            h = -2 if h == 1 else -h
        hs.append(h)
    return hash(tuple(hs))


def _fraction(n, d):
    """Fraction(n, d) for coprime n and d > 0, without re-normalising."""
    f = object.__new__(Fraction)
    f._numerator, f._denominator = n, d
    return f


def translate_key(k, v):
    """intform of nums/den + vn/vd for k = (den, nums), v = (vd, vn): over the common
    denominator D the lcm of the reduced denominators is D / gcd(D, n_1, ..., n_d)."""
    den, nums = k
    vd, vn = v
    D = den * vd // math.gcd(den, vd)
    a, b = D // den, D // vd
    n = [x * a + y * b for x, y in zip(nums, vn)]
    g = math.gcd(D, *n)
    return (D // g, tuple(x // g for x in n)) if g > 1 else (D, tuple(n))


def translate(x, v):
    """The point x + v (exactly); rational points go through their integer forms."""
    if type(x[0]) is Fraction and type(v[0]) is Fraction:
        return Point.from_key(translate_key(intform(x), intform(v)))
    return Point(a + b for a, b in zip(x, v))


def dot(u, x):
    """Exact inner product of two equal-length tuples of scalars."""
    if type(x[0]) is Fraction and type(u[0]) is Fraction:
        ud, un = intform(u)
        xd, xn = intform(x)
        n, d = sum(map(mul, un, xn)), ud * xd
        g = math.gcd(n, d)
        return _fraction(n // g, d // g) if g != 1 else _fraction(n, d)
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
