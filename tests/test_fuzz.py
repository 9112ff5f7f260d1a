"""exactseq fuzz: every target runs clean; a planted broken lemma is caught and shrunk."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exactseq import fuzz
from exactseq.cli import main

LEMMAS = [n for n in fuzz.ALL if n != "pipeline"]


@pytest.mark.parametrize("name", LEMMAS)
def test_each_lemma_target_finds_no_bug(name):
    s = fuzz.campaign(name, count=120, seed=1)
    assert s["bugs"] == [] and s["errors"] == []
    assert s["all_preconditions"] > 0
    assert s["cases"] == 120


def test_pipeline_target_small():
    s = fuzz.campaign("pipeline", count=25, seed=2)
    assert s["bugs"] == [] and s["errors"] == [] and s["all_preconditions"] > 0


def test_campaign_is_deterministic_for_a_seed():
    a = fuzz.campaign("hat", count=60, seed=7)
    b = fuzz.campaign("hat", count=60, seed=7, jobs=2)
    for s in (a, b):
        s.pop("seconds")
    assert a == b


def test_violated_preconditions_are_tallied_with_shrunk_cases():
    s = fuzz.campaign("hat", count=200, seed=3)
    eps = s["preconditions"]["eps_le_gap"]
    assert eps["violated"] > 0 and eps["failed"] > 0
    small = eps["smallest"]
    assert len(small["points"]) == 2               # shrunk to two points
    pre, ok = fuzz.TARGETS["hat"].run(small)
    assert not pre["eps_le_gap"] and not ok


def test_planted_broken_lemma_is_caught_and_shrunk(monkeypatch, tmp_path, capsys):
    from exactseq.construction import common

    real = common.hat_ff

    def broken(v, s0, eps, p, y, shift=None):       # the hat's right foot is too close
        ff = real(v, s0, eps, p, y, shift)
        b = list(ff.b)
        b[2] = -s0 - eps / 2
        return common.FF(ff.eta, ff.U, tuple(b), ff.W)

    monkeypatch.setattr(common, "hat_ff", broken)
    assert main(["fuzz", "hat", "--count", "150", "--seed", "4", "--jobs", "1",
                 "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "<-- BUG" in out
    bug_files = sorted(tmp_path.glob("hat-BUG-*.json"))
    assert 1 <= len(bug_files) <= 3
    for f in bug_files:
        case = json.loads(f.read_text())["case"]
        assert len(case["points"]) <= 2 and fuzz.size(case)[0] <= 12
    assert main(["fuzz", "--replay", str(bug_files[0])]) == 1
    monkeypatch.setattr(common, "hat_ff", real)
    assert main(["fuzz", "--replay", str(bug_files[0])]) == 0


def test_fuzz_cli_list_and_errors(capsys):
    assert main(["fuzz", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in fuzz.TARGETS:
        assert name in listing
    assert main(["fuzz", "nonsense"]) == 2
    assert capsys.readouterr().err == \
        "exactseq: error: unknown fuzz target 'nonsense'; see 'exactseq fuzz --list'\n"


def test_fuzz_cli_time_budget_and_json(tmp_path, capsys):
    assert main(["fuzz", "extreme-leader", "--time", "1", "--seed", "5", "--jobs", "1",
                 "--json", "--out", str(tmp_path)]) == 0
    (s,) = json.loads(capsys.readouterr().out)
    assert s["target"] == "extreme-leader" and s["seed"] == 5 and s["cases"] >= 200
    assert s["bugs"] == [] and s["preconditions"]["vertex"]["violated"] > 0
    saved = json.loads((tmp_path / "extreme-leader-violates-vertex.json").read_text())
    assert saved["reproduce"].startswith("exactseq fuzz --replay ")


# --------------------------------------------------------------- failure paths and output modes

ROOT = Path(__file__).resolve().parent.parent


def fuzz_cli(*args, timeout=60):
    """``exactseq fuzz ARGS`` in a fresh process; (process, elapsed seconds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-c", "import sys; from exactseq.cli import main; sys.exit(main())",
                        "fuzz", *args], capture_output=True, text=True, env=env, timeout=timeout)
    return p, time.monotonic() - t


