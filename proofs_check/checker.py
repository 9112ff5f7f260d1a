"""proofs_check: the small trusted checker for exactseq certificates.

Standard library only; imports nothing from exactseq and trusts no activation
the constructor computed.  Given a certificate (plain JSON: the dataset, every
block's weights, every block's claims with witnesses) it

1. checks the dataset against Assumption 1.3,
2. re-evaluates every token of every sequence through every block from the
   weights alone, exactly (hardmax ties detected exactly and averaged),
3. checks every claim against the tokens it recomputed, and
4. checks that each final output set equals the target set exactly.

The first false statement raises :class:`Rejected` with the message
"block k (phase): claim: detail"; a certificate that is not of the documented
form raises :class:`Malformed`.  Nothing is certified unless every check ran
to the end and passed.

Numbers in a certificate: "p" or "p/q" for rationals; for a dataset over a
real number field Q(theta), a list of rationals [c0, ..., c_{k-1}] meaning
sum c_i theta^i, with theta given by "field": {"minpoly": monic, lowest degree
first, "interval": [lo, hi] with a sign change of minpoly}.

Evaluation shortcuts, each exact:
* a token is kept with a multiplicity; hardmax weights over indices equal
  weights over distinct points times their multiplicity;
* an FF layer is affine on each activation pattern S (the set of units with
  u.x + b > 0): FF(x) = eta x + M_S x + c_S with M_S = sum_S W_k u_k^T and
  c_S = sum_S W_k b_k; where M_S and c_S are exactly zero FF(x) = eta x;
* with A = c a a^T the score is c <a,x_i><a,x_j>, so the maximisers are those
  of +-<a, x_j> by the sign of c <a, x_i>;
* with V = 0 attention contributes nothing.
"""
from __future__ import annotations

import ast
import math
import re
from fractions import Fraction
from operator import mul

SCHEMA_VERSION = 1


class Rejected(Exception):
    """A claim of the certificate is false (or the outputs differ from the targets)."""


class Malformed(Exception):
    """The certificate is not of the documented form."""


# ------------------------------------------------------------------ numbers
class Field:
    """Q(theta): theta the unique root of monic ``poly`` tracked in [lo, hi]."""

    def __init__(self, poly, lo, hi):
        self.poly, self.k, self.lo, self.hi = poly, len(poly) - 1, lo, hi
        self.slo = _sg(_pev(poly, lo))
        if self.k < 1 or poly[-1] != 1 or not lo < hi or self.slo == 0 \
                or self.slo == _sg(_pev(poly, hi)):
            raise Malformed("field: minpoly must be monic with a sign change on the interval")

    def sign(self, c):
        """Sign of sum c_i theta^i: exact interval Horner, bisecting [lo, hi] as needed."""
        if not any(c):
            return 0
        for _ in range(4000):
            lo, hi = Fraction(0), Fraction(0)
            for ci in reversed(c):
                pr = (lo * self.lo, lo * self.hi, hi * self.lo, hi * self.hi)
                lo, hi = min(pr) + ci, max(pr) + ci
            if lo > 0 or hi < 0:
                return 1 if lo > 0 else -1
            mid = (self.lo + self.hi) / 2
            s = _sg(_pev(self.poly, mid))
            if s == 0:
                self.lo = self.hi = mid
            elif s == self.slo:
                self.lo = mid
            else:
                self.hi = mid
        raise Rejected("field: sign of a non-zero element undecided (is minpoly irreducible?)")


def _pev(p, x):
    acc = Fraction(0)
    for c in reversed(p):
        acc = acc * x + c
    return acc


def _sg(q):
    return (q > 0) - (q < 0)


