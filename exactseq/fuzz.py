"""``exactseq fuzz``: hunting the lemmas' edge cases with exact arithmetic.

Each target generates cases aimed at a lemma's boundaries (exact ties, near
ties 1/10^k apart, tokens on a cube face or an orthant boundary, a token at the
origin, a leader off the sphere by 1/10^30, collinear tokens, nested and
overlapping inputs, huge and tiny coordinates).  Running a case says which
preconditions held and whether the conclusion held, exactly.  A case whose
preconditions all hold but whose conclusion fails is a bug (in the code or in
the lemma).  Cases violating a precondition are tallied per precondition,
with the smallest one whose conclusion failed, shrunk and saved.

Cases are plain JSON (numbers as exact text), deterministic in (seed, target,
index), so ``exactseq fuzz --replay FILE`` reproduces a saved one.
"""
from __future__ import annotations

import json
import math
import os
import random
import re
import signal
import time
from collections import deque
from fractions import Fraction

from .numbers import dot, to_text

# --------------------------------------------------------------- helpers


def Q(s):
    return Fraction(s)


def P(p):
    return tuple(Fraction(c) for c in p)


def T(p):
    return [to_text(c) for c in p]


def rcoord(rng):
    r = rng.random()
    if r < 0.45:
        return Fraction(rng.randint(-3, 3))
    if r < 0.75:
        return Fraction(rng.randint(-9, 9), rng.randint(1, 6))
    if r < 0.85:
        return Fraction(0)
    if r < 0.90:
        return Fraction(rng.choice([1, -1]) * 10**30)
    if r < 0.95:
        return Fraction(rng.choice([1, -1]), 10**30)
    return Fraction(rng.randint(-3, 3)) + Fraction(rng.choice([1, -1]), 10**rng.choice([6, 30]))


def rpoint(rng, d):
    return tuple(rcoord(rng) for _ in range(d))


def rpoints(rng, d, n):
    pts = []
    for _ in range(n * 4):
        p = rpoint(rng, d)
        if p not in pts:
            pts.append(p)
        if len(pts) == n:
            break
    return pts


def rdir(rng, d):
    while True:
        a = tuple(Fraction(rng.randint(-3, 3)) for _ in range(d))
        if any(a):
            return a


def near_tie(rng, X, a, p):
    """A point with <a, .> equal to (or 1/10^k from) that of p, off p."""
    k = rng.choice([None, None, 6, 30])
    w = rdir(rng, len(p))
    aa = dot(a, a)
    w = tuple(wi - dot(a, w) / aa * ai for wi, ai in zip(w, a))   # orthogonal to a
    if not any(w):
        return None
    q = tuple(pi + wi for pi, wi in zip(p, w))
    if k:
        q = tuple(qi + Fraction(rng.choice([1, -1]), 10**k) * ai / aa for qi, ai in zip(q, a))
    return None if q in X else q


def maxset(vals):
    best = max(vals)
    return [i for i, v in enumerate(vals) if v == best]


def attention(X, A, rho=Fraction(0), V=None):
    from .model import SA, Mat
    return SA(rho, A, V or Mat("scalar", Fraction(1))).apply(X)


# --------------------------------------------------------------- targets
class Target:
    name = lemma = ""
    preconditions = ()
    shrinkable = True       # failing cases are shrunk (re-run many times) before they are saved

    def generate(self, rng):
        raise NotImplementedError

    def run(self, case):
        """(preconditions {name: bool}, conclusion bool) or None if the case is invalid."""
        raise NotImplementedError


class RankOne(Target):
    name, lemma = "rank-one", "Lemma 4.1"
    preconditions = ("nonzero", "unique_max", "unique_min")
    doc = "A = a a^T: tokens cluster at the argmax and the argmin of <a, .>"

    def generate(self, rng):
        d = rng.choice([2, 3])
        X = rpoints(rng, d, rng.randint(2, 6))
        a = rdir(rng, d)
        if rng.random() < 0.3:
            p = max(X, key=lambda x: dot(a, x))
            q = near_tie(rng, X, a, p)
            if q:
                X.append(q)
        if rng.random() < 0.2:
            aa = dot(a, a)
            x = X[0]
            X[0] = tuple(xi - dot(a, x) / aa * ai for xi, ai in zip(x, a))   # <a, x> = 0
        X = list(dict.fromkeys(X))
        return {"points": [T(x) for x in X], "a": T(a)}

    def run(self, case):
        from .model import Mat
        X, a = [P(x) for x in case["points"]], P(case["a"])
        if len(set(X)) != len(X) or not any(a):
            return None
        s = [dot(a, x) for x in X]
        pre = {"nonzero": all(v != 0 for v in s), "unique_max": len(maxset(s)) == 1,
               "unique_min": len(maxset([-v for v in s])) == 1}
        out = attention(X, Mat("rank1", Fraction(1), a))
        hi, lo = X[maxset(s)[0]], X[maxset([-v for v in s])[0]]
        ok = all(o == (hi if v > 0 else lo) for o, v in zip(out, s))
        return pre, ok


class FullClustering(Target):
    name, lemma = "full-clustering", "Lemma 4.2"
    preconditions = ("positive", "unique_max")
    doc = "A = a a^T with <a, x> > 0: every token jumps onto the unique maximiser"

    def generate(self, rng):
        case = RankOne().generate(rng)
        a = P(case["a"])
        X = [P(x) for x in case["points"]]
        if rng.random() < 0.8:
            low = min(dot(a, x) for x in X)
            c = (-low) / dot(a, a) + rng.choice([Fraction(1), Fraction(0), Fraction(1, 10**30)])
            X = [tuple(xi + c * ai for xi, ai in zip(x, a)) for x in X]
        return {"points": [T(x) for x in X], "a": case["a"]}

    def run(self, case):
        from .model import Mat
        X, a = [P(x) for x in case["points"]], P(case["a"])
        if len(set(X)) != len(X) or not any(a):
            return None
        s = [dot(a, x) for x in X]
        pre = {"positive": all(v > 0 for v in s), "unique_max": len(maxset(s)) == 1}
        out = attention(X, Mat("rank1", Fraction(1), a))
        return pre, all(o == X[maxset(s)[0]] for o in out)


