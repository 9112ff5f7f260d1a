"""Reading a certificate: its form, its numbers, its dataset and its blocks, the
size bounds checked before any evaluation, and the final comparison of output
sets.  Primitives: no evaluation, no fast path; every checker (the reference
kernel, the fast engine, causal, softmax) reads through these functions.

Numbers in a certificate: "p" or "p/q" for rationals; for a dataset over a
real number field Q(theta), a list of rationals [c0, ..., c_{k-1}] meaning
sum c_i theta^i, with theta given by "field": {"minpoly": monic, lowest degree
first, "interval": [lo, hi] holding exactly one of its roots}.  The polynomial
need not be irreducible: numbers.py states why no representation can stand in
for a different number.  Matrices A and V: {"kind": "zero"}, {"kind":
"scalar", "c": c} (c I), {"kind": "rank1", "c": c, "a": a} (c a a^T) or
{"kind": "full", "rows": [[...], ...]}.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from .numbers import Malformed, Numbers, Rejected, Unknown, _need, prove_distinct, sgn

SCHEMA_VERSION = 1
HARDMAX_CLAIMS = {"hat", "leaders", "disjoint", "collapse", "counts"}
_PHASE = re.compile(r"[A-Za-z0-9_. -]{0,40}")   # phase names quoted in messages: nothing that could forge a line
CAUSAL_WIDTH_BOUND = 4


def key(x):
    """The representation of a point, for hashing (engine.Tok keeps it): a rational
    point as (common denominator, integer numerators), a field point as its
    coefficient lists."""
    if type(x[0]) is Fraction:
        den = 1
        for c in x:
            if den % c.denominator:
                den = den * c.denominator // math.gcd(den, c.denominator)
        return (den, tuple(c.numerator * (den // c.denominator) for c in x))
    return tuple(c.c for c in x)



__all__ = ["SCHEMA_VERSION", "HARDMAX_CLAIMS", "CAUSAL_WIDTH_BOUND", "read_matrix", "read_sequences",
           "read_dataset", "read_causal_dataset", "causal_bound", "read_block", "prescan",
           "declared_width", "start", "compare_outputs", "key", "attention_of", "attach_claim",
           "is_weights", "read_given_block", "read_tolerance", "read_given_dataset"]


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


def read_causal_dataset(obj, nums):
    """(d, [(input points, target points)]): every sequence has a non-empty input
    and exactly one rational target point per input position."""
    d, pairs = read_sequences(obj, "targets", nums.rat)
    for j, sides in enumerate(pairs):
        if len(sides[1]) != len(sides[0]):
            raise Rejected(f"dataset: sequence {j}: {len(sides[1])} targets for {len(sides[0])} "
                           "positions (one target per position)")
    return d, pairs


def causal_bound(pairs):
    """(2T - c, T, c), T distinct non-empty prefixes, c distinct input tokens: the
    block bound of the causal construction (at most T - c separation blocks, each
    adding a point to the c of the inputs, up to one point per prefix; at most one
    interpolation block per point)."""
    prefixes = {tuple(X[:i]) for X, _ in pairs for i in range(1, len(X) + 1)}
    tokens = {x for X, _ in pairs for x in X}
    return 2 * len(prefixes) - len(tokens), len(prefixes), len(tokens)


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


def attention_of(cert):
    """The attention kind of a certificate whose outer form is checked: an object of
    schema 1, a known kind, a float claim only with hardmax attention."""
    _need(cert, dict, "certificate")
    if cert.get("schema_version") != SCHEMA_VERSION:
        raise Malformed(f"unknown schema_version {_short(cert.get('schema_version'))}")
    kind = cert.get("attention", "hardmax")
    if "float_claim" in cert and kind != "hardmax":
        raise Malformed("float_claim: checked for hardmax certificates only")
    if kind not in ("hardmax", "softmax", "causal"):
        raise Malformed(f"unknown attention {_short(kind)}")
    return kind


def attach_claim(summary, prove, claim_required):
    """``summary["float_claim"] = prove()`` (the float claim, proven after the exact
    statements); with ``claim_required`` False a claim not proven is recorded as
    "float_claim_unproven" instead of raising."""
    try:
        summary["float_claim"] = prove()
    except (Rejected, Malformed, Unknown) as exc:
        if claim_required:
            raise
        summary["float_claim"] = None
        summary["float_claim_unproven"] = {
            "verdict": {Rejected: "rejected", Malformed: "malformed"}.get(type(exc), "unknown"),
            "reason": str(exc)}
    return summary


# ------------------------------------------------------------ weights certificates
MAX_HEADS = 1 << 10


def is_weights(cert):
    """A weights certificate: a given transformer, no lemma claims ("kind": "weights")."""
    kind = cert.get("kind")
    if kind is not None and kind != "weights":
        raise Malformed(f"unknown certificate kind {_short(kind)}")
    return kind == "weights"


def read_given_block(blk, k, nums, d):
    """(where, (eta, U, b, W), (rho, heads), non-zero parameters) of block k of a
    weights certificate: "sa" has "rho" and either "heads" (a non-empty list of
    {"A", "V"}) or "A" and "V" (one head); no phase, no claims."""
    _need(blk, dict, f"block {k}")
    where = f"block {k}"
    if "claims" in blk or "phase" in blk:
        raise Malformed(f"{where}: a weights certificate has no phases and no claims")
    sa = _need(blk.get("sa"), dict, where + " sa")
    if "heads" in sa:
        if "A" in sa or "V" in sa:
            raise Malformed(f"{where}: sa has both 'heads' and 'A'/'V'")
        hs = _need(sa.get("heads"), list, where + " sa.heads")
        if not hs or len(hs) > MAX_HEADS:
            raise Malformed(f"{where}: sa.heads: 1 to {MAX_HEADS} heads")
    else:
        hs = [{"A": sa.get("A"), "V": sa.get("V")}]
    zero = {"kind": "zero"}
    _, ff, (rho, _, _), _ = read_block({"ff": blk.get("ff"), "sa": {"rho": sa.get("rho"), "A": zero, "V": zero}},
                                       k, nums, d)
    heads = []
    for h, obj in enumerate(hs):
        _need(obj, dict, f"{where} sa.heads[{h}]")
        w = where + (f" head {h}" if "heads" in sa else "")
        heads.append((_mat(obj.get("A"), nums, d, w + " sa.A"), _mat(obj.get("V"), nums, d, w + " sa.V")))
    eta, U, b, W = ff
    params = sum(1 for x in (eta, rho, *b, *(c for r in U for c in r), *(c for r in W for c in r))
                 if sgn(x) != 0) + sum(_mat_params(A) + _mat_params(V) for A, V in heads)
    return where, ff, (rho, tuple(heads)), params


def read_tolerance(cert, nums):
    """The certificate's "tolerance" T >= 0 (a rational, within the limits), or None:
    outputs are then to equal their targets exactly."""
    if "tolerance" not in cert:
        return None
    t = nums.rat(cert["tolerance"], "tolerance")
    if t < 0:
        raise Malformed("tolerance: must be >= 0")
    return t


def read_given_dataset(cert, nums, attention):
    """(d, pairs) of a weights certificate's dataset: inputs and target sets
    (hardmax, softmax) or one target per position (causal).  The theorem's
    assumption is not required: any inputs, any targets."""
    if attention == "causal":
        return read_causal_dataset(cert.get("dataset"), nums)
    return read_sequences(cert.get("dataset"), "output",
                          nums.rat if attention == "softmax" else nums.coordinate)


read_matrix = _mat        # the public name (exactseq reads weights as the checker does)
