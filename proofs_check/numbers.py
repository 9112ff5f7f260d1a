"""Exact numbers for the checker: rationals, and one real number field Q(theta).

Standard library only.

Why a certificate's field cannot fool the checker
-------------------------------------------------
A certificate names theta by a monic polynomial P with rational coefficients
(degree k, at most --max-field-degree; integers of at most --max-field-digits)
and an interval [lo, hi].  The checker proves that the open interval (lo, hi)
holds exactly one distinct real root of P, with P(lo), P(hi) != 0; that root is
theta.  The proof is Descartes' rule of signs on (lo, hi) and a few bisections
of it (one variation: exactly one root, a simple one), else Sturm's theorem;
both work on integer polynomials (Taylor shifts; subresultant remainders), so a
degree-16 polynomial with 10^4-digit coefficients takes well under a second by
Descartes' rule.  P need *not* be irreducible, and nothing below assumes it is:

* an element is a tuple c of k rationals, its value c(theta) = sum c_i theta^i;
  reduction modulo P is a ring homomorphism Q[x]/(P) -> R, c -> c(theta)
  (because P(theta) = 0), so sums and products of representations represent the
  sums and products of the values;
* identical representations have equal values;
* the sign of c(theta) is decided by exact rational interval Horner on a nested
  sequence of intervals that keep a sign change of P (so they keep theta);
  +1 or -1 is returned only when the enclosure excludes 0.  When it keeps
  containing 0, c(theta) = 0 is tested exactly: it holds iff g = gcd(c, P)
  has a root in (lo, hi) (the roots of g are roots of P, and theta is the only
  one there: when theta is a simple root of P, iff g changes sign on (lo, hi);
  else by Sturm's theorem).  A zero value with a non-zero representation means P
  is reducible and one number has two representations: the certificate is
  rejected.  So ``sign`` is exact or rejects, for any P;
* ``==`` between elements compares values: identical representations, or else
  the sign of the difference (which is non-zero, or the certificate is
  rejected).  Hash-based grouping (sets of points, multiplicities, owners)
  works on representations, so every place that needs distinct representations
  to be distinct numbers calls :func:`prove_distinct` first;
* an inverse is computed by the extended Euclidean algorithm; if c and P share a
  factor, then c(theta) = 0 (division by zero) or P is reducible: rejected.

Hence every decision the checker takes over a field is a decision about the
real numbers the certificate denotes, whatever polynomial it claims.
"""
from __future__ import annotations


import ast
import math
import re
from fractions import Fraction
from itertools import chain

from . import limits as limits_mod
from .limits import DEFAULT, FloatText, LimitError, parse_int_text


class Rejected(Exception):
    """A claim of the certificate is false (or the outputs differ from the targets)."""


class Malformed(Exception):
    """The certificate is not of the documented form (or exceeds a resource limit)."""


class Unknown(Exception):
    """A question the checker could not decide within its limits (never a pass)."""


SIGN_BISECTIONS = 1000
ZERO_TEST_AFTER = 24


# ------------------------------------------------------------- polynomials
# Polynomials are lists, lowest degree first, without trailing zeros: of Fractions
# (a number's coefficients), or of ints for root counting.  A rational polynomial is
# counted through its integer multiple by the (positive) lcm of its denominators,
# which has the same roots and the same signs.
def _trim(p):
    p = list(p)
    while p and not p[-1]:
        p.pop()
    return p


def _pev(p, x):
    acc = Fraction(0)
    for c in reversed(p):
        acc = acc * x + c
    return acc


def _sg(q):
    return (q > 0) - (q < 0)