def sphere_pt(rng, d, r):
    u = [Fraction(rng.randint(-5, 5), rng.randint(1, 5)) for _ in range(d - 1)]
    n2 = sum(x * x for x in u)
    return tuple(r * 2 * x / (n2 + 1) for x in u) + (r * (n2 - 1) / (n2 + 1),)


class NoClustering(Target):
    name, lemma = "no-clustering", "Lemma 4.3"
    preconditions = ("same_sphere",)
    doc = "A = I, V = I, rho = 0 on tokens of one sphere: every token stays put"

    def generate(self, rng):
        d, r = rng.choice([2, 3]), Fraction(rng.randint(1, 4))
        X = list(dict.fromkeys(sphere_pt(rng, d, r) for _ in range(rng.randint(2, 6))))
        if rng.random() < 0.4:
            k = rng.choice([1, 6, 30])
            f = 1 + Fraction(rng.choice([1, -1]), 10**k)
            X[0] = tuple(f * c for c in X[0])
        if rng.random() < 0.1:
            X.append(tuple(Fraction(0) for _ in range(d)))
        return {"points": [T(x) for x in dict.fromkeys(X)]}

    def run(self, case):
        from .model import Mat
        X = [P(x) for x in case["points"]]
        if len(set(X)) != len(X) or not X:
            return None
        pre = {"same_sphere": len({dot(x, x) for x in X}) == 1}
        return pre, attention(X, Mat("scalar", Fraction(1))) == X


class PartialClustering(Target):
    name, lemma = "partial-clustering", "Lemma 4.4"
    preconditions = ("in_open_cube", "t_ge_q", "on_sphere", "negative_orthant")
    doc = "the collapse: cube tokens jump onto t(1,...,1); leaders stay"

    def generate(self, rng):
        d, q = rng.choice([2, 3]), Fraction(rng.randint(1, 4))
        cube = list(dict.fromkeys(tuple(Fraction(rng.randint(1, 9), 10) * q for _ in range(d))
                                  for _ in range(rng.randint(1, 5))))
        t = q + rng.choice([0, 0, 1, 2])
        sph = list(dict.fromkeys(sphere_pt(rng, d, 1) for _ in range(rng.randint(0, 2))))
        sph = [s for s in sph if all(c < 0 for c in s)] if rng.random() < 0.8 else sph
        r = rng.random()
        if r < 0.15:
            cube[0] = (q,) + cube[0][1:]                           # on a cube face
        elif r < 0.25:
            cube[0] = (Fraction(0),) + cube[0][1:]                 # on an orthant boundary
        elif r < 0.3:
            cube[0] = tuple(Fraction(0) for _ in range(d))         # the origin
        elif r < 0.4:
            t = q - Fraction(1, rng.choice([2, 10**30]))           # t < q
        elif r < 0.5 and sph:
            sph[0] = tuple(c * (1 + Fraction(1, 10**30)) for c in sph[0])   # off the sphere
        return {"cube": [T(x) for x in cube], "q": to_text(q), "t": to_text(t),
                "sphere": [T(s) for s in sph]}

    def run(self, case):
        from .model import Mat
        cube, sph = [P(x) for x in case["cube"]], [P(x) for x in case["sphere"]]
        q, t = Q(case["q"]), Q(case["t"])
        if not cube:
            return None
        d = len(cube[0])
        diag = (t,) * d
        X = list(dict.fromkeys([diag] + sph + cube))
        if len(X) != 1 + len(sph) + len(cube):
            return None
        pre = {"in_open_cube": all(0 < c < q for x in cube for c in x), "t_ge_q": t >= q,
               "on_sphere": all(dot(s, s) == 1 for s in sph),
               "negative_orthant": all(c < 0 for s in sph for c in s)}
        out = attention(X, Mat("scalar", Fraction(1)))
        ok = out[:1 + len(sph)] == [diag] + sph and all(o == diag for o in out[1 + len(sph):])
        return pre, ok


