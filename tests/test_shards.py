"""The sharded check (--jobs, proofs_check/shards.py) gives exactly the answer of
one process: the same summary, or the same exception with the same message."""
import copy
import json
import os
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import proofs_check
from exactseq import certificate
from exactseq.cli import main
from exactseq.construction import build
from exactseq.dataset import load
from exactseq.strategies import datasets
from helpers import certify, mutants, seqs
from proofs_check import __main__ as pc_main, report, shards
from test_faults import SMALL, planted_faults

ROOT = Path(__file__).resolve().parent.parent
GOOD = str(ROOT / "tests/data/figure5.cert.json")
BAD = str(ROOT / "tests/data/figure5.bad.cert.json")


def in_process(work, ranges, progress=None):
    """The shards one after the other in this process (the combination only)."""
    comb = shards.Combine(len(ranges))
    for s, (lo, hi) in enumerate(ranges):
        for msg in shards.collect(work, lo, hi):
            comb.feed(s, msg)
    return comb.result()


def outcome(cert, **kw):
    """("verified", summary) or (exception type, message)."""
    try:
        return "verified", proofs_check.check(copy.deepcopy(cert), **kw)
    except (proofs_check.Rejected, proofs_check.Malformed, proofs_check.Unknown) as exc:
        return type(exc).__name__, str(exc)


def same(cert, jobs=(2, 3), local=True):
    want = outcome(cert)
    for j in jobs:
        assert outcome(cert, jobs=j, run_shards=in_process) == want, j
        if local:
            assert outcome(cert, jobs=j) == want, j
    return want


@pytest.fixture(scope="module")
def small():
    return certify(SMALL)[2]


