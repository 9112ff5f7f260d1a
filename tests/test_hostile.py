"""Hostile certificates: each ends quickly with one line and the right exit status,
and no representation of a number can stand in for a different number."""
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import proofs_check
from proofs_check import Limits
from proofs_check.numbers import Field, K, Numbers, prove_distinct, sturm_count
from fractions import Fraction as F

ROOT = Path(__file__).resolve().parent.parent
GOOD = json.loads((ROOT / "tests/data/figure5.cert.json").read_text())


def field_cert(minpoly, interval, atoms, X, Y=None, blocks=()):
    """A hand-made certificate over a number field (no blocks: T(X) = X)."""
    return {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax",
            "dataset": {"dimension": 2, "sequences": [{"input": X, "output": Y or X}]},
            "field": {"minpoly": minpoly, "interval": interval, "atoms": atoms}, "blocks": list(blocks)}


def run_checker(tmp_path, obj=None, text=None, flags=()):
    p = tmp_path / "c.json"
    p.write_text(text if text is not None else json.dumps(obj))
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "proofs_check", str(p), *flags],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip(), time.monotonic() - t


# --------------------------------------------------------------- soundness
SQRT2, SQRT8 = ["0", "1", "0", "0"], ["0", "3", "0", "-1/2"]   # in Q[x]/((x^2-2)(x^2-8))
REDUCIBLE = ["16", "0", "-10", "0", "1"]


@pytest.mark.parametrize("cert, message", [
    # x^2 - 1 and an atom sqrt(1) = theta: "1" and "sqrt(1)" are one number
    (field_cert(["-1", "0", "1"], ["0", "2"], [{"base": "1", "exponent": "1/2", "value": ["0", "1"]}],
                [["sqrt(1)", "0"], ["1", "0"]]),
     "REJECTED: field: minpoly is reducible: a number has two different representations"),
    # (x^2-2)(x^2-8): sqrt(8)/2 written as 3/2 theta - 1/4 theta^3, a second representation of sqrt(2)
    (field_cert(REDUCIBLE, ["7/5", "3/2"], [{"base": "2", "exponent": "1/2", "value": SQRT2},
                                            {"base": "8", "exponent": "1/2", "value": SQRT8}],
                [["sqrt(2)", "0"], ["sqrt(8)/2", "0"]]),
     "REJECTED: field: minpoly is reducible: a number has two different representations"),
    # the same number written twice: one representation, so the repeat is seen
    (field_cert(["-2", "0", "1"], ["1", "2"], [{"base": "2", "exponent": "1/2", "value": ["0", "1"]}],
                [["sqrt(2)", "0"], ["2^(1/2)", "0"]]),
     "REJECTED: dataset: assumption 1.3 ii: sequence 0 repeats a token in its input"),
    # an interval holding three roots of x^3 - 2x
    (field_cert(["0", "-2", "0", "1"], ["-2", "2"], [{"base": "2", "exponent": "1/2", "value": ["0", "1", "0"]}],
                [["sqrt(2)", "0"], ["1", "0"]]),
     "REJECTED: field: the interval holds 3 distinct roots of minpoly, not exactly one"),
])
def test_equal_numbers_written_differently_never_verify(tmp_path, cert, message):
    status, out, _ = run_checker(tmp_path, cert)
    assert (status, out.splitlines()[0][:len(message)]) == (1, message)


def test_distinct_numbers_over_a_reducible_polynomial_are_still_decided():
    """Over (x^2-2)(x^2-8) with theta = sqrt(2), the checker decides signs and
    distinctness of the numbers, not of their representations."""
    f = Field([F(c) for c in REDUCIBLE], F(7, 5), F(3, 2))
    theta = K(f, (F(0), F(1), F(0), F(0)))
    two = K(f, (F(2), F(0), F(0), F(0)))
    assert theta != two and theta * theta != 3
    with pytest.raises(proofs_check.Rejected, match="minpoly is reducible"):
        theta * theta == two                        # x^2 and 2: one number, two representations
    assert (theta - F(7, 5)).sign() == 1 and (theta - F(3, 2)).sign() == -1
    assert theta != 1 and theta == K(f, tuple(F(c) for c in ("0", "1", "0", "0")))
    with pytest.raises(proofs_check.Rejected, match="minpoly is reducible"):
        prove_distinct([(theta, two), (K(f, tuple(F(c) for c in SQRT8)) / 2, two)])
    with pytest.raises(proofs_check.Rejected, match="not invertible|division by zero"):
        K(f, (F(-8), F(0), F(1), F(0))).inverse()      # x^2 - 8: non-zero at sqrt(2), no inverse mod P