def hull2(points):
    """Strict vertices of the convex hull of 2D points, exactly."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


class ExtremeLeader(Target):
    name, lemma = "extreme-leader", "Lemma 4.5"
    preconditions = ("vertex",)
    doc = "a hull vertex is the unique maximiser of the sum of its edges' outer normals"

    def generate(self, rng):
        X = rpoints(rng, 2, rng.randint(2, 7))
        if rng.random() < 0.3 and len(X) >= 2:   # a point on a segment: collinear
            a, b = X[0], X[1]
            lam = Fraction(rng.randint(1, 4), 5)
            m = tuple(ai + lam * (bi - ai) for ai, bi in zip(a, b))
            if m not in X:
                X.append(m)
        return {"points": [T(x) for x in X], "p": rng.randrange(len(X))}

    def run(self, case):
        X = [P(x) for x in case["points"]]
        if len(set(X)) != len(X) or not 0 <= case["p"] < len(X) or len(X[0]) != 2:
            return None
        p = X[case["p"]]
        H = hull2(X)
        pre = {"vertex": p in H}
        if p in H and len(H) >= 3:
            i = H.index(p)
            prev, nxt = H[i - 1], H[(i + 1) % len(H)]
            n1 = (p[1] - prev[1], prev[0] - p[0])          # outer normals (counter-clockwise hull)
            n2 = (nxt[1] - p[1], p[0] - nxt[0])
            a = (n1[0] + n2[0], n1[1] + n2[1])
        elif p in H and len(H) == 2:
            o = H[1 - H.index(p)]
            a = (p[0] - o[0], p[1] - o[1])
        else:
            n = Fraction(len(X))
            a = tuple(pi - sum(x[i] for x in X) / n for i, pi in enumerate(p))
        s = [dot(a, x) for x in X]
        return pre, maxset(s) == [case["p"]]


class ExposingDirection(Target):
    name, lemma = "exposing-direction", "Lemmas 4.6-4.7"
    preconditions = ("p_exposed_by_a", "delta_below_bound")
    doc = "a perturbation a + delta b keeps p the unique maximiser below the gap bound"

    def generate(self, rng):
        d = rng.choice([2, 3])
        X = rpoints(rng, d, rng.randint(2, 6))
        i = rng.randrange(len(X))
        n = Fraction(len(X))
        a = tuple(X[i][k] - sum(x[k] for x in X) / n for k in range(d))
        if not any(a):
            a = rdir(rng, d)
        b = rdir(rng, d)
        gap = dot(a, X[i]) - max((dot(a, x) for j, x in enumerate(X) if j != i), default=1)
        M = max((dot(b, tuple(xk - pk for xk, pk in zip(x, X[i]))) for j, x in enumerate(X)
                 if j != i), default=0)
        bound = gap / M if M > 0 and gap > 0 else Fraction(1)
        delta = bound * rng.choice([Fraction(1, 2), Fraction(1), Fraction(2),
                                    1 - Fraction(1, 10**30)])
        return {"points": [T(x) for x in X], "p": i, "a": T(a), "b": T(b), "delta": to_text(delta)}

    def run(self, case):
        X = [P(x) for x in case["points"]]
        i = case["p"]
        if len(set(X)) != len(X) or not 0 <= i < len(X):
            return None
        a, b, delta = P(case["a"]), P(case["b"]), Q(case["delta"])
        others = [x for j, x in enumerate(X) if j != i]
        gap = dot(a, X[i]) - max((dot(a, x) for x in others), default=dot(a, X[i]) - 1)
        M = max((dot(b, tuple(xk - pk for xk, pk in zip(x, X[i]))) for x in others), default=0)
        pre = {"p_exposed_by_a": gap > 0, "delta_below_bound": delta >= 0 and delta * M < gap}
        a2 = tuple(x + delta * y for x, y in zip(a, b))
        return pre, maxset([dot(a2, x) for x in X]) == [i]


class Hat(Target):
    name, lemma = "hat", "Lemma 4.8"
    preconditions = ("v_separates_p", "eps_le_gap")
    doc = "the width-3 hat moves p onto y and leaves every other token fixed"

    def generate(self, rng):
        d = rng.choice([2, 3])
        X = rpoints(rng, d, rng.randint(2, 6))
        i = rng.randrange(len(X))
        v = rdir(rng, d)
        if rng.random() < 0.2 and len(X) > 1:
            q = near_tie(rng, X, v, X[i])
            if q:
                X.append(q)
        s0 = dot(v, X[i])
        gaps = [abs(dot(v, x) - s0) for j, x in enumerate(X) if j != i]
        gap = min(gaps) if gaps else Fraction(1)
        eps = (gap or Fraction(1, 10)) * rng.choice([Fraction(1, 2), Fraction(1),
                                                     1 + Fraction(1, 10**30), Fraction(3)])
        return {"points": [T(x) for x in X], "p": i, "v": T(v), "eps": to_text(eps),
                "y": T(rpoint(rng, d))}

    def run(self, case):
        from .construction.common import hat_ff
        X = [P(x) for x in case["points"]]
        i = case["p"]
        if len(set(X)) != len(X) or not 0 <= i < len(X):
            return None
        v, eps, y = P(case["v"]), Q(case["eps"]), P(case["y"])
        if eps <= 0 or not any(v):
            return None
        s0 = dot(v, X[i])
        gaps = [abs(dot(v, x) - s0) for j, x in enumerate(X) if j != i]
        pre = {"v_separates_p": all(g > 0 for g in gaps), "eps_le_gap": all(eps <= g for g in gaps)}
        ff = hat_ff(v, s0, eps, X[i], y)
        ok = ff.apply(X[i]) == y and all(ff.apply(x) == x for j, x in enumerate(X) if j != i)
        return pre, ok


def gen_dataset(rng, violate=True):
    d = rng.choice([2, 2, 3])
    pool = rpoints(rng, d, rng.randint(2, 7))
    if rng.random() < 0.05:
        pool.append(("sqrt(2)", "1/2") if d == 2 else ("sqrt(2)", "1/2", "-sqrt(3)/2"))
    N = rng.randint(1, 4)
    seqs, seen = [], set()
    for _ in range(N * 3):
        k = rng.randint(1, len(pool))
        idx = sorted(rng.sample(range(len(pool)), k))
        if frozenset(idx) in seen and not (violate and rng.random() < 0.3):
            continue
        seen.add(frozenset(idx))
        X = [pool[i] for i in idx]
        rng.shuffle(X)
        outs = pool + [rpoint(rng, d)]
        m = rng.randint(1, len(X))
        Y = list(dict.fromkeys(rng.choice(outs) for _ in range(m)))
        if violate and rng.random() < 0.05:
            X.append(X[0])
        seqs.append({"input": [_txt(x) for x in X], "output": [_txt(y) for y in Y]})
        if len(seqs) == N:
            break
    return {"dimension": d, "sequences": seqs}


def _txt(p):
    return [c if isinstance(c, str) else to_text(c) for c in p]


def _raw_dataset(obj):
    """A Dataset from generated JSON without the validation (to run violating cases)."""
    from .dataset import DatasetError, from_obj
    try:
        return from_obj(obj), True
    except DatasetError:
        pass
    from .dataset import Dataset, Pair
    from .numbers import parse_coordinate
    try:
        pairs = [Pair(None, tuple(tuple(parse_coordinate(c) for c in t) for t in s["input"]),
                      tuple(tuple(parse_coordinate(c) for c in t) for t in s["output"]))
                 for s in obj["sequences"]]
    except Exception:
        return None, False
    if any(not isinstance(c, Fraction) for p in pairs for t in p.input + p.output for c in t):
        return None, False
    dim = obj.get("dimension") or next((len(t) for p in pairs for t in p.input), 0)
    return Dataset("<fuzz>", dim, pairs), False


def _assumptions(ds):
    ins = [frozenset(p.input) for p in ds.pairs]
    return {"distinct_inputs": len(set(ins)) == len(ins),
            "distinct_tokens": all(len(set(p.input)) == len(p.input) and
                                   len(set(p.output)) == len(p.output) for p in ds.pairs)}


class Separation(Target):
    name, lemma = "separation", "Lemma 5.1"
    preconditions = ("distinct_inputs", "distinct_tokens")
    doc = "at most 2(N-1) blocks make the inputs pairwise disjoint"

    def generate(self, rng):
        return gen_dataset(rng)

    def run(self, case):
        from .construction.separation import overlapping_pairs, separate
        from .model import Transformer
        ds, _ = _raw_dataset(case)
        if ds is None or not ds.pairs or any(not 0 < len(p.output) <= len(p.input) for p in ds.pairs):
            return None
        pre = _assumptions(ds)
        try:
            blocks, after = separate([list(p.input) for p in ds.pairs], ds.dim)
        except Exception:
            return pre, False
        model = Transformer(blocks, ds.dim)
        evald = [model.evaluate(p.input) for p in ds.pairs]     # differential: evaluation vs bookkeeping
        ok = (len(blocks) <= 2 * (ds.N - 1) and not overlapping_pairs(after)
              and [sorted(map(repr, e)) for e in evald] == [sorted(map(repr, a)) for a in after]
              and len({frozenset(a) for a in after}) == ds.N)
        return pre, ok


class Pipeline(Target):
    name, lemma = "pipeline", "Theorem 1.4"
    preconditions = ("distinct_inputs", "distinct_tokens")
    doc = "the whole construction certifies; evaluators agree; order does not matter"

    def generate(self, rng):
        case = gen_dataset(rng)
        case["perm_seed"] = rng.randrange(2**32)
        return case

    def run(self, case):
        ds, valid = _raw_dataset({k: v for k, v in case.items() if k != "perm_seed"})
        if ds is None or not ds.pairs or any(not 0 < len(p.output) <= len(p.input) for p in ds.pairs):
            return None
        pre = _assumptions(ds)
        if not valid and all(pre.values()):
            return None
        v1 = _certify(ds)
        if not v1:
            return pre, False
        rng = random.Random(case.get("perm_seed", 0))
        order = list(range(len(case["sequences"])))
        rng.shuffle(order)
        perm = {"dimension": ds.dim, "sequences": []}
        for j in order:
            s = case["sequences"][j]
            X = list(s["input"])
            rng.shuffle(X)
            perm["sequences"].append({"input": X, "output": s["output"]})
        ds2, _ = _raw_dataset(perm)
        return pre, bool(_certify(ds2))


def _certify(ds):
    """Certified by the checker, and the constructor's and the model's evaluations agree."""
    import proofs_check
    from . import certificate
    from .construction import build
    try:
        cons = build(ds)
        proofs_check.check(json.loads(certificate.dumps(certificate.build(ds, cons))))
    except Exception:
        return False
    for p, fin in zip(ds.pairs, cons.states["interpolation"]):
        if set(fin) != set(p.output):
            return False
        if len(p.input) <= 12 and set(cons.model.evaluate(p.input)) != set(p.output):
            return False
    return True


class FloatClaim(Target):
    name, lemma = "float-claim", "float claim"
    preconditions = ("verified", "ordinary")
    doc = ("every float pass of a verified float claim's weights agrees with the claim "
           "(exactseq/falsify.py; ordinary: a kind not aimed at a known weak point)")

    def generate(self, rng):
        from .falsify import fuzz_case
        return fuzz_case(rng)

    def run(self, case):
        from .falsify import fuzz_run
        return fuzz_run(case)


SIZES_SECONDS = 10.0      # a check of a sizes case longer than this (wall clock) is a finding
_REFUSED_BLOCK = re.compile(r"block (\d+) \(scale\): a computed number's numerator or denominator "
                            r"exceeds the limit of (\d+) digits \(raise it with --max-digits\)\Z")
OUTPUT_DIFFERS = "output: sequence 0: T(X) differs from Y (Hausdorff distance > 0)"


class Sizes(Target):
    name, lemma = "sizes", "checker limits"
    preconditions = ()
    shrinkable = False      # a case is a few generator parameters, and runs for seconds
    doc = ("size-class files (exactseq/hostile.py: long sequences, full attention, growth, "
           f"huge fields, tiny denominators, powers) end with their known verdict, no internal "
           f"error, within {SIZES_SECONDS:g} s each")
    KINDS = ("long", "full-attention", "growth", "field", "tiny", "power")

    def generate(self, rng):
        from .hostile import growth_stop
        kind = rng.choice(self.KINDS)
        limits = {}
        if kind == "long":
            N = rng.choice([1, 1, 2, 3])
            p = {"N": N, "n": rng.randint(200, 2000), "d": rng.choice([2, 3, 4]),
                 "seed": rng.randrange(1000), "m": rng.randint(1, 5)}
        elif kind == "full-attention":
            p = {"n": rng.randint(200, 1500), "blocks": rng.randint(1, 5), "d": rng.choice([2, 3, 4]),
                 "seed": rng.randrange(1000), "wrong": rng.random() < 0.5}
        elif kind == "growth":
            blocks = rng.randint(5, 60)
            p = {"blocks": blocks, "tokens": rng.randint(-(-(blocks - 1) // 4), 20),
                 "digits": rng.choice([10, 100, 300, 1000, 2000])}
            limits = {"max_digits": rng.choice([2000, 20000, 100_000])}
            p["exact_output"] = (not growth_stop(p["blocks"], p["tokens"], p["digits"], limits["max_digits"])
                                 and rng.random() < 0.5)
        elif kind == "field":
            p = {"degree": rng.randint(2, 16), "digits": rng.choice([100, 300, 499, 500, 1000, 5000]),
                 "scale": rng.random() < 0.7}
            if rng.random() < 0.7:
                limits = {"max_field_digits": p["digits"] + 1}
        elif kind == "tiny":
            p = {"tokens": rng.randint(2, 6), "exponent": rng.choice([300, 5000, 20000, 99990]),
                 "blocks": rng.randint(1, 2)}
        else:
            p = {"size_kb": rng.choice([1, 2]), "exponent": rng.choice([100, 1000, 5000, 9999]),
                 "d": rng.choice([2, 3])}
        return {"kind": kind, "params": p, "limits": limits}

    @staticmethod
    def certificate(case):
        from . import hostile
        kind, p = case["kind"], case["params"]
        if kind == "long":
            from . import certificate
            from .construction import build
            from .dataset import from_obj
            ds = from_obj(hostile.long_dataset(**p))
            return json.loads(certificate.dumps(certificate.build(ds, build(ds))))
        make = {"full-attention": hostile.full_attention, "growth": hostile.growth,
                "field": hostile.field_coefficients, "tiny": hostile.tiny_denominators,
                "power": hostile.power_fractions}[kind]
        return make(**p)

    @staticmethod
    def judge(case, limits, verdict, reason):
        """None if (verdict, reason) is what the case's file owes, else what is wrong."""
        from .hostile import growth_stop
        kind, p = case["kind"], case["params"]
        if verdict == "malformed" and (reason or "").endswith("(raise it with --max-work)"):
            return None      # a one-line refusal of the work on big numbers is always an answer
        differs = verdict == "rejected" and reason == OUTPUT_DIFFERS
        if kind == "full-attention" and p["wrong"]:
            want, ok = "rejected (the planted output)", differs
        elif kind == "growth":
            plain = "verified" if p["exact_output"] else "rejected"
            plain_ok = verdict == "verified" if p["exact_output"] else differs
            stop = growth_stop(p["blocks"], p["tokens"], p["digits"], limits.max_digits)
            m = _REFUSED_BLOCK.match(reason or "") if verdict == "malformed" else None
            refused = m is not None and int(m.group(1)) in stop and int(m.group(2)) == limits.max_digits
            # a refusal at the last block may be seen one block late: not at all
            want = (f"malformed at block {' or '.join(map(str, stop))}" if stop else plain) \
                + (f" or {plain}" if len(stop) == 1 else "")
            ok = refused or plain_ok and len(stop) <= 1
        elif kind == "field" and p["digits"] + 1 > limits.max_field_digits:
            want = "malformed (field.minpoly beyond --max-field-digits)"
            ok = verdict == "malformed" and reason == (
                f"field.minpoly: an integer of {p['digits'] + 1} digits exceeds the limit of "
                f"{limits.max_field_digits} (raise it with --max-field-digits)")
        else:
            want, ok = "verified", verdict == "verified"
        return None if ok else f"expected {want}, got {verdict}: {reason}"

    def run(self, case):
        import proofs_check.report
        from proofs_check import Limits
        if not isinstance(case, dict) or case.get("kind") not in self.KINDS \
                or not isinstance(case.get("params"), dict):
            return None
        limits = Limits().with_(**case.get("limits", {}))
        cert = self.certificate(case)
        t = time.monotonic()
        verdict, res = proofs_check.report.run(cert, limits)
        took = time.monotonic() - t
        reason = res.get("reason")
        if verdict in ("rejected", "unknown") and reason and (
                reason.startswith("internal error:") or reason.startswith("resources exhausted")):
            raise RuntimeError(f"the checker ended with {verdict}: {reason}")
        wrong = self.judge(case, limits, verdict, reason)
        slow = took > SIZES_SECONDS
        note = "; ".join(filter(None, [wrong, f"took {took:.1f} s (over {SIZES_SECONDS:g} s)" if slow else None]))
        return {}, not (wrong or slow), note or None


