"""The fast exact evaluation of hardmax certificates: tokens with multiplicities,
FF layers by activation pattern, attention by the block's structure, the
claims spanning sequences, and the block loop :func:`run_blocks`.

Every shortcut here is exact, and each is checked against the reference
kernel (kernel.py) on every certificate of the test suite
(tests/test_kernel_agreement.py):

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
* with A = c I or any rational A on rational tokens a float filter with a
  written error bound discards keys that cannot be maximal; the rest are
  compared exactly (filters.py); scores are formed a block of queries at a
  time, never n x n.

``checker.check(..., jobs=J)`` runs :func:`run_blocks` in J processes on
contiguous ranges of sequences and combines their reports into the same
result (shards.py states why it is the same).
"""
from __future__ import annotations

import math
from fractions import Fraction
from operator import mul

from . import lemmas, sparse
from .filters import argmax_keys, gram_argmax, query_keys
from .limits import DEFAULT
from .numbers import Rejected, check_growth, prove_distinct, sgn
from .reading import compare_outputs, key

__all__ = ["Tok", "key", "merge", "dot", "proj", "Proj", "eval_ff", "eval_sa", "apply_mat",
           "mat_is_zero", "Points", "refusal", "Decide", "run_blocks", "argmaxes", "extreme_set"]


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
    if type(toks[0].key[0]) is int and all(type(c) is Fraction for r in M for c in r):
        keys = [t.key for t in toks]            # rational: the filter, then integers
        return argmax_keys(query_keys(M, keys), keys)
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
