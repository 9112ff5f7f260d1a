"""The lemma predicates, written once for both attention kinds.

Each predicate checks one claim of a block against the tokens the checker
computed itself.  A token is seen through a small geometry ``G``:

* hardmax: a token is an exact point (with a multiplicity);
* softmax: a token is an enclosure, a max-norm ball that contains the true
  token; an exact point is a ball of radius 0.

The statements are phrased on enclosures and reduce to the exact statements
when every radius is 0 ("the enclosure of <v, x> lies inside the open tube"
is "<v, x> lies in the open tube" for a point).  ``G`` provides:

* ``G.tube(u, lo, hi)``: a function of a token giving "in" (the enclosure of
  <u, x> lies in the open interval (lo, hi)), "out" (it misses the open
  interval) or "meets";
* ``G.iv(u, t)``: an interval (lo, hi) holding <u, x> on the enclosure;
* ``G.near(u, lo, hi, seqs)``: (j, token) pairs including every token whose
  enclosure of <u, x> may meet [lo, hi] (all tokens will do; hardmax finds
  them through a search index, see sparse.py);
* ``G.holds(t, p)``: the enclosure holds the point p (for points: t = p);
  ``G.holders(toks, p)``: the indices i with ``G.holds(toks[i], p)``;
* ``G.in_cube(t, q)``: every coordinate of the enclosure lies in the open
  interval (0, q);
* ``G.exact(t)``, ``G.point(t)`` (the point of an exact token) and
  ``G.key(t)`` and ``G.point_key(p)`` (representations, for hashing);
* ``G.distinct(points)``: rejects unless points (an iterable) with different
  representations are different numbers (a no-op for rationals);
* ``sgn`` and exact arithmetic on the numbers.

In ``leaders``, ``collapse`` and ``counts`` a sequence given as None is
skipped: a sharded check (shards.py) gives each process only its own
sequences and checks the others elsewhere; the claim's own lists keep their
full length, so the numbering of sequences does not change.

A predicate returns None when its claim holds, else ``(what, message)``.
``what`` is "claim" when the claim is false in itself (its own numbers
contradict the lemma's statement: no enclosure is involved), or "tokens" when
it fails on the tokens; in the softmax path a "tokens" failure with a
non-exact enclosure around is *unknown*, not false.
"""
from __future__ import annotations

from .numbers import at_least, sgn


def _claim(msg):
    return ("claim", msg)


def _tokens(msg):
    return ("tokens", msg)


def dot(u, x):
    acc = u[0] * x[0]
    for a, b in zip(u[1:], x[1:]):
        acc = acc + a * b
    return acc


NOT_A_TOKEN = "the moved point is not a current token"


def hat(c, seqs, ff_point, G):
    """Lemma 4.8 (hat move): eps > 0, <v, p> = s0, the layer sends p to the
    claimed target, and the open tube |<v, x> - s0| < eps holds the moved
    point p and no other current token of any sequence (every enclosure that
    holds p lies inside the tube, every other misses it), and p is a current
    token (some enclosure holds it)."""
    v, s0, eps, p, y = c["v"], c["s0"], c["eps"], c["point"], c["target"]
    if sgn(eps) <= 0:
        return _claim("eps must be positive")
    if sgn(dot(v, p) - s0) != 0:
        return _claim("<v, p> differs from s0")
    if tuple(ff_point(p)) != tuple(y):
        return _claim("the layer does not send the point to its target")
    side = G.tube(v, s0 - eps, s0 + eps)
    found = False
    for j, t in sorted(G.near(v, s0 - eps, s0 + eps, seqs), key=lambda jt: jt[0]):
        where = side(t)
        if where == "out":
            continue
        if G.holds(t, p):
            if where != "in":
                return _tokens("the enclosure of the moved point leaves the tube")
            found = True
        else:
            return _tokens(f"the tube also holds a token of sequence {j}")
    return None if found else _tokens(NOT_A_TOKEN)