class Heads(Target):
    name, lemma = "heads", "given weights"
    preconditions = ("tie", "several_heads")
    doc = ("random multi-head transformers: the weights certificate of their exact outputs is "
           "VERIFIED by proofs_check and by its reference kernel, and one target moved by 1/1024 "
           "is REJECTED naming that sequence (exactseq.model evaluates independently)")

    def generate(self, rng):
        d = rng.choice([2, 3])
        small = lambda: rng.choice([0, 0, 1, -1, 2, Fraction(1, 2), Fraction(-1, 4), Fraction(3, 8)])
        mat = lambda: [[small() for _ in range(d)] for _ in range(d)]
        blocks = []
        for _ in range(rng.randint(1, 3)):
            w = rng.randint(0, 2)
            heads = []
            for _ in range(rng.randint(1, 3)):
                A = mat() if rng.random() < 0.8 else [[int(i == j) for j in range(d)] for i in range(d)]
                heads.append([[T(r) for r in A], [T(r) for r in mat()]])
            blocks.append({"eta": to_text(Fraction(rng.choice([1, 1, 2, Fraction(1, 2)]))),
                           "U": [T(rdir(rng, d)) for _ in range(w)], "b": [to_text(Fraction(small())) for _ in range(w)],
                           "W": [[to_text(Fraction(small())) for _ in range(w)] for _ in range(d)],
                           "rho": to_text(Fraction(rng.choice([1, 1, 0, Fraction(1, 2)]))), "heads": heads})
        inputs = []
        for _ in range(rng.randint(1, 3)):
            X = [T(x) for x in rpoints(rng, d, rng.randint(1, 5))]
            if X not in inputs:
                inputs.append(X)
        return {"d": d, "blocks": blocks, "inputs": inputs, "seq": rng.randrange(len(inputs))}

    def run(self, case):
        import proofs_check.report
        from . import weightcert, weightfile
        from .dataset import DatasetError, from_obj
        from .model import FF, Block, Mat, MultiSA, Transformer
        try:
            d, inputs = case["d"], [[P(x) for x in X] for X in case["inputs"]]
            blocks = [weightfile.Block(Fraction(b["eta"]), tuple(P(u) for u in b["U"]), P(b["b"]),
                                       tuple(P(r) for r in b["W"]), Fraction(b["rho"]),
                                       tuple((tuple(P(r) for r in A), tuple(P(r) for r in V))
                                             for A, V in b["heads"])) for b in case["blocks"]]
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return None
        net = Transformer([Block(FF(b.eta, b.U, b.b, b.W),
                                 MultiSA(b.rho, tuple((Mat("full", rows=A), Mat("full", rows=V))
                                                      for A, V in b.heads)), None) for b in blocks], d)
        outs = [sorted(set(net.evaluate(X))) for X in inputs]
        tie = False
        for X in inputs:               # did any head of the first block see a tie?
            for A, _ in blocks[0].heads:
                for x in X:
                    q = [sum(a * c for a, c in zip(r, x)) for r in A]
                    sc = [sum(a * c for a, c in zip(q, y)) for y in X]
                    tie |= sc.count(max(sc)) > 1
        pre = {"tie": tie, "several_heads": any(b.H > 1 for b in blocks)}
        w = weightfile.Weights(d, tuple(blocks), "json", "0" * 64, "<fuzz>")

        def verdicts(outputs):
            try:
                ds = from_obj({"dimension": d, "sequences": [
                    {"input": [T(x) for x in X], "output": [T(y) for y in Y]} for X, Y in zip(inputs, outputs)]})
            except DatasetError:
                return None
            cert = weightcert.build(ds, w)
            return proofs_check.report.run(cert), proofs_check.report.run(cert, reference=True)
        got = verdicts(outs)
        if got is None:
            return None
        (v, r), (vr, rr) = got
        if (v, r.get("reason")) != (vr, rr.get("reason")):
            return pre, False, f"fast {v} ({r.get('reason')}) but reference {vr} ({rr.get('reason')})"
        if v != "verified":
            return pre, False, f"the exact outputs are {v}: {r.get('reason')}"
        j = case["seq"] % len(inputs)
        moved = [list(Y) for Y in outs]
        y = moved[j][0]
        moved[j][0] = (y[0] + Fraction(1, 1024),) + tuple(y[1:])
        if moved[j][0] in outs[j]:
            return pre, True
        got = verdicts(moved)
        if got is None:
            return pre, True
        (v, r), _ = got
        ok = v == "rejected" and (r.get("reason") or "").startswith(f"output: sequence {j}:")
        return pre, ok, None if ok else f"a moved target gave {v}: {r.get('reason')}"


