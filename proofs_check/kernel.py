"""The reference kernel: a certificate checked straight from the definitions.

``python -m proofs_check CERT --reference`` (and ``exactseq verify CERT
--reference``) run this module instead of the fast checker (checker.py with
sparse.py, filters.py, shards.py).  It is meant to be read in one sitting: it
states what a certificate means and checks it in the plainest exact way, and
the fast checker must give the same verdict, the same message and the same
summary on every certificate (tests/test_kernel_agreement.py).

What is checked, in this order (the fast checker's order, so the first false
statement is the same):

1. the certificate's form: schema version, attention kind, the dataset under
   Assumption 1.3, then the bounds from the shapes alone: at most
   2 sum m + 2N + 1 blocks (causal: 2T - c) and every FF layer of width at most
   W (the top-level "max_width", default 4; causal: 4);
2. block by block, on every token of every sequence, exactly:
   - the block's ``hat`` claims, on the tokens entering the block;
   - the FF layer, token by token: FF(x) = eta x + sum_k W_k relu(<u_k, x> + b_k);
   - hardmax attention, query by query: C_i = every index j maximising
     <A x_i, x_j> (over j <= i when masked), SA(X)_i = rho x_i + V mean(x_j, j in C_i);
   - the other claims: ``leaders`` and ``collapse`` on the attention's input,
     ``disjoint`` and ``counts`` on its output;
3. every final output set equals its target set (causal: every position
   equals its target), and the float claim, when the certificate has one.

A block k whose first false statement is claim C fails with
"block k (phase): C: detail".  Tokens are plain tuples of exact numbers:
Fractions, or elements of the certificate's number field (numbers.K), whose
``==`` compares values and refuses one number written two ways; everything
below is written once against the number operators.  Each sequence keeps all
its tokens: a repeated point is two tokens (so "multiplicity one" in a lemma
is "one token at that point").

Reused, not restated (none holds a fast path): the lemma predicates
(lemmas.py), the exact distances of a weights certificate's verdict (distance.py), the exact numbers and the field (numbers.py), the reading of
limits (limits.py), and the reading primitives of reading.py: ``start``
(numbers and the dataset, with Assumption 1.3: ``read_dataset``),
``read_block``, ``prescan`` (the bounds), ``declared_width`` and
``_mat_params`` (the count of non-zero parameters); for causal certificates
``read_causal_dataset`` and ``causal_bound``.  The float claim is an extra claim,
not a fast path: it is proven by floatclaim.check_claim, as the fast checker
does, after the exact statements (report.run hands it to :func:`check`).
After each block every computed number is measured against --max-digits
(numbers.check_growth), a resource limit the fast checker applies at the same
place.

Shortcuts kept (each an identity, each marked "shortcut" below): a zero
rational coefficient of a row adds no term to <u, x>; FF units reading the same
row share <u, x>, a unit with relu(...) = 0 adds nothing, and with none active
and eta = 1 the token is left as it is; attention with V = 0 is x -> rho x (no
maximiser is computed, and a collapse claim on such a layer fails: nothing
attends); with A = 0 every key is a maximiser; with A = c a a^T the maximisers
of query i are those of s <a, x_j>, s the sign of c <a, x_i>; queries with
one maximiser set share its mean.

Over a number field the certificate's polynomial may be reducible, so one
number may have two representations.  Comparisons here are by value and refuse
that; the fast checker also refuses it wherever two points of one sequence
meet, so after each layer the kernel proves the points of each sequence with
different representations to be different numbers (numbers.prove_distinct).

Softmax certificates are not checked here (verdict unknown, "the reference
kernel does not check softmax certificates").  Their reference route is the
plain rational one in softmax.py: ``FFLayer`` on balls and ``sa_query`` for
attention (exact rational bounds, no fixed-point integers).

Cost: an attention layer with A = c I or a full A costs n^2 d exact products
per sequence of n tokens; nothing is filtered or indexed.
"""
from __future__ import annotations

