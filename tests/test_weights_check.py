"""proofs_check on weights certificates (a given transformer, several heads): exact
verdicts, the first differing sequence with its exact squared Hausdorff distance,
tolerances, causal and softmax, the reference kernel agreeing, and malformed files."""
import json
import random
import subprocess
import sys
from fractions import Fraction as F

import pytest
from hypothesis import given, settings, strategies as st

from proofs_check import report


def num(q):
    q = F(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def full(M):
    return {"kind": "full", "rows": [[num(c) for c in r] for r in M]}


def block(heads, rho=1, eta=1, U=(), b=(), W=None, d=2):
    W = W if W is not None else [[] for _ in range(d)]
    return {"ff": {"eta": num(eta), "U": [[num(c) for c in u] for u in U], "b": [num(c) for c in b],
                   "W": [[num(c) for c in r] for r in W]},
            "sa": {"rho": num(rho), "heads": [{"A": full(A), "V": full(V)} for A, V in heads]}}


def cert(inputs, outputs, blocks, attention="hardmax", tol=None, second="output", **extra):
    c = {"format": "exactseq-certificate", "schema_version": 1, "kind": "weights", "attention": attention,
         "dataset": {"dimension": len(inputs[0][0]), "sequences": [
             {"input": [[num(v) for v in x] for x in X], second: [[num(v) for v in y] for y in Y]}
             for X, Y in zip(inputs, outputs)]},
         "blocks": blocks, **extra}
    if tol is not None:
        c["tolerance"] = tol
    return c


I2 = [[1, 0], [0, 1]]
SWAP = [[0, 1], [1, 0]]
HEADS = [(I2, [[F(1, 2), 0], [0, 0]]), (SWAP, [[0, 0], [0, F(1, 4)]])]
X = [(0, 1), (1, 0), (2, 3)]
# by hand: both heads pick x3 = (2, 3) for every query; V1 x3 = (1, 0), V2 x3 = (0, 3/4)
OUT = [(1, F(7, 4)), (2, F(3, 4)), (3, F(15, 4))]


def run(c, reference=False):
    v, r = report.run(json.loads(json.dumps(c)), reference=reference)
    return v, r


def both(c):
    """The fast checker and the reference kernel give the same verdict and result."""
    fast, ref = run(c), run(c, reference=True)
    ref[1].pop("reference", None)
    assert fast == ref
    return fast


def test_two_heads_by_hand():
    v, r = both(cert([X], [OUT], [block(HEADS)]))
    assert v == "verified", r
    assert (r["kind"], r["heads"], r["blocks"], r["parameters"]) == ("weights", 2, 1, 2 + 2 + 1 + 1 + 1 + 1)
    assert r["construction_bound"] == 2 * 3 + 2 * 1 + 1 and r["block_bound"] is None
    assert report.line(r) == ("VERIFIED: given weights, hardmax, 1 block, 2 heads, width 0, 8 non-zero "
                              "parameters; every output equals its target exactly")


def test_moved_target_names_sequence_and_distance():
    moved = [OUT[0], OUT[1], (3, F(15, 4) + F(1, 1024))]
    v, r = both(cert([X, [(1, 1), (0, 2)]], [[(1, 1)], moved], [block(HEADS)]))
    # sequence 0: (1,1), (0,2): head 1 picks (0,2) for both (scores 2, 4 / 2, 4), head 2 picks (1,1) / (0,2)
    assert v == "rejected"
    assert r["reason"].startswith("output: sequence 0: T(X) differs from Y: squared Hausdorff distance ")
    v, r = both(cert([X], [moved], [block(HEADS)]))
    assert r["reason"] == ("output: sequence 0: T(X) differs from Y: squared Hausdorff distance 1/1048576 "
                           "(about 9.53e-7)")


def test_tolerance_certifies_within_and_rejects_beyond():
    moved = [OUT[0], OUT[1], (3, F(15, 4) + F(1, 1024))]
    v, r = both(cert([X], [moved], [block(HEADS)], tol="1/1000"))
    assert v == "verified" and r["largest_distance_sq"] == "1/1048576" and r["tolerance"] == "1/1000"
    assert "within 1/1000 of its target (largest squared Hausdorff distance 1/1048576, about 9.53e-7)" \
        in report.line(r)
    v, r = both(cert([X], [moved], [block(HEADS)], tol="1/2000"))
    assert r["reason"] == ("output: sequence 0: T(X) is farther than 1/2000 from Y: squared Hausdorff "
                           "distance 1/1048576 (about 9.53e-7), above T^2 = 1/4000000 (about 2.50e-7)")
    v, r = both(cert([X], [moved], [block(HEADS)], tol="1/1024"))       # distance exactly T: within
    assert v == "verified"


def test_one_head_given_as_a_and_v_is_one_head():
    one = block([HEADS[0]])
    plain = {"ff": one["ff"], "sa": {"rho": "1", "A": full(I2), "V": full([[F(1, 2), 0], [0, 0]])}}
    out = [(1, 1), (2, 0), (3, 3)]
    assert both(cert([X], [out], [one]))[0] == "verified"
    assert both(cert([X], [out], [plain])) == both(cert([X], [out], [one]))


def test_ties_are_averaged_and_ff_applies():
    # FF: relu(x1 - 1) added to x2; then one head with A = 0: every key, the mean
    ff = dict(U=[(1, 0)], b=[-1], W=[[0], [1]])
    blk = block([([[0, 0], [0, 0]], I2)], rho=0, **ff)
    Xs = [(0, 0), (2, 0), (4, 1)]        # FF: (0,0), (2,1), (4,4); mean (2, 5/3)
    assert both(cert([Xs], [[(2, F(5, 3))]], [blk]))[0] == "verified"


def test_causal_positions():
    heads = [(I2, [[F(1, 2), 0], [0, 0]]), (SWAP, [[0, 0], [0, 1]])]
    Xs = [(1, 0), (0, 2), (3, 1)]
    # position 0 sees itself: (1, 0) + (1/2, 0); position 1: head 1 scores 0, 4 -> x2, head 2
    # (A x2 = (2, 0)) scores 2, 0 -> x1, both V's give 0 there; position 2: head 1 -> x3, head 2
    # (A x3 = (1, 3)) scores 1, 6, 6: a tie, the mean (3/2, 3/2): (3, 1) + (3/2, 0) + (0, 3/2)
    exp = [(F(3, 2), 0), (0, 2), (3, 1)]
    blk = block(heads)
    c = cert([Xs], [exp], [blk], attention="causal", second="targets")
    v, r = both(c)
    assert r["reason"] == ("output: sequence 0 position 2: the output differs from its target: squared "
                           "distance 9/2 (about 4.50e0)")
    exp[2] = (F(9, 2), F(5, 2))
    assert both(cert([Xs], [exp], [blk], attention="causal", second="targets"))[0] == "verified"
    # the true outputs, computed by the kernel's own rules, certify
    pos = []
    for i in range(3):
        x = Xs[i]
        out = list(x)
        for A, V in heads:
            q = [sum(a * b for a, b in zip(r_, x)) for r_ in A]
            s = [sum(a * b for a, b in zip(q, Xs[j])) for j in range(i + 1)]
            C = [j for j in range(i + 1) if s[j] == max(s)]
            m = [sum(F(Xs[j][k]) for j in C) / len(C) for k in range(2)]
            out = [o + sum(a * b for a, b in zip(r_, m)) for o, r_ in zip(out, V)]
        pos.append(tuple(out))
    v, r = both(cert([Xs], [pos], [blk], attention="causal", second="targets"))
    assert v == "verified" and r["positions"] == 3 and r["heads"] == 2


def test_softmax_within_tolerance_or_unknown():
    heads = [([[4, 0], [0, 4]], [[F(1, 2), 0], [0, 0]]), ([[0, 4], [4, 0]], [[0, 0], [0, F(1, 4)]])]
    blk = block(heads)
    sm = {"tau": "1/100", "order": 64}
    v, r = run(cert([X], [OUT], [blk], attention="softmax", tol="1/1000", softmax=sm))
    assert v == "verified", r
    assert report.line(r).startswith("VERIFIED: given weights, softmax at tau = 1/100, 1 block, 2 heads")
    v, r = run(cert([X], [[(0, 0)]], [blk], attention="softmax", tol="1/1000", softmax=sm))
    assert v == "rejected" and "farther than 1/1000" in r["reason"]
    v, r = run(cert([X], [OUT], [blk], attention="softmax", softmax=sm))       # no tolerance: T = 0
    assert v == "unknown" and "do not decide" in r["reason"]
    assert run(cert([X], [OUT], [blk], attention="softmax", tol="1/1000", softmax=sm),
               reference=True)[0] == "unknown"


@pytest.mark.parametrize("mutate, reason", [
    (lambda c: c["blocks"][0].update(claims=[]), "block 1: a weights certificate has no phases and no claims"),
    (lambda c: c["blocks"][0]["sa"].update(heads=[]), "block 1: sa.heads: 1 to 1024 heads"),
    (lambda c: c["blocks"][0]["sa"].update(A={"kind": "zero"}), "block 1: sa has both 'heads' and 'A'/'V'"),
    (lambda c: c["blocks"][0]["sa"]["heads"][1].update(V={"kind": "full", "rows": [["1"]]}),
     "block 1 head 1 sa.V: expected 2 rows"),
    (lambda c: c.update(kind="lemmas"), "unknown certificate kind 'lemmas'"),
    (lambda c: c.update(tolerance="-1"), "tolerance: must be >= 0"),
    (lambda c: c.update(tolerance="1/" + "7" * 100_001), None),
    (lambda c: c.update(float_claim={}), "float_claim: not checked for weights certificates"),
])
def test_malformed(mutate, reason):
    c = cert([X], [OUT], [block(HEADS)])
    mutate(c)
    for ref in (False, True):
        v, r = run(c, reference=ref)
        assert v == "malformed", r
        if reason:
            assert r["reason"] == reason
        else:
            assert "tolerance" in r["reason"] and "--max-digits" in r["reason"]


def test_growth_stops_with_one_line(tmp_path):
    """Sixty blocks each multiplying by ratios of 41-digit integers: refused at
    --max-digits, at the block that passes it, with one line."""
    blocks = [block([(I2, [[0, 0], [0, 0]])], rho=F(10 ** 40 + 1, 10 ** 40 - 1), eta=F(10 ** 40 + 3, 3))
              for _ in range(60)]
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cert([X], [OUT], blocks)))
    r = subprocess.run([sys.executable, "-m", "proofs_check", str(p), "--max-digits", "1000"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (f"proofs_check: {p}: malformed: block 13: a computed number's numerator or "
                        "denominator exceeds the limit of 1000 digits (raise it with --max-digits)\n")


# ------------------------------------------------------------------ property: fast == reference == brute
def brute(blocks, X, causal=False):
    """Plain evaluation from the definitions (lists of Fractions)."""
    X = [tuple(F(c) for c in x) for x in X]
    for eta, U, b, W, rho, heads in blocks:
        Y = []
        for x in X:
            h = [max(F(0), sum(u_ * v for u_, v in zip(u, x)) + bk) for u, bk in zip(U, b)]
            Y.append(tuple(eta * xi + sum(w * hk for w, hk in zip(row, h)) for xi, row in zip(x, W)))
        out = [[rho * c for c in y] for y in Y]
        for A, V in heads:
            for i, y in enumerate(Y):
                keys = Y[:i + 1] if causal else Y
                q = [sum(a * c for a, c in zip(r, y)) for r in A]
                s = [sum(a * c for a, c in zip(q, z)) for z in keys]
                C = [j for j, v in enumerate(s) if v == max(s)]
                m = [sum(keys[j][k] for j in C) / len(C) for k in range(len(y))]
                out[i] = [o + sum(a * c for a, c in zip(r, m)) for o, r in zip(out[i], V)]
        X = [tuple(o) for o in out]
    return X


small = st.integers(-3, 3).map(F) | st.sampled_from([F(1, 2), F(-1, 4), F(3, 8)])


@st.composite
def models(draw):
    d = draw(st.integers(2, 3))
    mat = st.lists(st.lists(small, min_size=d, max_size=d), min_size=d, max_size=d)
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        w = draw(st.integers(0, 2))
        U = draw(st.lists(st.lists(small, min_size=d, max_size=d), min_size=w, max_size=w))
        b = draw(st.lists(small, min_size=w, max_size=w))
        W = draw(st.lists(st.lists(small, min_size=w, max_size=w), min_size=d, max_size=d))
        heads = draw(st.lists(st.tuples(mat, mat), min_size=1, max_size=3))
        blocks.append((draw(small), U, b, W, draw(small), heads))
    Xs = draw(st.lists(st.lists(st.tuples(*[small] * d), min_size=1, max_size=5, unique=True),
                       min_size=1, max_size=3))
    return d, blocks, Xs


def as_cert(blocks, Xs, outs, attention="hardmax", second="output"):
    bl = [{"ff": {"eta": num(eta), "U": [[num(c) for c in u] for u in U], "b": [num(c) for c in b],
                  "W": [[num(c) for c in r] for r in W]},
           "sa": {"rho": num(rho), "heads": [{"A": full(A), "V": full(V)} for A, V in heads]}}
          for eta, U, b, W, rho, heads in blocks]
    return cert(Xs, outs, bl, attention=attention, second=second)


@settings(max_examples=150, deadline=None)
@given(models(), st.booleans(), st.randoms(use_true_random=False))
def test_random_models_agree_with_brute_force(m, causal, rnd):
    d, blocks, Xs = m
    outs = [brute(blocks, X, causal) for X in Xs]
    targets = outs if causal else [sorted(set(o)) for o in outs]
    att, second = ("causal", "targets") if causal else ("hardmax", "output")
    assert both(as_cert(blocks, Xs, targets, att, second))[0] == "verified"
    j = rnd.randrange(len(targets))                    # move one target coordinate
    moved = [list(t) for t in targets]
    i = rnd.randrange(len(moved[j]))
    moved[j][i] = tuple(c + (F(1, 1024) if k == 0 else 0) for k, c in enumerate(moved[j][i]))
    v, r = both(as_cert(blocks, Xs, moved, att, second))
    if causal:
        assert v == "rejected" and r["reason"].startswith(f"output: sequence {j} position {i}:")
    elif set(moved[j]) != set(targets[j]):
        assert v == "rejected" and r["reason"].startswith(f"output: sequence {j}:")


def test_the_heads_fuzz_target_runs_clean_and_catches_a_planted_bug(monkeypatch):
    """exactseq fuzz heads: random multi-head models agree; a checker that forgets its
    last head is caught (the fast checker then differs from the reference kernel)."""
    import random as rnd_
    from exactseq import fuzz
    from proofs_check import weights as pw
    target = fuzz.TARGETS["heads"]
    rng = rnd_.Random(4)
    cases = [target.generate(rng) for _ in range(60)]
    results = [target.run(c) for c in cases]
    assert all(r is None or r[1] for r in results)
    several = [c for c, r in zip(cases, results) if r is not None and r[0]["several_heads"]]
    assert several
    real = pw.heads_hardmax
    monkeypatch.setattr(pw, "heads_hardmax", lambda rho, heads, seqs, cache: real(rho, heads[:1], seqs, cache))
    caught = [target.run(c) for c in several]
    assert any(r is not None and not r[1] for r in caught)


coordinate = st.one_of(
    st.fractions(min_value=-10, max_value=10, max_denominator=10**6),
    st.integers(-2, 2).map(F),
    st.sampled_from([F(1, 10**160), F(10**160), F(1, 2**80)]),                 # outside the filter's range
    st.integers(-2**60, 2**60).map(lambda k: F(k, 2**60) + F(1, 10**30)),       # near-ties
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3).flatmap(lambda d: st.tuples(
    st.lists(st.tuples(*[coordinate] * d), min_size=1, max_size=8),
    st.lists(st.tuples(*[coordinate] * d), min_size=1, max_size=8))), st.booleans())
def test_filtered_hausdorff_is_exact(sets, small_blocks):
    """The float filter of nearest points (filters.nearest_sets, a block of rows at a
    time) never changes the exact squared Hausdorff distance."""
    from proofs_check import distance, filters
    Z, Y = sets
    old = filters.BLOCK
    filters.BLOCK = 3 if small_blocks else old
    try:
        assert distance.hausdorff_sq(Z, Y, filters.nearest_sets) == distance.hausdorff_sq(Z, Y)
    finally:
        filters.BLOCK = old