TARGETS = {t.name: t for t in (Pipeline(), RankOne(), FullClustering(), NoClustering(),
                               PartialClustering(), ExtremeLeader(), ExposingDirection(), Hat(),
                               Separation(), FloatClaim(), Heads(), Sizes())}
ALL = [n for n in TARGETS if n != "sizes"]     # 'exactseq fuzz all': the lemma targets (sizes is slow)


def _note(res):
    """A target's run may return (preconditions, conclusion, note): the note says
    why the conclusion failed."""
    return {"note": res[2]} if len(res) > 2 and res[2] else {}


# --------------------------------------------------------------- shrinking
def size(case):
    """Cases compare by the number of scalars, then by the bits they use."""
    def walk(x):
        if isinstance(x, dict):
            return [v for k, v in x.items() if k != "perm_seed" for v in walk(v)]
        if isinstance(x, list):
            return [v for e in x for v in walk(e)]
        return [x]
    leaves = walk(case)
    bits = 0
    for v in leaves:
        if isinstance(v, str):
            try:
                q = Fraction(v)
                bits += q.numerator.bit_length() + q.denominator.bit_length()
            except ValueError:
                bits += len(v)
    return (len(leaves), bits)


def _variants(case):
    """Smaller neighbours of a JSON case: drop a list element, simplify a number."""
    def rec(x, put):
        if isinstance(x, dict):
            for k, v in x.items():
                yield from rec(v, lambda nv, k=k: put({**x, k: nv}))
        elif isinstance(x, list):
            if x and not all(isinstance(e, str) for e in x):
                for i in range(len(x)):
                    yield put(x[:i] + x[i + 1:])
            for i, e in enumerate(x):
                yield from rec(e, lambda nv, i=i: put(x[:i] + [nv] + x[i + 1:]))
        elif isinstance(x, str):
            try:
                q = Fraction(x)
            except ValueError:
                return
            for s in (0, 1, -1, round(q), Fraction(round(q * 2), 2)):
                if Fraction(s) != q and size({"v": to_text(Fraction(s))}) <= size({"v": x}):
                    yield put(to_text(Fraction(s)))
    yield from rec(case, lambda c: c)