from fractions import Fraction

from . import distance, lemmas
from .reading import (CAUSAL_WIDTH_BOUND, HARDMAX_CLAIMS, _mat_params, attach_claim, attention_of, causal_bound,
                      declared_width, is_weights, prescan, read_block, read_causal_dataset, read_given_block,
                      read_given_dataset, read_tolerance, start)
from .limits import DEFAULT
from .numbers import K, Malformed, Numbers, Rejected, Unknown, _need, check_growth, prove_distinct, sgn

SOFTMAX = "the reference kernel does not check softmax certificates"

__all__ = ["check", "feed_forward", "attention", "SOFTMAX"]


# ------------------------------------------------------------------ tokens
class Token(tuple):
    """A token: a point, the tuple of its exact coordinates.  The lemma
    predicates read a token's multiplicity ``n``: here always 1, since every
    token is kept on its own."""
    __slots__ = ()
    n = 1


def dot(u, x):
    """<u, x>.  Shortcut: a term whose coefficient in u is the rational 0 is skipped."""
    acc = None
    for a, b in zip(u, x):
        if type(a) is Fraction and a == 0:
            continue
        acc = a * b if acc is None else acc + a * b
    return 0 * x[0] if acc is None else acc


def apply(M, x):
    """M x for a matrix as read_block gives it: ("zero",), ("scalar", c) for c I,
    ("rank1", c, a) for c a a^T, ("full", rows)."""
    kind = M[0]
    if kind == "zero":
        return tuple(0 * c for c in x)
    if kind == "scalar":
        return tuple(M[1] * c for c in x)
    if kind == "rank1":
        s = M[1] * dot(M[2], x)
        return tuple(s * c for c in M[2])
    return tuple(dot(r, x) for r in M[1])


def is_zero(M):
    """Is the matrix M zero?  (Decided by signs, so a field element's too.)"""
    kind = M[0]
    if kind == "zero":
        return True
    if kind == "scalar":
        return sgn(M[1]) == 0
    if kind == "rank1":
        return sgn(M[1]) == 0 or all(sgn(c) == 0 for c in M[2])
    return all(sgn(c) == 0 for r in M[1] for c in r)


# ------------------------------------------------------------------ layers
def feed_forward(ff):
    """The layer x -> FF(x) = eta x + sum_k W_k relu(<u_k, x> + b_k), W_k the k-th
    column of W, applied to one token at a time."""
    eta, U, b, W = ff
    rows = {}           # shortcut: units reading one row u share <u, x>
    for k, (u, bk) in enumerate(zip(U, b)):
        rows.setdefault(u, []).append((k, bk, -bk))
    identity = eta == 1

    def layer(x):
        active = []
        for u, units in rows.items():
            s = dot(u, x)
            for k, bk, cut in units:
                if s > cut:             # shortcut: a unit with relu(...) = 0 adds nothing
                    active.append((k, s + bk))
        if not active and identity:     # shortcut: then FF(x) = x
            return x
        return Token(eta * xi + sum((row[k] * h for k, h in active), 0 * xi) for xi, row in zip(x, W))
    return layer


def maximisers(scores):
    """The indices of every maximal score (ties kept)."""
    best = scores[0]
    for s in scores[1:]:
        if s > best:
            best = s
    return tuple(j for j, s in enumerate(scores) if s == best)


