"""Parameter norms of a certificate, and the Tikhonov bound of Proposition 2.1.

Training minimises J_eps(theta) = L(theta) + eps R(theta) (the paper's (2.1)),
with a loss L that vanishes exactly at interpolating parameters.  An exact
interpolant theta* gives J_eps(theta*) = eps R(theta*), so

    min_theta J_eps(theta) <= eps R(theta*)

for every eps > 0 (Proposition 2.1 ii).  A verified certificate is such a
theta*; this module computes R(theta*) exactly from the certificate alone
(it does not look at how the construction chose the weights).

"All parameters" means every entry of the dense matrices of every block:
eta, U (w x d), b (w), W (d x w), rho, A (d x d) and V (d x d) (of every head,
when a weights certificate's block has several).  A and V are
stored factored; their dense entries are c on the diagonal for ``c I`` and
c a_i a_j for ``c a a^T``, so for the latter the squared l2 norm is
c^2 (sum a_i^2)^2, the l1 norm |c| (sum |a_i|)^2 and the largest entry
|c| max a_i^2.

The paper's regulariser in Example 2.2 is the squared Euclidean norm of the
vectorised parameters, R(theta) = ||theta||_2^2 (``l2_squared``, the
default here).

    >>> cert = {"dataset": {"dimension": 2}, "field": None, "blocks": [
    ...     {"ff": {"eta": "1", "U": [["1", "0"]], "b": ["-1/2"], "W": [["2"], ["0"]]},
    ...      "sa": {"rho": "1", "A": {"kind": "rank1", "c": "1", "a": ["1", "2"]},
    ...             "V": {"kind": "scalar", "c": "1/3"}}}]}
    >>> n = parameter_norms(cert)
    >>> n["l2_squared"], n["l1"], n["linf"], n["entries"]
    ('1169/36', '91/6', '4', 15)
    >>> tikhonov_bound(cert, "1e-2")["bound"]
    '1169/3600'
"""
from __future__ import annotations

import math
import sys
from fractions import Fraction

__all__ = ["parameter_norms", "tikhonov_bound", "REGULARIZERS", "DEFAULT_REGULARIZER",
           "NormError", "sqrt_upper", "add_norms", "bound_for_file", "text"]

REGULARIZERS = ("l2_squared", "l2", "l1", "linf")
DEFAULT_REGULARIZER = "l2_squared"     # Example 2.2: the squared l2 norm of the parameters


from .errors import NormError  # noqa: E402  (re-exported: tikhonov.NormError)


# ------------------------------------------------------------------ reading numbers
def _ratio(s):
    """(p, q) of a rational text "p" or "p/q" (q > 0, lowest terms not assumed)."""
    from proofs_check.limits import parse_int_text
    if not isinstance(s, str):
        if type(s) is int:
            return s, 1
        raise NormError(f"not an exact number: {str(s)[:40]!r}")
    p, slash, q = s.partition("/")
    try:
        p = parse_int_text(p.strip())
        q = parse_int_text(q.strip()) if slash else 1
    except ValueError:
        raise NormError(f"not an exact number: {s[:40]!r}") from None
    if q == 0:
        raise NormError(f"not an exact number: {s[:40]!r}")
    return (p, q) if q > 0 else (-p, -q)