def signature(result):
    pre, ok = result[:2]
    return (tuple(sorted(k for k, v in pre.items() if not v)), ok)


def shrink(target, case, budget=300, deadline=None):
    """Greedy shrinking that keeps the violated preconditions and the failed conclusion.

    Stops after ``budget`` candidate runs, or at ``deadline`` (a time.monotonic() value).
    """
    want = signature(target.run(case))
    best, tries, improved = case, 0, True
    while improved and tries < budget:
        improved = False
        for cand in _variants(best):
            tries += 1
            if tries > budget or deadline is not None and time.monotonic() >= deadline:
                return best
            try:
                res = target.run(cand)
            except Exception:
                continue
            if res is not None and signature(res) == want and size(cand) < size(best):
                best, improved = cand, True
                break
    return best


# --------------------------------------------------------------- driver
SHRINK_GRACE = 1.0      # seconds of shrinking allowed past a --time limit
CHUNK_SECONDS = 0.05    # aim for worker tasks of about this length
MAX_CHUNK = 64


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a campaign; ``cases`` is how many cases had run."""

    def __init__(self, cases):
        super().__init__(cases)
        self.cases = cases


def check_limits(count=None, seconds=None, jobs=1):
    """The reason the campaign limits are unusable, or None."""
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        return f"--count must be an integer >= 0, not {count}"
    if seconds is not None and not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
                                    and seconds > 0):
        return f"--time must be a positive, finite number of seconds, not {seconds}"
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        return f"--jobs must be an integer >= 1, not {jobs}"
    return None


def run_one(args):
    name, seed, i = args
    target = TARGETS[name]
    rng = random.Random(f"{seed}:{name}:{i}")
    case = target.generate(rng)
    try:
        res = target.run(case)
    except Exception as exc:  # an exception on a case is a finding, never a pass
        return i, case, None, f"{type(exc).__name__}: {exc}"
    return i, case, res, None


def _run_chunk(args):
    name, seed, lo, hi = args
    t = time.monotonic()
    out = [run_one((name, seed, i)) for i in range(lo, hi)]
    return time.monotonic() - t, out


def _worker_init():
    """Workers leave Ctrl-C to the parent, which terminates them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _start_pool(jobs):
    import multiprocessing
    # SIGINT stays blocked while the workers (and the pool's threads) start, so a Ctrl-C
    # arriving then is delivered to the parent once they ignore it.
    block = hasattr(signal, "pthread_sigmask")
    if block:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_init)
    finally:
        if block:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _results(name, seed, count, deadline, pool, jobs):
    """run_one's results in index order, until ``count`` cases or the deadline.

    The clock is checked before every case (one process) or while waiting for every
    small chunk of cases (a pool); chunks still running at the deadline are dropped.
    """
    def more(i):
        return (count is None or i < count) and (deadline is None or time.monotonic() < deadline)

    if pool is None:
        i = 0
        while more(i):
            yield run_one((name, seed, i))
            i += 1
        return
    import multiprocessing
    pending, nxt, chunk = deque(), 0, 1
    while True:
        while len(pending) < 2 * jobs and more(nxt):
            hi = nxt + chunk if count is None else min(nxt + chunk, count)
            pending.append((hi - nxt, pool.apply_async(_run_chunk, ((name, seed, nxt, hi),))))
            nxt = hi
        if not pending:
            return
        n, res = pending.popleft()
        try:
            took, out = res.get(None if deadline is None else max(0.0, deadline - time.monotonic()))
        except multiprocessing.TimeoutError:
            return
        chunk = max(1, min(MAX_CHUNK, int(CHUNK_SECONDS * n / max(took, 1e-6))))
        yield from out


