"""proofs_check: the small trusted checker for exactseq certificates.

Standard library only; imports nothing from exactseq and trusts no activation
the constructor computed.  Given a certificate (plain JSON: the dataset, every
block's weights, every block's claims with witnesses) it

1. checks the dataset against Assumption 1.3,
2. re-evaluates every token of every sequence through every block from the
   weights alone, exactly (hardmax ties detected exactly and averaged),
3. checks every claim against the tokens it recomputed,
4. checks that each final output set equals the target set exactly, and
5. for a certificate with a "float_claim", proves it (floatclaim.py: a float pass
   of the weights decides as the exact model and ends within a tolerance).

The first false statement raises :class:`Rejected` with the message
"block k (phase): claim: detail"; a certificate that is not of the documented
form raises :class:`Malformed`.  Nothing is certified unless every check ran
to the end and passed.

Numbers in a certificate: "p" or "p/q" for rationals; for a dataset over a
real number field Q(theta), a list of rationals [c0, ..., c_{k-1}] meaning
sum c_i theta^i, with theta given by "field": {"minpoly": monic, lowest degree
first, "interval": [lo, hi] holding exactly one of its roots}.  The polynomial
need not be irreducible: numbers.py states why no representation can stand in
for a different number.  Lemma predicates live in lemmas.py (shared with the
softmax path); resource limits in limits.py.

Evaluation shortcuts, each exact:
* a token is kept with a multiplicity; hardmax weights over indices equal
  weights over distinct points times their multiplicity (over a field, tokens
  with different representations are proven to be different points);
* an FF layer is affine on each activation pattern S (the set of units with
  u.x + b > 0): FF(x) = eta x + M_S x + c_S with M_S = sum_S W_k u_k^T and
  c_S = sum_S W_k b_k; where M_S and c_S are exactly zero FF(x) = eta x;
* with A = c a a^T the score is c <a,x_i><a,x_j>, so the maximisers are those
  of +-<a, x_j> by the sign of c <a, x_i>;
* with V = 0 attention contributes nothing;
* a one-row FF layer (eta = 1, every unit on one rational row u) moves only
  the tokens whose <u, x> lies where its affine map is not the identity, found
  through a sorted index (sparse.py, which states why nothing is missed);
* with A = c I on rational tokens a float filter with a written error bound
  discards keys that cannot be maximal; the rest are compared exactly
  (filters.py).

The block loop is :func:`run_blocks`.  ``check(..., jobs=J)`` runs it in J
processes on contiguous ranges of sequences and combines their reports into
the same result (shards.py states why it is the same).
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from operator import mul

from . import lemmas, sparse
from .filters import gram_argmax
from .limits import DEFAULT
from .numbers import Malformed, Numbers, Rejected, Unknown, _need, check_growth, prove_distinct, sgn

SCHEMA_VERSION = 1
HARDMAX_CLAIMS = {"hat", "leaders", "disjoint", "collapse", "counts"}
_PHASE = re.compile(r"[A-Za-z0-9_. -]{0,40}")   # phase names quoted in messages: nothing that could forge a line

__all__ = ["check", "Rejected", "Malformed", "Unknown", "SCHEMA_VERSION"]


# ------------------------------------------------------------------ tokens
class Tok:
    """A distinct point of one sequence with its multiplicity n.

    ``key`` is the point's representation, canonical for rational data:
    ``(den, nums)`` with x = nums / den and den the lcm of the coordinate
    denominators; over a field, the coefficient tuples (distinct keys are
    proven distinct numbers by :func:`merge`).
    """
    __slots__ = ("_x", "n", "key", "memo")

    def __init__(self, x, n):
        self._x, self.n, self.memo = x, n, {}
        self.key = key(x)

    @classmethod
    def from_key(cls, k, n):
        """The rational token nums / den from its canonical key (den, nums)."""
        t = cls.__new__(cls)
        t._x, t.n, t.memo, t.key = None, n, {}, k
        return t

    @property
    def x(self):
        if self._x is None:
            den, nums = self.key
            self._x = tuple(Fraction(v, den) for v in nums)
        return self._x


def key(x):
    """The representation of a point, for hashing (see :class:`Tok`)."""
    if type(x[0]) is Fraction:
        den = 1
        for c in x:
            if den % c.denominator:
                den = den * c.denominator // math.gcd(den, c.denominator)
        return (den, tuple(c.numerator * (den // c.denominator) for c in x))
    return tuple(c.c for c in x)


def merge(toks):
    """Combine tokens at the same point (hardmax weights depend on multiplicity only).

    Over a field, points with different representations are then proven to be
    different numbers (numbers.prove_distinct), so one point is one token."""
    out = {}
    for t in toks:          # tokens are never changed in place: a merge makes a new one
        e = out.get(t.key)
        if e is None:
            out[t.key] = t
        elif type(t.key[0]) is int:
            out[t.key] = Tok.from_key(t.key, e.n + t.n)
        else:
            out[t.key] = Tok(t.x, e.n + t.n)
    if len(out) > 1 and type(t.key[0]) is not int:     # over a field
        prove_distinct([t.x for t in out.values()])
    return list(out.values())


def dot(u, x):
    acc = u[0] * x[0]
    for a, b in zip(u[1:], x[1:]):
        acc = acc + a * b
    return acc


def proj(cache, u):
    """The :class:`Proj` of row u in this check's cache (so tokens can remember
    their projections).  The cache belongs to one certificate's check.  It is
    looked up by the row object first (the entry keeps u alive, so its id is
    not reused), then by the row's representation."""
    hit = cache.get(id(u))
    if hit is not None and hit[0] is u:
        return hit[1]
    k = key(u)
    if k not in cache:
        cache[k] = Proj(u)
    cache[id(u)] = (u, cache[k])
    return cache[k]


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
        if self.rat and type(t.key[0]) is int:       # rational token (x is built lazily)
            return Fraction(*self.frac(t))
        return dot(self.u, t.x)

    def cuts(self, bounds):
        """Prepare thresholds for :meth:`above` (integer pairs for rational data)."""
        if self.rat and all(isinstance(c, Fraction) for c in bounds):
            return [(c.numerator, c.denominator) for c in bounds]
        return list(bounds)

    def signs(self, t, cuts):
        """Sign of <u, x> - c for each prepared threshold c; one inner product for all."""
        if self.rat and cuts and type(cuts[0]) is tuple and type(t.key[0]) is int:
            n, d = t.memo.get(self) or self.frac(t)
            out = []
            for cn, cd in cuts:
                a, b = n * cd, cn * d
                out.append(1 if a > b else -1 if a < b else 0)
            return out
        v = self.value(t)
        return [sgn(v - c) for c in cuts]


