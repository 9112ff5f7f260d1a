"""The reference kernel (proofs_check/kernel.py) against the fast checker.

Every certificate below is checked by both, through report.run (the path of
``python -m proofs_check`` and ``exactseq verify``): the verdict, the message
and the whole --json object must be the same (the kernel's carries
"reference": true besides).  Inputs: the certificates of tests/data, the
examples built three ways, the planted faults of test_faults.py, the mutants
of test_mutation_campaign.py (rational ones sampled, algebraic field and atom
mutants all, coefficient mutants sampled), the hostile certificates of
test_hostile.py, Hypothesis datasets (exactseq.strategies) and their mutants,
and near-degenerate certificates built on purpose: attention scores 2^-60
apart (the float filter), tokens exactly on a hat's cuts (the sparse index),
failures and ties on both sides of a shard boundary (the fast checker also
runs with --jobs 2 there).

The sampling seed is printed; set KERNEL_SEED to replay it.
"""
import ast
import collections
import copy
import json
import os
import random
import re
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, seed, settings, strategies as st

import proofs_check
import test_faults as tf
import test_hostile as th
import test_mutation_campaign as tmc
from exactseq import certificate
from exactseq.construction import build
from exactseq.dataset import from_obj
from exactseq.strategies import datasets
from helpers import mutants, plain_eval
from proofs_check import kernel, report
from proofs_check.floatclaim import check_claim

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEED = int(os.environ.get("KERNEL_SEED") or random.SystemRandom().randrange(2**32))
COUNT = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def tally():
    print(f"\nkernel agreement: seed {SEED} (KERNEL_SEED={SEED} replays it)")
    yield
    print(f"\nkernel agreement: {COUNT['certificates']} certificates compared "
          f"({', '.join(f'{v} {COUNT[v]}' for v in ('verified', 'rejected', 'malformed', 'unknown'))}); "
          f"{COUNT['sharded']} also with --jobs 2; seed {SEED}")


def agree(cert, jobs=(1,), what="", limits=proofs_check.DEFAULT):
    """Check cert with the kernel and with the fast checker (with each J in
    jobs); assert the same verdict and result object.  Returns (verdict, reason)."""
    ref_verdict, ref = report.run(copy.deepcopy(cert), limits, reference=True)
    assert ref.pop("reference") is True
    for j in jobs:
        verdict, res = report.run(copy.deepcopy(cert), limits, jobs=j)
        assert (verdict, res) == (ref_verdict, ref), f"{what} (jobs {j}, seed {SEED})"
    COUNT["certificates"] += 1
    COUNT[ref_verdict] += 1
    COUNT["sharded"] += 2 in jobs
    return ref_verdict, ref.get("reason")


def tally_of(certs, **kw):
    """Counter of verdicts of agree() over (label, certificate) pairs."""
    out = collections.Counter()
    for label, cert in certs:
        out[agree(cert, what=label, **kw)[0]] += 1
    return out


def made(obj):
    """The certificate of the plain construction (the paper's), without a float claim."""
    ds = from_obj(obj)
    return json.loads(certificate.dumps(certificate.build(ds, build(ds))))


def example(name):
    with open(os.path.join(ROOT, "examples", name)) as fh:
        return json.load(fh)


def _q(x):
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def hand_cert(inputs, blocks):
    """A rational hardmax certificate of the given blocks whose targets are the
    model's own outputs (helpers.plain_eval, independent of both checkers)."""
    cert = {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax",
            "blocks": blocks, "dataset": {"dimension": len(inputs[0][0]), "sequences": []}}
    for X in inputs:
        Y = list(dict.fromkeys(tuple(y) for y in plain_eval(cert, X)))
        cert["dataset"]["sequences"].append({"input": [[_q(c) for c in x] for x in X],
                                             "output": [[_q(c) for c in y] for y in Y]})
    return cert


def block(U=(), b=(), W=None, d=2, eta="1", rho="1", A=None, V=None, claims=(), phase="test"):
    return {"phase": phase, "claims": list(claims),
            "ff": {"eta": eta, "U": [[_q(c) for c in u] for u in U], "b": [_q(c) for c in b],
                   "W": [[_q(c) for c in r] for r in W] if W else [[] for _ in range(d)]},
            "sa": {"rho": rho, "A": A or {"kind": "zero"}, "V": V or {"kind": "zero"}}}