def attention(sa, X, causal=False):
    """Hardmax attention on the token list X: (SA(X), whether every query has a
    single maximiser).  SA(X)_i = rho x_i + V mean(x_j for j in C_i), C_i every
    index j maximising <A x_i, x_j>; with ``causal`` only j <= i are keys."""
    rho, A, V = sa
    if is_zero(V):      # shortcut: V = 0, the attention term is 0 whatever C_i
        return (X if rho == 1 else [Token(rho * c for c in x) for x in X]), False
    n = len(X)
    if is_zero(A):      # shortcut: every score is 0, every key a maximiser
        sets = [tuple(range(i + 1 if causal else n)) for i in range(n)]
    elif A[0] == "rank1" and not causal:
        # shortcut: <A x_i, x_j> = c <a, x_i> <a, x_j>, so C_i is the set of maximisers
        # of s <a, x_j> with s the sign of c <a, x_i> (every j when s = 0)
        p = [dot(A[2], x) for x in X]
        by_sign = {1: maximisers(p), -1: maximisers([-v for v in p]), 0: tuple(range(n))}
        sets = [by_sign[sgn(A[1] * v)] for v in p]
    else:
        sets = []
        for i, x in enumerate(X):
            q = apply(A, x)
            sets.append(maximisers([dot(q, y) for y in (X[:i + 1] if causal else X)]))
    means, out = {}, []
    for x, C in zip(X, sets):
        if C not in means:      # shortcut: queries with one maximiser set share its mean
            means[C] = apply(V, tuple(sum((X[j][c] for j in C), 0 * x[c]) / len(C)
                                      for c in range(len(x))))
        out.append(Token(rho * a + v for a, v in zip(x, means[C])))
    return out, all(len(C) == 1 for C in sets)


def one_representation(toks, field):
    """Over a number field: the points of one sequence with different
    representations are different numbers (rejects a reducible polynomial that
    gives one number two representations).  Nothing to prove over Q."""
    if field is not None:
        prove_distinct(list(dict.fromkeys(toks)))


# ------------------------------------------------------------------ claims
def written(x):
    """A point as written: its coordinates, each over a number field as its
    coefficient list (over Q, the point itself).  A claim's point is matched to a
    token by how both are written, as in the fast checker: the same number
    written another way (only possible with a reducible polynomial) makes the
    claim fail, never pass."""
    return tuple(c.c if isinstance(c, K) else c for c in x)


class Plain:
    """The geometry the lemma predicates (lemmas.py) read, for exact tokens: an
    interval is one number, "near" is every token (a linear scan), and a token
    holds a point when it is that point as written (see :func:`written`)."""

    @staticmethod
    def tube(u, lo, hi):
        def side(t):
            return "in" if lo < dot(u, t) < hi else "out"
        return side

    @staticmethod
    def iv(u, t):
        v = dot(u, t)
        return v, v

    @staticmethod
    def near(u, lo, hi, seqs):
        return [(j, t) for j, toks in enumerate(seqs) for t in toks]

    @staticmethod
    def holds(t, p):
        return written(t) == written(p)

    @staticmethod
    def holders(toks, p):
        w = written(p)
        return [i for i, t in enumerate(toks) if written(t) == w]

    @staticmethod
    def in_cube(t, q):
        return all(sgn(x) > 0 and sgn(x - q) < 0 for x in t)

    @staticmethod
    def exact(t):
        return True

    key = point_key = staticmethod(written)

    @staticmethod
    def point(t):
        return t

    @staticmethod
    def distinct(points):
        prove_distinct(list(points))


def distinct_points(toks):
    """The different points among the tokens (by value, as the outputs below)."""
    out = []
    for t in toks:
        if not any(t == s for s in out):
            out.append(t)
    return out


def judge(where, c, err, checked):
    """Raise the claim's refusal "block k (phase): kind: detail", or count it."""
    if err:
        raise Rejected(f"{where}: {c['kind']}: {err[1]}")
    checked[c["kind"]] = checked.get(c["kind"], 0) + 1