def _ints(p):
    """The integer polynomial D p, D > 0 the lcm of the denominators of p."""
    p = _trim(p)
    den = math.lcm(*(c.denominator for c in p)) if p else 1
    return [c.numerator * (den // c.denominator) for c in p]


def _isign(p, x):
    """Sign of the integer polynomial p at the rational x = u / v: the sign of
    v^e p(u / v), e = deg p, by Horner in integers."""
    u, v = x.numerator, x.denominator
    acc, vp = 0, 1
    for i, c in enumerate(reversed(p)):
        if i:
            vp *= v
        acc = acc * u + c * vp
    return _sg(acc)


def _prem(a, b):
    """The pseudo-remainder lc(b)^(deg a - deg b + 1) a mod b of integer polynomials."""
    lb, db = b[-1], len(b) - 1
    for s in range(len(a) - len(b), -1, -1):
        t = a[db + s]
        a = [x * lb for x in a[:db + s]]
        if t:
            for i in range(db):
                a[s + i] -= t * b[i]
    return _trim(a)


def _prs(a, b, sturm=False):
    """The subresultant remainder sequence [a, b, r_2, ...] of integer polynomials
    (deg a >= deg b >= 0, b != 0), ending at the last non-zero one, a multiple of
    gcd(a, b).  Each r_{i+1} is prem(r_{i-1}, r_i) divided exactly by the subresultant
    factor (Collins, Brown), so coefficients grow like determinants, not
    exponentially.  With ``sturm`` each r_{i+1} is a positive multiple of
    -rem(r_{i-1}, r_i) (a Sturm sequence when b = a'): the sign of the factor is
    chosen so, which does not change exact divisibility."""
    seq, g, h = [a, b], 1, 1
    while len(b) > 1:
        d = len(a) - len(b)
        r = _prem(a, b)
        if not r:
            break
        div = g * h ** d
        s = -1 if sturm and (b[-1] > 0 or d % 2) else 1     # -sign(lc b)^(d+1), or 1
        r = [s * (x // div) for x in r]
        a, b = b, r
        seq.append(b)
        g = abs(a[-1])
        h = h if d == 0 else g if d == 1 else g ** d // h ** (d - 1)
    return seq


def _changes(seq, x):
    signs = [s for s in (_isign(q, x) for q in seq) if s]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)


def sturm_count(p, lo, hi):
    """Number of distinct real roots of p in (lo, hi), for p(lo) != 0 and p(hi) != 0
    (Sturm's theorem; p need not be square-free).  The sequence is computed in integers (:func:`_prs`):
    each member is a positive multiple of the classical one, which keeps every sign."""
    p = _ints(p) if p and type(p[0]) is not int else _trim(p)
    if len(p) < 2:
        return 0
    seq = _prs(p, [i * c for i, c in enumerate(p)][1:], sturm=True)
    return _changes(seq, lo) - _changes(seq, hi)


def _shift(c, s):
    """c(x + s) for an integer polynomial c and an integer s (Taylor shift)."""
    c, n = list(c), len(c) - 1
    for i in range(n):
        for j in range(n - 1, i - 1, -1):
            c[j] += s * c[j + 1]
    return c


def descartes(p, lo, hi):
    """Sign variations of (1 + t)^n p((lo + hi t) / (1 + t)), n = deg p, for an
    integer polynomial p and rationals lo < hi.  By Descartes' rule of signs this
    bounds the number of roots of p in (lo, hi), counted with multiplicity, and
    has the same parity; so 0 means none and 1 exactly one, a simple one.
    Integer Taylor shifts only: quadratic in the degree."""
    m = lo.denominator * hi.denominator // math.gcd(lo.denominator, hi.denominator)
    a, w, n = lo.numerator * (m // lo.denominator), (hi - lo) * m, len(p) - 1
    q = [c * m ** (n - i) for i, c in enumerate(p)]         # m^n p(z / m)
    q = _shift(q, a)                                        # m^n p((a + z) / m)
    w = w.numerator                                         # an integer: m is a common denominator
    q = [c * w ** i for i, c in enumerate(q)]               # m^n p((a + w y) / m), y in (0, 1)
    q = _shift(q[::-1], 1)                                  # y = 1 / (1 + t), t > 0
    signs = [x > 0 for x in q if x]
    return sum(1 for s, r in zip(signs, signs[1:]) if s != r)


DESCARTES_TESTS = 64


def one_simple_root(p, lo, hi):
    """True if the integer polynomial p has exactly one root in (lo, hi), a simple
    one, proven by Descartes' rule on (lo, hi) and up to DESCARTES_TESTS bisections
    of it (every piece with 0 variations, exactly one with 1); False if this does
    not settle it (then Sturm's theorem decides)."""
    stack, ones = [(lo, hi)], 0
    for _ in range(DESCARTES_TESTS):
        if not stack:
            return ones == 1
        a, b = stack.pop()
        v = descartes(p, a, b)
        if v == 1:
            ones += 1
        if v > 1:
            mid = (a + b) / 2
            if _isign(p, mid) == 0:
                return False
            stack += [(a, mid), (mid, b)]
        if ones > 1:
            return False
    return not stack and ones == 1


def _bareiss(m):
    """Solve the integer system [A | b] (rows of m) exactly; None if A is singular."""
    n, prev = len(m), 1
    for k in range(n):
        piv = next((r for r in range(k, n) if m[r][k]), None)
        if piv is None:
            return None
        m[k], m[piv] = m[piv], m[k]
        pk = m[k]
        for i in range(k + 1, n):
            mi, f = m[i], m[i][k]
            for j in range(k + 1, n + 1):
                mi[j] = (mi[j] * pk[k] - f * pk[j]) // prev
            mi[k] = 0
        prev = pk[k]
    x = [Fraction(0)] * n
    for i in reversed(range(n)):
        s = Fraction(m[i][n]) - sum((m[i][j] * x[j] for j in range(i + 1, n)), Fraction(0))
        x[i] = s / m[i][i]
    return x


# ------------------------------------------------------------------ fields
class Field:
    """Q(theta), theta the only root of monic ``poly`` in the open interval (lo, hi)."""

    def __init__(self, poly, lo, hi, limits=DEFAULT):
        self.poly, self.k, self.lo, self.hi = poly, len(poly) - 1, lo, hi
        self.limits = limits
        if self.k < 1 or poly[-1] != 1:
            raise Malformed("field: minpoly must be monic of degree >= 1")
        if self.k > limits.max_field_degree:
            raise Malformed(str(limits.refuse(f"field: degree {self.k}", "max_field_degree")))
        if not lo < hi:
            raise Malformed("field: interval must have lo < hi")
        bits = max(map(_qbits, (*poly, lo, hi)))
        if bits > bits_within(limits.max_field_digits):
            raise Malformed(str(limits.refuse(f"field: an integer of at least {digits_at_least(bits)} digits",
                                              "max_field_digits")))
        pd = math.lcm(*(c.denominator for c in poly))
        self.ints = ([int(c * pd) for c in poly], pd)    # P = Pn / pd, for integer products
        Pn = self.ints[0]
        self.slo, shi = _isign(Pn, lo), _isign(Pn, hi)
        if self.slo == 0 or shi == 0 or self.slo == shi:
            raise Malformed("field: minpoly must change sign on the interval and not vanish at its ends")
        # theta simple and alone in (lo, hi), by Descartes' rule; else Sturm's theorem
        self.simple = one_simple_root(Pn, lo, hi)
        if not self.simple:
            n = sturm_count(Pn, lo, hi)
            if n != 1:
                raise Rejected(f"field: the interval holds {n} distinct roots of minpoly, not exactly one")

    def bisect(self):
        mid = (self.lo + self.hi) / 2
        s = _isign(self.ints[0], mid)
        if s == 0:
            self.lo = self.hi = mid
        elif s == self.slo:
            self.lo = mid
        else:
            self.hi = mid

    def enclose(self, c):
        """A rational interval holding sum c_i theta^i (interval Horner on [lo, hi])."""
        lo, hi = Fraction(0), Fraction(0)
        for ci in reversed(c):
            pr = (lo * self.lo, lo * self.hi, hi * self.lo, hi * self.hi)
            lo, hi = min(pr) + ci, max(pr) + ci
        return lo, hi

    def is_zero(self, c):
        """Exactly: is c(theta) = 0?  (theta is the only root of P in (lo, hi).)"""
        if not any(c):
            return True
        if self.lo == self.hi:
            return _pev(list(c), self.lo) == 0
        g = _prs(self.ints[0], _ints(c))[-1]      # a multiple of gcd(c, P)
        if len(g) < 2:
            return False
        if self.simple:      # g | P: theta is its only possible root in (lo, hi), and simple
            return _isign(g, self.lo) != _isign(g, self.hi)
        return sturm_count(g, self.lo, self.hi) == 1

    def sign(self, c):
        """Sign of c(theta), exactly; rejects a zero value with a non-zero representation."""
        if not any(c):
            return 0
        for i in range(SIGN_BISECTIONS):
            lo, hi = self.enclose(c)
            if lo > 0 or hi < 0:
                return 1 if lo > 0 else -1
            if i == ZERO_TEST_AFTER or self.lo == self.hi:
                if self.is_zero(c):
                    raise Rejected("field: minpoly is reducible: a number has two different "
                                   "representations (a non-zero one has value 0)")
                if self.lo == self.hi:
                    return _sg(_pev(list(c), self.lo))
            self.bisect()
        raise Unknown(f"field: the sign of a non-zero number stays undecided after "
                      f"{SIGN_BISECTIONS} bisections")


class K:
    """Element sum c_i theta^i of a Field (tuple c of Fractions, length k).

    ``==`` compares values (see the module docstring); ``hash`` and grouping use
    the representation."""
    __slots__ = ("f", "c")

    def __init__(self, f, c):
        self.f, self.c = f, c

    def _o(self, o):
        if isinstance(o, K):
            if o.f is not self.f:
                raise Malformed("numbers of two different fields mixed")
            return o.c
        return (Fraction(o),) + (Fraction(0),) * (self.f.k - 1)

    def __add__(self, o):
        return K(self.f, tuple(a + b for a, b in zip(self.c, self._o(o))))
    __radd__ = __add__

    def __neg__(self):
        return K(self.f, tuple(-a for a in self.c))

    def __sub__(self, o):
        return K(self.f, tuple(a - b for a, b in zip(self.c, self._o(o))))

    def __rsub__(self, o):
        return (-self) + o

    def __mul__(self, o):
        if not isinstance(o, K):
            return K(self.f, tuple(a * o for a in self.c))
        self._o(o)
        (A, da), (B, db) = self.ints(), o.ints()
        k, (Pn, pd) = self.f.k, self.f.ints
        r = [0] * (2 * k - 1)
        for i, a in enumerate(A):       # integer convolution, then reduction modulo P
            if a:
                for j, b in enumerate(B):
                    if b:
                        r[i + j] += a * b
        den = da * db
        for top in range(2 * k - 2, k - 1, -1):
            t = r[top]
            if t:
                if pd != 1:     # r / den - t / den * Pn / pd = (r pd - t Pn) / (den pd)
                    r = [x * pd for x in r[:top + 1]]
                    den *= pd
                for i in range(k):
                    r[top - k + i] -= t * Pn[i]
        return K(self.f, tuple(Fraction(x, den) for x in r[:k]))

    def ints(self):
        """(integers n_i, common denominator D) with c_i = n_i / D."""
        den = math.lcm(*(x.denominator for x in self.c))
        return [x.numerator * (den // x.denominator) for x in self.c], den
    __rmul__ = __mul__

    def __truediv__(self, o):
        if not isinstance(o, K):
            if o == 0:
                raise Rejected("division by zero")
            return K(self.f, tuple(a / o for a in self.c))
        return self * o.inverse()

    def inverse(self):
        """1/c: solve (multiplication by c) y = 1 by fraction-free (Bareiss) elimination
        over the integers (cubic in k with bounded integer growth)."""
        if not any(self.c):
            raise Rejected("division by zero")
        k = self.f.k
        cols, e = [], K(self.f, (Fraction(1),) + (Fraction(0),) * (k - 1))
        x = K(self.f, (Fraction(0), Fraction(1)) + (Fraction(0),) * (k - 2)) if k > 1 else e
        col = self
        for _ in range(k):
            cols.append(col.c)
            col = col * x
        den = math.lcm(*(v.denominator for cl in cols for v in cl))
        rows = [[int(cols[j][i] * den) for j in range(k)] + [den * (i == 0)] for i in range(k)]
        y = _bareiss(rows)
        if y is None:   # c and P share a factor
            if self.f.is_zero(self.c):
                raise Rejected("division by zero")
            raise Rejected("field: minpoly is reducible: a non-zero number is not invertible")
        return K(self.f, tuple(y))

    def __eq__(self, o):
        if not isinstance(o, (K, int, Fraction)):
            return NotImplemented
        oc = self._o(o)
        return oc == self.c or self.f.sign(tuple(a - b for a, b in zip(self.c, oc))) == 0

    def __hash__(self):
        return hash(self.c[0]) if not any(self.c[1:]) else hash(self.c)

    def sign(self):
        return self.f.sign(self.c)

    def __lt__(self, o):
        return (self - o).sign() < 0

    def __gt__(self, o):
        return (self - o).sign() > 0

    def __le__(self, o):
        return (self - o).sign() <= 0

    def __ge__(self, o):
        return (self - o).sign() >= 0

    def bits(self):
        return max(max(abs(x.numerator).bit_length(), x.denominator.bit_length()) for x in self.c)


def sgn(x):
    return x.sign() if isinstance(x, K) else _sg(x)


def at_least(a, b):
    """a >= b (two rationals are compared directly, without forming a - b)."""
    if type(a) is Fraction and type(b) is Fraction:
        return a >= b
    return sgn(a - b) >= 0


def prove_distinct(points):
    """Prove that points (tuples of field elements) with pairwise different
    representations are pairwise different numbers; rejects otherwise.

    Coordinate enclosures are computed on a narrow interval of theta; only pairs
    whose boxes overlap in every coordinate are compared exactly (the sign of a
    differing coordinate's difference)."""
    pts = list(points)
    if len(pts) < 2 or not isinstance(pts[0][0], K):
        return
    f = pts[0][0].f
    while f.lo != f.hi and (f.hi - f.lo) * (1 << 64) > 1 + abs(f.lo):
        f.bisect()
    boxes = sorted(((tuple(f.enclose(x.c) for x in p), p) for p in pts), key=lambda b: b[0][0][0])
    active = []
    for box, p in boxes:
        active = [(b, q) for b, q in active if b[0][1] >= box[0][0]]
        for b, q in active:
            if all(lo1 <= hi2 and lo2 <= hi1 for (lo1, hi1), (lo2, hi2) in zip(box, b)):
                i = next(i for i, (x, y) in enumerate(zip(p, q)) if x.c != y.c)
                f.sign(tuple(a - b for a, b in zip(p[i].c, q[i].c)))   # rejects if zero
        active.append((box, p))


# ------------------------------------------------------------------ growth
def digits_at_least(bits):
    """A lower bound on the decimal digits of an integer of ``bits`` bits (> 0):
    floor((bits - 1) log10 2) + 1, with log10 2 rounded down."""
    return (bits - 1) * 301029995 // 10 ** 9 + 1


def bits_within(max_digits):
    """The largest bit length b with digits_at_least(b) <= max_digits: a number of
    more bits surely has more than max_digits digits."""
    return -(-max_digits * 10 ** 9 // 301029995)


def _qbits(q):
    return max(abs(q.numerator).bit_length(), q.denominator.bit_length())


# ---------------------------------------------------------- the work budget
KBITS = limits_mod.KBITS
work_budget = limits_mod.work_budget


def spend(bits, where):
    """Charge numbers of the given bit lengths to the check's work budget
    (limits.spend); Malformed (one line, naming --max-work) beyond it."""
    try:
        limits_mod.spend(bits)
    except LimitError as exc:
        raise Malformed(f"{where}: {exc}") from None


def _int_bits(v):
    """Bit lengths of the integers of an exact number (Fraction or field element)."""
    if isinstance(v, K):
        return [b for c in v.c for b in (c.numerator.bit_length(), c.denominator.bit_length())]
    return [v.numerator.bit_length(), v.denominator.bit_length()]


def check_growth(seqs, where, limits, point=None, seen=None):
    """Refuse, as soon as a block has computed it, a number whose numerator or
    denominator has more than --max-digits digits (Malformed naming the block and
    the flag; a refusal, never a verdict).  ``seqs``: lists of tokens.  A token
    with a rational key (den, nums) is measured on the key's integers by bit
    length; only when one is too long are its coordinates measured one by one
    (the common denominator can be longer than each coordinate's).  Other tokens
    are measured on ``point(t)`` (default t.x), coordinates that are Fractions or
    field elements (every coefficient).  Only lengths are compared, so a number is
    refused only when it surely has more digits than the limit (see
    :func:`digits_at_least`).

    With ``seen``, a set of the tokens measured by the previous call (tokens are
    never changed in place), only the others are measured, and ``seen`` becomes
    the set of the tokens given: a block that moves few tokens costs a set
    difference."""
    cap = bits_within(limits.max_digits)
    point = point or (lambda t: t.x)
    toks = chain.from_iterable(seqs)
    if seen is not None:
        now = set(toks)
        toks = now - seen
        seen.clear()
        seen |= now
    counting = limits_mod.counting()
    for t in toks:
        k = getattr(t, "key", None)
        if k is not None and type(k[0]) is int:
            top = max(k[0].bit_length(), max(map(int.bit_length, k[1]), default=0))
            if counting and top >= KBITS:
                spend([k[0].bit_length(), *map(int.bit_length, k[1])], where)
            if top <= cap:
                continue
        elif counting:
            spend([b for x in point(t) for b in _int_bits(x)], where)
        if max((x.bits() if isinstance(x, K) else _qbits(x) for x in point(t)), default=0) > cap:
            raise Malformed(f"{where}: a computed number's numerator or denominator exceeds the "
                            f"limit of {limits.max_digits} digits (raise it with --max-digits)")


# ----------------------------------------------------------------- parsing
_RAT = re.compile(r"-?\d+(/\d+)?\Z", re.ASCII)
MEMO = 1 << 20     # texts of short rationals remembered by one Numbers
_DEC = re.compile(r"(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?\Z", re.ASCII)


class Numbers:
    """Parses certificate numbers and dataset coordinates into one kind of scalar,
    within the resource limits."""

    def __init__(self, spec, limits=DEFAULT):
        self.field, self.limits, self.roots = None, limits, {}
        self.short = min(40, limits.max_digits)    # texts this short need no digit count
        self.memo = {}
        if spec is None:
            return
        _need(spec, dict, "field")
        poly = _need(spec.get("minpoly"), list, "field.minpoly")
        if len(poly) - 1 > limits.max_field_degree:
            raise Malformed(str(limits.refuse(f"field: degree {len(poly) - 1}", "max_field_degree")))
        poly = [self._field_rat(c, "field.minpoly") for c in poly]
        iv = _need(spec.get("interval"), list, "field.interval")
        if len(iv) != 2:
            raise Malformed("field.interval: expected [lo, hi]")
        lo, hi = (self._field_rat(c, "field.interval") for c in iv)
        self.field = Field(poly, lo, hi, limits)
        for at in _need(spec.get("atoms", []), list, "field.atoms"):
            _need(at, dict, "field.atoms")
            base, val = self.num(at.get("base"), "field.atoms.base"), self.num(at.get("value"), "field.atoms.value")
            e = self.rat(at.get("exponent"), "field.atoms.exponent")
            self._check_root(base, e, val)
            self.roots[(base.c, e)] = val

    def _field_rat(self, s, where):
        """A rational of the field's definition: within --max-field-digits, counted
        on the text before it is read."""
        if isinstance(s, str) and _RAT.match(s):
            n, _, d = s.partition("/")
            digits = max(len(n.lstrip("-")), len(d))
            if digits > self.limits.max_field_digits:
                raise Malformed(f"{where}: " + str(self.limits.refuse(
                    f"an integer of {digits} digits", "max_field_digits")))
        return self.rat(s, where)

    def _quick(self, s):
        """The rational "p" or "p/q" of a text short enough to be within every
        limit, or None (then the full path below decides).  Texts read before
        are looked up (up to MEMO of them)."""
        if type(s) is not str:
            return None
        q = self.memo.get(s)
        if q is None and len(s) <= self.short and _RAT.match(s):
            n, _, d = s.partition("/")
            if not d:
                q = Fraction(int(n))
            elif d.strip("0"):
                q = Fraction(int(n), int(d))
            if q is not None and len(self.memo) < MEMO:
                self.memo[s] = q
        return q

    def rat(self, s, where="number"):
        q = self._quick(s)
        if q is not None:
            return q
        if not isinstance(s, str) or not _RAT.match(s):
            raise Malformed(f"{where}: expected a rational \"p\" or \"p/q\", got {_show(s)}")
        n, _, d = s.partition("/")
        try:
            n, d = parse_int_text(n, self.limits), parse_int_text(d or "1", self.limits)
        except LimitError as exc:
            raise Malformed(f"{where}: {exc}") from None
        if d == 0:
            raise Malformed(f"{where}: zero denominator in {_show(s)}")
        q = Fraction(n, d)
        if len(s) > 2000:
            spend(_int_bits(q), where)
        return q

    def num(self, s, where="number"):
        if self.field is None:
            return self.rat(s, where)
        if isinstance(s, str):
            return K(self.field, (self.rat(s, where),) + (Fraction(0),) * (self.field.k - 1))
        if not isinstance(s, list) or len(s) != self.field.k:
            raise Malformed(f"{where}: expected {self.field.k} coefficients, got {_show(s)}")
        return K(self.field, tuple(self.rat(c, where) for c in s))

    def vec(self, v, d, where):
        if not isinstance(v, list) or len(v) != d:
            raise Malformed(f"{where}: expected a vector of {d} numbers")
        return tuple(self.num(c, where) for c in v)

    def _check_root(self, base, e, val):
        """val = base^e (e = p/q, q > 1) iff val > 0, base > 0 and val^q = base^p."""
        p, q = e.numerator, e.denominator
        if q == 1:
            raise Malformed("field.atoms.exponent: a root needs a non-integer exponent")
        lhs = self.power(val, q, "field.atoms")
        rhs = self.power(base, abs(p), "field.atoms")
        if not (sgn(base) > 0 and sgn(val) > 0 and (lhs == rhs if p > 0 else lhs * rhs == 1)):
            raise Rejected(f"dataset: claimed value of a root of exponent {e} is wrong")

    def power(self, x, n, where):
        """x^n for an integer n, within --max-exponent and --max-digits."""
        lim = self.limits
        if abs(n) > lim.max_exponent:
            raise Malformed(f"{where}: {lim.refuse(f'exponent {_int_text(n)}', 'max_exponent')}")
        if isinstance(x, K):   # reduction modulo P can add P's size and log2(k) bits per factor
            bits = x.bits() + max(abs(c.numerator).bit_length() + c.denominator.bit_length()
                                  for c in x.f.poly) + x.f.k.bit_length()
        else:
            bits = max(abs(x.numerator).bit_length(), x.denominator.bit_length())
        if abs(n) * bits > lim.max_digits * 3.33:
            raise Malformed(f"{where}: {lim.refuse(f'a power of about {int(abs(n) * bits / 3.33)} digits', 'max_digits')}")
        r, b, m = x * 0 + 1, x, abs(n)
        while m:
            if m & 1:
                r = r * b
            m >>= 1
            if m:
                b = b * b
        if n < 0:
            if sgn(r) == 0:
                raise Rejected(f"{where}: division by zero")
            r = 1 / r if not isinstance(r, K) else r.inverse()
        if abs(n) * bits >= KBITS:
            spend(_int_bits(r), where)
        return r

    def coordinate(self, s, where):
        """A dataset coordinate: a rational, or (over a field) an expression."""
        if self.field is None:
            q = self._quick(s)
            if q is not None:
                return q
        if isinstance(s, str) and _RAT.match(s.strip()):
            return self.num(s.strip(), where)
        if not isinstance(s, str):
            raise Malformed(f"{where}: not an exact number: {_show(s)}")
        lim = self.limits
        if len(s) > lim.max_expr_length:
            raise Malformed(f"{where}: {lim.refuse(f'a coordinate text of {len(s)} characters', 'max_expr_length')}")
        src = s.replace("^", "**")
        try:
            tree = ast.parse(src, mode="eval").body
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            raise Malformed(f"{where}: not an exact number: {_show(s)}") from None
        nodes, stack = 0, [(tree, 1)]
        while stack:
            n, depth = stack.pop()
            nodes += 1
            if depth > lim.max_depth:
                raise Malformed(f"{where}: {lim.refuse('expression nesting', 'max_depth')}")
            stack.extend((c, depth + 1) for c in ast.iter_child_nodes(n))
        if nodes > lim.max_expr_length:
            raise Malformed(f"{where}: {lim.refuse(f'an expression of {nodes} terms', 'max_expr_length')}")
        return self._expr(tree, src, where)

    def _literal(self, text, where):
        m = _DEC.match(text)
        if not m or not (m.group(1) or m.group(2)):
            raise Malformed(f"{where}: not an exact number: {_show(text)}")
        whole, frac, exp = m.group(1), m.group(2), int(m.group(3) or 0)
        if abs(exp) + len(whole) + len(frac) > self.limits.max_digits:
            raise Malformed(f"{where}: {self.limits.refuse(f'a literal of about {abs(exp)} digits', 'max_digits')}")
        v = Fraction(parse_int_text(whole + frac or "0", self.limits), 10 ** len(frac))
        v = v * 10 ** exp if exp >= 0 else v / 10 ** -exp
        if abs(exp) + len(whole) + len(frac) >= 1000:
            spend(_int_bits(v), where)
        return v

    def _expr(self, n, src, where):
        one = self.num("1") if self.field else Fraction(1)
        if isinstance(n, ast.Constant) and type(n.value) in (int, float):
            return one * self._literal(ast.get_source_segment(src, n) or "", where)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v = self._expr(n.operand, src, where)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "sqrt" \
                and len(n.args) == 1 and not n.keywords:
            return self._root(self._expr(n.args[0], src, where), Fraction(1, 2), where)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            a = self._expr(n.left, src, where)
            b = self._expr(n.right, src, where)
            if isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                if isinstance(n.op, ast.Div) and sgn(b) == 0:
                    raise Rejected(f"{where}: division by zero")
                op = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                      ast.Div: lambda: a / b}[type(n.op)]
                return self._sized(op(), where)
            if isinstance(b, K):
                if any(b.c[1:]):
                    raise Malformed(f"{where}: irrational exponent")
                b = b.c[0]
            for part in (b.numerator, b.denominator):
                if abs(part) > self.limits.max_exponent:
                    raise Malformed(f"{where}: {self.limits.refuse(f'exponent {_int_text(part)}', 'max_exponent')}")
            if b.denominator == 1:
                return self.power(a, b.numerator, where)
            return self._root(a, b, where)
        raise Malformed(f"{where}: unsupported expression")

    def _sized(self, v, where):
        """v, unless one of its integers has more than --max-digits digits (so that
        repeated products cannot grow past the limit a single power respects)."""
        bits = v.bits() if isinstance(v, K) else max(abs(v.numerator).bit_length(), v.denominator.bit_length())
        if bits > self.limits.max_digits * 3.33:
            raise Malformed(f"{where}: {self.limits.refuse(f'a number of about {int(bits / 3.33)} digits', 'max_digits')}")
        if bits >= KBITS:
            spend(_int_bits(v), where)
        return v

    def _root(self, base, e, where):
        key = (base.c if isinstance(base, K) else base, e)
        if key in self.roots:
            return self.roots[key]
        raise Malformed(f"{where}: no field value given for a root of exponent {e}")


def _int_text(n):
    return str(n) if n.bit_length() < 64 else f"of {n.bit_length()} bits"


def _show(x):
    """A short quotation of a value for a message (at most about 80 characters)."""
    if isinstance(x, FloatText):
        return f"the JSON number {x[:60]}" + ("..." if len(x) > 60 else "")
    if isinstance(x, str):
        return repr(x) if len(x) <= 80 else f"'{x[:38]}...{x[-38:]}' ({len(x)} characters)"
    if isinstance(x, (list, dict)):
        return "a JSON " + ("list" if isinstance(x, list) else "object")
    r = repr(x) if not isinstance(x, int) or x.bit_length() < 200 else f"an integer {_int_text(x)}"
    return r if len(r) <= 80 else r[:77] + "..."


def _need(x, typ, where):
    if not isinstance(x, typ):
        raise Malformed(f"{where}: expected a JSON {typ.__name__}")
    return x
