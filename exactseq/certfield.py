"""Numbers of a certificate: reading coordinates into its number field, and
writing field elements back as readable exact text.

A certificate over Q(theta) lists, besides theta, the value of every root
its dataset's coordinates use ("atoms": base, exponent, value).  New
coordinates such as "sqrt(3)/2" are evaluated with those values, by the same
whitelist of syntax as dataset coordinates (numbers, + - * /, ^ or **,
sqrt, parentheses); nothing is ``eval``ed.  A field element is printed in
terms of those roots when their products span the field (for example
"1/2 + 3*sqrt(2)*sqrt(3)"), otherwise as a polynomial in theta.
"""
from __future__ import annotations

import ast
import itertools
from fractions import Fraction

from proofs_check.limits import DEFAULT, LimitError

from .numbers import Alg, AlgField, NumberError, parse_coordinate, quote, rational, to_text

__all__ = ["CertField", "field_of"]

MAX_MONOMIALS = 256


def field_of(cert):
    """The :class:`CertField` of a certificate object, or None for rational data."""
    spec = cert.get("field")
    return None if spec is None else CertField(spec)


class CertField:
    def __init__(self, spec):
        try:
            self.field = AlgField([rational(c) for c in spec["minpoly"]], rational(spec["interval"][0]),
                                  rational(spec["interval"][1]))
            self.atoms = [(self.number(a["base"]), rational(a["exponent"]), self.number(a["value"]))
                          for a in spec.get("atoms", [])]
        except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError, NumberError) as exc:
            raise NumberError(f"certificate field: {type(exc).__name__}: {exc}") from None
        self.spec = spec
        self._basis = None

    # ---------------------------------------------------------------- reading
    def number(self, x):
        """A certificate number ("p/q" or a coefficient list) as a field element."""
        if isinstance(x, list):
            return self.field.elem([rational(c) for c in x])
        return self.field.const(rational(x))

    def coordinate(self, value, limits=None):
        """A dataset-style coordinate (int, "p/q", decimal, or an expression in
        the certificate's roots) as a field element; NumberError otherwise."""
        limits = limits or DEFAULT
        if isinstance(value, str) and not _plain(value):
            return self._expression(value, limits)
        q = parse_coordinate(value, limits)
        if isinstance(q, Fraction):
            return self.field.const(q)
        return self._expression(value, limits)  # pragma: no cover - plain text is rational

    def _expression(self, value, limits):
        text = value.strip()
        if len(text) > limits.max_expr_length:
            raise limits.refuse(f"an expression of {len(text)} characters", "max_expr_length")
        src = text.replace("^", "**")
        try:
            tree = ast.parse(src, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise NumberError(f"{quote(value)} is not a number") from None
        nodes = sum(1 for _ in ast.walk(tree))
        if nodes > limits.max_expr_length:
            raise limits.refuse(f"an expression of {nodes} syntax nodes", "max_expr_length")
        try:
            return self._eval(tree, value, src, limits, 0)
        except RecursionError:
            raise NumberError(f"{quote(value)} is nested too deeply") from None

    def _eval(self, node, value, src, limits, depth):
        if depth > limits.max_depth:
            raise limits.refuse(f"an expression nested {depth} deep", "max_depth")

        def ev(n):
            return self._eval(n, value, src, limits, depth + 1)

        F = self.field
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            seg = ast.get_source_segment(src, node) or ""
            q = parse_coordinate(seg, limits)
            if not isinstance(q, Fraction):
                raise NumberError(f"{quote(value)} is not a number")
            return F.const(q)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            x = ev(node.operand)
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            a, b = ev(node.left), ev(node.right)
            return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) \
                else a * b
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            a, b = ev(node.left), ev(node.right)
            if not b.is_rational():
                raise NumberError(f"{quote(value)}: division by an irrational number is not "
                                  "supported here (write it with a rational denominator)")
            if b.c[0] == 0:
                raise NumberError(f"{quote(value)} divides by zero")
            return a / b.c[0]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, e = ev(node.left), ev(node.right)
            if not e.is_rational():
                raise NumberError(f"{quote(value)}: exponents must be rational")
            return self._power(base, e.c[0], value, limits)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt"
                and len(node.args) == 1 and not node.keywords):
            return self._power(ev(node.args[0]), Fraction(1, 2), value, limits)
        raise NumberError(f"{quote(value)} is not a number")

    def _power(self, base, e, value, limits):
        p, q = e.numerator, e.denominator
        if abs(p) > limits.max_exponent or q > limits.max_exponent:
            raise limits.refuse(f"an exponent of {e}", "max_exponent")
        if q > 1:
            root = None
            for b, ex, val in self.atoms:
                if b == base and ex == e:
                    return val
                if b == base and ex == Fraction(1, q):
                    root = val
            if root is None and base.is_rational() and base.c[0] >= 0:
                root = self._rational_base_root(base.c[0], q)
            if root is None:
                raise NumberError(f"{quote(value)}: the root of {self.text(base)} of index {q} is not "
                                  f"in the certificate's number field (its roots: "
                                  f"{', '.join(self.root_names()) or 'none'})")
            base = root
        if p < 0:
            if not base.is_rational() or base.c[0] == 0:
                raise NumberError(f"{quote(value)}: negative powers of irrational numbers are not "
                                  "supported here")
            return self.field.const(base.c[0] ** p)
        out = self.field.const(1)
        for _ in range(p):
            out = out * base
        return out

    def _rational_base_root(self, b, q):
        """b^(1/q) for a rational b >= 0 if it is in the field: a rational root, or
        for q = 2 a rational times a product of the certificate's square roots
        (sqrt(6) = sqrt(2) sqrt(3), sqrt(8) = 2 sqrt(2))."""
        r = _rational_root(b, q)
        if r is not None:
            return self.field.const(r)
        if q != 2:
            return None
        roots = [(a.c[0], v) for a, e, v in self.atoms if e == Fraction(1, 2) and a.is_rational()
                 and a.c[0] > 0][:12]
        for mask in range(1, 1 << len(roots)):
            chosen = [roots[i] for i in range(len(roots)) if mask >> i & 1]
            prod = Fraction(1)
            for a, _ in chosen:
                prod *= a
            r = _rational_root(b * prod, 2)
            if r is not None:           # sqrt(b) = r / sqrt(prod) = r sqrt(prod) / prod
                out = self.field.const(r / prod)
                for _, v in chosen:
                    out = out * v
                return out
        return None

    def root_names(self):
        return [_root_name(b, e) for b, e, _ in self.atoms if b.is_rational()]

    # ---------------------------------------------------------------- writing
    def _monomials(self):
        """(names, coefficient rows, products) of a basis of the field made of products
        of the certificate's roots, or None if they do not span it."""
        if self._basis is not None:
            return self._basis or None
        k = self.field.k
        gens = [(_root_name(b, e), v, e.denominator) for b, e, v in self.atoms
                if b.is_rational() and e.numerator == 1]
        ranges = [range(q) for _, _, q in gens]
        count = 1
        for r in ranges:
            count *= len(r)
        basis = []
        if count <= MAX_MONOMIALS:
            monos = sorted(itertools.product(*ranges), key=lambda es: (sum(es), es))
            rows, pivots = [], []      # echelon form for the rank test
            for es in monos:
                val = self.field.const(1)
                for (_, v, _), n in zip(gens, es):
                    for _ in range(n):
                        val = val * v
                vec = list(val.c)
                for row, piv in zip(rows, pivots):
                    if vec[piv]:
                        f = vec[piv] / row[piv]
                        vec = [a - f * b for a, b in zip(vec, row)]
                piv = next((i for i, a in enumerate(vec) if a), None)
                if piv is None:
                    continue
                rows.append(vec)
                pivots.append(piv)
                name = "*".join(_pow_name(nm, n) for (nm, _, _), n in zip(gens, es) if n)
                basis.append((name, list(val.c)))
                if len(basis) == k:
                    break
        if len(basis) != k:
            self._basis = []
            return None
        # solve: element coefficients c = sum_i y_i basis_i  (k x k linear system)
        M = [[basis[i][1][r] for i in range(k)] for r in range(k)]
        self._basis = ([n for n, _ in basis], _inverse(M))
        return self._basis

    def text(self, x):
        """Exact readable text of a field element (or a Fraction)."""
        if isinstance(x, Fraction):
            return to_text(x)
        if x.is_rational():
            return to_text(x.c[0])
        mono = self._monomials()
        if mono is None:
            return _poly_text(x.c, "theta")
        names, inv = mono
        ys = [sum((inv[i][j] * x.c[j] for j in range(len(x.c))), Fraction(0)) for i in range(len(names))]
        return _terms(zip(ys, names))

    def theta(self):
        """How theta is given, for output where elements are polynomials in theta."""
        return (f"theta = the root of {_poly_text(self.field.minpoly, 'x')} in "
                f"[{to_text(self.field.lo)}, {to_text(self.field.hi)}]")

    def uses_theta(self):
        return self._monomials() is None