def leaders(c, seqs, G):
    """Lemmas 4.5-4.7 (leader attention): one leader per sequence; at the attention
    input <a, x> > 0 for every token, and in every sequence the claimed leader is
    a token of multiplicity one and the unique maximiser of <a, .> (its
    enclosure's interval lies strictly above every other token's)."""
    a, L = c["a"], c["leaders"]
    if len(L) != len(seqs):
        return _claim("one leader per sequence expected")
    for j, (toks, lead) in enumerate(zip(seqs, L)):
        if toks is None:
            continue
        ivs = [G.iv(a, t) for t in toks]
        if any(sgn(lo) <= 0 for lo, _ in ivs):
            return _tokens(f"sequence {j} has a token with <a, x> <= 0")
        holders = G.holders(toks, lead)
        if len(holders) != 1 or toks[holders[0]].n != 1:
            return _tokens(f"the leader of sequence {j} is not the unique maximiser")
        top = ivs[holders[0]][0]
        if any(at_least(hi, top) for i, (_, hi) in enumerate(ivs) if i != holders[0]):
            return _tokens(f"the leader of sequence {j} is not the unique maximiser")
    return None


def disjoint(seqs, G):
    """Lemma 5.1 (separation): after the block the sequences are pairwise
    disjoint (enclosures of different sequences do not meet)."""
    if all(G.exact(t) for toks in seqs for t in toks):
        owner = {}
        for j, toks in enumerate(seqs):
            for t in toks:
                key = G.key(t)
                if key in owner and owner[key][0] != j:
                    return _tokens(f"sequences {owner[key][0]} and {j} share a token")
                owner[key] = (j, t)
        G.distinct(G.point(t) for _, t in owner.values())
        return None
    for j in range(len(seqs)):
        for i in range(j):
            for s in seqs[i]:
                for t in seqs[j]:
                    if not G.apart(s, t):
                        return _tokens(f"enclosures of sequences {i} and {j} meet")
    return None


def collapse(c, seqs, attends, d, G):
    """Lemma 4.4 (partial clustering), preconditions: q > 0 and r > 0; in sequence j
    the diagonal leader t_j (1,...,1) with t_j >= q and the sphere leaders, each
    with |l|^2 = r^2 and every coordinate < 0, pairwise different, each a token of
    multiplicity one; every other token in the open cube (0, q)^d; and every token
    has a unique maximiser in this attention layer (``attends[j]``)."""
    q, r = c["q"], c["r"]
    if sgn(q) <= 0 or sgn(r) <= 0:
        return _claim("q and r must be positive")
    if len(c["t"]) != len(seqs) or len(c["sphere"]) != len(seqs):
        return _claim("one diagonal and one sphere list per sequence expected")
    for j, toks in enumerate(seqs):
        if toks is None:
            continue
        t = c["t"][j]
        if sgn(t - q) < 0:
            return _claim(f"t_{j} < q")
        lead = [(t,) * d] + [tuple(s) for s in c["sphere"][j]]
        for l in lead[1:]:
            if any(sgn(x) >= 0 for x in l) or sgn(dot(l, l) - r * r) != 0:
                return _claim(f"a sphere leader of sequence {j} is off the sphere or not in the "
                              f"negative orthant")
        if len({G.point_key(l) for l in lead}) != len(lead):
            return _claim(f"sequence {j} lists a leader twice")
        G.distinct(lead)
        holders = [[toks[i] for i in G.holders(toks, l)] for l in lead]
        if any(len(h) != 1 or h[0].n != 1 for h in holders):
            return _tokens(f"a leader of sequence {j} is not a token of multiplicity one")
        leaders_ = {id(h[0]) for h in holders}
        if len(leaders_) != len(lead):
            return _tokens(f"a token of sequence {j} holds two leaders")
        for tk in toks:
            if id(tk) not in leaders_ and not G.in_cube(tk, q):
                return _tokens(f"a non-leader token of sequence {j} is outside the open cube (0, q)^d")
        if not attends[j]:
            return _tokens(f"a token of sequence {j} has no unique maximiser")
    return None


def saturate(seqs, G):
    """Section 5 (collapse, softmax): every token leaving this non-residual layer
    is an exact point (every enclosure entering it lay in a flat part of every
    ramp)."""
    for j, toks in enumerate(seqs):
        if not all(G.exact(t) for t in toks):
            return _tokens(f"an output enclosure of sequence {j} is not a single exact point")
    return None


def counts(c, seqs, G):
    """Lemma 4.4 (conclusion): sequence j is now exactly m_j distinct exact points."""
    if len(c["m"]) != len(seqs):
        return _claim("one count per sequence expected")
    for j, (toks, m) in enumerate(zip(seqs, c["m"])):
        if toks is None:
            continue
        if not all(G.exact(t) for t in toks):
            return _tokens(f"sequence {j} is not made of exact points")
        if len(toks) != m:
            return _tokens(f"sequence {j} has {len(toks)} distinct points, expected {m}")
    return None