# ------------------------------------------------------------ the suite's data
def test_data_certificates():
    names = sorted(f for f in os.listdir(os.path.join(HERE, "data")) if f.endswith(".json"))
    got = {}
    for name in names:
        with open(os.path.join(HERE, "data", name)) as fh:
            got[name] = agree(json.load(fh), jobs=(1, 2), what=name)
    assert got["figure5.cert.json"] == ("verified", None)
    assert got["figure5.bad.cert.json"] == (
        "rejected", "block 10 (interpolation): hat: the layer does not send the point to its target")
    assert got["hostile_sqrt1_repeats_one.cert.json"] == (
        "rejected", "field: minpoly is reducible: a number has two different representations "
        "(a non-zero one has value 0)")
    assert len(names) >= 7


@pytest.mark.parametrize("name", ["figure5.json", "circle.json", "masked.json", "classification.json"])
def test_example_certificates(name):
    """Each example as exactseq check builds it: float-safe (the default),
    --paper and --max-width 6, each with its float claim; and the plain
    construction without one."""
    import exactseq
    obj = example(name)
    for how in ({}, {"paper": True}, {"max_width": 6}):
        res = exactseq.certify(obj, **how)
        assert res.verdict == "certified", how
        assert agree(res.certificate, what=str(how)) == ("verified", None)
        if "float_claim" in res.certificate:
            assert report.run(res.certificate, reference=True)[1]["float_claim"] is not None
    assert agree(made(obj), what="plain") == ("verified", None)


def test_causal_certificates():
    import exactseq
    res = exactseq.certify(example("causal.json"))
    cert = res.certificate
    assert agree(cert, what="causal")[0] == "verified"
    bad = copy.deepcopy(cert)
    bad["dataset"]["sequences"][2]["targets"][1] = ["1", "3"]
    del bad["dataset_sha256"]
    assert agree(bad) == ("rejected", "output: sequence 2 position 1: the output differs from its target")
    bad = copy.deepcopy(cert)
    bad["blocks"][0]["claims"] = [{"kind": "disjoint"}]
    assert agree(bad)[0] == "malformed"
    rng = random.Random(f"{SEED} causal")
    got = tally_of((label, m) for label, m in mutants(cert) if rng.random() < 0.15)
    assert got["rejected"] > 0


def test_float_claims_unproven_and_forged():
    """claim_required=False keeps the exact verdict and says why the claim is
    not proven, in both; a forged claim is refused with the same message."""
    cert = made(example("figure5.json"))
    for tol in ("1/1000000", "1", "0", "-1", "x"):
        c = copy.deepcopy(cert)
        c["float_claim"] = {"format": "binary32", "tolerance": tol}
        agree(c, what=tol)
        assert kernel.check(copy.deepcopy(c), claim_required=False, float_claim=check_claim) == \
            proofs_check.check(copy.deepcopy(c), claim_required=False)
    with pytest.raises(proofs_check.Unknown, match="^float claim: not proven"):
        kernel.check(c)


# -------------------------------------------------------------- planted faults
def test_planted_faults_and_weight_perturbations():
    cert = tf.certify(tf.SMALL)[2]
    for name, bad, message, _ in tf.planted_faults(cert):
        verdict, reason = agree(bad, jobs=(1, 2), what=name)
        assert verdict == "rejected" and re.search(message, reason), name
    certs = []
    for k in (1, 6, 30):          # test_faults' perturbations and sign flips
        certs += [(f"{p} +1/10^{k}", tf.mutate(cert, p, lambda s: tf._q(Fraction(s) + Fraction(1, 10**k))))
                  for p in tf.weight_paths(cert)]
    certs += [(f"{p} neg", tf.mutate(cert, p, lambda s: tf._q(-Fraction(s)))) for p in tf.weight_paths(cert)]
    for k in range(len(cert["blocks"])):
        m = copy.deepcopy(cert)
        del m["blocks"][k]
        certs.append((f"drop {k}", m))
    wide = copy.deepcopy(cert)
    ff = max((blk["ff"] for blk in wide["blocks"]), key=lambda f: len(f["U"]))
    ff["U"].append(["0", "0"])
    ff["b"].append("0")
    for row in ff["W"]:
        row.append("1")
    deep = copy.deepcopy(cert)
    deep["blocks"] += [block()] * 20
    certs += [("too wide", wide), ("too deep", deep)]
    got = tally_of(certs)
    print(f"planted faults and weight perturbations: {dict(got)}")
    assert got["rejected"] > got["verified"] > 0