class K:
    """Element sum c_i theta^i of a Field (tuple c of Fractions, length k)."""
    __slots__ = ("f", "c")

    def __init__(self, f, c):
        self.f, self.c = f, c

    def _o(self, o):
        if isinstance(o, K):
            return o.c
        return (Fraction(o),) + (Fraction(0),) * (self.f.k - 1)

    def __add__(self, o):
        return K(self.f, tuple(a + b for a, b in zip(self.c, self._o(o))))
    __radd__ = __add__

    def __neg__(self):
        return K(self.f, tuple(-a for a in self.c))

    def __sub__(self, o):
        return self + (-o if isinstance(o, K) else -Fraction(o))

    def __rsub__(self, o):
        return (-self) + o

    def __mul__(self, o):
        if not isinstance(o, K):
            return K(self.f, tuple(a * o for a in self.c))
        k, p = self.f.k, self.f.poly
        r = [Fraction(0)] * (2 * k - 1)
        for i, a in enumerate(self.c):
            for j, b in enumerate(o.c):
                r[i + j] += a * b
        for top in range(2 * k - 2, k - 1, -1):
            for i in range(k):
                r[top - k + i] -= r[top] * p[i]
        return K(self.f, tuple(r[:k]))
    __rmul__ = __mul__

    def __truediv__(self, o):
        if not isinstance(o, K):
            return K(self.f, tuple(a / o for a in self.c))
        return self * o.inverse()

    def inverse(self):
        """Solve o * y = 1 by Gaussian elimination on multiplication by o."""
        k = self.f.k
        cols = []
        e = K(self.f, (Fraction(1),) + (Fraction(0),) * (k - 1))
        t = K(self.f, (Fraction(0), Fraction(1)) + (Fraction(0),) * (k - 2)) if k > 1 else e
        for _ in range(k):
            cols.append((self * e).c)
            e = e * t
        m = [[cols[j][i] for j in range(k)] + [Fraction(int(i == 0))] for i in range(k)]
        for c in range(k):
            piv = next((r for r in range(c, k) if m[r][c]), None)
            if piv is None:
                raise Rejected("field: division by zero")
            m[c], m[piv] = m[piv], m[c]
            for r in range(k):
                if r != c and m[r][c]:
                    fac = m[r][c] / m[c][c]
                    m[r] = [a - fac * b for a, b in zip(m[r], m[c])]
        return K(self.f, tuple(m[i][k] / m[i][i] for i in range(k)))

    def __eq__(self, o):
        return self.c == self._o(o)

    def __hash__(self):
        return hash(self.c[0]) if not any(self.c[1:]) else hash(self.c)

    def sign(self):
        return self.f.sign(self.c)

    def __lt__(self, o):
        return (self - o).sign() < 0

    def __gt__(self, o):
        return (self - o).sign() > 0


def sgn(x):
    return x.sign() if isinstance(x, K) else _sg(x)


_RAT = re.compile(r"-?\d+(/\d+)?\Z")