# -------------------------------------------------------------- evaluation
def affine_maps(ff):
    """S -> (M_S or None if zero, c_S or None if zero): FF(x) = eta x + M_S x + c_S on
    activation pattern S (a sorted tuple of units), each built once."""
    eta, U, b, W = ff
    d, maps = len(W), {}

    def affine(S):
        if S not in maps:
            M = tuple(tuple(sum((W[i][k] * U[k][j] for k in S), 0 * eta) for j in range(d))
                      for i in range(d))
            c = tuple(sum((W[i][k] * b[k] for k in S), 0 * eta) for i in range(d))
            maps[S] = (M if any(sgn(x) for r in M for x in r) else None,
                       c if any(sgn(x) for x in c) else None)
        return maps[S]
    return affine


def eval_ff(ff, seqs, cache):
    """Exact FF(x) = eta x + W relu(U x + b) on every token of every sequence."""
    eta, U, b, W = ff
    rows = {}
    for k, u in enumerate(U):
        rows.setdefault(key(u), (u, []))[1].append(k)
    projs = []
    for u, ks in rows.values():
        pr = proj(cache, u)
        projs.append((pr, ks, pr.cuts([-b[k] for k in ks])))
    affine = affine_maps(ff)

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


def argmaxes(A, toks, cache):
    """For each query token, the indices of the tokens maximising <A x_i, x_j>."""
    n = len(toks)
    every = tuple(range(n))
    kind = A[0]
    if kind == "zero" or (kind in ("scalar", "rank1") and sgn(A[1]) == 0):
        return [every] * n
    if kind == "rank1" and pr_rational(A[2], toks):
        _, c, a = A
        fr = [proj(cache, a).frac(t) for t in toks]      # <a, x_j> = n_j / d_j, d_j > 0
        hi, lo = extreme_set(fr, 1), extreme_set(fr, -1)
        s = sgn(c)
        return [hi if s * n > 0 else lo if s * n < 0 else every for n, _ in fr]
    if kind == "rank1":
        _, c, a = A
        pr = proj(cache, a)
        p = [pr.value(t) for t in toks]
        hi, lo = max_set(p), max_set([-x for x in p])
        return [hi if sgn(c * p[i]) > 0 else lo if sgn(c * p[i]) < 0 else every
                for i in range(n)]
    if kind == "scalar":
        s = sgn(A[1])
        if type(toks[0].key[0]) is int:          # rational tokens
            return gram_argmax([t.key for t in toks], s)
        rows = [[dot(ti.x, tj.x) for tj in toks] for ti in toks]
        return [max_set([v * s for v in r]) for r in rows]
    M = A[1]
    res = []
    for ti in toks:
        q = tuple(dot(r, ti.x) for r in M)
        res.append(max_set([dot(q, tj.x) for tj in toks]))
    return res