def _plain(text):
    from . import numbers
    t = text.strip()
    return bool(numbers._INT.match(t) or numbers._FRAC.match(t) or numbers._DEC.match(t))


def _rational_root(q, n):
    """The rational n-th root of q >= 0, or None."""
    def iroot(a):
        lo, hi = 0, 1
        while hi ** n <= a:
            hi *= 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if mid ** n <= a:
                lo = mid
            else:
                hi = mid
        return lo if lo ** n == a else None
    a, b = iroot(q.numerator), iroot(q.denominator)
    return None if a is None or b is None else Fraction(a, b)


def _root_name(base, e):
    b = to_text(base.c[0])
    if e == Fraction(1, 2):
        return f"sqrt({b})"
    return f"{b if base.c[0] >= 0 and '/' not in b else '(' + b + ')'}^({to_text(e)})"


def _pow_name(name, n):
    return name if n == 1 else f"{name}^{n}"


def _terms(pairs):
    out = []
    for c, name in pairs:
        if not c:
            continue
        if not name:
            out.append(to_text(c))
        elif c == 1:
            out.append(name)
        elif c == -1:
            out.append("-" + name)
        else:
            out.append(f"{to_text(c)}*{name}")
    return " + ".join(out).replace("+ -", "- ") or "0"


def _poly_text(cs, var):
    names = ["", var] + [f"{var}^{i}" for i in range(2, len(cs))]
    return _terms(zip(cs, names))


def _inverse(M):
    """The inverse of a square matrix of Fractions (Gauss-Jordan)."""
    n = len(M)
    A = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(M)]
    for col in range(n):
        piv = next(r for r in range(col, n) if A[r][col])
        A[col], A[piv] = A[piv], A[col]
        p = A[col][col]
        A[col] = [a / p for a in A[col]]
        for r in range(n):
            if r != col and A[r][col]:
                f = A[r][col]
                A[r] = [a - f * b for a, b in zip(A[r], A[col])]
    return [r[n:] for r in A]


def is_alg(x):
    return isinstance(x, Alg)


__all__ += ["is_alg", "LimitError"]