class Numbers:
    """Parses certificate numbers and dataset coordinates into one kind of scalar."""

    def __init__(self, spec):
        self.field = None
        if spec is not None:
            _need(spec, dict, "field")
            poly = [self.rat(c, "field.minpoly") for c in _need(spec.get("minpoly"), list, "field.minpoly")]
            lo, hi = (self.rat(c, "field.interval") for c in _need(spec.get("interval"), list, "field.interval"))
            self.field = Field(poly, lo, hi)
            self.roots = {}
            for at in _need(spec.get("atoms", []), list, "field.atoms"):
                _need(at, dict, "field.atoms")
                base, val = self.num(at.get("base")), self.num(at.get("value"))
                e = self.rat(at.get("exponent"), "field.atoms.exponent")
                self._check_root(base, e, val)
                self.roots[(base, e)] = val

    @staticmethod
    def rat(s, where="number"):
        if not isinstance(s, str) or not _RAT.match(s):
            raise Malformed(f"{where}: expected a rational \"p\" or \"p/q\", got {s!r}")
        n, _, d = s.partition("/")
        if d and int(d) == 0:
            raise Malformed(f"{where}: zero denominator in {s!r}")
        return Fraction(int(n), int(d or 1))

    def num(self, s, where="number"):
        if self.field is None:
            return self.rat(s, where)
        if isinstance(s, str):
            return K(self.field, (self.rat(s, where),) + (Fraction(0),) * (self.field.k - 1))
        if not isinstance(s, list) or len(s) != self.field.k:
            raise Malformed(f"{where}: expected {self.field.k} coefficients, got {s!r}")
        return K(self.field, tuple(self.rat(c, where) for c in s))

    def vec(self, v, d, where):
        if not isinstance(v, list) or len(v) != d:
            raise Malformed(f"{where}: expected a vector of {d} numbers")
        return tuple(self.num(c, where) for c in v)

    def _check_root(self, base, e, val):
        """Lemma-free fact: val = base^e (e = p/q, q > 1) iff val > 0, base > 0, val^q = base^p."""
        p, q = e.numerator, e.denominator
        lhs, rhs = _pow(val, q), _pow(base, abs(p))
        if not (sgn(base) > 0 and sgn(val) > 0 and (lhs == rhs if p > 0 else lhs * rhs == 1)):
            raise Rejected(f"dataset: claimed value of a root of exponent {e} is wrong")

    def coordinate(self, s, where):
        """A dataset coordinate: a rational, or (over a field) an expression."""
        if isinstance(s, str) and _RAT.match(s.strip()):
            return self.num(s.strip(), where)
        if self.field is None or not isinstance(s, str):
            raise Malformed(f"{where}: not an exact number: {s!r}")
        try:
            tree = ast.parse(s.replace("^", "**"), mode="eval").body
        except SyntaxError:
            raise Malformed(f"{where}: not an exact number: {s!r}") from None
        return self._expr(tree, s.replace("^", "**"), where)

    def _expr(self, n, src, where):
        one = self.num("1")
        if isinstance(n, ast.Constant) and type(n.value) in (int, float):
            return one * Fraction(ast.get_source_segment(src, n))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v = self._expr(n.operand, src, where)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "sqrt" \
                and len(n.args) == 1 and not n.keywords:
            return self._root(self._expr(n.args[0], src, where), Fraction(1, 2), where)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)):
            a = self._expr(n.left, src, where)
            b = self._expr(n.right, src, where)
            if isinstance(n.op, ast.Add):
                return a + b
            if isinstance(n.op, ast.Sub):
                return a - b
            if isinstance(n.op, ast.Mult):
                return a * b
            if isinstance(n.op, ast.Div):
                return a / b
            if any(b.c[1:]):
                raise Malformed(f"{where}: irrational exponent")
            e = b.c[0]
            if e.denominator == 1:
                r = _pow(a, abs(e.numerator))
                return r if e >= 0 else one / r
            return self._root(a, e, where)
        raise Malformed(f"{where}: unsupported expression")

    def _root(self, base, e, where):
        if (base, e) not in self.roots:
            raise Malformed(f"{where}: no field value given for a root of exponent {e}")
        return self.roots[(base, e)]


def _pow(x, n):
    r = x * 0 + 1
    for _ in range(n):
        r = r * x
    return r


def _need(x, typ, where):
    if not isinstance(x, typ):
        raise Malformed(f"{where}: expected a JSON {typ.__name__}")
    return x


