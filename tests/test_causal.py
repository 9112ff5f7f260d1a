"""Causal (masked) attention: the "targets" form, the construction on the masked
semantics, proofs_check's causal path, and the prefix reformulation's counterexample."""
import copy
import json
import subprocess
import sys
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import proofs_check
from proofs_check import causal as pc
from proofs_check.numbers import Numbers
from exactseq import certificate
from exactseq.cli import main
from exactseq.construction import build as build_unmasked
from exactseq.construction import causal
from exactseq.dataset import DatasetError, from_obj, load
from exactseq.model import MaskedSA, Mat, SA

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples/causal.json")
Q = Fraction

# The smallest counterexample to the prefix reformulation of Section 7.2.4 (README,
# "Causal attention"): one sequence of two tokens whose targets are the tokens themselves.
COUNTEREXAMPLE = {"dimension": 2, "sequences": [{"input": [[0, 0], [0, 1]],
                                                 "targets": [[0, 0], [0, 1]]}]}
HAND = {"dimension": 2, "sequences": [{"input": [[0, 0], [1, 0]], "targets": [[1, 1], [2, 2]]},
                                      {"input": [[1, 0]], "targets": [[3, 3]]}]}


def certify(obj):
    ds = from_obj(obj)
    cons = causal.build(ds)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    return ds, cons, cert, proofs_check.check(cert)


# ---- a naive masked evaluator, written independently of both others: position i of X
# is the last token of the prefix X[:i+1] after every block, each token of the prefix
# attending to the tokens at or before it (a recursion on (block, position)).
def _mat(M, x):
    k = M["kind"]
    if k == "zero":
        return [Q(0)] * len(x)
    if k == "scalar":
        return [Q(M["c"]) * v for v in x]
    if k == "rank1":
        a = [Q(v) for v in M["a"]]
        s = Q(M.get("c", "1")) * sum(p * v for p, v in zip(a, x))
        return [s * p for p in a]
    return [sum(Q(r[j]) * x[j] for j in range(len(x))) for r in M["rows"]]


def naive(cert, X):
    blocks = cert["blocks"]

    def ff(blk, x):
        f = blk["ff"]
        h = [max(Q(0), sum(Q(u[i]) * x[i] for i in range(len(x))) + Q(b)) for u, b in zip(f["U"], f["b"])]
        return tuple(Q(f["eta"]) * x[i] + sum(Q(w) * hk for w, hk in zip(f["W"][i], h)) for i in range(len(x)))

    out = []
    for i in range(len(X)):
        P = [tuple(Q(c) for c in x) for x in X[:i + 1]]

        @lru_cache(maxsize=None)
        def token(layer, k):          # position k of P after `layer` blocks
            if layer == 0:
                return P[k]
            blk = blocks[layer - 1]
            keys = [ff(blk, token(layer - 1, j)) for j in range(k + 1)]
            q = _mat(blk["sa"]["A"], keys[k])
            scores = [sum(a * b for a, b in zip(q, y)) for y in keys]
            C = [y for y, s in zip(keys, scores) if s == max(scores)]
            mean = [sum(y[c] for y in C) / len(C) for c in range(len(keys[k]))]
            return tuple(Q(blk["sa"]["rho"]) * a + v for a, v in zip(keys[k], _mat(blk["sa"]["V"], mean)))
        out.append(token(len(blocks), i))
    return out


def first_wrong(cert):
    for j, s in enumerate(cert["dataset"]["sequences"]):
        for i, (z, y) in enumerate(zip(naive(cert, s["input"]), s["targets"])):
            if z != tuple(Q(c) for c in y):
                return j, i
    return None