# ------------------------------------------------------------------- mutants
@pytest.mark.parametrize("name", list(tmc.DATASETS))
def test_rational_mutants(name):
    """A quarter of the campaign's mutants, drawn with the seed."""
    rng = random.Random(f"{SEED} {name}")
    cert = tf.certify(tmc.DATASETS[name])[2]
    got = tally_of((label, m) for label, m in mutants(cert) if rng.random() < 0.25)
    print(f"{name}: {dict(got)}")
    assert got["rejected"] > got["verified"] > 0


@pytest.fixture(scope="module")
def algebraic():
    return {name: tmc.algebraic_cert(name) for name in tmc.ALGEBRAIC}


@pytest.mark.parametrize("name", list(tmc.ALGEBRAIC))
def test_algebraic_field_and_atom_mutants(algebraic, name):
    cert = algebraic[name]
    got = tally_of([("original", cert), *tmc.field_mutants(cert), *tmc.atom_mutants(cert)])
    print(f"{name}: {dict(got)}")
    assert got["verified"] and got["rejected"] and got["malformed"]


@pytest.mark.parametrize("name, share", [("circle", 0.03), ("sqrt(2) = sqrt(8)/2", 0.08),
                                         ("golden ratio", 0.08), ("cube root", 0.08)])
def test_algebraic_coefficient_mutants(algebraic, name, share):
    rng = random.Random(f"{SEED} {name}")
    got = tally_of((label, m) for label, m in tmc.coefficient_mutants(algebraic[name])
                   if rng.random() < share)
    print(f"{name}: {dict(got)}")
    assert got["rejected"] > 0


def test_one_number_written_two_ways_is_refused_where_it_appears():
    """Over (x^2-2)(x^2-8), an FF layer sends (sqrt(2), 0) and (sqrt(8)/2, 1) to
    one point written two ways.  Both checkers refuse the polynomial there; the
    kernel needs its per-layer check for it (without, the hat claim of block 2
    would fail first, on a token that is the moved point written otherwise)."""
    two = ["0", "3/2", "0", "-1/4"]          # sqrt(2) modulo the product, theta = sqrt(2)
    hat = {"kind": "hat", "v": ["1", "0"], "s0": two, "eps": "1", "point": [two, "0"],
           "target": [two, "0"]}
    blocks = [block(U=[[0, 1]], b=[0], W=[[0], [-1]]), block(claims=[hat])]
    cert = tmc._hand_cert(["16", "0", "-10", "0", "1"], ["11/8", "23/16"],
                          [("2", "1/2", two), ("8", "1/2", ["0", "7/3", "0", "-1/6"])],
                          [{"input": [["sqrt(2)", "0"], ["sqrt(8)/2", "1"]], "output": [["sqrt(2)", "0"]]}],
                          blocks)
    reducible = ("rejected", "field: minpoly is reducible: a number has two different representations "
                 "(a non-zero one has value 0)")
    assert agree(cert) == reducible
    saved = kernel.one_representation
    try:
        kernel.one_representation = lambda toks, field: None
        assert report.run(cert, reference=True)[1]["reason"] == \
            "block 2 (test): hat: the tube also holds a token of sequence 0"
    finally:
        kernel.one_representation = saved


# ------------------------------------------------------------------- hostile
def test_hostile_certificates():
    certs = [(name, cert) for name, (cert, _) in th.HOSTILE.items()]
    mark = next(m for m in th.test_equal_numbers_written_differently_never_verify.pytestmark
                if m.name == "parametrize")
    certs += [(msg, cert) for cert, msg in mark.args[1]]
    certs += list(tmc.hostile_certificates().items())
    many = copy.deepcopy(th.GOOD)
    many["blocks"] = many["blocks"] * 10_000
    certs.append(("100000 blocks", many))
    for label, cert in certs:
        verdict, _ = agree(cert, what=label)
        assert verdict != "verified", label
    for text in ("[]", '{"format": "exactseq-certificate"}', '{"format": "exactseq-certificate", '
                 '"schema_version": 1, "attention": "sideways"}',
                 '{"format": "exactseq-certificate", "schema_version": 1, "dataset": []}'):
        assert agree(json.loads(text))[0] == "malformed"


