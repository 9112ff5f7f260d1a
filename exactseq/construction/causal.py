"""Causal (masked) attention: a construction on the masked semantics itself.

With masked attention the output at position i of a sequence depends on its
prefix x_1..x_i only, so a model is determined by what it does to the *nodes*
of the trie of all prefixes of the inputs: every node P (a distinct non-empty
prefix, T of them) carries one point, the token at its last position, and in
an attention layer that point sees exactly the points of its *chain*: the
nodes P_1, ..., P_i = P on the way from the root.  Two sequences sharing a
prefix share those nodes, hence the requirement that equal prefixes have
equal targets (dataset.py checks it).

Section 7.2.4 of the paper proposes to split each input into its prefixes and apply
Theorem 1.4 to the dataset of prefixes (each with the single output y_i).
That does not give a masked model by itself: the unmasked model run on the
prefix x_1..x_i moves the earlier tokens x_k (k < i) knowing x_{k+1}..x_i,
while in the masked model the token at position k never sees them; the two
agree after one block and in general not after two.  ``prefix_reformulation``
builds that model so that the tests can show the smallest counterexample
(README, "Causal attention").

The construction here works on the nodes.  A *class* is the set of nodes on
one point.  Invariants, kept because no step ever merges two points: the
nodes of one chain are on distinct points (an input repeats no token), and so
are siblings (their last tokens differ).

1. Separation (at most T - c blocks, c the number of distinct input tokens,
   i.e. of initial classes).  While some class holds nodes with different
   targets, one block: FF = hat move of one class's point z to a fresh point h
   with <a, h> above every other point, plus a shift c a making <a, x> > 0
   everywhere (width <= 4); masked attention A = a a^T, V = lambda I, rho = 1.
   Every node whose chain meets class z has h as its unique maximiser and
   moves by lambda h; every other node moves by lambda times the mean of its
   chain's maximisers, a point other than h.  So each class splits by the
   predicate "the chain meets z" (and by more), and lambda avoids the finitely
   many values that would merge two points.  Some z always splits some class
   while a class has two nodes: take two nodes P, Q on one point, depth(P) <=
   depth(Q) and depth(P) least.  Every node shallower than P is alone on its
   point.  If every predicate "the chain meets z" agreed on P and Q, Q's chain
   would hold every proper prefix of P (each is a class of its own that P's
   chain meets), and Q's node of depth |P| would be in a class that P's chain
   meets and that is none of those: P's class.  That node is a child of P's
   parent (a first token if |P| = 1) on P's point, so it is P, siblings being
   apart; then P and Q are on one chain and one point, which the invariants
   exclude.  Each block adds a class and there are at most T, hence the count.  The block used is the one
   (among every z, and plain leader layers in a few directions) that leaves
   the fewest targets in excess (sum over classes of distinct targets - 1).
2. Interpolation (at most T blocks, in fact one per class that must move): one
   hat move per class onto its target, ordered so that no class lands on the
   point of a class still to move; if that order has a cycle, the first
   block's FF also shifts every point by a vector that puts no point on a
   target.

Total at most 2T - c <= 2 sum_j n_j - 1 blocks, FF width at most 4.  The
checker (proofs_check/causal.py) decides correctness by evaluating the masked
model on every input; nothing here is trusted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..model import FF, ZERO, Block, MaskedSA, Mat, Transformer
from ..numbers import Point, dot, floor_of
from .common import ONE, ConstructionError, hat_ff, injective_direction, moment, tube_eps

WIDTH_BOUND = 4
PHASES = ("separation", "interpolation")
CANDIDATE_LIMIT = 400      # classes tried as z per separation block (the most useful first)


@dataclass
class Trie:
    """The distinct prefixes of the inputs: node k has a parent (-1 at the root's
    children), a last token and a target; parents come before children."""
    parent: list = field(default_factory=list)
    token: list = field(default_factory=list)
    target: list = field(default_factory=list)
    position: list = field(default_factory=list)   # per sequence: node of each position

    @property
    def T(self):
        return len(self.parent)


def trie(ds):
    t, index = Trie(), {}
    for p in ds.pairs:
        node, path = -1, []
        for x, y in zip(p.input, p.targets):
            k = index.get((node, x))
            if k is None:
                k = index[(node, x)] = t.T
                t.parent.append(node)
                t.token.append(Point(x))
                t.target.append(Point(y))
            elif t.target[k] != y:   # dataset.py refuses this already
                raise ConstructionError("equal prefixes with different targets")
            node = k
            path.append(k)
        t.position.append(path)
    return t


def block_bound(ds):
    """(2T - c, T, c): T distinct non-empty prefixes, c distinct input tokens."""
    t = trie(ds)
    c = len(set(t.token))
    return 2 * t.T - c, t.T, c


@dataclass
class CausalConstruction:
    model: Transformer
    phase_blocks: dict
    prefixes: int                  # T
    tokens: int                    # c
    classes: int                   # classes after the separation
    states: dict = field(default_factory=dict)   # phase -> the point of every node after it

    @property
    def blocks(self):
        return self.model.blocks

    @property
    def bound(self):
        return 2 * self.prefixes - self.tokens


# ------------------------------------------------------------- separation
def _classes(points):
    out = {}
    for k, p in enumerate(points):
        out.setdefault(p, []).append(k)
    return out


def _wrong(classes, target):
    """The targets in excess: sum over classes of (number of distinct targets - 1)."""
    return sum(len({target[k] for k in ks}) - 1 for ks in classes.values())


def _leaders(t, pre, a):
    """Per node: the mean of the points maximising <a, .> on its chain (ties kept)."""
    best, out = [], []
    for k, p in enumerate(pre):
        v = dot(a, p)
        par = t.parent[k]
        if par < 0:
            best.append(v)
            out.append((p, 1))
            continue
        bv, (s, n) = best[par], out[par]
        if v > bv:
            best.append(v)
            out.append((p, 1))
        elif v == bv:
            best.append(bv)
            out.append((Point(x + y for x, y in zip(s, p)), n + 1))
        else:
            best.append(bv)
            out.append((s, n))
    return [s if n == 1 else Point(x / n for x in s) for s, n in out]


def _step(t, points, a, z):
    """The FF of a separation block as (hat or None, shift or None, points after it),
    making <a, x> > 0 for every point and, with z, moving z alone to a point above all."""
    others = [p for p in set(points) if p != z]
    aa = dot(a, a)
    low = min((dot(a, p) for p in others), default=ONE)
    c = Fraction(floor_of(-low / aa) + 1) if low <= 0 else Fraction(0)
    shift = Point(c * x for x in a) if c else None
    moved = {p: (Point(x + y for x, y in zip(p, shift)) if shift else p) for p in others}
    hat = None
    if z is not None:
        top = max((dot(a, p) for p in moved.values()), default=Fraction(0))
        h = Point((floor_of(top / aa) + 1) * x for x in a)   # <a, h> = (floor(top/aa) + 1) aa > top
        moved[z] = h
        hat = (z, h)
    return hat, shift, [moved[p] for p in points]


def _partition(t, points, a, z):
    """(classes after, their number, wrong count, FF data, leaders) of a candidate block;
    the partition does not depend on lambda when lambda merges nothing."""
    hat, shift, pre = _step(t, points, a, z)
    lead = _leaders(t, pre, a)
    keys = [(points[k], lead[k]) for k in range(t.T)]
    cls = {}
    for k, key in enumerate(keys):
        cls.setdefault(key, []).append(k)
    return cls, _wrong(cls, t.target), (hat, shift, pre, lead)


def _lambdas():
    yield Fraction(1)
    n = 2
    while True:
        yield Fraction(n)
        yield Fraction(1, n)
        n += 1


def _choose_lambda(pre, lead, cls):
    """The first simple lambda for which the classes stay on pairwise distinct points:
    node k goes to pre[k] + lambda lead[k]."""
    reps = [ks[0] for ks in cls.values()]
    for lam, _ in zip(_lambdas(), range(10_000)):
        pts = [Point(x + lam * m for x, m in zip(pre[k], lead[k])) for k in reps]
        if len(set(pts)) == len(pts):
            return lam, dict(zip(reps, pts))
    raise ConstructionError("no admissible lambda found")


def _directions(d):
    out = [moment(t, d) for t in (1, 2, 3)]
    for i in range(d):
        for s in (1, -1):
            out.append(Point(Fraction(s if j == i else 0) for j in range(d)))
    return out


def _separation_block(t, points):
    """One separation block: (block, new points) or None if nothing splits."""
    d = len(points[0])
    now = _classes(points)
    bad = {p for p, ks in now.items() if len({t.target[k] for k in ks}) > 1}
    # the classes met by the chains of nodes in a class with two targets, most met first
    met = {}
    for p in bad:
        for k in now[p]:
            j = t.parent[k]
            while j >= 0:
                met[points[j]] = met.get(points[j], 0) + 1
                j = t.parent[j]
    zs = sorted(met, key=lambda p: -met[p])[:CANDIDATE_LIMIT]
    a0 = moment(2, d)
    cands = [(a, None) for a in _directions(d)] + [(a0, z) for z in zs]
    best = None
    for tries in (cands, [(a0, z) for z in now if z not in met]):
        for a, z in tries:
            cls, w, data = _partition(t, points, a, z)
            if len(cls) <= len(now):
                continue
            score = (w, len(cls))
            if best is None or score < best[0]:
                best = (score, a, z, cls, data)
        if best is not None:
            break
    if best is None:
        return None
    _, a, z, cls, (hat, shift, pre, lead) = best
    lam, rep_new = _choose_lambda(pre, lead, cls)
    new = [None] * t.T
    for ks in cls.values():
        for k in ks:
            new[k] = rep_new[ks[0]]
    if hat is not None:
        p, h = hat
        ff = _hat_ff(set(points), p, h, shift)
    elif shift is not None:
        ff = FF(ONE, (tuple(Fraction(0) for _ in range(d)),), (ONE,), tuple((s,) for s in shift))
    else:
        ff = FF(ONE, (), (), tuple(() for _ in range(d)))
    sa = MaskedSA(ONE, Mat("rank1", ONE, tuple(a)), Mat("scalar", lam))
    return Block(ff, sa, "separation", []), new


def _hat_ff(current, p, y, shift=None):
    """A hat layer sending p to y (and, with shift, every other point x to x + shift)."""
    v, proj = injective_direction(current, len(p))
    s0 = proj[p]
    gaps = [abs(proj[q] - s0) for q in current if q != p]
    eps = tube_eps(min(gaps)) if gaps else ONE
    if shift is None:
        return hat_ff(v, s0, eps, p, y)
    return hat_ff(v, s0, eps, p, tuple(a - b for a, b in zip(y, shift)), shift)


# ----------------------------------------------------------- interpolation
def _interpolation(t, points):
    """Hat moves of every class onto its target: (blocks, final points)."""
    d = len(points[0])
    cls = _classes(points)
    goal = {p: t.target[ks[0]] for p, ks in cls.items()}
    moving = [p for p, y in goal.items() if p != y]
    # p waits for q when p's target is q's point and q must still move
    waits = {p: goal[p] for p in moving if goal[p] in goal and goal[goal[p]] != goal[p]}
    order, done = [], set()
    for p in moving:
        chain = []
        q = p
        while q not in done and q not in chain:
            chain.append(q)
            q = waits.get(q)
            if q is None:
                break
        if q is not None and q in chain:
            order = None      # a cycle: shift everything first
            break
        for q in reversed(chain):
            order.append(q)
            done.add(q)
    shift = None
    if order is None:
        targets = set(goal.values())
        e = Point(Fraction(1 if i == 0 else 0) for i in range(d))
        n = 1
        while any(Point(x + n * y for x, y in zip(p, e)) in targets for p in goal):
            n += 1
        shift = Point(n * x for x in e)
        order = list(goal)
    blocks, where = [], {p: p for p in goal}          # original point -> current point
    current = set(goal)
    for i, p in enumerate(order):
        here, y = where[p], goal[p]
        if i == 0 and shift is not None:
            ff = _hat_ff(current, here, y, shift)
            current = {Point(a + b for a, b in zip(q, shift)) for q in current if q != here}
            where = {q: Point(a + b for a, b in zip(w, shift)) for q, w in where.items()}
        else:
            ff = _hat_ff(current, here, y)
            current.discard(here)
        current.add(y)
        where[p] = y
        blocks.append(Block(ff, MaskedSA(ONE, ZERO, ZERO), "interpolation", []))
    return blocks, [where[p] for p in points]


# ----------------------------------------------------------------- build
def build(ds, progress=None):
    """The causal construction for a dataset in the "targets" form."""
    if not ds.causal:
        raise ValueError("the causal construction needs a dataset with 'targets'")
    t = trie(ds)
    points = list(t.token)
    c = len(set(points))
    blocks, states = [], {}
    say = progress or (lambda phase: None)
    say("separation")
    while _wrong(_classes(points), t.target):
        res = _separation_block(t, points)
        if res is None:      # excluded by the argument in the module docstring
            raise ConstructionError("no separation block splits a class")
        blk, points = res
        blocks.append(blk)
        if len(blocks) > t.T:
            raise ConstructionError("separation exceeded T blocks")
    sep = len(blocks)
    states["separation"] = list(points)
    classes = len(set(points))
    say("interpolation")
    hats, points = _interpolation(t, points)
    blocks += hats
    states["interpolation"] = list(points)
    if points != t.target:
        raise ConstructionError("interpolation missed a target")
    return CausalConstruction(Transformer(blocks, ds.dim), {"separation": sep, "interpolation": len(hats)},
                              t.T, c, classes, states)


# --------------------------------------------------- the prefix reformulation
def prefix_dataset(ds):
    """Section 7.2.4's reformulation: every distinct prefix as an input of the
    unmasked problem, with output [its target].  Raises DatasetError when two
    prefixes are equal as sets (Assumption 1.3 i fails: an unmasked transformer
    is permutation-equivariant)."""
    from ..dataset import from_obj, canonical_obj
    t = trie(ds)
    obj = canonical_obj(ds)
    seqs, seen = [], set()
    for j, path in enumerate(t.position):
        X = obj["sequences"][j]["input"]
        for i, k in enumerate(path):
            if k in seen:
                continue
            seen.add(k)
            seqs.append({"name": f"sequence {j} positions 0..{i}", "input": X[:i + 1],
                         "output": [obj["sequences"][j]["targets"][i]]})
    return from_obj({"dimension": ds.dim, "sequences": seqs}, f"{ds.source} (prefixes)")


def prefix_reformulation(ds):
    """The Theorem 1.4 model of ``prefix_dataset(ds)``, with every attention layer
    masked: the model the reformulation proposes for the causal problem."""
    from .hardmax import build as build_unmasked
    cons = build_unmasked(prefix_dataset(ds))
    return masked(cons.model)


def masked(model):
    """The same weights with every attention layer masked."""
    blocks = [Block(b.ff, MaskedSA(b.sa.rho, b.sa.A, b.sa.V), b.phase, []) for b in model.blocks]
    return Transformer(blocks, model.dim)


__all__ = ["build", "block_bound", "CausalConstruction", "trie", "prefix_dataset",
           "prefix_reformulation", "masked", "WIDTH_BOUND", "PHASES"]