# ---------------------------------------------------------------- datasets
@st.composite
def causal_datasets(draw):
    d = draw(st.sampled_from([2, 3]))
    coord = st.integers(-2, 2)
    pool = draw(st.lists(st.tuples(*[coord] * d), min_size=2, max_size=5, unique=True))
    table, seqs = {}, []
    for _ in range(draw(st.integers(1, 4))):
        X = draw(st.permutations(pool))[:draw(st.integers(1, min(4, len(pool))))]
        if seqs and draw(st.booleans()):          # share a prefix with an earlier sequence
            base = draw(st.sampled_from(seqs))
            k = draw(st.integers(1, len(base)))
            X = base[:k] + [x for x in X if x not in base[:k]][:draw(st.integers(0, 2))]
        for i in range(len(X)):
            key = tuple(X[:i + 1])
            if key not in table:
                table[key] = draw(st.sampled_from(pool) | st.tuples(*[coord] * d))
        seqs.append(list(X))
    return {"dimension": d, "sequences": [
        {"input": [list(x) for x in X], "targets": [list(table[tuple(X[:i + 1])]) for i in range(len(X))]}
        for X in seqs]}


@st.composite
def colliding_datasets(draw):
    """Orderings of 3 or 4 tokens with targets from two points: many prefixes end on
    one token with different targets, so the separation phase has work to do."""
    pool = draw(st.lists(st.tuples(st.integers(-2, 2), st.integers(-2, 2)), min_size=3, max_size=4,
                         unique=True))
    ys = [[0, 0], draw(st.sampled_from([[1, 0], list(pool[0])]))]
    table, seqs = {}, []
    for _ in range(draw(st.integers(2, 5))):
        X = draw(st.permutations(pool))[:draw(st.integers(2, len(pool)))]
        for i in range(len(X)):
            table.setdefault(tuple(X[:i + 1]), draw(st.sampled_from(ys)))
        seqs.append({"input": [list(x) for x in X], "targets": [table[tuple(X[:i + 1])] for i in range(len(X))]})
    return {"dimension": 2, "sequences": seqs}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(causal_datasets() | colliding_datasets())
def test_construction_certifies_and_checker_verifies(obj):
    ds, cons, cert, summary = certify(obj)
    bound, T, c = causal.block_bound(ds)
    assert summary["attention"] == "causal" and summary["blocks"] == len(cons.blocks)
    assert summary["blocks"] <= summary["block_bound"] == bound == 2 * T - c
    assert summary["width"] <= 4 and cons.phase_blocks["separation"] <= T - c
    assert cons.phase_blocks["interpolation"] <= cons.classes <= T
    for p in ds.pairs:                     # the constructor's own masked model agrees
        assert cons.model.evaluate(p.input) == list(p.targets)


def test_examples_and_hand_cases_certify():
    for obj in (json.loads(Path(EXAMPLE).read_text()), COUNTEREXAMPLE, HAND):
        ds, cons, cert, summary = certify(obj)
        for s in cert["dataset"]["sequences"]:
            assert naive(cert, s["input"]) == [tuple(Q(c) for c in y) for y in s["targets"]]


def test_hand_example_exact_states():
    """Block 1 (direction a = (-1, 0), shift 2a, lambda = 1) separates (1, 0) at
    position 0 from (1, 0) after (0, 0); three hat moves then place the targets."""
    ds, cons, cert, _ = certify(HAND)
    assert cons.phase_blocks == {"separation": 1, "interpolation": 3}
    sa = cert["blocks"][0]["sa"]
    assert sa == {"rho": "1", "A": {"kind": "rank1", "c": "1", "a": ["-1", "0"]},
                  "V": {"kind": "scalar", "c": "1"}}
    one = {"dataset": cert["dataset"], "blocks": cert["blocks"][:1]}
    assert naive(one, [[0, 0], [1, 0]]) == [(-4, 0), (-3, 0)]
    assert naive(one, [[1, 0]]) == [(-2, 0)]
    assert naive(cert, [[0, 0], [1, 0]]) == [(1, 1), (2, 2)]
    assert naive(cert, [[1, 0]]) == [(3, 3)]
    assert cons.model.evaluate([(Q(0), Q(0)), (Q(1), Q(0))]) == [(1, 1), (2, 2)]


def test_interpolation_cycle_is_broken_by_a_shift():
    """(0,0) -> (1,0) -> (2,0) -> (0,0): every point's target is another point
    that must move, so the first hat layer also shifts every point."""
    obj = {"sequences": [{"input": [[0, 0], [1, 0]], "targets": [[1, 0], [2, 0]]},
                         {"input": [[2, 0]], "targets": [[0, 0]]}]}
    ds, cons, cert, summary = certify(obj)
    assert cons.phase_blocks == {"separation": 0, "interpolation": 3} and summary["blocks"] == 3
    assert [len(b["ff"]["U"]) for b in cert["blocks"]] == [4, 3, 3]