# ------------------------------------------------------------------ checks
def check(cert, limits=DEFAULT, claim_required=True, float_claim=None):
    """Check a certificate.  Returns the summary the fast checker returns
    (checker.check); raises Rejected, Malformed or Unknown with its message.

    A certificate's float claim is proven, after the exact statements, by
    ``float_claim`` (floatclaim.check_claim, which report.run passes: it sits
    above the kernel); without it such a certificate is unknown.
    ``claim_required`` as in checker.check."""
    kind = attention_of(cert)
    if kind == "softmax":
        raise Unknown(SOFTMAX)
    if is_weights(cert):
        return check_weights(cert, limits, kind)
    if kind == "causal":
        return check_causal(cert, limits)
    return check_hardmax(cert, limits, claim_required, float_claim)


def check_hardmax(cert, limits, claim_required, float_claim):
    nums, d, pairs, blocks = start(cert, limits)
    N, sum_m = len(pairs), sum(len(Y) for _, Y in pairs)
    bound = 2 * sum_m + 2 * N + 1
    max_width = declared_width(cert)
    prescan(blocks, bound, max_width, limits, "2 sum m + 2N + 1")

    def read(k):
        """Block k: (where, ff, sa, claims, number of non-zero parameters)."""
        where, (eta, U, b, W), (rho, A, V), claims = read_block(blocks[k - 1], k, nums, d)
        scalars = (eta, rho, *b, *(c for r in U for c in r), *(c for r in W for c in r))
        nonzero = sum(1 for x in scalars if sgn(x) != 0) + _mat_params(A) + _mat_params(V)
        unknown = {c["kind"] for c in claims} - HARDMAX_CLAIMS
        if unknown:
            raise Malformed(f"{where}: claim {sorted(unknown, key=str)[0]!r} is not checked in hardmax mode")
        return where, (eta, U, b, W), (rho, A, V), claims, nonzero

    G, checked, width, params = Plain(), {}, 0, 0
    seqs = [[Token(x) for x in X] for X, _ in pairs]
    for k in range(1, len(blocks) + 1):
        where, ff, sa, claims, nonzero = read(k)
        width, params, ff_layer = max(width, len(ff[1])), params + nonzero, feed_forward(ff)
        for c in claims:        # a hat claim is about the tokens entering the block
            if c["kind"] == "hat":
                judge(where, c, lemmas.hat(c, seqs, ff_layer, G), checked)
        mid = []
        for toks in seqs:
            mid.append([ff_layer(x) for x in toks])
            one_representation(mid[-1], nums.field)
        after, single = [], []
        for toks in mid:
            out, one = attention(sa, toks)
            after.append(out)
            single.append(one)
            one_representation(out, nums.field)
        check_growth(after, where, limits, point=tuple)     # a resource limit, as in the fast checker
        for c in claims:
            if c["kind"] == "leaders":
                judge(where, c, lemmas.leaders(c, mid, G), checked)
            elif c["kind"] == "collapse":
                judge(where, c, lemmas.collapse(c, mid, single, d, G), checked)
            elif c["kind"] == "disjoint":
                judge(where, c, lemmas.disjoint(after, G), checked)
            elif c["kind"] == "counts":
                judge(where, c, lemmas.counts(c, [distinct_points(t) for t in after], G), checked)
        seqs = after
    for j, ((_, Y), toks) in enumerate(zip(pairs, seqs)):
        if not (all(any(t == y for y in Y) for t in toks) and all(any(y == t for t in toks) for y in Y)):
            raise Rejected(f"output: sequence {j}: T(X) differs from Y (Hausdorff distance > 0)")
    summary = {"attention": "hardmax", "blocks": len(blocks), "block_bound": bound, "width": width,
               "width_bound": max_width, "parameters": params, "claims_checked": checked,
               "N": N, "d": d, "sum_m": sum_m}
    if "float_claim" in cert:       # an extra claim, proven after the exact statements

        def prove():
            if float_claim is None:
                raise Unknown("float claim: not proven (no float-claim prover was given to the kernel)")
            return float_claim(cert, d, pairs, len(blocks), read, limits=limits)
        attach_claim(summary, prove, claim_required)
    return summary