def pr_rational(u, toks):
    return type(u[0]) is Fraction and type(toks[0].key[0]) is int


def extreme_set(fr, s):
    """Indices j maximising s * n_j / d_j (s = +1 or -1, every d_j > 0), by
    cross-multiplication."""
    bn, bd = fr[0]
    for n, d in fr[1:]:
        if s * (n * bd - bn * d) > 0:
            bn, bd = n, d
    return tuple(j for j, (n, d) in enumerate(fr) if n * bd == bn * d)


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


def eval_sa(sa, seqs, cache):
    """Exact hardmax SA.  Returns (new sequences, per sequence: unique-argmax flag or None)."""
    rho, A, V = sa
    out, unique = [], []
    for toks in seqs:
        if mat_is_zero(V):
            out.append(toks if rho == 1 else merge(Tok(tuple(rho * c for c in t.x), t.n) for t in toks))
            unique.append(None)
            continue
        sets = argmaxes(A, toks, cache)
        avgs = {}
        new = []
        # rational tokens with rho = 1 (a translation) or rho = 0: integer keys only
        fast = type(rho) is Fraction and rho in (0, 1) and type(toks[0].key[0]) is int
        for t, C in zip(toks, sets):
            if C not in avgs:
                tot = sum(toks[j].n for j in C)
                avg = tuple(sum((toks[j].x[i] * toks[j].n for j in C), 0 * t.x[i]) / tot
                            for i in range(len(t.x)))
                avgs[C] = key(apply_mat(V, avg)) if fast else apply_mat(V, avg)
            if not fast:
                new.append(Tok(tuple(rho * a + v for a, v in zip(t.x, avgs[C])), t.n))
            else:
                new.append(Tok.from_key(sparse.translate(t.key, avgs[C]) if rho else avgs[C], t.n))
        out.append(merge(new))
        # unique maximiser: one index, i.e. one point of multiplicity one
        unique.append(all(len(C) == 1 and toks[C[0]].n == 1 for C in sets))
    return out, unique


