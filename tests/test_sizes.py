"""Size-class files (exactseq/hostile.py): each ends with its verdict or a one-line
refusal and the right exit status; the ``sizes`` fuzz target runs clean and
reports a planted wrong verdict, an internal error and a slow check."""
import json
import random
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from exactseq import fuzz, hostile
from exactseq.errors import InputError
from proofs_check import Limits, report

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks")]

import families  # noqa: E402

VERIFIED = "VERIFIED: {} blocks (bound {}), width 0 (bound 4), {} non-zero parameters; every output equals its target exactly"
DIFFERS = "REJECTED: output: sequence 0: T(X) differs from Y (Hausdorff distance > 0)"


def check(tmp_path, obj, *flags, name="c.json"):
    """(exit status, the one line printed, the file) of python -m proofs_check FILE."""
    p = tmp_path / name
    p.write_text(json.dumps(obj, separators=(",", ":")))
    r = subprocess.run([sys.executable, "-m", "proofs_check", str(p), *flags],
                       capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    assert len(out.splitlines()) == 1 and "Traceback" not in out, out
    return r.returncode, out, p


def refusal(p, what):
    return f"proofs_check: {p}: malformed: {what}"


# ------------------------------------------------------------------ long sequences
@pytest.mark.parametrize("args", [(3, 50, 4, 0), (1, 200, 4, 3), (2, 30, 3, 1)])
def test_long_dataset_is_the_decimals_family(args):
    N, n, d, seed = args
    assert hostile.long_dataset(N, n, d, seed) == families.decimals(N, n, d, 5, seed=seed)
    assert hostile.long_dataset(N, n, d, seed, m=2, overlap=0.5) == \
        families.decimals(N, n, d, 2, overlap=0.5, seed=seed)


# ------------------------------------------------------------------ full attention
def test_full_attention_at_1500_tokens_is_the_43_kb_file_and_verifies(tmp_path):
    cert = hostile.full_attention(1500)
    seq = cert["dataset"]["sequences"][0]
    assert len(seq["input"]) == 1500 and len(cert["blocks"]) == 5
    assert all(b["sa"]["A"]["kind"] == "full" and b["sa"]["V"]["kind"] == "full" and "claims" not in b
               and b["ff"] == {"eta": "1", "U": [], "b": [], "W": [[]] * 4} for b in cert["blocks"])
    assert [b["sa"]["rho"] for b in cert["blocks"]] == ["1", "1", "1", "1", "0"]
    m = len(seq["output"])
    status, out, p = check(tmp_path, cert)
    assert 40_000 <= p.stat().st_size <= 47_000
    params = sum(F(c) != 0 for b in cert["blocks"] for k in "AV" for r in b["sa"][k]["rows"] for c in r)
    # and eta = 1 in five blocks, rho = 1 in four
    assert (status, out) == (0, VERIFIED.format(5, 2 * m + 3, params + 9))
    y = seq["output"][-1]
    y[-1] = str(F(y[-1]) + F(1, 7))                   # one coordinate moved: rejected
    assert check(tmp_path, cert)[:2] == (1, DIFFERS)


def test_full_attention_small_verdicts(tmp_path):
    assert check(tmp_path, hostile.full_attention(300)) == \
        (0, VERIFIED.format(5, 67, 153), tmp_path / "c.json")
    assert check(tmp_path, hostile.full_attention(300, wrong=True))[:2] == (1, DIFFERS)


@settings(max_examples=12, deadline=None)
@given(st.integers(2, 40), st.integers(1, 4), st.integers(2, 5), st.integers(0, 10 ** 6))
def test_full_attention_outputs_are_the_reference_kernels(n, blocks, d, seed):
    """The outputs the generator computes are those of the reference kernel
    (every token, every score, from the definitions), and a planted one is not."""
    try:
        cert = hostile.full_attention(n, blocks, d, seed)
    except InputError as exc:             # too few output points for the block bound
        assert "exceed the bound 2m + 3" in str(exc)
        return
    assert report.run(cert, reference=True)[0] == "verified"
    assert report.run(hostile.full_attention(n, blocks, d, seed, wrong=True), reference=True)[1]["reason"] \
        == DIFFERS[len("REJECTED: "):]


# ------------------------------------------------------------------ hostile numbers
def test_tiny_denominators_verify_and_a_lower_limit_refuses_them(tmp_path):
    cert = hostile.tiny_denominators()
    status, out, p = check(tmp_path, cert)
    assert p.stat().st_size < 1000
    assert (status, out) == (2, refusal(p, "dataset sequence 0 input token 1: the work on numbers of 1000 "
                                        "digits or more (the sum of (digits/1000)^2) exceeds the limit of "
                                        "100000 (raise it with --max-work)"))
    status, out, p = check(tmp_path, cert, "--max-work", "100000000")
    assert (status, out) == (0, VERIFIED.format(1, 15, 9))
    assert cert["dataset"]["sequences"][0]["input"][0] == ["1/3+1e-99990", "-2/3-1e-99990"]
    status, out, p = check(tmp_path, cert, "--max-digits", "50000")
    assert (status, out) == (2, refusal(p, "dataset sequence 0 input token 0: a literal of about 99990 "
                                        "digits exceeds the limit of 50000 (raise it with --max-digits)"))


def test_power_fractions(tmp_path):
    cert = hostile.power_fractions(10)
    text = json.dumps(cert, separators=(",", ":"))
    assert 9_000 <= len(text) <= 10_500 and "^9999/" in text
    status, out, p = check(tmp_path, cert, "--max-digits", "30000")
    assert (status, out) == (2, refusal(p, "dataset sequence 0 input token 0: a power of about 42037 digits "
                                        "exceeds the limit of 30000 (raise it with --max-digits)"))
    assert check(tmp_path, hostile.power_fractions(1, exponent=500))[:2] == (0, VERIFIED.format(1, 5, 1))


def test_growth_stops_at_the_block_growth_stop_names(tmp_path):
    assert hostile.growth_stop(60, 60, 2000) == (51, 52)
    assert hostile.growth_stop(60, 60, 2000, 20000) == (11, 12)
    status, out, p = check(tmp_path, hostile.growth(), "--max-digits", "20000", "--max-work", "100000000")
    assert (status, out) == (2, refusal(p, "block 11 (scale): a computed number's numerator or denominator "
                                        "exceeds the limit of 20000 digits (raise it with --max-digits)"))
    assert hostile.growth_stop(10, 3, 50) == ()
    assert check(tmp_path, hostile.growth(10, 3, 50, exact_output=True))[:2] == (0, VERIFIED.format(10, 13, 20))
    assert check(tmp_path, hostile.growth(10, 3, 50))[:2] == (1, DIFFERS)
    with pytest.raises(InputError, match="62 blocks exceed the bound 4 tokens \\+ 1 = 61"):
        hostile.growth(62, 15)


@pytest.mark.parametrize("blocks, tokens, digits, limit", [(60, 15, 10, 300), (20, 9, 100, 1000),
                                                           (12, 3, 1000, 5000), (10, 7, 40, 330)])
def test_growth_stop_agrees_with_the_checker(blocks, tokens, digits, limit):
    stop = hostile.growth_stop(blocks, tokens, digits, limit)
    verdict, res = report.run(hostile.growth(blocks, tokens, digits), Limits(max_digits=limit))
    assert verdict == "malformed" and int(res["reason"].split()[1]) in stop


def test_field_coefficients_refused_then_verified(tmp_path):
    cert = hostile.field_coefficients()
    assert len(cert["field"]["minpoly"]) == 17 and len(cert["field"]["minpoly"][1]) == 10001
    status, out, p = check(tmp_path, cert)
    assert (status, out) == (2, refusal(p, "field.minpoly: an integer of 10001 digits exceeds the limit of "
                                        "500 (raise it with --max-field-digits)"))
    assert check(tmp_path, cert, "--max-field-digits", "10001")[:2] == (0, VERIFIED.format(2, 7, 4))
    small = hostile.field_coefficients(degree=5, digits=400)
    assert report.run(small)[0] == "verified"
    small["blocks"][1]["ff"]["eta"][0] = "1"          # 1 + theta^-1: not the inverse any more
    assert report.run(small)[1]["reason"] == DIFFERS[len("REJECTED: "):]


# ------------------------------------------------------------------ the fuzz target
def test_sizes_target_runs_clean(monkeypatch):
    monkeypatch.setattr(fuzz, "SIZES_SECONDS", 3600.0)     # no timing in tests: only verdicts
    s = fuzz.campaign("sizes", count=6, seed=7)
    assert s["errors"] == [] and s["bugs"] == [] and s["all_preconditions"] == s["cases"] == 6
    kinds = {fuzz.TARGETS["sizes"].generate(random.Random(f"7:sizes:{i}"))["kind"] for i in range(6)}
    assert len(kinds) == 5


def test_sizes_is_not_in_all():
    assert "sizes" in fuzz.TARGETS and "sizes" not in fuzz.ALL
    assert fuzz.ALL == [n for n in fuzz.TARGETS if n != "sizes"]


CASE = {"kind": "full-attention", "params": {"n": 30, "blocks": 2, "d": 2, "seed": 1, "wrong": True},
        "limits": {}}


def test_a_wrong_verdict_is_a_finding(monkeypatch):
    target = fuzz.TARGETS["sizes"]
    assert target.run(CASE) == ({}, True, None)
    monkeypatch.setattr(report, "run", lambda cert, limits: ("verified", {"verdict": "verified", "reason": None}))
    assert target.run(CASE) == ({}, False, "expected rejected (the planted output), got verified: None")


def test_an_internal_error_is_a_finding(monkeypatch):
    monkeypatch.setattr(report, "run", lambda cert, limits: (
        "rejected", {"verdict": "rejected", "reason": "internal error: ZeroDivisionError: boom"}))
    with pytest.raises(RuntimeError, match="^the checker ended with rejected: internal error: "
                                           "ZeroDivisionError: boom$"):
        fuzz.TARGETS["sizes"].run(CASE)


def test_a_slow_check_is_a_finding_with_its_note(monkeypatch, tmp_path):
    monkeypatch.setattr(fuzz, "SIZES_SECONDS", 0.0)
    s = fuzz.campaign("sizes", count=2, seed=7)
    assert s["errors"] == [] and len(s["bugs"]) == 2
    assert all(b["note"].startswith("took ") and b["note"].endswith(" s (over 0 s)") for b in s["bugs"])
    text = fuzz.table(s)
    assert "conclusion failed in 2  <-- BUG (smallest saved)" in text and "BUG on case 0: took " in text
    files = fuzz.save(s, str(tmp_path))
    assert sorted(Path(f).name for f in files) == ["sizes-BUG-0.json", "sizes-BUG-1.json"]
    assert json.loads(Path(files[0]).read_text())["case"]["kind"] in fuzz.Sizes.KINDS


@pytest.mark.parametrize("reason, ok", [
    ("block 11 (scale): a computed number's numerator or denominator exceeds the limit of 20000 digits "
     "(raise it with --max-digits)", True),
    ("block 12 (scale): a computed number's numerator or denominator exceeds the limit of 20000 digits "
     "(raise it with --max-digits)", True),
    ("block 10 (scale): a computed number's numerator or denominator exceeds the limit of 20000 digits "
     "(raise it with --max-digits)", False),
    ("block 11 (scale): a computed number's numerator or denominator exceeds the limit of 2000 digits "
     "(raise it with --max-digits)", False),
])
def test_growth_judge_accepts_the_stop_block_or_the_next(reason, ok):
    case = {"kind": "growth", "params": {"blocks": 60, "tokens": 60, "digits": 2000, "exact_output": False}}
    got = fuzz.Sizes.judge(case, Limits(max_digits=20000), "malformed", reason)
    assert (got is None) == ok
    if not ok:
        assert got == f"expected malformed at block 11 or 12, got malformed: {reason}"
    assert fuzz.Sizes.judge(case, Limits(max_digits=20000), "rejected", DIFFERS[len("REJECTED: "):]) \
        == f"expected malformed at block 11 or 12, got rejected: {DIFFERS[len('REJECTED: '):]}"


def test_tiny_denominators_outputs_are_the_reference_kernels():
    for args in [(4, 300, 3), (5, 1000, 2), (2, 300, 1)]:
        assert report.run(hostile.tiny_denominators(*args), reference=True)[0] == "verified"


def test_a_sizes_case_replays_from_the_command_line(tmp_path, capsys):
    from exactseq.cli import main
    p = tmp_path / "case.json"
    p.write_text(json.dumps({"target": "sizes", "case": CASE}))
    assert main(["fuzz", "--replay", str(p)]) == 0
    assert capsys.readouterr().out == "sizes (checker limits): preconditions none; conclusion holds\n"