def test_masked_attention_by_hand():
    """Query (0, 1) scores 0 against every key: a tie over positions 0 and 1 only."""
    X = [(Q(1), Q(0)), (Q(0), Q(1)), (Q(2), Q(2))]
    A, V = Mat("rank1", Q(1), (Q(1), Q(0))), Mat("scalar", Q(1))
    want = [(1, 0), (Q(1, 2), Q(1, 2)), (2, 2)]
    assert MaskedSA(Q(0), A, V).apply(X) == want
    assert pc.masked_attention((Q(0), ("rank1", Q(1), (Q(1), Q(0))), ("scalar", Q(1))), X) == want
    assert SA(Q(0), A, V).apply(X)[0] == (2, 2)           # unmasked: position 0 sees (2, 2)


mats = st.one_of(st.just({"kind": "zero"}),
                 st.builds(lambda c: {"kind": "scalar", "c": str(c)}, st.integers(-2, 2)),
                 st.builds(lambda c, a, b: {"kind": "rank1", "c": str(c), "a": [str(a), str(b)]},
                           st.integers(-2, 2), st.integers(-2, 2), st.integers(-2, 2)),
                 st.builds(lambda r: {"kind": "full", "rows": [[str(v) for v in r[:2]], [str(v) for v in r[2:]]]},
                           st.lists(st.integers(-2, 2), min_size=4, max_size=4)))
small = st.integers(-3, 3).map(str)
blocks = st.builds(
    lambda w, U, b, W, eta, rho, A, V: {"phase": "x", "ff": {"eta": eta, "U": U[:w], "b": b[:w],
                                                             "W": [r[:w] for r in W]},
                                        "sa": {"rho": rho, "A": A, "V": V}, "claims": []},
    st.integers(0, 2), st.lists(st.lists(small, min_size=2, max_size=2), min_size=2, max_size=2),
    st.lists(small, min_size=2, max_size=2), st.lists(st.lists(small, min_size=2, max_size=2), min_size=2, max_size=2),
    st.sampled_from(["1", "0", "1/2"]), st.sampled_from(["1", "0", "-1"]), mats, mats)


@settings(max_examples=40, deadline=None)
@given(st.lists(blocks, min_size=1, max_size=3),
       st.lists(st.tuples(st.integers(-2, 2), st.integers(-2, 2)), min_size=1, max_size=4))
def test_masked_evaluators_agree_with_naive_prefix_by_prefix(bl, X):
    cert = {"dataset": {"dimension": 2}, "blocks": bl}
    want = naive(cert, X)
    got, _, _ = pc.evaluate(bl, [[tuple(Q(c) for c in x) for x in X]], Numbers(None), 2)
    assert got[0] == want
    model = certificate.load_model({"attention": "causal", "dataset": {"dimension": 2}, "blocks": bl})
    assert model.evaluate([tuple(Q(c) for c in x) for x in X]) == want
    for i in range(1, len(X)):                # output i depends on x_1..x_i only
        assert naive(cert, X[:i])[-1] == want[i - 1]


# ------------------------------------------------------------- faults
def _example_cert():
    return certify(json.loads(Path(EXAMPLE).read_text()))[2]


@pytest.mark.parametrize("where", ["last hat target", "separation lambda", "first shift"])
def test_planted_faults_are_rejected_at_the_first_wrong_position(where):
    cert = _example_cert()
    bad = copy.deepcopy(cert)
    if where == "last hat target":
        W = bad["blocks"][-1]["ff"]["W"]
        W[0] = [str(Q(v) * 2) for v in W[0]]
    elif where == "separation lambda":
        bad["blocks"][0]["sa"]["V"]["c"] = str(Q(bad["blocks"][0]["sa"]["V"]["c"]) + 1)
    else:
        bad["blocks"][0]["ff"]["b"][-1] = "2"
    j, i = first_wrong(bad)
    with pytest.raises(proofs_check.Rejected) as exc:
        proofs_check.check(bad)
    assert str(exc.value) == f"output: sequence {j} position {i}: the output differs from its target"