def test_split():
    assert shards.split([1] * 6, 3) == [(0, 2), (2, 4), (4, 6)]
    assert shards.split([5, 1, 1, 1, 1, 1], 2) == [(0, 1), (1, 6)]
    assert shards.split([1, 1, 1, 100], 2) == [(0, 3), (3, 4)]
    assert shards.split([1, 1, 1, 100], 4) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert shards.split([3, 3], 9) == [(0, 1), (1, 2)]
    assert shards.split([7], 2) == [(0, 1)]
    for _ in range(200):
        sizes = [random.randint(1, 9) for _ in range(random.randint(1, 12))]
        n = random.randint(1, 14)
        r = shards.split(sizes, n)
        assert len(r) == min(n, len(sizes)) and r[0][0] == 0 and r[-1][1] == len(sizes)
        assert all(lo < hi for lo, hi in r) and all(a[1] == b[0] for a, b in zip(r, r[1:]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(max_sequences=5, max_pool=8))
def test_identity_on_generated_datasets(obj):
    cert = certify(obj)[2]
    assert same(cert)[0] == "verified"


@pytest.mark.parametrize("name", ["figure5", "masked", "circle"])
def test_identity_on_the_examples(name):
    ds = load(str(ROOT / f"examples/{name}.json"))
    cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
    assert same(cert)[0] == "verified"


def test_planted_faults_give_the_same_message(small):
    for name, bad, message, _ in planted_faults(small):
        kind, msg = same(bad)
        assert kind == "Rejected", name


def test_mutants_give_the_same_answer(small):
    """Every block dropped, duplicated or swapped, and 150 perturbed numbers."""
    every = list(mutants(small))
    blockwise = [m for label, m in every if label.split()[0] in ("drop", "duplicate", "swap")]
    numbers = random.Random(5).sample([m for label, m in every if label.split()[0] not in
                                       ("drop", "duplicate", "swap")], 150)
    answers = [same(m, local=False) for m in blockwise + numbers]
    assert {kind for kind, _ in answers} >= {"verified", "Rejected"}
    assert any(msg.endswith("not a current token") for _, msg in answers if isinstance(msg, str))
    for m in blockwise[:6]:
        same(m, jobs=(3,))


def _insert(cert, k, block):
    bad = copy.deepcopy(cert)
    bad["blocks"].insert(k, block)
    return bad


def _identity_block(d, claims):
    return {"phase": "extra", "claims": claims,
            "ff": {"eta": "1", "U": [], "b": [], "W": [[] for _ in range(d)]},
            "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}}}


def test_disjoint_across_shards():
    """Sequences 0 and 2 share the input token (0, 0); with 2 or 3 shards they are
    checked in different processes.  A disjoint claim on an added first block must
    name them, as one process does."""
    a, b, c, e = [0, 0], [1, 0], [0, 1], [3, 3]
    cert = certify(seqs(([a, b], [[5, 5]]), ([c, e], [[5, 6]]), ([a, e], [[1, 2]])))[2]
    assert shards.split([2, 2, 2], 2) == [(0, 2), (2, 3)]
    bad = _insert(cert, 0, _identity_block(2, [{"kind": "disjoint"}]))
    assert same(bad) == ("Rejected", "block 1 (extra): disjoint: sequences 0 and 2 share a token")


def test_hat_tube_across_shards(small):
    """A hat claim moving a token of the last sequence, with a tube wide enough to
    hold tokens of the other sequences only: the message names the first of them,
    which another process saw."""
    k = max(i for i, b in enumerate(small["blocks"]) if b["phase"] == "interpolation")
    bad = copy.deepcopy(small)
    cl = next(c for c in bad["blocks"][k]["claims"] if c["kind"] == "hat")
    cl["eps"] = "1000000"
    kind, msg = same(bad)
    assert kind == "Rejected" and msg.startswith(f"block {k + 1} (interpolation): hat: the tube also holds "
                                                 "a token of sequence ")
    assert msg == f"block {k + 1} (interpolation): hat: the tube also holds a token of sequence 0"


def test_moved_point_not_a_token_in_any_shard(small):
    """A perturbed weight sends a leader elsewhere, so a later hat claim's point is
    no token at all: no shard sees it (each says so; together: not a current
    token)."""
    for label, m in mutants(small):
        kind, msg = outcome(m)
        if kind == "Rejected" and msg.endswith("hat: the moved point is not a current token"):
            break
    else:
        raise AssertionError("no mutant moves a claimed point away")
    assert same(m) == (kind, msg)


def test_first_failure_wins_across_blocks_and_shards(small):
    """A malformed block after a token failure, and before one: the earlier is named."""
    faults = planted_faults(small)
    leaders = next(f[1] for f in faults if f[0] == "leaders swapped")
    k = next(i for i, b in enumerate(leaders["blocks"]) if any(c["kind"] == "leaders" for c in b["claims"]))
    late = copy.deepcopy(leaders)
    late["blocks"][-1]["sa"]["A"] = {"kind": "weird"}
    assert same(late)[1].startswith(f"block {k + 1} (separation): leaders: the leader of sequence 0")
    early = copy.deepcopy(leaders)
    early["blocks"][0]["claims"].append({"kind": "magic"})
    assert same(early) == ("Malformed", "block 1 (separation): unknown claim kind 'magic'")
    counts = next(f[1] for f in faults if f[0] == "counts value")
    wrong_output = copy.deepcopy(counts)
    wrong_output["dataset"]["sequences"][2]["output"] = [["9", "9"]]
    assert same(wrong_output)[1].endswith("counts: sequence 0 has 1 distinct points, expected 2")


def test_a_dead_shard_is_never_a_pass(small, monkeypatch):
    monkeypatch.setattr(shards, "run", lambda *a, **k: os._exit(7))     # inherited by the forked shards
    verdict, result = report.run(small, jobs=2)
    assert verdict == "unknown" and "exit status 7" in result["reason"]


def test_a_time_limit_is_never_a_pass(small, monkeypatch):
    monkeypatch.setattr(shards, "run", lambda *a, **k: time.sleep(30))
    t = time.monotonic()
    with pytest.raises(proofs_check.Unknown, match="did not finish within 0.5 s"):
        proofs_check.check(small, jobs=2, run_shards=lambda work, ranges, progress:
                           shards.run_local(work, ranges, progress, timeout=0.5))
    assert time.monotonic() - t < 10


def test_progress_reaches_the_last_block(small):
    seen = []
    proofs_check.check(small, jobs=2, progress=lambda k, n: seen.append((k, n)))
    assert seen and seen[-1] == (len(small["blocks"]),) * 2


# ------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def files(tmp_path_factory, small):
    d = tmp_path_factory.mktemp("certs")
    out = {"good": GOOD, "bad": BAD}
    unknown = copy.deepcopy(small)          # softmax without a saturating layer: undecided
    unknown["attention"], unknown["softmax"] = "softmax", {"tau": "1/1000000", "order": 64}
    malformed = json.loads(Path(GOOD).read_text())
    malformed["blocks"][3]["sa"]["A"] = {"kind": "weird"}
    cross = [f for f in planted_faults(small) if f[0] == "hat tube"][0][1]
    for name, cert in (("unknown", unknown), ("malformed", malformed), ("cross", cross)):
        p = d / f"{name}.json"
        p.write_text(json.dumps(cert))
        out[name] = str(p)
    return out


@pytest.mark.parametrize("name, status", [("good", 0), ("bad", 1), ("cross", 1), ("malformed", 2),
                                          ("unknown", 3)])
def test_cli_jobs_prints_and_exits_as_one_process(files, capsys, name, status):
    path = files[name]
    for mode in ([], ["--json"], ["--quiet"]):
        assert main(["verify", path, *mode]) == status
        one = capsys.readouterr()
        for jobs in ("2", "3"):
            assert main(["verify", path, *mode, "--jobs", jobs]) == status
            assert capsys.readouterr() == one
    assert pc_main.main([path, "--jobs", "2"]) == status
    two = capsys.readouterr()
    assert pc_main.main([path]) == status
    assert capsys.readouterr() == two


def test_cli_bad_jobs_is_one_line_and_2(capsys):
    for argv in (["verify", GOOD, "--jobs", "0"], ["verify", GOOD, "--jobs", "-3"],
                 ["check", str(ROOT / "examples/figure5.json"), "--jobs", "0"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"exactseq: error: --jobs must be an integer >= 1, not {argv[-1]}\n"
    with pytest.raises(SystemExit) as e:
        pc_main.main([GOOD, "--jobs", "0"])
    assert e.value.code == 2
    assert capsys.readouterr().err == ("python -m proofs_check: error: --jobs must be an integer >= 1, not 0 "
                                       "(see python -m proofs_check --help)\n")


def test_cli_check_with_jobs(capsys):
    path = str(ROOT / "examples/masked.json")
    assert main(["check", path, "--json", "--jobs", "2"]) == 0
    two = json.loads(capsys.readouterr().out)
    assert main(["check", path, "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    for r in (one, two):
        r.pop("time_s")
    assert one == two


def test_scheduler_without_dask_is_one_line_and_2(monkeypatch, capsys, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "distributed", None)            # import distributed fails
    for argv in (["verify", GOOD, "--scheduler", "local"],
                 ["fuzz", "hat", "--count", "2", "--scheduler", "local", "--out", str(tmp_path)]):
        assert main(argv) == 2
        assert capsys.readouterr().err == "exactseq: --scheduler needs dask: pip install 'exactseq[dask]'\n"


# ------------------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def session():
    distributed = pytest.importorskip("distributed")
    from exactseq.distributed import Session
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        yield Session(client=client)


def test_dask_verify_is_one_process(session, small):
    good = json.loads(Path(GOOD).read_text())
    for cert in (good, small, [f for f in planted_faults(small) if f[0] == "hat tube"][0][1],
                 [f for f in planted_faults(small) if f[0] == "leaders swapped"][0][1]):
        want = outcome(cert)
        for jobs in (2, 3):
            assert outcome(cert, jobs=jobs, run_shards=session.run_shards) == want


def test_dask_fuzz_is_one_process(session):
    from exactseq import fuzz
    one = fuzz.campaign("hat", count=25, seed=3, jobs=1)
    two = fuzz.campaign("hat", count=25, seed=3, jobs=2, start_pool=session.pool)
    one.pop("seconds"), two.pop("seconds")
    assert one == two


def test_dask_cli_fuzz_on_a_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    args = ["fuzz", "rank-one", "--count", "12", "--seed", "2", "--json"]
    assert main(args + ["--jobs", "1", "--out", str(tmp_path / "a")]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(args + ["--scheduler", "local", "--jobs", "1", "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr()
    assert "1 jobs on dask (local)" in out.err
    two = json.loads(out.out)
    for s in one + two:
        s.pop("seconds"), s.pop("files")
    assert one == two