class _Norms:
    """Accumulates sum x^2, sum |x| and max |x| over exact entries.

    Rational entries go to integer sums keyed by denominator (one Fraction
    addition per distinct denominator at the end, so millions of entries cost
    little); field elements, when a certificate has a field, to exact sums in
    that field."""

    def __init__(self, field):
        self.field = field
        self.sq, self.ab = {}, {}
        self.big = (0, 1)
        self.fsq = self.fab = self.fbig = None
        self.entries = 0

    # one scalar: text "p/q", or a list of coefficients over the field
    def value(self, x):
        if isinstance(x, list):
            if self.field is None:
                raise NormError("a field element in a certificate without a number field")
            cs = [Fraction(*_ratio(c)) for c in x]
            if not any(cs[1:]):
                return cs[0] if cs else Fraction(0)
            return self.field.elem(cs)
        return Fraction(*_ratio(x))

    def text(self, x, count=1):
        """Add one entry given as certificate text, ``count`` times."""
        if x == "0":
            return
        if isinstance(x, list):
            self.add(self.value(x), count)
            return
        try:                                  # the common case: short "p" or "p/q"
            p, slash, q = x.partition("/")
            p, q = int(p), int(q) if slash else 1
            if q <= 0:
                raise ValueError
        except (ValueError, TypeError, AttributeError):
            p, q = _ratio(x)
        if p:
            self.sq[q * q] = self.sq.get(q * q, 0) + count * p * p
            self.ab[q] = self.ab.get(q, 0) + count * abs(p)
            bp, bq = self.big
            if abs(p) * bq > bp * q:
                self.big = (abs(p), q)

    def add(self, v, count=1, sq=None, ab=None, big=None):
        """Add an exact value v (Fraction or field element) ``count`` times, or,
        with sq/ab/big given, a group of entries by its three sums."""
        if sq is None:
            if not _sign(v):
                return
            ab = _abs(v)
            sq, ab, big = count * v * v, count * ab, ab
        for name, val in (("sq", sq), ("ab", ab)):
            if isinstance(val, Fraction):
                d = getattr(self, name)
                den = val.denominator
                d[den] = d.get(den, 0) + val.numerator
            else:
                cur = getattr(self, "f" + name)
                setattr(self, "f" + name, val if cur is None else cur + val)
        if isinstance(big, Fraction):
            bp, bq = self.big
            if big.numerator * bq > bp * big.denominator:
                self.big = (big.numerator, big.denominator)
        elif self.fbig is None or _sign(big - self.fbig) > 0:
            self.fbig = big

    def result(self):
        l2 = _tree_sum([(n, d) for d, n in self.sq.items()])
        l1 = _tree_sum([(n, d) for d, n in self.ab.items()])
        big = Fraction(*self.big)
        if self.fsq is not None:
            l2 = self.fsq + l2
        if self.fab is not None:
            l1 = self.fab + l1
        if self.fbig is not None and _sign(self.fbig - big) > 0:
            big = self.fbig
        return l2, l1, big


def _tree_sum(pairs):
    """sum n_i / d_i exactly, added pairwise in a balanced tree (operands of
    similar size: fast with many distinct denominators)."""
    fr = [Fraction(n, d) for n, d in pairs] or [Fraction(0)]
    while len(fr) > 1:
        nxt = [x + y for x, y in zip(fr[::2], fr[1::2])]
        if len(fr) % 2:
            nxt.append(fr[-1])
        fr = nxt
    return fr[0]


def _sign(x):
    if isinstance(x, Fraction):
        return (x > 0) - (x < 0)
    return x.sign()


def _abs(x):
    return x if _sign(x) >= 0 else -x


def _field(cert):
    """The certificate's number field as a CertField (None for rational data)."""
    if cert.get("field") is None:
        return None
    from .certfield import field_of
    from .numbers import NumberError
    try:
        return field_of(cert)
    except NumberError as exc:
        raise NormError(str(exc)) from None


def _matrix(acc, M, d, where):
    kind = M.get("kind") if isinstance(M, dict) else None
    acc.entries += d * d
    if kind == "zero":
        return
    if kind == "scalar":
        c = acc.value(M["c"])
        if _sign(c):
            a = _abs(c)
            acc.add(c, sq=d * c * c, ab=d * a, big=a)
        return
    if kind == "rank1":
        c = acc.value(M.get("c", "1"))
        a = [acc.value(x) for x in M["a"]]
        if len(a) != d:
            raise NormError(f"{where}: rank-one vector of length {len(a)}, expected {d}")
        if not _sign(c) or not any(_sign(x) for x in a):
            return
        s2 = sum((x * x for x in a), Fraction(0))
        s1 = sum((_abs(x) for x in a), Fraction(0))
        m = a[0] * a[0]
        for x in a[1:]:
            if _sign(x * x - m) > 0:
                m = x * x
        ac = _abs(c)
        acc.add(c, sq=c * c * s2 * s2, ab=ac * s1 * s1, big=ac * m)
        return
    if kind == "full":
        rows = M["rows"]
        if len(rows) != d or any(len(r) != d for r in rows):
            raise NormError(f"{where}: full matrix is not {d} x {d}")
        for r in rows:
            for x in r:
                acc.text(x)
        return
    raise NormError(f"{where}: unknown matrix kind {str(kind)[:20]!r}")