def test_bounds_claims_and_dataset_faults():
    cert = _example_cert()
    bad = copy.deepcopy(cert)
    bad["blocks"] += [copy.deepcopy(bad["blocks"][-1]) for _ in range(9)]
    with pytest.raises(proofs_check.Rejected, match=r"^bounds: 21 blocks exceed 2T - c = 20$"):
        proofs_check.check(bad)
    bad = copy.deepcopy(cert)
    bad["blocks"][2]["claims"] = [{"kind": "disjoint"}]
    with pytest.raises(proofs_check.Malformed, match=r"^block 3 \(interpolation\): claim 'disjoint' "
                       r"is not checked in causal mode$"):
        proofs_check.check(bad)
    bad = copy.deepcopy(cert)
    bad["dataset"]["sequences"][2]["targets"].pop()
    with pytest.raises(proofs_check.Rejected, match=r"^dataset: sequence 2: 1 targets for 2 positions"):
        proofs_check.check(bad)
    bad = copy.deepcopy(cert)
    bad["blocks"][-1]["ff"]["U"] += [["0", "0"]] * 2          # a hat layer of width 3, now 5
    with pytest.raises(proofs_check.Rejected, match=r"^bounds: FF width 5 exceeds 4$"):
        proofs_check.check(bad)


# ------------------------------------------------- the prefix reformulation
def test_prefix_reformulation_counterexample():
    """Theorem 1.4 on the prefixes {(0,0)} -> (0,0) and {(0,0),(0,1)} -> (0,1) is
    certified, yet with masked attention position 1 ends at (0,0): in the masked
    model the token at position 0 follows the trajectory of the prefix (x_1), not
    the one it has inside (x_1, x_2), and the collapse at position 1 sends it to
    the leader of the prefix (x_1)."""
    ds = from_obj(COUNTEREXAMPLE)
    pre = causal.prefix_dataset(ds)
    assert [(p.input, p.output) for p in pre.pairs] == [(((0, 0),), ((0, 0),)),
                                                        (((0, 0), (0, 1)), ((0, 1),))]
    cons = build_unmasked(pre)
    proofs_check.check(json.loads(certificate.dumps(certificate.build(pre, cons))))   # unmasked: fine
    model = causal.prefix_reformulation(ds)
    assert len(model.blocks) == 6
    cert = json.loads(certificate.dumps(certificate.build(ds, model)))
    assert cert["attention"] == "causal"
    outs, _, _ = pc.evaluate(cert["blocks"], [[(Q(0), Q(0)), (Q(0), Q(1))]], Numbers(None), 2)
    assert outs == [[(0, 0), (0, 0)]]                    # position 1 should be (0, 1)
    assert naive(cert, [[0, 0], [0, 1]]) == [(0, 0), (0, 0)]
    with pytest.raises(proofs_check.Rejected, match=r"^bounds: 6 blocks exceed 2T - c = 2$"):
        proofs_check.check(cert)
    # the construction on the masked semantics needs no block at all here
    _, cons, _, summary = certify(COUNTEREXAMPLE)
    assert summary["blocks"] == 0 and not cons.blocks


def test_prefix_reformulation_is_right_for_length_one_and_needs_distinct_sets():
    ds = from_obj({"sequences": [{"input": [[0, 0]], "targets": [[1, 1]]},
                                 {"input": [[0, 1]], "targets": [[2, 2]]}]})
    model = causal.prefix_reformulation(ds)
    assert [model.evaluate(p.input) for p in ds.pairs] == [[(1, 1)], [(2, 2)]]
    with pytest.raises(DatasetError, match=r"have the same input set \(assumption 1.3 i\)"):
        causal.prefix_dataset(load(EXAMPLE))        # "not good" and "good not"