# ------------------------------------------------------------------ tokens
class Tok:
    """A distinct point of one sequence with its multiplicity n.

    For rational data ``key = (den, nums)``: x = nums / den, den the lcm of the
    coordinate denominators, so the key is canonical and fast to hash.
    """
    __slots__ = ("x", "n", "key", "memo")

    def __init__(self, x, n):
        self.x, self.n, self.memo = x, n, {}
        if isinstance(x[0], Fraction):
            den = 1
            for c in x:
                if den % c.denominator:
                    den = den * c.denominator // math.gcd(den, c.denominator)
            self.key = (den, tuple(c.numerator * (den // c.denominator) for c in x))
        else:
            self.key = x


def merge(toks):
    """Combine tokens at the same point (hardmax weights depend on multiplicity only)."""
    out = {}
    for t in toks:
        if t.key in out:
            out[t.key].n += t.n
        else:
            out[t.key] = Tok(t.x, t.n)
    return list(out.values())


def dot(u, x):
    acc = u[0] * x[0]
    for a, b in zip(u[1:], x[1:]):
        acc = acc + a * b
    return acc


_PROJ = {}


def proj(u):
    """The shared :class:`Proj` of row u (so tokens can remember their projections)."""
    if u not in _PROJ:
        _PROJ[u] = Proj(u)
    return _PROJ[u]


class Proj:
    """<u, x> for one row u, exactly; integer arithmetic for rational data.

    A token remembers (numerator, denominator) of <u, x> per row: x never
    changes, so the value cannot either.
    """

    def __init__(self, u):
        self.u = u
        self.rat = isinstance(u[0], Fraction)
        if self.rat:
            den = math.lcm(*(c.denominator for c in u))
            self.den, self.nums = den, tuple(int(c * den) for c in u)

    def frac(self, t):
        """(numerator, positive denominator) of <u, x> (rational data)."""
        r = t.memo.get(self)
        if r is None:
            r = t.memo[self] = (sum(map(mul, self.nums, t.key[1])), self.den * t.key[0])
        return r

    def value(self, t):
        if self.rat and isinstance(t.x[0], Fraction):
            return Fraction(*self.frac(t))
        return dot(self.u, t.x)

    def cuts(self, bounds):
        """Prepare thresholds for :meth:`above` (integer pairs for rational data)."""
        if self.rat and all(isinstance(c, Fraction) for c in bounds):
            return [(c.numerator, c.denominator) for c in bounds]
        return list(bounds)

    def signs(self, t, cuts):
        """Sign of <u, x> - c for each prepared threshold c; one inner product for all."""
        if self.rat and cuts and type(cuts[0]) is tuple and type(t.x[0]) is Fraction:
            n, d = t.memo.get(self) or self.frac(t)
            out = []
            for cn, cd in cuts:
                a, b = n * cd, cn * d
                out.append(1 if a > b else -1 if a < b else 0)
            return out
        v = self.value(t)
        return [sgn(v - c) for c in cuts]


# -------------------------------------------------------------- evaluation
def eval_ff(ff, seqs):
    """Exact FF(x) = eta x + W relu(U x + b) on every token of every sequence."""
    eta, U, b, W = ff
    d = len(W)
    rows = {}
    for k, u in enumerate(U):
        rows.setdefault(u, []).append(k)
    projs = []
    for u, ks in rows.items():
        pr = proj(u)
        projs.append((pr, ks, pr.cuts([-b[k] for k in ks])))
    maps = {}

    def affine(S):
        """(M_S or None if zero, c_S or None if zero): FF(x) = eta x + M_S x + c_S on pattern S."""
        if S not in maps:
            M = tuple(tuple(sum((W[i][k] * U[k][j] for k in S), 0 * eta) for j in range(d))
                      for i in range(d))
            c = tuple(sum((W[i][k] * b[k] for k in S), 0 * eta) for i in range(d))
            maps[S] = (M if any(sgn(x) for r in M for x in r) else None,
                       c if any(sgn(x) for x in c) else None)
        return maps[S]

    out = []
    for toks in seqs:
        new, changed = [], False
        for t in toks:
            S = []
            for pr, ks, cut in projs:
                for k, sg in zip(ks, pr.signs(t, cut)):
                    if sg > 0:
                        S.append(k)
            M, c = affine(tuple(S))
            if M is None and c is None and eta == 1:
                new.append(t)
                continue
            x = t.x if eta == 1 else tuple(eta * v for v in t.x)
            if M is not None:
                x = tuple(xi + dot(r, t.x) for xi, r in zip(x, M))
            if c is not None:
                x = tuple(xi + ci for xi, ci in zip(x, c))
            new.append(Tok(x, t.n))
            changed = True
        out.append(merge(new) if changed else new)
    return out


def argmaxes(A, toks):
    """For each query token, the indices of the tokens maximising <A x_i, x_j>."""
    n = len(toks)
    every = tuple(range(n))
    kind = A[0]
    if kind == "zero" or (kind in ("scalar", "rank1") and sgn(A[1]) == 0):
        return [every] * n
    if kind == "rank1":
        _, c, a = A
        pr = proj(a)
        p = [pr.value(t) for t in toks]
        hi, lo = max_set(p), max_set([-x for x in p])
        return [hi if sgn(c * p[i]) > 0 else lo if sgn(c * p[i]) < 0 else every
                for i in range(n)]
    if kind == "scalar":
        c = A[1]
        if isinstance(toks[0].x[0], Fraction):
            D = math.lcm(*(t.key[0] for t in toks))
            X = [tuple(v * (D // t.key[0]) for v in t.key[1]) for t in toks]
            rows = [[sum(map(mul, xi, xj)) for xj in X] for xi in X]
        else:
            rows = [[dot(ti.x, tj.x) for tj in toks] for ti in toks]
        s = sgn(c)
        if isinstance(toks[0].x[0], Fraction):
            pick = max if s > 0 else min
            return [tuple(j for j, v in enumerate(r) if v == best)
                    for r in rows for best in (pick(r),)]
        return [max_set([v * s for v in r]) for r in rows]
    M = A[1]
    res = []
    for ti in toks:
        q = tuple(dot(r, ti.x) for r in M)
        res.append(max_set([dot(q, tj.x) for tj in toks]))
    return res


def max_set(vals):
    best = vals[0]
    for v in vals[1:]:
        if sgn(v - best) > 0:
            best = v
    return tuple(j for j, v in enumerate(vals) if sgn(v - best) == 0)


def apply_mat(V, x):
    kind = V[0]
    if kind == "zero":
        return tuple(0 * c for c in x)
    if kind == "scalar":
        return tuple(V[1] * c for c in x)
    if kind == "rank1":
        s = V[1] * dot(V[2], x)
        return tuple(s * c for c in V[2])
    return tuple(dot(r, x) for r in V[1])


def mat_is_zero(V):
    kind = V[0]
    if kind == "zero":
        return True
    if kind == "scalar":
        return sgn(V[1]) == 0
    if kind == "rank1":
        return sgn(V[1]) == 0 or all(sgn(c) == 0 for c in V[2])
    return all(sgn(c) == 0 for r in V[1] for c in r)


def eval_sa(sa, seqs):
    """Exact hardmax SA.  Returns (new sequences, per sequence: unique-argmax flag or None)."""
    rho, A, V = sa
    out, unique = [], []
    for toks in seqs:
        if mat_is_zero(V):
            out.append(toks if rho == 1 else merge(Tok(tuple(rho * c for c in t.x), t.n) for t in toks))
            unique.append(None)
            continue
        sets = argmaxes(A, toks)
        cache = {}
        new = []
        for t, C in zip(toks, sets):
            if C not in cache:
                tot = sum(toks[j].n for j in C)
                avg = tuple(sum((toks[j].x[i] * toks[j].n for j in C), 0 * t.x[i]) / tot
                            for i in range(len(t.x)))
                cache[C] = apply_mat(V, avg)
            new.append(Tok(tuple(rho * a + v for a, v in zip(t.x, cache[C])), t.n))
        out.append(merge(new))
        unique.append(all(len(C) == 1 for C in sets))
    return out, unique


# ------------------------------------------------------------------ claims
def claim_hat(c, seqs, after_ff):
    """Lemma 4.8 (hat move): <v,p> = s0, eps > 0, the open tube |<v,x> - s0| < eps
    holds p and no other current token of any sequence, and the layer sends p to
    the claimed target."""
    v, s0, eps, p, y = c["v"], c["s0"], c["eps"], c["point"], c["target"]
    if sgn(eps) <= 0:
        return "eps must be positive"
    if dot(v, p) != s0:
        return "<v, p> differs from s0"
    pr = proj(v)
    found = False
    ends = pr.cuts([s0 - eps, s0 + eps])
    for j, toks in enumerate(seqs):
        for t in toks:
            lo, hi = pr.signs(t, ends)
            if lo > 0 and hi < 0:
                if t.x != p:
                    return f"the tube also holds a token of sequence {j}"
                found = True
    if not found:
        return "the moved point is not a current token"
    return None if after_ff(p) == y else "the layer does not send the point to its target"


def claim_leaders(c, seqs):
    """Lemmas 4.5-4.7 (leader attention): in every sequence all <a,x> > 0 and the
    claimed leader is the unique maximiser of <a, .>."""
    pr = proj(c["a"])
    if len(c["leaders"]) != len(seqs):
        return "one leader per sequence expected"
    for j, (toks, L) in enumerate(zip(seqs, c["leaders"])):
        vals = [pr.value(t) for t in toks]
        if any(sgn(v) <= 0 for v in vals):
            return f"sequence {j} has a token with <a, x> <= 0"
        top = max_set(vals)
        if len(top) != 1 or toks[top[0]].n != 1 or toks[top[0]].x != L:
            return f"the leader of sequence {j} is not the unique maximiser"
    return None


def claim_disjoint(seqs):
    """Lemma 5.1 (separation): the sequences are pairwise disjoint as sets."""
    owner = {}
    for j, toks in enumerate(seqs):
        for t in toks:
            if t.key in owner:
                return f"sequences {owner[t.key]} and {j} share a token"
            owner[t.key] = j
    return None


def claim_collapse(c, seqs, unique, d):
    """Lemma 4.4 (partial clustering) preconditions: in sequence j the diagonal
    leader t_j (1,...,1) with t_j >= q, sphere leaders with |l|^2 = r^2 and every
    coordinate < 0, every other token in the open cube (0, q)^d; and every token
    has a unique maximiser in this attention layer."""
    q, r = c["q"], c["r"]
    if sgn(q) <= 0 or sgn(r) <= 0:
        return "q and r must be positive"
    if len(c["t"]) != len(seqs) or len(c["sphere"]) != len(seqs):
        return "one diagonal and one sphere list per sequence expected"
    for j, toks in enumerate(seqs):
        t = c["t"][j]
        if sgn(t - q) < 0:
            return f"t_{j} < q"
        leaders = [(t,) * d] + list(c["sphere"][j])
        for l in leaders[1:]:
            if any(sgn(x) >= 0 for x in l) or sgn(dot(l, l) - r * r) != 0:
                return f"a sphere leader of sequence {j} is off the sphere or not in the negative orthant"
        pts = {tk.x: tk for tk in toks}
        for l in leaders:
            if l not in pts or pts[l].n != 1:
                return f"a leader of sequence {j} is not a token of multiplicity one"
        lead = set(leaders)
        for tk in toks:
            if tk.x not in lead and not all(sgn(x) > 0 and sgn(x - q) < 0 for x in tk.x):
                return f"a non-leader token of sequence {j} is outside the open cube (0, q)^d"
        if unique[j] is not True:
            return f"a token of sequence {j} has no unique maximiser"
    return None


def claim_counts(c, seqs):
    """Lemma 4.4 (conclusion): sequence j now consists of exactly m_j distinct points."""
    if len(c["m"]) != len(seqs):
        return "one count per sequence expected"
    for j, (toks, m) in enumerate(zip(seqs, c["m"])):
        if len(toks) != m:
            return f"sequence {j} has {len(toks)} distinct points, expected {m}"
    return None


# ----------------------------------------------------------------- reading
def _mat(obj, nums, d, where):
    _need(obj, dict, where)
    kind = obj.get("kind")
    if kind == "zero":
        return ("zero",)
    if kind == "scalar":
        return ("scalar", nums.num(obj.get("c"), where))
    if kind == "rank1":
        return ("rank1", nums.num(obj.get("c", "1"), where), nums.vec(obj.get("a"), d, where))
    if kind == "full":
        rows = _need(obj.get("rows"), list, where)
        if len(rows) != d:
            raise Malformed(f"{where}: expected {d} rows")
        return ("full", tuple(nums.vec(r, d, where) for r in rows))
    raise Malformed(f"{where}: unknown matrix kind {kind!r}")


def _claim(c, nums, d, where):
    _need(c, dict, where)
    kind = c.get("kind")
    if kind == "hat":
        return {"kind": kind, "v": nums.vec(c.get("v"), d, where), "s0": nums.num(c.get("s0"), where),
                "eps": nums.num(c.get("eps"), where), "point": nums.vec(c.get("point"), d, where),
                "target": nums.vec(c.get("target"), d, where)}
    if kind == "leaders":
        return {"kind": kind, "a": nums.vec(c.get("a"), d, where),
                "leaders": [nums.vec(v, d, where) for v in _need(c.get("leaders"), list, where)]}
    if kind in ("disjoint", "saturate"):
        return {"kind": kind}
    if kind == "collapse":
        return {"kind": kind, "q": nums.num(c.get("q"), where), "r": nums.num(c.get("r"), where),
                "t": [nums.num(v, where) for v in _need(c.get("t"), list, where)],
                "sphere": [[nums.vec(v, d, where) for v in _need(s, list, where)]
                           for s in _need(c.get("sphere"), list, where)]}
    if kind == "counts":
        m = _need(c.get("m"), list, where)
        if not all(type(x) is int for x in m):
            raise Malformed(f"{where}: counts must be integers")
        return {"kind": kind, "m": m}
    raise Malformed(f"{where}: unknown claim kind {kind!r}")


def read_dataset(obj, nums):
    """The dataset's sequences as tuples of exact points; Assumption 1.3 is checked."""
    _need(obj, dict, "dataset")
    d = obj.get("dimension")
    if type(d) is not int or d < 2:
        raise Malformed("dataset: 'dimension' must be an integer >= 2")
    seqs = _need(obj.get("sequences"), list, "dataset.sequences")
    if not seqs:
        raise Malformed("dataset: no sequences")
    pairs = []
    for j, s in enumerate(seqs):
        _need(s, dict, f"dataset sequence {j}")
        sides = []
        for key in ("input", "output"):
            toks = _need(s.get(key), list, f"dataset sequence {j} {key}")
            if not toks:
                raise Rejected(f"dataset: sequence {j}: {key} is empty")
            pts = []
            for i, t in enumerate(toks):
                w = f"dataset sequence {j} {key} token {i}"
                if not isinstance(t, list) or len(t) != d:
                    raise Malformed(f"{w}: expected {d} coordinates")
                pts.append(tuple(nums.coordinate(c, w) for c in t))
            if len(set(pts)) != len(pts):
                raise Rejected(f"dataset: assumption 1.3 ii: sequence {j} repeats a token in its {key}")
            sides.append(pts)
        if len(sides[1]) > len(sides[0]):
            raise Rejected(f"dataset: sequence {j}: output longer than input")
        pairs.append(tuple(sides))
    inputs = [frozenset(X) for X, _ in pairs]
    if len(set(inputs)) != len(inputs):
        raise Rejected("dataset: assumption 1.3 i: two inputs are equal as sets")
    return d, pairs


def read_block(blk, k, nums, d):
    """(where, (eta, U, b, W), (rho, A, V), claims) of block k, or Malformed."""
    _need(blk, dict, f"block {k}")
    where = f"block {k} ({blk.get('phase', '?')})"
    ff, sa = _need(blk.get("ff"), dict, where + " ff"), _need(blk.get("sa"), dict, where + " sa")
    U = tuple(nums.vec(u, d, where + " ff.U") for u in _need(ff.get("U"), list, where))
    b = tuple(nums.num(x, where + " ff.b") for x in _need(ff.get("b"), list, where))
    W = tuple(tuple(nums.num(x, where + " ff.W") for x in _need(r, list, where))
              for r in _need(ff.get("W"), list, where))
    eta = nums.num(ff.get("eta"), where + " ff.eta")
    if len(b) != len(U) or len(W) != d or any(len(r) != len(U) for r in W):
        raise Malformed(f"{where}: ff shapes do not match (U w x d, b w, W d x w)")
    rho = nums.num(sa.get("rho"), where + " sa.rho")
    A, V = _mat(sa.get("A"), nums, d, where + " sa.A"), _mat(sa.get("V"), nums, d, where + " sa.V")
    claims = [_claim(c, nums, d, where) for c in _need(blk.get("claims", []), list, where)]
    return where, (eta, U, b, W), (rho, A, V), claims


def check(cert, progress=None):
    """Check a certificate.  Returns a summary dict; raises Rejected or Malformed
    (and, for softmax certificates, Unknown)."""
    import sys
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    _need(cert, dict, "certificate")
    if cert.get("schema_version") != SCHEMA_VERSION:
        raise Malformed(f"unknown schema_version {cert.get('schema_version')!r}")
    attention = cert.get("attention", "hardmax")
    if attention == "softmax":
        from . import softmax
        return softmax.check(cert, progress)
    if attention != "hardmax":
        raise Malformed(f"unknown attention {attention!r}")
    _PROJ.clear()
    nums = Numbers(cert.get("field"))
    d, pairs = read_dataset(cert.get("dataset"), nums)
    N, sum_m = len(pairs), sum(len(Y) for _, Y in pairs)
    blocks = _need(cert.get("blocks"), list, "blocks")
    seqs = [[Tok(x, 1) for x in X] for X, _ in pairs]
    width, params, claims_ok = 0, 0, {}
    for k, blk in enumerate(blocks, 1):
        where, (eta, U, b, W), (rho, A, V), claims = read_block(blk, k, nums, d)
        width = max(width, len(U))
        params += sum(1 for x in (eta, rho, *b, *(c for r in U for c in r), *(c for r in W for c in r))
                      if sgn(x) != 0) + _mat_params(A) + _mat_params(V)

        ff_t = (eta, U, b, W)
        mid = eval_ff(ff_t, seqs)
        new, unique = eval_sa((rho, A, V), mid)
        for c in claims:
            kind = c["kind"]
            if kind == "hat":
                err = claim_hat(c, seqs, lambda p: eval_ff(ff_t, [[Tok(p, 1)]])[0][0].x)
            elif kind == "leaders":
                err = claim_leaders(c, mid)
            elif kind == "disjoint":
                err = claim_disjoint(new)
            elif kind == "collapse":
                err = claim_collapse(c, mid, unique, d)
            elif kind == "counts":
                err = claim_counts(c, new)
            else:
                raise Malformed(f"{where}: claim {kind!r} is not checked in hardmax mode")
            if err:
                raise Rejected(f"{where}: {kind}: {err}")
            claims_ok[kind] = claims_ok.get(kind, 0) + 1
        seqs = new
        if progress:
            progress(k, len(blocks))
    verdicts = []
    for j, ((X, Y), toks) in enumerate(zip(pairs, seqs)):
        got = {t.x for t in toks}
        verdicts.append(got == set(Y))
    bound = 2 * sum_m + 2 * N + 1
    if len(blocks) > bound:
        raise Rejected(f"bounds: {len(blocks)} blocks exceed 2 sum m + 2N + 1 = {bound}")
    if width > 4:
        raise Rejected(f"bounds: FF width {width} exceeds 4")
    bad = [j for j, ok in enumerate(verdicts) if not ok]
    if bad:
        raise Rejected(f"output: sequence {bad[0]}: T(X) differs from Y (Hausdorff distance > 0)")
    return {"verdict": "certified", "blocks": len(blocks), "block_bound": bound, "width": width,
            "width_bound": 4, "parameters": params, "claims_checked": claims_ok,
            "N": N, "d": d, "sum_m": sum_m}


def _mat_params(M):
    if M[0] == "zero":
        return 0
    if M[0] == "scalar":
        return int(sgn(M[1]) != 0)
    if M[0] == "rank1":
        return int(M[1] != 1 and sgn(M[1]) != 0) + sum(1 for c in M[2] if sgn(c) != 0)
    return sum(1 for r in M[1] for c in r if sgn(c) != 0)