@pytest.fixture
def no_campaign(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("no fuzzing may start")
    monkeypatch.setattr(fuzz, "campaign", refuse)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_ctrl_c_with_two_workers_ends_promptly_with_130(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", "import sys; from exactseq.cli import main; sys.exit(main())",
                          "fuzz", "--jobs", "2", "--time", "60", "--out", str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        first = p.stderr.readline()               # the campaign is about to start
        time.sleep(2)
        t = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)           # as a terminal's Ctrl-C: parent and workers
        out, err = p.communicate(timeout=10)
        assert time.monotonic() - t < 10
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 130
    assert "Traceback" not in err and out == ""
    assert first == "exactseq fuzz: seed 0, 2 jobs\n"
    lines = [first.strip()] + err.splitlines()
    assert len(lines) == 2 and lines[1].startswith("exactseq fuzz: interrupted after ")
    assert lines[1].endswith(" cases") and lines[1].split()[4].isdigit()


def test_ctrl_c_in_process_reports_the_cases_run(monkeypatch, tmp_path, capsys):
    real = fuzz.run_one

    def run_one(args):
        if args[2] == 7:
            raise KeyboardInterrupt
        return real(args)

    monkeypatch.setattr(fuzz, "run_one", run_one)
    assert main(["fuzz", "hat", "--count", "20", "--jobs", "1", "--out", str(tmp_path)]) == 130
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[-1] == "exactseq fuzz: interrupted after 7 cases"


def test_ctrl_c_while_waiting_for_workers_terminates_them():
    import multiprocessing

    def progress(summary, elapsed):
        if summary["cases"] >= 50:
            raise KeyboardInterrupt

    t = time.monotonic()
    with pytest.raises(fuzz.Interrupted) as exc:
        fuzz.campaign("hat", jobs=2, progress=progress)         # no limit: runs until interrupted
    assert exc.value.cases >= 50 and time.monotonic() - t < 10
    assert multiprocessing.active_children() == []


def test_out_naming_a_file_is_refused_before_any_work(tmp_path, capsys, no_campaign):
    f = tmp_path / "results"
    f.write_text("keep me\n")
    assert main(["fuzz", "hat", "--count", "5", "--out", str(f)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"exactseq: error: --out {f}: exists and is not a directory\n"
    assert f.read_text() == "keep me\n"
    assert main(["fuzz", "hat", "--count", "5", "--out", str(f / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"exactseq: error: --out {f / 'sub'}: cannot create the directory: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["--time", "-1"], "--time must be a positive, finite number of seconds, not -1.0"),
    (["--time", "0"], "--time must be a positive, finite number of seconds, not 0.0"),
    (["--time", "nan"], "--time must be a positive, finite number of seconds, not nan"),
    (["--time", "inf"], "--time must be a positive, finite number of seconds, not inf"),
    (["--jobs", "0"], "--jobs must be an integer >= 1, not 0"),
    (["--count", "-1"], "--count must be an integer >= 0, not -1"),
])
def test_bad_limits_are_refused(tmp_path, capsys, no_campaign, args, message):
    assert main(["fuzz", "hat", *args, "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr() == ("", f"exactseq: error: {message}\n")
    assert not (tmp_path / "o").exists()


def test_campaign_refuses_bad_limits():
    for kw in ({"count": -1}, {"seconds": 0}, {"seconds": math.nan}, {"jobs": 0}):
        with pytest.raises(ValueError):
            fuzz.campaign("hat", **kw)


def test_count_zero_runs_no_case(tmp_path, capsys):
    assert fuzz.campaign("hat", count=0, jobs=2)["cases"] == 0
    assert main(["fuzz", "hat", "--count", "0", "--jobs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "hat (Lemma 4.8): 0 cases" in out and "no cases were run" in out
    assert main(["fuzz", "hat", "--count", "0", "--json", "--out", str(tmp_path)]) == 0
    (s,) = json.loads(capsys.readouterr().out)
    assert s["cases"] == 0 and s["files"] == []


def test_time_limit_is_checked_per_case(tmp_path):
    t = time.monotonic()
    s = fuzz.campaign("hat", seconds=0.5, jobs=2)
    assert time.monotonic() - t < 3 and s["cases"] > 0
    p, took = fuzz_cli("extreme-leader", "--time", "1", "--jobs", "2", "--out", str(tmp_path))
    assert p.returncode == 0 and took < 4, (took, p.stderr)
    # the slowest target: about 0.05 s a case, so a batch of 200 took about 10 s
    p, took = fuzz_cli("pipeline", "--time", "1", "--jobs", "1", "--json", "--out", str(tmp_path))
    assert p.returncode in (0, 1), p.stderr
    (s,) = json.loads(p.stdout)
    assert s["cases"] > 0 and s["seconds"] < 3.5
    assert took < 6       # interpreter start-up, 1 s of cases, at most 1 s of shrinking


def test_list_json(capsys):
    assert main(["fuzz", "--list", "--json"]) == 0
    targets = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in targets] == list(fuzz.TARGETS)
    for t in targets:
        assert t["lemma"] == fuzz.TARGETS[t["name"]].lemma and t["doc"]
        assert t["preconditions"] == list(fuzz.TARGETS[t["name"]].preconditions)


PAIR = {"input": [["1", "0"], ["0", "1"]], "output": [["2", "2"]]}


def saved_pipeline_case(out, case):
    summary = {"target": "pipeline", "bugs": [], "errors": [],
               "preconditions": {"distinct_inputs": {"smallest": case},
                                 "distinct_tokens": {"smallest": None}}}
    return [Path(f) for f in fuzz.save(summary, str(out))]


def test_replay_of_a_saved_dataset_is_a_pipeline_case(tmp_path, capsys):
    swapped = {"input": [["0", "1"], ["1", "0"]], "output": [["0", "0"]]}
    case = {"dimension": 2, "sequences": [PAIR, swapped], "perm_seed": 3}
    files = saved_pipeline_case(tmp_path, case)
    assert [f.name for f in files] == ["pipeline-violates-distinct_inputs.json",
                                       "pipeline-violates-distinct_inputs.dataset.json"]
    lines = []
    for f in files:
        assert main(["fuzz", "--replay", str(f)]) == 0
        out = capsys.readouterr().out
        assert out.startswith("pipeline (Theorem 1.4): preconditions distinct_inputs VIOLATED, "
                              "distinct_tokens holds; conclusion ")
        lines.append(out)
    assert lines[0] == lines[1]
    assert main(["fuzz", "--replay", str(files[1]), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["target"] == "pipeline" and r["preconditions"]["distinct_inputs"] is False
    assert r["bug"] is False and r["error"] is None


def test_replay_of_a_plain_dataset(tmp_path, capsys):
    f = tmp_path / "d.json"            # no 'dimension', integer coordinates, names
    f.write_text(json.dumps({"sequences": [dict(PAIR, name="a", input=[[1, 0], [0, 1]]),
                                           {"input": [[3, 3]], "output": [[0, 0]]}]}))
    assert main(["fuzz", "--replay", str(f), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["preconditions"] == {"distinct_inputs": True, "distinct_tokens": True}
    assert r["conclusion"] is True and r["bug"] is False


def test_replay_reports_an_exception_as_a_finding(tmp_path, capsys, monkeypatch):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"target": "hat", "case": {"points": [["0", "0"], ["1", "0"]], "p": 0,
                                                       "v": ["1", "0"], "eps": "1", "y": ["5", "5"]}}))
    assert main(["fuzz", "--replay", str(f)]) == 0

    def boom(self, case):
        raise ZeroDivisionError("planted")
    monkeypatch.setattr(type(fuzz.TARGETS["hat"]), "run", boom)
    capsys.readouterr()
    assert main(["fuzz", "--replay", str(f)]) == 1
    assert capsys.readouterr().out == "hat (Lemma 4.8): ERROR ZeroDivisionError: planted\n"


@pytest.mark.parametrize("content, reason", [
    (None, "cannot read it: No such file or directory"),
    ("{", "not JSON ("),
    ("[1, 2]", "expected a case saved by exactseq fuzz"),
    ('{"target": "nonsense", "case": {}}', "unknown fuzz target 'nonsense'; see 'exactseq fuzz --list'"),
    ('{"target": "hat", "case": [1]}', "'case' must be a JSON object"),
    ('{"target": "hat", "case": {"points": []}}', "not a hat case: missing 'eps', 'p', 'v', 'y'"),
    ('{"target": "hat", "case": {"points": [["0", "0"]], "p": 5, "v": ["1", "0"], "eps": "1", '
     '"y": ["0", "0"]}}', "not a valid hat case"),
])
def test_bad_replay_files_give_one_line_and_2(tmp_path, capsys, content, reason):
    f = tmp_path / "case.json"
    if content is not None:
        f.write_text(content)
    assert main(["fuzz", "--replay", str(f)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"exactseq: error: {f}: cannot replay: {reason}")


def test_planted_bug_in_json_mode_exits_1(monkeypatch, tmp_path, capsys):
    from exactseq.construction import common

    real = common.hat_ff

    def broken(v, s0, eps, p, y, shift=None):
        ff = real(v, s0, eps, p, y, shift)
        return common.FF(ff.eta, ff.U, tuple(ff.b[:2]) + (-s0 - eps / 2,) + tuple(ff.b[3:]), ff.W)

    monkeypatch.setattr(common, "hat_ff", broken)
    assert main(["fuzz", "hat", "--count", "150", "--seed", "4", "--jobs", "1", "--json",
                 "--out", str(tmp_path)]) == 1
    (s,) = json.loads(capsys.readouterr().out)
    assert s["bug_count"] > 0 and s["bugs"] and all(Path(f).exists() for f in s["files"])


def test_text_and_json_modes_of_a_clean_run(tmp_path):
    p, _ = fuzz_cli("rank-one", "--count", "20", "--jobs", "2", "--out", str(tmp_path))
    assert p.returncode == 0 and p.stdout.startswith("target rank-one (Lemma 4.1): 20 cases")
    assert p.stderr == "exactseq fuzz: seed 0, 2 jobs\n"
    p, _ = fuzz_cli("rank-one", "--count", "20", "--jobs", "2", "--json", "--out", str(tmp_path))
    assert p.returncode == 0 and p.stderr == "exactseq fuzz: seed 0, 2 jobs\n"
    (s,) = json.loads(p.stdout)
    assert s["cases"] == 20 and s["bugs"] == []