# ------------------------------------------------------------------ the dataset
@pytest.mark.parametrize("obj, msg", [
    ({"sequences": [{"name": "s", "input": [[0, 0], [1, 0]], "targets": [[1, 1]]}]},
     "f.json: sequence 0 ('s'): 'targets' has 1 point but 'input' has 2 tokens (one target per position)"),
    ({"sequences": [{"input": [[0, 0], [1, 0]], "targets": [[1, 1], [2]]}]},
     "f.json: sequence 0, target at position 1: has 1 coordinates, expected 2"),
    ({"sequences": [{"input": [[0, 0], [1, 0]], "targets": [[1, 1], "x"]}]},
     "f.json: sequence 0, target at position 1: must be a list of coordinates"),
    ({"sequences": [{"input": [[0, 0]], "targets": [[1, 1]], "output": [[1, 1]]}]},
     "f.json: sequence 0: 'targets' and 'output' do not mix (a dataset with 'targets' gives every "
     "sequence an 'input' and its 'targets', one target point per input position, and no 'output' or 'label')"),
    ({"sequences": [{"input": [[0, 0]], "output": [[1, 1]]}, {"input": [[0, 0]], "targets": [[1, 1]]}]},
     "f.json: sequence 0: has 'output' but sequence 1 has 'targets' (a dataset with 'targets' gives every "
     "sequence an 'input' and its 'targets', one target point per input position, and no 'output' or 'label')"),
    ({"sequences": [{"input": [[0, 0], [1, 0]], "targets": [[1, 1], [2, 2]]},
                    {"name": "b", "input": [[0, 0], [1, 0], [2, 0]], "targets": [[1, 1], [2, 3], [0, 0]]}]},
     "f.json: sequence 1 ('b'), position 1: its prefix (positions 0..1) is also a prefix of sequence 0, "
     "with a different target (equal prefixes need equal targets: a causal model's output at a "
     "position depends on the prefix only)"),
    ({"sequences": [{"input": [[0, 0], [0, 0]], "targets": [[1, 1], [2, 2]]}]},
     "f.json: sequence 0: input tokens 0 and 1 are equal (a causal input repeats no token)"),
    ({"sequences": [{"input": [[0, 0], ["sqrt(2)", 0]], "targets": [[1, 1], [2, 2]]}]},
     "f.json: sequence 0, input token 1, coordinate 0: 'sqrt(2)' is not rational (a dataset with "
     "'targets' needs rational coordinates)"),
])
def test_dataset_errors(obj, msg):
    with pytest.raises(DatasetError) as exc:
        from_obj(obj, "f.json")
    assert str(exc.value) == msg


def test_shared_prefixes_and_repeated_targets_are_fine():
    ds = from_obj({"sequences": [{"input": [[0, 0], [1, 0]], "targets": [[1, 0], [1, 0]]},
                                 {"input": [[0, 0], [2, 0]], "targets": [[1, 0], [0, 0]]},
                                 {"input": [[0, 0], [1, 0]], "targets": [[1, 0], [1, 0]]}]})
    assert ds.causal and causal.block_bound(ds) == (2 * 3 - 3, 3, 3)