# ------------------------------------------------------------------ claims
class Points:
    """The geometry of exact tokens for the lemma predicates (proofs_check.lemmas).

    A token is a point: every interval is a single number, ``holds`` is equality
    of representations (tokens of one sequence are distinct numbers after
    :func:`merge`; a representation that differs from the claimed point's only
    makes a claim fail, never pass)."""

    def __init__(self, cache, state=None):
        self.cache, self.state = cache, state

    def near(self, u, lo, hi, seqs):
        """(j, token) pairs including every token with lo <= <u, x> <= hi."""
        if self.state is not None and type(u[0]) is Fraction and type(lo) is Fraction:
            return self.state.near(proj(self.cache, u), lo, hi)
        seqs = self.state.lists() if seqs is None else seqs
        return [(j, t) for j, toks in enumerate(seqs) for t in toks]

    def tube(self, u, lo, hi):
        pr = proj(self.cache, u)
        cuts = pr.cuts([lo, hi])

        def side(t):
            a, b = pr.signs(t, cuts)
            return "in" if a > 0 and b < 0 else "out" if a <= 0 or b >= 0 else "meets"
        return side

    def iv(self, u, t):
        v = proj(self.cache, u).value(t)
        return v, v

    @staticmethod
    def holds(t, p):
        return t.key == key(p)

    @staticmethod
    def holders(toks, p):
        k = key(p)
        return [i for i, t in enumerate(toks) if t.key == k]

    @staticmethod
    def in_cube(t, q):
        if type(t.key[0]) is int and type(q) is Fraction:   # 0 < n_i / den < q, den > 0
            den, nums = t.key
            top = q.numerator * den
            return all(n > 0 and n * q.denominator < top for n in nums)
        return all(sgn(x) > 0 and sgn(x - q) < 0 for x in t.x)

    @staticmethod
    def exact(t):
        return True

    @staticmethod
    def key(t):
        return t.key

    @staticmethod
    def point_key(p):
        return key(p)

    @staticmethod
    def point(t):
        return t.x

    @staticmethod
    def distinct(points):
        """Over a field, :func:`prove_distinct`; rational points (seen from the
        first one) are distinct as numbers once their keys are."""
        points = iter(points)
        first = next(points, None)
        if first is not None and type(first[0]) is not Fraction:
            prove_distinct([first, *points])


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


def read_sequences(obj, second, coordinate):
    """(d, [(input points, points of the key ``second``)]) of a dataset object whose
    form is checked: both lists non-empty, every point d coordinates read by
    ``coordinate(text, where)``."""
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
        for side in ("input", second):
            toks = _need(s.get(side), list, f"dataset sequence {j} {side}")
            if not toks:
                raise Rejected(f"dataset: sequence {j}: {side} is empty")
            pts = []
            for i, t in enumerate(toks):
                w = f"dataset sequence {j} {side} token {i}"
                if not isinstance(t, list) or len(t) != d:
                    raise Malformed(f"{w}: expected {d} coordinates")
                pts.append(tuple(coordinate(c, w) for c in t))
            sides.append(pts)
        pairs.append(tuple(sides))
    return d, pairs


def read_dataset(obj, nums):
    """The dataset's sequences as tuples of exact points; Assumption 1.3 is checked.

    Over a field, all points of the dataset with different representations are
    first proven to be different numbers, so the set operations below (on
    representations) decide the assumption about the numbers themselves."""
    d, pairs = read_sequences(obj, "output", nums.coordinate)
    for j, (X, Y) in enumerate(pairs):
        if len(Y) > len(X):
            raise Rejected(f"dataset: sequence {j}: output longer than input")
    every, keys = {}, {}      # keys: each point's key, by the point object (all kept in pairs)
    for X, Y in pairs:
        for p in X + Y:
            keys[id(p)] = k = key(p)
            every.setdefault(k, p)
    prove_distinct(list(every.values()))
    for j, (X, Y) in enumerate(pairs):
        for side, pts in (("input", X), ("output", Y)):
            if len({keys[id(p)] for p in pts}) != len(pts):
                raise Rejected(f"dataset: assumption 1.3 ii: sequence {j} repeats a token in its {side}")
    inputs = [frozenset(keys[id(p)] for p in X) for X, _ in pairs]
    if len(set(inputs)) != len(inputs):
        raise Rejected("dataset: assumption 1.3 i: two inputs are equal as sets")
    return d, pairs