def _norm_values(cert):
    """(l2_squared, l1, linf, entries, field) as exact values."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)   # --max-digits bounded every integer when it was read
    try:
        d = cert["dataset"]["dimension"]
        blocks = cert["blocks"]
        field = _field(cert)
        acc = _Norms(field.field if field is not None else None)
        for k, blk in enumerate(blocks, 1):
            where = f"block {k}"
            ff, sa = blk["ff"], blk["sa"]
            U, b, W = ff["U"], ff["b"], ff["W"]
            w = len(U)
            if len(b) != w or len(W) != d or any(len(r) != w for r in W) or \
                    any(len(u) != d for u in U):
                raise NormError(f"{where}: ff shapes do not match (U w x d, b w, W d x w)")
            acc.entries += 2 + 2 * w * d + w
            acc.text(ff["eta"])
            acc.text(sa["rho"])
            for row in U:
                for x in row:
                    acc.text(x)
            for x in b:
                acc.text(x)
            for row in W:
                for x in row:
                    acc.text(x)
            heads = sa["heads"] if "heads" in sa else [sa]     # several heads: a weights certificate
            if not isinstance(heads, list) or not heads:
                raise NormError(f"{where}: 'heads' must be a non-empty list")
            for h, head in enumerate(heads):
                at = where + (f" head {h}" if "heads" in sa else "")
                _matrix(acc, head["A"], d, at + " sa.A")
                _matrix(acc, head["V"], d, at + " sa.V")
    except NormError:
        raise
    except (KeyError, TypeError, AttributeError) as exc:
        raise NormError(f"malformed certificate: {type(exc).__name__}: {exc}") from None
    l2, l1, big = acc.result()
    return l2, l1, big, acc.entries, field


# ------------------------------------------------------------------ text and bounds
def _text(q):
    q = Fraction(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _exact(v):
    """Certificate number format: "p/q", or the coefficient list over the field."""
    if isinstance(v, Fraction):
        return _text(v)
    return [_text(c) for c in v.c]


def upper(v, bits=64):
    """A rational >= v within a relative 2^-bits of it (v itself when rational)."""
    if isinstance(v, Fraction):
        return v
    if v.is_rational():
        return v.c[0]
    v.sign()                  # bisects until the enclosure excludes 0 (v != 0: irrational)
    while True:
        lo, hi = v.f.enclose(v.c)
        if (lo > 0 or hi < 0) and (hi - lo) * (1 << bits) <= min(abs(lo), abs(hi)):
            return _round_up(hi, bits)
        v.f.bisect()


def lower(v, bits=64):
    if isinstance(v, Fraction):
        return v
    return -upper(-v, bits)


def _round_up(q, bits):
    """A dyadic rational >= q with about ``bits`` significant bits."""
    q = Fraction(q)
    if q <= 0:
        return -_round_down(-q, bits)
    k = bits - (q.numerator.bit_length() - q.denominator.bit_length())
    if k >= 0:
        return Fraction(-((-q.numerator << k) // q.denominator), 1 << k)
    return Fraction(-(-q.numerator // (q.denominator << -k)) << -k)


def _round_down(q, bits):
    q = Fraction(q)
    if q <= 0:
        return -_round_up(-q, bits)
    k = bits - (q.numerator.bit_length() - q.denominator.bit_length())
    if k >= 0:
        return Fraction((q.numerator << k) // q.denominator, 1 << k)
    return Fraction((q.numerator // (q.denominator << -k)) << -k)


def approx(v):
    """A short decimal reading (display only)."""
    q = v if isinstance(v, Fraction) else (lower(v, 60) + upper(v, 60)) / 2
    if q == 0:
        return "0"
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if abs(e) > 1000:
        return f"~2^{e}"
    return f"{float(q):.6g}"


def sqrt_upper(q, bits=64):
    """(rational upper bound of sqrt(q), exact?) for a rational q >= 0.

    Exact when q is the square of a rational; otherwise within a relative
    2^-bits: with k chosen so that q 4^k has at least 2 bits + 2 bits,
    sqrt(q) <= (isqrt(floor(q 4^k)) + 1) / 2^k."""
    q = Fraction(q)
    if q < 0:
        raise ValueError("square root of a negative number")
    rn, rd = math.isqrt(q.numerator), math.isqrt(q.denominator)
    if rn * rn == q.numerator and rd * rd == q.denominator:
        return Fraction(rn, rd), True
    e = q.numerator.bit_length() - q.denominator.bit_length()
    k = max(0, (2 * bits + 4 - e) // 2 + 1)
    s = math.isqrt((q.numerator << (2 * k)) // q.denominator)
    return Fraction(s + 1, 1 << k), False


def parameter_norms(cert):
    """The exact norms of all parameters of a certificate (a JSON object).

    Returns a JSON-ready dict: ``l2_squared`` (sum of squares), ``l1`` (sum of
    absolute values), ``linf`` (largest absolute value), each exact in the
    certificate's number format ("p/q", or for a certificate over a number
    field Q(theta) the coefficient list [c0, ..., c_{k-1}] of sum c_i theta^i,
    "number_format" says which); ``entries`` (how many entries, zeros
    included); ``approx`` (decimal readings for display); over a field also
    ``upper_bounds``: rational upper bounds within a relative 2^-64.
    Raises NormError on a certificate whose weights cannot be read.
    """
    l2, l1, big, entries, field = _norm_values(cert)
    out = {"l2_squared": _exact(l2), "l1": _exact(l1), "linf": _exact(big), "entries": entries,
           "number_format": "rational" if field is None else "field",
           "approx": {"l2_squared": approx(l2), "l1": approx(l1), "linf": approx(big)}}
    if field is not None:
        out["upper_bounds"] = {k: _text(upper(v)) for k, v in
                               (("l2_squared", l2), ("l1", l1), ("linf", big))}
    return out


def norm_line(n):
    """The text report's line for a parameter_norms dict."""
    parts = []
    for key, label in (("l2_squared", "||theta||_2^2"), ("l1", "||theta||_1"), ("linf", "||theta||_inf")):
        exact = n[key]
        approx = n["approx"][key]
        shown = exact if isinstance(exact, str) and len(exact) <= 24 else \
            approx if approx.startswith("~") else f"~{approx}"
        parts.append(f"{label} = {shown}")
    tail = "exact in the JSON" if n["number_format"] == "rational" else \
        "exact field elements in the JSON"
    return ", ".join(parts) + f" (all {n['entries']} entries; {tail})"