def check_causal(cert, limits):
    """A causal certificate: every attention layer masked; no claims; every
    position of every output equals its target."""
    if cert.get("field") is not None:
        raise Malformed("causal certificates need rational data")
    nums = Numbers(None, limits)
    d, pairs = read_causal_dataset(cert.get("dataset"), nums)
    blocks = _need(cert.get("blocks"), list, "blocks")
    limit, T, c = causal_bound(pairs)
    if "max_width" in cert:      # read like any certificate's; the causal bound stays 4
        declared_width(cert)
    prescan(blocks, limit, CAUSAL_WIDTH_BOUND, limits, "2T - c")
    seqs = [[Token(x) for x in X] for X, _ in pairs]
    width = params = 0
    for k, blk in enumerate(blocks, 1):
        where, ff, sa, claims = read_block(blk, k, nums, d)
        if claims:
            raise Malformed(f"{where}: claim {claims[0]['kind']!r} is not checked in causal mode")
        (eta, U, b, W), (rho, A, V) = ff, sa
        width = max(width, len(U))
        params += sum(1 for x in (eta, rho, *b, *(v for r in U for v in r), *(v for r in W for v in r))
                      if sgn(x) != 0) + _mat_params(A) + _mat_params(V)
        ff_layer = feed_forward(ff)
        seqs = [attention(sa, [ff_layer(x) for x in toks], causal=True)[0] for toks in seqs]
        check_growth(seqs, where, limits, point=tuple)
    for j, ((_, Y), toks) in enumerate(zip(pairs, seqs)):
        for i, (y, z) in enumerate(zip(Y, toks)):
            if y != z:
                raise Rejected(f"output: sequence {j} position {i}: the output differs from its target")
    return {"attention": "causal", "blocks": len(blocks), "block_bound": limit, "width": width,
            "width_bound": CAUSAL_WIDTH_BOUND, "parameters": params, "claims_checked": {},
            "N": len(pairs), "d": d, "positions": sum(len(X) for X, _ in pairs),
            "prefixes": T, "tokens": c}


def check_weights(cert, limits, kind):
    """A weights certificate (a given transformer; no claims): every block, every
    head, token by token; SA(X)_i = rho x_i + sum over heads h of the head's
    attention term V_h mean(x_j, j in C^h_i).  Then every output set equals its
    target set (causal: every position its target), or lies within the
    certificate's tolerance T: squared Hausdorff distance <= T^2 (distance.py)."""
    for extra in ("float_claim", "max_width"):
        if extra in cert:
            raise Malformed(f"{extra}: not checked for weights certificates")
    if cert.get("field") is not None and kind != "hardmax":
        raise Malformed(f"{kind} weights certificates need rational data")
    nums = Numbers(cert.get("field"), limits)
    tol = read_tolerance(cert, nums)
    d, pairs = read_given_dataset(cert, nums, kind)
    blocks = _need(cert.get("blocks"), list, "blocks")
    prescan(blocks, len(blocks), None, limits, "")
    seqs = [[Token(x) for x in X] for X, _ in pairs]
    shape = []
    for k, blk in enumerate(blocks, 1):
        where, ff, (rho, heads), params = read_given_block(blk, k, nums, d)
        shape.append((len(ff[1]), len(heads), params))
        layer = feed_forward(ff)
        new = []
        for toks in seqs:
            X = [layer(x) for x in toks]
            out = [Token(rho * c for c in x) for x in X]
            for A, V in heads:        # each head's term: attention with rho = 0
                term, _ = attention((0 * rho, A, V), X, causal=kind == "causal")
                out = [Token(a + b for a, b in zip(x, t)) for x, t in zip(out, term)]
            new.append(out)
        seqs = new
        check_growth(seqs, where, limits, point=tuple)
    if kind == "causal":
        worst = distance.verdict_positions(pairs, seqs, tol)
    else:
        worst = distance.verdict_sets(pairs, seqs, tol)
    return distance.summary(kind, cert, pairs, shape, tol, worst, d)