def read_block(blk, k, nums, d):
    """(where, (eta, U, b, W), (rho, A, V), claims) of block k, or Malformed."""
    _need(blk, dict, f"block {k}")
    phase = blk.get("phase", "?")
    where = f"block {k} ({phase if isinstance(phase, str) and _PHASE.fullmatch(phase) else '?'})"
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


def prescan(blocks, bound, width_bound, limits, words):
    """The bounds, from the shapes alone, before any evaluation: a certificate with
    too many blocks or too wide a layer is rejected at once."""
    if len(blocks) > limits.max_blocks:
        raise Malformed(str(limits.refuse(f"blocks: {len(blocks)} blocks", "max_blocks")))
    if len(blocks) > bound:
        raise Rejected(f"bounds: {len(blocks)} blocks exceed {words} = {bound}")
    if width_bound is not None:
        for k, blk in enumerate(blocks, 1):
            U = blk.get("ff", {}).get("U") if isinstance(blk, dict) and isinstance(blk.get("ff"), dict) else None
            if isinstance(U, list) and len(U) > width_bound:
                raise Rejected(f"bounds: FF width {len(U)} exceeds {width_bound}")


def declared_width(cert):
    """The FF width bound of a hardmax certificate: Theorem 1.4's 4 (one hat move
    plus a shift unit per layer), or the certificate's top-level "max_width" W,
    an integer >= 4: Lemma 4.8's hats packed several to a layer (each hat claim
    is still checked on its own, on the tokens entering its block)."""
    w = cert.get("max_width", 4)
    if type(w) is not int or w < 4:
        raise Malformed(f"'max_width' must be an integer >= 4, not {_short(w)}")
    return w


def start(cert, limits):
    """(numbers, d, pairs, blocks) of a certificate whose form is checked."""
    nums = Numbers(cert.get("field"), limits)
    d, pairs = read_dataset(cert.get("dataset"), nums)
    blocks = _need(cert.get("blocks"), list, "blocks")
    return nums, d, pairs, blocks