# ------------------------------------------------------------------- the CLI
def test_check_text_json_quiet(capsys):
    assert main(["check", EXAMPLE]) == 0
    out = capsys.readouterr().out
    assert "blocks       12 (bound 2T - c = 20 <= 2 sum n - 1 = 31; Theorem 1.4 on the T prefixes: " \
           "4T + 1 = 49): separation 2, interpolation 10" in out
    assert "sequences    8 certified (--verbose lists each)" in out
    assert main(["check", EXAMPLE, "--verbose"]) == 0
    assert "sequence 6 ('not very good'): 3 positions: certified" in capsys.readouterr().out
    assert "verdict      CERTIFIED: at every position the output equals its target exactly" in out
    assert main(["check", EXAMPLE, "--attention", "causal", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["verdict"] == "certified" and rep["attention"] == "causal"
    assert (rep["blocks"], rep["block_bound"], rep["reformulation_blocks"]) == (12, 20, 49)
    assert rep["dataset"]["prefixes"] == 12 and rep["dataset"]["tokens"] == 4
    assert rep["phases"] == {"separation": 2, "interpolation": 10} and rep["width"] <= 4
    assert main(["check", EXAMPLE, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_api_report_matches_cli(capsys):
    import exactseq
    assert main(["check", EXAMPLE, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    res = exactseq.certify(EXAMPLE)
    assert res.verdict == "certified" and set(cli) <= set(res.report)
    assert res.model([[1, 1], [2, 1], [1, 0]]) == [(0, 0), (0, 0), (0, 3)]


def test_certificate_verify_statuses(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["check", EXAMPLE, "--certificate", str(out), "--quiet"]) == 0
    cert = json.loads(out.read_text())
    assert cert["attention"] == "causal" and cert["bounds"] == {"blocks": 20, "width": 4}
    assert main(["verify", str(out), EXAMPLE]) == 0
    assert capsys.readouterr().out == ("VERIFIED: causal (masked) attention, 12 blocks (bound 20), "
                                       "width 3 (bound 4), 182 non-zero parameters; every output "
                                       "equals its target exactly\n")
    assert main(["verify", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["verdict"] == "verified" and rep["prefixes"] == 12 and rep["positions"] == 16
    assert main(["verify", str(out), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["verify", str(out), str(ROOT / "examples/figure5.json")]) == 2   # another dataset
    assert "is not about" in capsys.readouterr().err
    bad = copy.deepcopy(cert)
    bad["blocks"][-1]["ff"]["W"][0] = [str(Q(v) * 2) for v in bad["blocks"][-1]["ff"]["W"][0]]
    j, i = first_wrong(bad)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["verify", str(tmp_path / "bad.json")]) == 1
    assert capsys.readouterr().out == (f"REJECTED: output: sequence {j} position {i}: the output "
                                       "differs from its target\n")
    assert main(["verify", str(tmp_path / "bad.json"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "rejected"
    bad = copy.deepcopy(cert)
    bad["blocks"][0]["claims"] = [{"kind": "disjoint"}]
    (tmp_path / "mal.json").write_text(json.dumps(bad))
    assert main(["verify", str(tmp_path / "mal.json")]) == 2
    assert "claim 'disjoint' is not checked in causal mode" in capsys.readouterr().err
    run = subprocess.run([sys.executable, "-m", "proofs_check", str(out)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("VERIFIED: causal (masked) attention, 12 blocks")


def test_unknown_and_failed_statuses(tmp_path, monkeypatch, capsys):
    out = tmp_path / "c.json"
    assert main(["check", EXAMPLE, "--certificate", str(out), "--quiet"]) == 0

    def undecided(*a, **k):
        raise proofs_check.Unknown("resources")
    monkeypatch.setattr(pc, "check", undecided)
    assert main(["verify", str(out)]) == 3
    assert capsys.readouterr().out == "UNKNOWN: resources\n"
    assert main(["check", EXAMPLE, "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["verdict"] == "unknown"
    monkeypatch.undo()
    real = causal.build

    def short(ds, progress=None):        # a constructor bug: the last hat move is lost
        cons = real(ds, progress)
        cons.model.blocks.pop()
        return cons
    monkeypatch.setattr(causal, "build", short)
    assert main(["check", EXAMPLE]) == 1
    last = capsys.readouterr().out.splitlines()[-2]
    assert last.startswith("verdict      FAILED: output: sequence ") and last.endswith(
        ": the output differs from its target")


@pytest.mark.parametrize("args, obj, msg", [
    (["--attention", "hardmax"], {"sequences": [{"input": [[0, 0]], "targets": [[1, 1]]}]},
     "a dataset with 'targets' is for causal attention: use --attention causal, or no --attention"),
    (["--attention", "causal"], {"sequences": [{"input": [[0, 0]], "output": [[1, 1]]}]},
     "--attention causal needs a dataset with 'targets' (one target point per input position)"),
    (["--max-width", "7"], {"sequences": [{"input": [[0, 0]], "targets": [[1, 1]]}]},
     "--max-width applies to hardmax only"),
    ([], {"sequences": [{"input": [[0, 0], [1, 1]], "targets": [[1, 1]]}]},
     "sequence 0: 'targets' has 1 point but 'input' has 2 tokens (one target per position)"),
])
def test_check_bad_input_is_exit_2(tmp_path, capsys, args, obj, msg):
    p = tmp_path / "d.json"
    p.write_text(json.dumps(obj))
    assert main(["check", str(p)] + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("exactseq: error: ") and err.rstrip().endswith(msg) and err.count("\n") == 1