def test_numbers_growing_past_max_digits_are_refused_at_the_same_block():
    """Three blocks multiply every token by a 20-digit number, three divide it
    back: with --max-digits 50 the third computes numbers of about 60 digits,
    refused there (malformed)."""
    grow, shrink = block(eta="99999999999999999999/7"), block(eta="7/99999999999999999999")
    cert = hand_cert([[(1, 2), (3, 4)], [(5, 6)]], [grow] * 3 + [shrink] * 3)
    assert agree(cert, jobs=(1, 2)) == ("verified", None)
    assert agree(cert, jobs=(1, 2), limits=proofs_check.Limits(max_digits=50)) == (
        "malformed", "block 3 (test): a computed number's numerator or denominator exceeds the limit "
        "of 50 digits (raise it with --max-digits)")


def test_softmax_is_unknown_to_the_kernel():
    cert = copy.deepcopy(th.GOOD)
    cert["attention"], cert["softmax"] = "softmax", {"tau": "1/1000000", "order": 64}
    assert report.run(cert, reference=True) == ("unknown", {
        "verdict": "unknown", "reason": "the reference kernel does not check softmax certificates",
        "reference": True})
    cert["float_claim"] = {"format": "binary64", "tolerance": "1"}     # the form is read first
    assert agree(cert)[0] == "malformed"


# ---------------------------------------------------------------- Hypothesis
@seed(SEED)
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(obj=datasets(max_sequences=4, max_pool=6), data=st.data())
def test_hypothesis_datasets_and_their_mutants(obj, data):
    cert = made(obj)
    assert agree(cert, jobs=(1, 2), what="constructed")[0] == "verified"
    paths = list(tmc.slots(cert)) if cert["blocks"] else []
    for _ in range(3 if paths else 0):
        path = data.draw(st.sampled_from(paths))
        delta = data.draw(st.sampled_from([Fraction(1, 10), Fraction(-1, 10**6), Fraction(1, 2**60), -1]))
        m = copy.deepcopy(cert)
        x = Fraction(tmc._get(m, path))
        tmc._set(m, path, _q(-x if delta == -1 else x + delta))
        agree(m, jobs=(1, 2), what=f"{path} {delta}")


# ------------------------------------------------------- near-degenerate cases
E = Fraction(1, 2**60)


def near_tokens(rng, n, scale):
    """Tokens around scale * (1, 1) whose coordinates differ by multiples of 2^-60."""
    return list(dict.fromkeys((scale * (1 + rng.randint(-2, 2) * E), scale * (1 + rng.randint(-2, 2) * E))
                              for _ in range(n)))


@pytest.mark.parametrize("c", ["1", "-1", "3/7"])
def test_attention_scores_2_to_the_minus_60_apart(c):
    """A = c I on tokens whose scores differ by about 2^-60 (or tie exactly):
    the float filter must keep every maximiser; both checkers must agree with
    the plain evaluator's outputs, and refuse an output moved by 2^-120."""
    rng = random.Random(f"{SEED} {c}")
    inputs = [near_tokens(rng, 6, scale) for scale in (1, 1, 2**40, Fraction(1, 2**40), 3, Fraction(1, 3))]
    inputs = [X for i, X in enumerate(inputs) if X not in inputs[:i]]
    blocks = [block(A={"kind": "scalar", "c": c}, V={"kind": "scalar", "c": "1"}, rho="0"),
              block(A={"kind": "full", "rows": [["1", c], ["0", "1"]]}, V={"kind": "scalar", "c": "1"})]
    cert = hand_cert(inputs, blocks)
    assert agree(cert, jobs=(1, 2)) == ("verified", None)
    moved = copy.deepcopy(cert)
    y = moved["dataset"]["sequences"][-1]["output"][0]
    y[1] = _q(Fraction(y[1]) + E * E)
    assert agree(moved, jobs=(1, 2)) == (
        "rejected", f"output: sequence {len(inputs) - 1}: T(X) differs from Y (Hausdorff distance > 0)")


def hat_block(v, s0, eps, p, target, d=2):
    """Lemma 4.8's width-3 layer moving p (with <v, p> = s0) to target, and its claim."""
    w = [(t - x) / eps for t, x in zip(target, p)]
    U, b = [v, v, v], [-(s0 - eps), -s0, -(s0 + eps)]
    W = [[wi, -2 * wi, wi] for wi in w]
    claim = {"kind": "hat", "v": [_q(c) for c in v], "s0": _q(s0), "eps": _q(eps),
             "point": [_q(c) for c in p], "target": [_q(c) for c in target]}
    return block(U=U, b=b, W=W, d=d, claims=[claim], phase="interpolation")