def check(cert, progress=None, limits=DEFAULT, jobs=1, run_shards=None, claim_required=True):
    """Check a certificate.  Returns a summary dict (JSON-ready); raises Rejected,
    Malformed or Unknown.

    With ``claim_required=False`` a float claim that is not proven does not
    decide the verdict: the exact statements are checked as always, and the
    summary's "float_claim" is None with "float_claim_unproven" =
    {"verdict": "unknown" | "rejected" | "malformed", "reason": ...} beside it
    (a constructor uses this to keep the exact certificate and drop the claim).

    With ``jobs`` > 1 a hardmax certificate over the rationals is checked in
    that many processes, each on a contiguous range of sequences, and the
    results are combined (shards.py) into exactly the summary or the exception
    of one process; other certificates are checked in one process.
    ``run_shards(work, ranges, progress)`` runs the shards elsewhere (the
    default: local processes, shards.run_local)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, not {jobs!r}")
    _need(cert, dict, "certificate")
    if cert.get("schema_version") != SCHEMA_VERSION:
        raise Malformed(f"unknown schema_version {_short(cert.get('schema_version'))}")
    attention = cert.get("attention", "hardmax")
    if "float_claim" in cert and attention != "hardmax":
        raise Malformed("float_claim: checked for hardmax certificates only")
    if attention == "softmax":
        from . import softmax
        return softmax.check(cert, progress, limits=limits)
    if attention == "causal":
        from . import causal
        return causal.check(cert, progress, limits=limits)
    if attention != "hardmax":
        raise Malformed(f"unknown attention {_short(attention)}")
    nums, d, pairs, blocks = start(cert, limits)
    N, sum_m = len(pairs), sum(len(Y) for _, Y in pairs)
    bound = 2 * sum_m + 2 * N + 1
    max_width = declared_width(cert)
    prescan(blocks, bound, max_width, limits, "2 sum m + 2N + 1")

    rational = nums.field is None      # then a number is zero iff its Fraction is

    def read(k):
        """Block k read, with its number of non-zero parameters (or the exception
        reading it raises)."""
        where, (eta, U, b, W), (rho, A, V), claims = read_block(blocks[k - 1], k, nums, d)
        nonzero = sum(1 for x in (eta, rho, *b, *(c for r in U for c in r), *(c for r in W for c in r))
                      if (x if rational else sgn(x) != 0)) + _mat_params(A) + _mat_params(V)
        unknown = {c["kind"] for c in claims} - HARDMAX_CLAIMS
        if unknown:
            raise Malformed(f"{where}: claim {sorted(unknown, key=str)[0]!r} is not checked in hardmax mode")
        return where, (eta, U, b, W), (rho, A, V), claims, nonzero

    if jobs > 1 and N > 1 and nums.field is None:
        from . import shards
        work = shards.Work(pairs, d, len(blocks), read, limits)
        width, params, claims_ok = (run_shards or shards.run_local)(
            work, shards.split([len(X) for X, _ in pairs], jobs), progress)
    else:
        width, params, claims_ok = run_blocks(pairs, d, len(blocks), read, Decide(), progress=progress,
                                              limits=limits)
    summary = {"attention": "hardmax", "blocks": len(blocks), "block_bound": bound, "width": width,
               "width_bound": max_width, "parameters": params, "claims_checked": claims_ok,
               "N": N, "d": d, "sum_m": sum_m}
    if "float_claim" in cert:     # after the exact outputs are proven: floatclaim.py
        from .floatclaim import check_claim
        try:
            summary["float_claim"] = check_claim(cert, d, pairs, len(blocks), read, limits=limits)
        except (Rejected, Malformed, Unknown) as exc:
            if claim_required:
                raise
            summary["float_claim"] = None
            summary["float_claim_unproven"] = {
                "verdict": {Rejected: "rejected", Malformed: "malformed"}.get(type(exc), "unknown"),
                "reason": str(exc)}
    return summary


def refusal(where, kind, err):
    """The Rejected of a claim whose predicate returned err = (what, message)."""
    return Rejected(f"{where}: {kind}: {err[1]}")


class Decide:
    """Claims spanning sequences (hat, disjoint) decided at once, on every sequence:
    the check of one process.  ``at`` is where run_blocks is (see shards.py)."""
    at = None

    @staticmethod
    def hat(where, err):
        if err:
            raise refusal(where, "hat", err)

    @staticmethod
    def disjoint(where, after, G):
        err = lemmas.disjoint(after, G)
        if err:
            raise refusal(where, "disjoint", err)


def run_blocks(pairs, d, n, read, out, own=None, progress=None, limits=DEFAULT):
    """Evaluate blocks 1..n on the inputs and check every claim, then the outputs;
    the first false statement raises.  Returns (FF width, non-zero parameters,
    claims checked per kind).

    ``read(k)`` gives block k read and its number of non-zero parameters (or
    raises).  ``own = (lo, hi)`` restricts the evaluation to sequences
    lo..hi-1 (a shard): the others stay empty in the state and are None for
    the lemma predicates, which skip them.  The
    claims about tokens of several sequences, hat and disjoint, go to ``out``
    (:class:`Decide`, or a shard's report); ``out.at`` = (block, step, claim)
    says, before each step, where the loop is: step 0 reading the block, 1 its
    hat claims, 2 the FF layer, 3 attention, 4 the other claims; block n + 1
    the outputs.  After attention every token is measured against
    ``limits.max_digits`` (numbers.check_growth): a block that computes a longer
    number stops the check there."""
    N = len(pairs)
    lo, hi = own or (0, N)

    def mine(lists):          # this range's sequences, None for the others
        return lists if own is None else [None] * lo + lists[lo:hi] + [None] * (N - hi)

    def cut(lists):           # this range's sequences only
        return lists if own is None else lists[lo:hi]

    def put(new, empty):      # values of this range's sequences, ``empty`` for the others
        return new if own is None else [empty] * lo + list(new) + [empty] * (N - hi)

    cache = {}
    state = sparse.State(put([[Tok(x, 1) for x in X] for X, _ in pairs[lo:hi]], []), Tok.from_key)
    G = Points(cache, state)
    width, params, claims_ok = 0, 0, {}
    measured = set()          # tokens within --max-digits (check_growth)

    def count(c):
        claims_ok[c["kind"]] = claims_ok.get(c["kind"], 0) + 1

    def judge(c, err):
        if err:
            raise refusal(where, c["kind"], err)
        count(c)

    for k in range(1, n + 1):
        out.at = (k, 0, 0)
        where, (eta, U, b, W), (rho, A, V), claims, nonzero = read(k)
        width, params = max(width, len(U)), params + nonzero
        ff_t = (eta, U, b, W)
        out.at = (k, 1, -1)
        one = sparse.OneRow(ff_t, proj(cache, sparse.row_of(U))) if sparse.is_one_row(ff_t, key) else None
        for i, c in enumerate(claims):          # hat claims are about the tokens entering the block
            if c["kind"] == "hat":
                out.at = (k, 1, i)
                out.hat(where, lemmas.hat(c, None, one.image_point if one else
                                          lambda p: eval_ff(ff_t, [[Tok(p, 1)]], cache)[0][0].x, G))
                count(c)
        out.at = (k, 2, 0)
        if one:
            one.apply(state)
        elif U or eta != 1:
            state.reset(put(eval_ff(ff_t, cut(state.lists()), cache), []))
        mid = state.lists() if any(c["kind"] in ("leaders", "collapse") for c in claims) else None
        unique = [None] * N
        out.at = (k, 3, 0)
        if not (mat_is_zero(V) and rho == 1):
            new, unique = eval_sa((rho, A, V), cut(state.lists()), cache)
            state.reset(put(new, []))
            unique = put(unique, None)
        check_growth(state.lists(), where, limits, seen=measured)
        for i, c in enumerate(claims):
            out.at = (k, 4, i)
            kind = c["kind"]
            if kind == "leaders":
                judge(c, lemmas.leaders(c, mine(mid), G))
            elif kind == "collapse":
                judge(c, lemmas.collapse(c, mine(mid), [u is True for u in unique], d, G))
            elif kind == "disjoint":
                out.disjoint(where, state.lists(), G)
                count(c)
            elif kind == "counts":
                judge(c, lemmas.counts(c, mine(state.lists()), G))
        if progress:
            progress(k, n)
    out.at = (n + 1, 0, 0)
    compare_outputs(pairs, mine(state.lists()), key, lambda t: t.key, lambda t: t.x)
    return width, params, claims_ok


def compare_outputs(pairs, seqs, point_key, tok_key, tok_point):
    """Statement 4: every final output set equals its target set.  Sets are compared
    by representation; on a difference over a field, the points are first proven
    distinct numbers (so a difference is never an artefact of representation)."""
    for j, ((_, Y), toks) in enumerate(zip(pairs, seqs)):
        if toks is None:      # a sequence checked by another shard (shards.py)
            continue
        if {tok_key(t) for t in toks} != {point_key(y) for y in Y}:
            prove_distinct([tok_point(t) for t in toks] + [y for y in Y if point_key(y) not in
                                                           {tok_key(t) for t in toks}])
            raise Rejected(f"output: sequence {j}: T(X) differs from Y (Hausdorff distance > 0)")


def _short(x):
    r = repr(x)
    return r if len(r) <= 80 else r[:77] + "..."


def _mat_params(M):
    if M[0] == "zero":
        return 0
    if M[0] == "scalar":
        return int(sgn(M[1]) != 0)
    if M[0] == "rank1":
        return int(M[1] != 1 and sgn(M[1]) != 0) + sum(1 for c in M[2] if sgn(c) != 0)
    return sum(1 for r in M[1] for c in r if sgn(c) != 0)
