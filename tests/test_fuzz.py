"""exactseq fuzz: every target runs clean; a planted broken lemma is caught and shrunk."""
import json

import pytest

from exactseq import fuzz
from exactseq.cli import main

LEMMAS = [n for n in fuzz.TARGETS if n != "pipeline"]


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