def campaign(name, count=None, seconds=None, seed=0, jobs=1, progress=None, start_pool=None):
    """Run a campaign; returns the summary (a dict).

    ``start_pool(jobs)``, if given, makes the pool the cases run on (anything with
    multiprocessing.Pool's apply_async, terminate and join; exactseq.distributed).

    It stops after ``count`` cases or ``seconds`` seconds, whichever comes first (no
    limit: until interrupted); shrinking then takes at most SHRINK_GRACE more seconds
    under a time limit.  Ctrl-C raises Interrupted, with the workers terminated.
    """
    bad = check_limits(count, seconds, jobs)
    if bad:
        raise ValueError(bad)
    target = TARGETS[name]
    stats = {p: {"violated": 0, "failed": 0, "smallest": None} for p in target.preconditions}
    summary = {"target": name, "lemma": target.lemma, "seed": seed, "cases": 0, "invalid": 0,
               "all_preconditions": 0, "bugs": [], "errors": [], "preconditions": stats}
    t0 = time.monotonic()
    deadline = None if seconds is None else t0 + seconds
    pool = None
    try:
        if start_pool is not None:
            pool = start_pool(jobs)
        elif jobs > 1 and (count is None or count > 1):
            pool = _start_pool(jobs if count is None else min(jobs, count))
        shown = t0
        for k, case, res, err in _results(name, seed, count, deadline, pool, jobs):
            summary["cases"] += 1
            if progress and time.monotonic() - shown >= 0.1:
                shown = time.monotonic()
                progress(summary, shown - t0)
            if err:
                summary["errors"].append({"index": k, "error": err, "case": case})
                continue
            if res is None:
                summary["invalid"] += 1
                continue
            pre, ok = res[:2]
            if all(pre.values()):
                summary["all_preconditions"] += 1
                if not ok:
                    summary["bugs"].append({"index": k, "case": case, **_note(res)})
                continue
            for p, held in pre.items():
                if not held:
                    st = stats[p]
                    st["violated"] += 1
                    if not ok:
                        st["failed"] += 1
                        if st["smallest"] is None or (size(case), k) < st["smallest"][0]:
                            st["smallest"] = ((size(case), k), case)
        if pool:
            pool.terminate()     # nothing useful is left running: chunks past the deadline
            pool.join()
            pool = None
        if progress:
            progress(summary, time.monotonic() - t0)
        limit = None if deadline is None else max(time.monotonic(), deadline) + SHRINK_GRACE
        for p, st in stats.items():
            if st["smallest"] is not None:
                st["smallest"] = shrink(target, st["smallest"][1], deadline=limit)
        summary["bug_count"] = len(summary["bugs"])
        smallest = sorted(summary["bugs"], key=lambda b: (size(b["case"]), b["index"]))[:3]
        summary["bugs"] = [dict(b, case=shrink(target, b["case"], deadline=limit)) if target.shrinkable
                           else b for b in smallest]
    except KeyboardInterrupt:
        raise Interrupted(summary["cases"]) from None
    finally:
        if pool:
            pool.terminate()
            pool.join()
    summary["seconds"] = round(time.monotonic() - t0, 2)
    return summary