def parse_eps(text):
    """A positive exact rational from text ("1/1000", "1e-3", "0.001"); ValueError otherwise."""
    from .numbers import NumberError, parse_coordinate
    try:
        q = parse_coordinate(text)
    except (NumberError, ValueError):
        q = None
    if not isinstance(q, Fraction) or q <= 0:
        raise ValueError(f"--eps {text!r} is not a positive rational number (e.g. 1/1000 or 1e-3)")
    return q


def tikhonov_bound(cert, eps, regularizer=DEFAULT_REGULARIZER):
    """The certified bound eps * R(theta*) of Proposition 2.1 (ii).

    ``eps``: a positive rational (Fraction, int or text such as "1e-3");
    ``regularizer``: "l2_squared" (the paper's, Example 2.2), "l2", "l1" or "linf".
    The certificate is not checked here (``exactseq tikhonov`` checks it first).
    Returns a JSON-ready dict with ``bound`` (exact text: "p/q", "sqrt(p/q)"
    or, over a number field, an expression in theta), ``bound_upper`` (a
    rational >= bound, equal to it when ``bound_is_rational``), ``R`` and
    ``bound_approx``.
    """
    if regularizer not in REGULARIZERS:
        raise ValueError(f"unknown regularizer {regularizer!r}; one of {', '.join(REGULARIZERS)}")
    eps = parse_eps(eps) if isinstance(eps, str) else Fraction(eps)
    if eps <= 0:
        raise ValueError("eps must be positive")
    if isinstance(cert, dict) and cert.get("tolerance") is not None and _ratio(cert["tolerance"])[0] != 0:
        raise NormError("no bound: the certificate interpolates within a tolerance, not exactly "
                        "(Proposition 2.1 needs a loss of 0 at theta*)")
    l2, l1, big, entries, field = _norm_values(cert)
    value = {"l2_squared": l2, "l2": l2, "l1": l1, "linf": big}[regularizer]
    out = {"regularizer": regularizer, "eps": _text(eps), "entries": entries,
           "number_format": "rational" if field is None else "field"}
    if field is not None and field.uses_theta():
        out["theta"] = field.theta()
    if regularizer != "l2":
        b = eps * value
        out.update(R=_expr(value, field), bound=_expr(b, field), bound_upper=_text(upper(b)),
                   bound_is_rational=isinstance(b, Fraction), bound_approx=approx(b))
        return out
    # R = sqrt(l2_squared); eps R = sqrt(eps^2 l2_squared)
    inside = eps * eps * value
    ub = upper(inside, 140)
    root, exact = sqrt_upper(ub)
    exact = exact and isinstance(inside, Fraction)
    r_exact = isinstance(value, Fraction) and sqrt_upper(value)[1]
    out.update(R=_text(sqrt_upper(value)[0]) if r_exact else f"sqrt({_expr(value, field)})",
               bound=_text(root) if exact else f"sqrt({_expr(inside, field)})",
               bound_upper=_text(root), bound_is_rational=exact,
               bound_approx=approx(root))
    return out