@pytest.mark.parametrize("eps", [Fraction(1, 3), E, Fraction(1, 2**1100)])
def test_tokens_exactly_on_a_hat_cut(eps):
    """Tokens at <v, x> = s0 +- eps exactly (outside the open tube: the layer
    leaves them) and a hair inside (the claim fails), in several sequences;
    then two hats in one layer, with tokens on the cuts of both."""
    v, s0 = (Fraction(1), Fraction(1, 3)), Fraction(1, 3) + 7

    def at(s, y):           # the token (x, y) with <v, (x, y)> = s
        return (s - Fraction(y, 3), Fraction(y))

    p, target = at(s0, 0), (Fraction(100), Fraction(-100))
    on = [at(s0 - eps, 1), at(s0 + eps, 2), at(s0 - eps, -5), at(s0 + 2 * eps, 3)]
    inputs = [[p, on[0], on[1]], [on[2], on[3], at(9, 9)], [on[0], on[3]], [on[1], at(-1, 0)]]
    hat = hat_block(v, s0, eps, p, target)
    assert agree(hand_cert(inputs, [hat]), jobs=(1, 2)) == ("verified", None)
    for j, inside in ((3, at(s0 + eps - eps / 2**70, 4)), (1, at(s0 - eps + eps / 2**70, 4))):
        bad = [list(X) for X in inputs]
        bad[j].append(inside)
        assert agree(hand_cert(bad, [hat]), jobs=(1, 2)) == (
            "rejected", f"block 1 (interpolation): hat: the tube also holds a token of sequence {j}")
    q = at(s0 + 4 * eps, 6)
    second = hat_block(v, s0 + 4 * eps, eps, q, (Fraction(-100), Fraction(100)))
    both = copy.deepcopy(hat)
    both["claims"] += second["claims"]
    for key in ("U", "b"):
        both["ff"][key] += second["ff"][key]
    for r0, r1 in zip(both["ff"]["W"], second["ff"]["W"]):
        r0 += r1
    cuts = [list(X) for X in inputs]
    cuts[2] += [q, at(s0 + 3 * eps, 7), at(s0 + 5 * eps, 8)]
    assert agree({**hand_cert(cuts, [both]), "max_width": 6}, jobs=(1, 2)) == ("verified", None)
    cuts[1].append(at(s0 + 5 * eps - eps / 2**80, 0))
    assert agree({**hand_cert(cuts, [both]), "max_width": 6}, jobs=(1, 2)) == (
        "rejected", "block 1 (interpolation): hat: the tube also holds a token of sequence 1")


def test_failures_and_ties_on_both_sides_of_a_shard_boundary():
    """Four sequences in two shards: a hat tube holding a token of the last
    sequence only, leaders tied in the first or the third sequence, two
    sequences sharing a token across the boundary, counts false in the first
    and the last sequence, ties in a collapse-like attention layer."""
    X = [[(0, 1), (2, 0)], [(0, 2), (3, 0)], [(3, 0), (3, 3)], [(5, 5), (2, 2)]]
    p, target = (Fraction(0), Fraction(1)), (Fraction(0), Fraction(-9))
    hat = hat_block((Fraction(1), Fraction(1)), Fraction(1), Fraction(1, 2), p, target)
    assert agree(hand_cert(X, [hat]), jobs=(1, 2)) == ("verified", None)
    far = [list(x) for x in X]
    far[3].append((Fraction(3, 4), Fraction(1, 2)))
    assert agree(hand_cert(far, [hat]), jobs=(1, 2)) == (
        "rejected", "block 1 (interpolation): hat: the tube also holds a token of sequence 3")

    def separation(leaders):
        claim = {"kind": "leaders", "a": ["1", "1"], "leaders": [[_q(c) for c in x] for x in leaders]}
        return block(A={"kind": "rank1", "c": "1", "a": ["1", "1"]}, V={"kind": "scalar", "c": "1"},
                     claims=[claim, {"kind": "disjoint"}], phase="separation")

    tied0 = [[(1, 2), (2, 1)], [(0, 2), (3, 1)], [(3, 3), (4, 2)], [(5, 5), (1, 1)]]
    assert agree(hand_cert(tied0, [separation([(1, 2), (3, 1), (3, 3), (5, 5)])]), jobs=(1, 2)) == (
        "rejected", "block 1 (separation): leaders: the leader of sequence 0 is not the unique maximiser")
    tied2 = [[(1, 3), (2, 1)], [(0, 2), (3, 1)], [(3, 3), (4, 2)], [(5, 5), (1, 1)]]
    assert agree(hand_cert(tied2, [separation([(1, 3), (3, 1), (3, 3), (5, 5)])]), jobs=(1, 2)) == (
        "rejected", "block 1 (separation): leaders: the leader of sequence 2 is not the unique maximiser")
    shared = [[(1, 3), (2, 1)], [(0, 1), (4, 1)], [(2, 1), (6, 1)], [(5, 5), (1, 1)]]
    assert agree(hand_cert(shared, [separation([(1, 3), (4, 1), (6, 1), (5, 5)])]), jobs=(1, 2)) == (
        "rejected", "block 1 (separation): disjoint: sequences 1 and 2 share a token")
    counts = block(claims=[{"kind": "counts", "m": [2, 2, 2, 1]}])
    assert agree(hand_cert(X, [counts]), jobs=(1, 2)) == (
        "rejected", "block 1 (test): counts: sequence 3 has 2 distinct points, expected 1")
    counts["claims"][0]["m"] = [1, 2, 2, 1]
    assert agree(hand_cert(X, [counts]), jobs=(1, 2)) == (
        "rejected", "block 1 (test): counts: sequence 0 has 2 distinct points, expected 1")
    collapse = block(A={"kind": "scalar", "c": "1"}, V={"kind": "scalar", "c": "1"}, rho="0")
    assert agree(hand_cert(shared + [[(2, 2), (-2, -2), (2, -2)]], [collapse]), jobs=(1, 2))[0] == "verified"