def check_out(out):
    """Make the output directory (before any work); the reason it is unusable, or None."""
    if os.path.exists(out) and not os.path.isdir(out):
        return f"--out {out}: exists and is not a directory"
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        return f"--out {out}: cannot create the directory: {exc.strerror or exc}"
    if not os.access(out, os.W_OK | os.X_OK):
        return f"--out {out}: the directory is not writable"
    return None


def save(summary, out):
    """Write each smallest failing case (and each bug) as a replayable file.

    The pipeline and separation targets also write the case as a plain dataset
    (``.dataset.json``), which ``exactseq check`` reads and ``--replay`` replays
    as a pipeline case.
    """
    from .certificate import write_atomic
    os.makedirs(out, exist_ok=True)
    files = []
    items = [(f"{summary['target']}-violates-{p}", st["smallest"])
             for p, st in summary["preconditions"].items() if st["smallest"] is not None]
    items += [(f"{summary['target']}-BUG-{b['index']}", b["case"]) for b in summary["bugs"]]
    items += [(f"{summary['target']}-ERROR-{e['index']}", e["case"]) for e in summary["errors"]]
    for stem, case in items:
        path = os.path.join(out, stem + ".json")
        write_atomic(path, json.dumps({"target": summary["target"], "case": case,
                                       "reproduce": f"exactseq fuzz --replay {path}"},
                                      indent=1, sort_keys=True) + "\n")
        files.append(path)
        if summary["target"] in ("pipeline", "separation") and "sequences" in case:
            ds_path = os.path.join(out, stem + ".dataset.json")
            write_atomic(ds_path, json.dumps({k: v for k, v in case.items() if k != "perm_seed"},
                                             indent=1) + "\n")
            files.append(ds_path)
    return files


class ReplayError(ValueError):
    """A file --replay cannot use; the message says why, in one line."""


EXPECTED = ('expected a case saved by exactseq fuzz ({"target": ..., "case": {...}}) '
            'or a dataset ({"sequences": [...]}, replayed as a pipeline case)')


def load(path):
    """(target, case) from a saved case file, or from a dataset (a pipeline case)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ReplayError(f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ReplayError("not JSON (not UTF-8 text); " + EXPECTED) from None
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ReplayError(f"not JSON ({exc}); " + EXPECTED) from None
    if isinstance(obj, dict) and "target" in obj:
        name = obj["target"]
        if not isinstance(name, str) or name not in TARGETS:
            raise ReplayError(f"unknown fuzz target {name!r}; see 'exactseq fuzz --list'")
        target, case = TARGETS[name], obj.get("case")
        if not isinstance(case, dict):
            raise ReplayError("'case' must be a JSON object; " + EXPECTED)
    elif isinstance(obj, dict) and "sequences" in obj:
        target, case = TARGETS["pipeline"], obj
    else:
        raise ReplayError(EXPECTED)
    if "sequences" in case:
        need = {"sequences"}
    else:
        need = set(target.generate(random.Random(0))) - {"perm_seed"}
    missing = sorted(need - set(case))
    if missing:
        raise ReplayError(f"not a {target.name} case: missing {', '.join(map(repr, missing))}")
    return target, case


def replay(path):
    """(target, case, result); the case's exceptions propagate."""
    target, case = load(path)
    return target, case, target.run(case)


def table(summary):
    target = TARGETS.get(summary["target"])
    shrunk = ", shrunk" if target is None or target.shrinkable else ""
    lines = [f"target {summary['target']} ({summary['lemma']}): {summary['cases']} cases, "
             f"seed {summary['seed']}, {summary['seconds']} s",
             f"  all preconditions held: {summary['all_preconditions']} cases, conclusion failed in "
             f"{summary.get('bug_count', 0)}" + (f"  <-- BUG (smallest saved{shrunk})" if summary["bugs"] else ""),
             f"  {'precondition':<22}{'violated':>10}{'conclusion failed':>19}   smallest failing case"]
    if not summary["cases"]:
        lines.insert(1, "  no cases were run")
    for p, st in summary["preconditions"].items():
        small = json.dumps(st["smallest"], separators=(",", ":")) if st["smallest"] else "-"
        if len(small) > 90:
            small = small[:87] + "..."
        lines.append(f"  {p:<22}{st['violated']:>10}{st['failed']:>19}   {small}")
    if summary["invalid"]:
        lines.append(f"  ({summary['invalid']} generated cases were not valid instances and were skipped)")
    for b in summary["bugs"]:
        if b.get("note"):
            lines.append(f"  BUG on case {b['index']}: {b['note']}")
    for e in summary["errors"][:3]:
        lines.append(f"  ERROR on case {e['index']}: {e['error']}")
    return "\n".join(lines)