def _expr(v, field=None):
    """Exact text of a value: "p/q", or over a field an expression in the
    certificate's roots (or in theta, see ``theta`` in the output)."""
    if isinstance(v, Fraction):
        return _text(v)
    return field.text(v)


# ------------------------------------------------------------------ command
HELP = """\
Prints eps * R(theta*): by Proposition 2.1 (ii) an upper bound of the minimum of
the regularised objective L(theta) + eps R(theta) over the certificate's
architecture, for any loss L that vanishes exactly at interpolating parameters
(e.g. the squared Hausdorff distance), because the certificate's weights
theta* interpolate the dataset exactly. The certificate is checked first
(proofs_check); nothing is printed as a bound unless it verifies.

R is a norm of all parameters: every entry of the dense eta, U, b, W, rho, A, V
of every block (A = c a a^T has entries c a_i a_j). The default, l2_squared
(||theta||_2^2), is the regulariser of the paper's Example 2.2.

Output: "bound" is exact text ("p/q"; "sqrt(p/q)" for l2 when p/q is not a
square; over a number field an expression in theta, the field's primitive
element); "bound_upper" is a rational >= bound (equal to it when the bound is
rational; otherwise within a relative 2^-64).

Exit status: 0 verified and printed, 1 the certificate was rejected, 2 bad
input or usage, 3 the checker could not decide.
"""


def bound_for_file(cert, eps, regularizer=DEFAULT_REGULARIZER, limits=None):
    """The ``tikhonov --json`` object for a certificate file: the checker's verdict,
    and for a verified certificate the certified bound (:func:`tikhonov_bound`).
    ``eps`` is exact text or a number.  CertificateError, NormError or ValueError
    (one line) otherwise."""
    from proofs_check import report as pcr
    from proofs_check.limits import DEFAULT
    from .errors import CertificateError
    from .exactmodel import load_certificate
    limits = limits or DEFAULT
    eps = parse_eps(eps) if isinstance(eps, str) else eps
    try:
        obj = load_certificate(cert, limits)
    except CertificateError as exc:
        raise CertificateError(f"{cert}: malformed: {str(exc).removeprefix(cert + ': ')}") from None
    verdict, result = pcr.run(obj, limits)
    if verdict == "malformed":
        raise CertificateError(f"{cert}: malformed: {result['reason']}")
    out = {"certificate": cert, "verdict": verdict, "attention": result.get("attention")}
    if verdict != "verified":
        out["reason"] = result["reason"]
        return out
    try:
        out.update(tikhonov_bound(obj, eps, regularizer))
    except NormError as exc:
        raise NormError(f"{cert}: {exc}") from None
    return out


def text(o):
    if o["verdict"] != "verified":
        return f"{o['verdict'].upper()}: {o['reason']}; no bound"
    R = {"l2_squared": "||theta*||_2^2", "l2": "||theta*||_2", "l1": "||theta*||_1",
         "linf": "||theta*||_inf"}[o["regularizer"]]
    exact = o["bound"] if len(o["bound"]) <= 60 else f"{o['bound'][:28]}...{o['bound'][-20:]}"
    up = "" if o["bound_is_rational"] else \
        f"\n  <= {o['bound_upper'] if len(o['bound_upper']) <= 60 else '(see --json)'} (rational upper bound)"
    return (f"min_theta L(theta) + eps R(theta) <= eps R(theta*) with eps = {o['eps']}, R(theta*) = {R} "
            f"over {o['entries']} parameters ({o['attention']} certificate, verified)\n"
            f"  = {exact}  (~{o['bound_approx']}){up}")


def add_norms(report, cert):
    """Put the parameter norms of a certified certificate into the ``check``
    report and into the certificate (a top-level key the checker ignores)."""
    norms = parameter_norms(cert)
    report["parameter_norms"] = cert["parameter_norms"] = norms
    return norms