def test_sturm_counts_distinct_roots():
    p = [F(c) for c in ("0", "-2", "0", "1")]            # x^3 - 2x
    assert sturm_count(p, F(-2), F(2)) == 3 and sturm_count(p, F(1), F(2)) == 1
    sq = [F(1), F(-2), F(1)]                               # (x - 1)^2: one distinct root
    assert sturm_count(sq, F(0), F(2)) == 1


def test_the_projection_cache_is_per_certificate():
    """Two certificates checked one after the other (or interleaved) share nothing."""
    a = proofs_check.check(copy.deepcopy(GOOD))
    circle = json.loads(json.dumps(GOOD))
    assert proofs_check.check(circle) == a


# ------------------------------------------------- resource limits, exit 2
def _with_coordinate(text):
    c = copy.deepcopy(GOOD)
    c["dataset"]["sequences"][0]["input"][0][0] = text
    del c["dataset_sha256"]          # optional for the checker; checked when present
    return c


def _with_weight(text):
    c = copy.deepcopy(GOOD)
    c["blocks"][0]["ff"]["b"][0] = text
    return c


BIG = "7" * 1_000_000
HOSTILE = {
    "power 2^1000000000": (_with_coordinate("2^1000000000"),
                           "exponent 1000000000 exceeds the limit of 10000 (raise it with --max-exponent)"),
    "power 2^-1000000000": (_with_coordinate("2^-1000000000"),
                            "exponent -1000000000 exceeds the limit of 10000 (raise it with --max-exponent)"),
    "tower 10^10^10": (_with_coordinate("10^10^10"),
                       "exponent 10000000000 exceeds the limit of 10000 (raise it with --max-exponent)"),
    "literal 1e100000000": (_with_coordinate("1e100000000"),
                            "a literal of about 100000000 digits exceeds the limit of 100000 "
                            "(raise it with --max-digits)"),
    "huge weight": (_with_weight(BIG), "an integer of 1000000 digits exceeds the limit of 100000 "
                    "(raise it with --max-digits)"),
    "nested minus": (_with_coordinate("-" * 100_000 + "1"),
                     "a coordinate text of 100001 characters exceeds the limit of 10000 "
                     "(raise it with --max-expr-length)"),
    "long sum": (_with_coordinate("+".join(["1"] * 200_000)),
                 "a coordinate text of 399999 characters exceeds the limit of 10000 "
                 "(raise it with --max-expr-length)"),
    "deep expression": (_with_coordinate("-" * 90 + "1"),
                        "expression nesting exceeds the limit of 64 (raise it with --max-depth)"),
    "field of degree 2000": (field_cert(["-2"] + ["0"] * 1999 + ["1"], ["1", "2"], [], [["1", "0"]]),
                             "field: degree 2000 exceeds the limit of 16 (raise it with --max-field-degree)"),
    "root of exponent 1/10^9": (field_cert(["-2", "0", "1"], ["1", "2"],
                                           [{"base": "2", "exponent": "1/1000000000", "value": ["0", "1"]}],
                                           [["1", "0"]]),
                                "exponent 1000000000 exceeds the limit of 10000 (raise it with --max-exponent)"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_numbers_end_fast_as_malformed(tmp_path, name):
    cert, message = HOSTILE[name]
    status, out, seconds = run_checker(tmp_path, cert)
    assert status == 2 and len(out.splitlines()) == 1 and message in out, out
    assert out.startswith("proofs_check: ") and "Traceback" not in out
    assert seconds < 20


def test_json_literal_exponent_and_ignored_huge_integer(tmp_path):
    text = json.dumps(GOOD)
    status, out, _ = run_checker(tmp_path, None, text.replace('"eta": "1"', '"eta": 1e100000000', 1))
    assert status == 2 and "ff.eta: expected a rational" in out
    status, out, _ = run_checker(tmp_path, None, text[:-1] + ', "ignored": ' + "9" * 3_000_000 + "}")
    assert status == 2 and out.endswith("an integer of 3000000 digits exceeds the limit of 100000 "
                                        "(raise it with --max-digits)")


@pytest.mark.parametrize("text, deep", [
    ('[[["]]]]]]"]]]', False),                   # brackets inside a string do not count
    ("[" * 65 + "]" * 65, True), ("[" * 64 + "]" * 64, False),
    ('{"a":' * 65 + "1" + "}" * 65, True), ('{"a":' * 64 + "1" + "}" * 64, False),
    (r'["\\"' + ",[" * 70, True),                # an escaped backslash ends before the quote
    (r'["\"[[[[[[["]', False),                 # an escaped quote does not end the string
    ('["' + "[" * 100, False),                   # a string never closed runs to the end
])
def test_json_depth_scan(text, deep):
    from proofs_check.limits import DEFAULT, LimitError, check_depth
    if deep:
        with pytest.raises(LimitError, match="JSON nesting exceeds the limit of 64"):
            check_depth(text, DEFAULT)
    else:
        check_depth(text, DEFAULT)


def test_unclosed_escaped_strings_do_not_make_the_depth_scan_quadratic(tmp_path):
    """'"\\' repeated: every quote opens a string that an escape keeps open to
    the end of the text.  A scan that retried from each quote took 87 s on 160 kB;
    this one reads 2 MB at once, and the file is refused as bad JSON."""
    status, out, _ = run_checker(tmp_path, None, "[" + '"\\' * 1_000_000 + "]")
    assert status == 2 and out.startswith(f"proofs_check: {tmp_path / 'c.json'}: malformed: ") \
        and "invalid JSON" in out


def test_nesting_past_the_json_reader_is_not_blamed_on_max_depth(tmp_path):
    status, out, _ = run_checker(tmp_path, None, "[" * 5000 + "]" * 5000, flags=("--max-depth", "10000"))
    assert (status, out) == (2, f"proofs_check: {tmp_path / 'c.json'}: malformed: JSON nesting deeper "
                             "than the JSON reader follows (about 900 levels)")


def test_deep_json_and_bom(tmp_path):
    status, out, _ = run_checker(tmp_path, None, "[" * 100_000 + "]" * 100_000)
    assert (status, out) == (2, f"proofs_check: {tmp_path / 'c.json'}: malformed: certificate: JSON "
                             "nesting exceeds the limit of 64 (raise it with --max-depth)")
    status, out, _ = run_checker(tmp_path, None, "\ufeff" + json.dumps(GOOD))
    assert status == 0 and out.startswith("VERIFIED")


def test_limits_can_be_raised(tmp_path):
    cert = _with_weight("1" + "0" * 120_000 + "/1" + "0" * 120_000)    # = 1, written long
    status, out, _ = run_checker(tmp_path, cert)
    assert status == 2 and "--max-digits" in out
    status, out, _ = run_checker(tmp_path, cert, flags=("--max-digits", "200000"))
    assert status == 0 and out.startswith("VERIFIED")
    assert proofs_check.check(cert, limits=Limits(max_digits=200_000))["blocks"] == 10


def test_too_many_blocks_rejected_before_evaluation(tmp_path):
    cert = copy.deepcopy(GOOD)
    cert["blocks"] = cert["blocks"] * 10_000
    status, out, seconds = run_checker(tmp_path, cert)
    assert (status, out) == (1, "REJECTED: bounds: 100000 blocks exceed 2 sum m + 2N + 1 = 15")
    status, out, _ = run_checker(tmp_path, cert, flags=("--max-blocks", "1000"))
    assert status == 2 and "blocks: 100000 blocks exceeds the limit of 1000 (raise it with --max-blocks)" in out


def test_numbers_module_limits_directly():
    nums = Numbers(None, Limits(max_exponent=10))
    assert nums.coordinate("2^10", "c") == 1024
    with pytest.raises(proofs_check.Malformed, match="exponent 11 exceeds the limit of 10"):
        nums.coordinate("2^11", "c")
    assert nums.coordinate("1.5e-3", "c") == F(3, 2000)