# ---------------------------------------------------------- the kernel itself
def test_the_kernel_imports_no_fast_path():
    """kernel.py imports the standard library and the primitives (numbers, limits,
    lemmas, reading, distance), nothing else: no module of a fast path."""
    tree = ast.parse(open(os.path.join(ROOT, "proofs_check", "kernel.py")).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {(node.module or "", a.name) for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.name, None) for a in node.names}
    assert {m for m, _ in names} <= {"__future__", "fractions", "", "limits", "numbers", "reading"}
    assert {a for m, a in names if m == ""} == {"lemmas", "distance"}
    assert ("reading", "start") in names and ("numbers", "check_growth") in names
    assert len(open(os.path.join(ROOT, "proofs_check", "kernel.py")).read().splitlines()) < 800


def test_a_wrong_kernel_is_caught():
    """The comparison can fail: a kernel that keeps only the first maximiser of
    a tie disagrees on a tied attention layer."""
    X = [[(1, 0), (0, 1)], [(2, 0), (0, 3)]]
    cert = hand_cert(X, [block(A={"kind": "full", "rows": [["1", "1"], ["1", "1"]]},
                               V={"kind": "scalar", "c": "1"}, rho="0")])
    saved = kernel.maximisers
    try:
        kernel.maximisers = lambda scores: saved(scores)[:1]
        with pytest.raises(AssertionError):
            agree(cert)
    finally:
        kernel.maximisers = saved
    assert agree(cert) == ("verified", None)


def test_command_lines(tmp_path):
    cert = tmp_path / "c.json"
    cert.write_text(json.dumps(th.GOOD))
    bad = tmp_path / "bad.json"
    bad.write_text(open(os.path.join(HERE, "data", "figure5.bad.cert.json")).read())
    soft = tmp_path / "soft.json"
    soft.write_text(json.dumps({**th.GOOD, "attention": "softmax", "softmax": {"tau": "1/100", "order": 8}}))

    def run(*argv):
        r = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    fast = run("-m", "proofs_check", str(cert))
    assert fast[0] == 0 and run("-m", "proofs_check", str(cert), "--reference") == fast
    status, out, _ = run("-m", "proofs_check", str(bad), "--reference")
    assert (status, out) == (1, "REJECTED: block 10 (interpolation): hat: the layer does not send the "
                             "point to its target")
    assert run("-m", "proofs_check", str(soft), "--reference") == (
        3, "UNKNOWN: the reference kernel does not check softmax certificates", "")
    status, out, _ = run("-c", "import sys; from exactseq.cli import main; sys.exit(main(sys.argv[1:]))",
                         "verify", str(cert), "--reference", "--json")
    obj = json.loads(out)
    assert status == 0 and obj["verdict"] == "verified" and obj["reference"] is True
    assert obj["blocks"] == 10 and obj["parameters"] == 149
