"""Hostile sizes: a number field defined by huge integers, and numbers that grow
block after block.  Each file ends with one line and the right exit status; the
root counting behind a field (Descartes' rule, Sturm sequences in integers) is
checked against polynomials with known roots."""
import json
import subprocess
import sys
import time
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import proofs_check
from proofs_check import Limits
from proofs_check.numbers import (Field, K, Malformed, Numbers, _ints, _isign, _prs, bits_within,
                                  check_growth, descartes, digits_at_least, one_simple_root,
                                  sturm_count)

ROOT = Path(__file__).resolve().parent.parent


def _text(n):
    """Decimal text of any int (whatever the interpreter's int/str limit)."""
    if n < 0:
        return "-" + _text(-n)
    if n < 10 ** 4000:
        return str(n)
    k = n.bit_length() * 3 // 20            # about half its digits
    hi, lo = divmod(n, 10 ** k)
    return _text(hi) + _text(lo).rjust(k, "0")


def _pmul(a, b):
    r = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            r[i + j] += x * y
    return r


def _cert(minpoly, interval, X, atoms=()):
    return {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax",
            "dataset": {"dimension": 2, "sequences": [{"input": X, "output": X}]},
            "field": {"minpoly": [_text(c) for c in minpoly], "interval": interval, "atoms": list(atoms)},
            "blocks": []}


def _run(tmp_path, obj, *flags):
    p = tmp_path / "c.json"
    p.write_text(json.dumps(obj))
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "proofs_check", str(p), *flags],
                       capture_output=True, text=True, timeout=120)
    print(f"{time.monotonic() - t:.2f} s", flags)      # seen with pytest -s; timings in the report
    return r.returncode, (r.stdout + r.stderr).strip(), p


def reducible(D):
    """(x^2 - 2) Q, Q monic of degree 14 with D-digit coefficients, positive on
    [7/5, 3/2]: a "minimal" polynomial of degree 16 whose factor x^2 - 2 is
    hidden by its size."""
    Q = [10 ** (D - 1) + 7 ** (i + 5) * 10 ** (D // 2) + i for i in range(14)] + [1]
    return _pmul([-2, 0, 1], Q)


def eisenstein(D):
    """x^16 + 2 sum_{i=2}^{15} R_i x^i + 4 M x - 2 M + 2, M = 10^D: irreducible by
    Eisenstein's criterion at 2 (M even), with one root near 1/2, and D-digit
    coefficients R_i."""
    M = 10 ** D
    R = [10 ** (D - 1) + 3 ** (i + 7) for i in range(2, 16)]
    return [2 - 2 * M, 4 * M] + [2 * r for r in R] + [1]


THETA = ["0", "1"] + ["0"] * 14
SQRT2 = {"base": "2", "exponent": "1/2", "value": THETA}    # theta^2 = 2 over (x^2 - 2) Q


# --------------------------------------------- a field of huge integers
@pytest.mark.parametrize("D", [3000, 10_000])
def test_a_disguised_reducible_minpoly_is_refused_then_rejected(tmp_path, D):
    P = reducible(D)
    digits = len(_text(abs(P[0])))
    cert = _cert(P, ["7/5", "3/2"], [["sqrt(2)", "0"], ["1", "0"]], [SQRT2])
    status, out, p = _run(tmp_path, cert)
    assert (status, out) == (2, f"proofs_check: {p}: malformed: field.minpoly: an integer of {digits} "
                             "digits exceeds the limit of 500 (raise it with --max-field-digits)")
    status, out, _ = _run(tmp_path, cert, "--max-field-digits", str(D + 1))
    assert (status, out) == (1, "REJECTED: field: minpoly is reducible: a number has two different "
                             "representations (a non-zero one has value 0)")


@pytest.mark.parametrize("D, flags", [(400, ()), (3000, ("--max-field-digits", "3001")),
                                      (10_000, ("--max-field-digits", "10001"))])
def test_an_irreducible_minpoly_with_huge_coefficients_verifies_within_the_limit(tmp_path, D, flags):
    cert = _cert(eisenstein(D), ["1/4", "3/4"], [["1/2", "0"], ["1", "0"]])
    status, out, _ = _run(tmp_path, cert, *flags)
    assert (status, out) == (0, "VERIFIED: 0 blocks (bound 7), width 0 (bound 4), 0 non-zero "
                             "parameters; every output equals its target exactly")
    nums = Numbers(cert["field"], Limits(max_field_digits=D + 1))
    theta = nums.num(THETA)
    assert nums.field.simple and F(1, 4) < theta < F(1, 2)    # P(1/2) > 0 and P increases
    assert theta * theta < theta and (theta * theta - theta).sign() == -1


def test_interval_ends_count_against_the_field_limit(tmp_path):
    lo = "1" + "0" * 600 + "/" + "1" + "0" * 600         # = 1, written long
    cert = _cert([-2, 0, 1], [lo, "2"], [["1", "0"]])
    status, out, p = _run(tmp_path, cert)
    assert (status, out) == (2, f"proofs_check: {p}: malformed: field.interval: an integer of 601 "
                             "digits exceeds the limit of 500 (raise it with --max-field-digits)")
    status, out, _ = _run(tmp_path, cert, "--max-field-digits", "601")
    assert status == 0 and out.startswith("VERIFIED: 0 blocks")


def test_field_refuses_long_integers_given_directly():
    with pytest.raises(Malformed, match=r"field: an integer of at least 3\d\d digits exceeds the limit "
                                        r"of 300 \(raise it with --max-field-digits\)"):
        Field([F(c) for c in eisenstein(301)], F(1, 4), F(3, 4), Limits(max_field_digits=300))
    assert Field([F(c) for c in eisenstein(299)], F(1, 4), F(3, 4), Limits(max_field_digits=300)).simple


def test_a_multiple_root_is_counted_by_sturm_and_zero_tests_still_decide():
    """(x^2 - 2)^3: theta = sqrt 2 is a triple root, Descartes' rule cannot show it
    alone (3 variations on every interval around it), Sturm's theorem does; a zero
    test then runs on Sturm sequences too."""
    P = [F(c) for c in _pmul(_pmul([-2, 0, 1], [-2, 0, 1]), [-2, 0, 1])]
    f = Field(P, F(7, 5), F(3, 2))
    assert not f.simple and descartes(_ints(P), F(7, 5), F(3, 2)) == 3
    theta = K(f, (F(0), F(1)) + (F(0),) * 4)
    assert theta > F(7, 5) and theta < F(3, 2) and theta != 1
    with pytest.raises(proofs_check.Rejected, match="minpoly is reducible"):
        theta * theta == 2


# ---------------------------------------------- root counting, exactly
def _poly(roots, quad):
    """Integer polynomial prod (q x - p)^m over roots (p/q, m), times x^2 + 1 if quad."""
    P = [1]
    for r, m in roots:
        for _ in range(m):
            P = _pmul(P, [-r.numerator, r.denominator])
    return _pmul(P, [1, 0, 1]) if quad else P


_root = st.fractions(min_value=-4, max_value=4, max_denominator=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_root, st.integers(1, 3)), min_size=1, max_size=5, unique_by=lambda t: t[0]),
       st.booleans(), _root, st.fractions(min_value=F(1, 8), max_value=6, max_denominator=8))
def test_root_counts_match_known_roots(roots, quad, lo, width):
    hi = lo + width
    if any(r in (lo, hi) for r, _ in roots):
        return
    P = _poly(roots, quad)
    inside = [(r, m) for r, m in roots if lo < r < hi]
    assert sturm_count([F(c) for c in P], lo, hi) == len(inside)
    v = descartes(P, lo, hi)
    with_mult = sum(m for _, m in inside)
    assert v >= with_mult and (v - with_mult) % 2 == 0
    assert one_simple_root(P, lo, hi) in ((len(inside) == 1 and inside[0][1] == 1), False)
    if len(inside) == 1 and inside[0][1] == 1 and len(roots) <= 2 and not quad:
        assert one_simple_root(P, lo, hi)      # well separated roots: settled by bisection


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_root, st.integers(1, 2)), min_size=1, max_size=4, unique_by=lambda t: t[0]),
       st.lists(st.tuples(_root, st.integers(1, 2)), min_size=1, max_size=3, unique_by=lambda t: t[0]))
def test_remainder_sequences_end_at_the_gcd(a, b):
    A, B = _poly(a, False), _poly(b, True)
    if len(B) > len(A):
        A, B = B, A
    ma, mb = dict(a), dict(b)
    common = sum(min(ma[r], mb[r]) for r in ma if r in mb)
    g = _prs(A, B)[-1]
    assert len(g) - 1 == common
    for r in ma:
        if r in mb:
            assert sum(c * r ** i for i, c in enumerate(g)) == 0


def test_sturm_sequences_on_huge_coefficients_stay_exact():
    P = reducible(300)
    assert sturm_count(P, F(7, 5), F(3, 2)) == 1 and one_simple_root(P, F(7, 5), F(3, 2))
    # -sqrt 2, sqrt 2 and a root of Q in (-1, -1/2), where P changes sign
    assert _isign(P, F(-1)) == 1 and _isign(P, F(-1, 2)) == -1
    assert sturm_count(P, F(-1), F(-1, 2)) == 1 and one_simple_root(P, F(-1), F(-1, 2))
    assert sturm_count(P, F(-3, 2), F(3, 2)) == 3 and not one_simple_root(P, F(-3, 2), F(3, 2))


# ----------------------------------------------- numbers growing per block
def _growth(nblocks, a, b, N, d=2):
    seqs = [{"input": [[str(j + 1)] + ["0"] * (d - 1)], "output": [[str(j + 1)] + ["0"] * (d - 1)]}
            for j in range(N)]
    blk = {"phase": "scale", "ff": {"U": [], "b": [], "W": [[]] * d, "eta": f"{_text(a)}/{_text(b)}"},
           "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}}, "claims": []}
    return {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax",
            "dataset": {"dimension": d, "sequences": seqs}, "blocks": [blk] * nblocks}


def test_sixty_blocks_of_growth_stop_at_the_first_block_past_the_limit(tmp_path):
    """Each block multiplies every token by a / b, two 2000-digit integers: the
    numerator of token 1 after k blocks is a^k, of 1999 k + 1 digits; block 50
    (99,951 digits) is within --max-digits 100000, block 51 is not."""
    a, b = 10 ** 1999 + 1, 10 ** 1999 + 3
    status, out, p = _run(tmp_path, _growth(60, a, b, 15), "--max-work", "1000000000")
    assert (status, out) == (2, f"proofs_check: {p}: malformed: block 51 (scale): a computed number's "
                             "numerator or denominator exceeds the limit of 100000 digits (raise it "
                             "with --max-digits)")
    # by default the work on these big numbers stops it much earlier: after block k the
    # 15 tokens hold 2 x 3 integers of about 2k thousand digits, (2k)^2 each
    status, out, p = _run(tmp_path, _growth(60, a, b, 15))
    assert (status, out) == (2, f"proofs_check: {p}: malformed: block 14 (scale): the work on numbers of "
                             "1000 digits or more (the sum of (digits/1000)^2) exceeds the limit of "
                             "100000 (raise it with --max-work)")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_growth_limit_is_the_flag_in_one_process_or_several(tmp_path, jobs):
    a, b = 10 ** 9 + 1, 10 ** 9 + 3      # 9 digits a block: a^34 has 307 digits, 15 a^33 299
    cert = _growth(60, a, b, 15)
    status, out, p = _run(tmp_path, cert, "--max-digits", "300", "--jobs", jobs)
    assert (status, out) == (2, f"proofs_check: {p}: malformed: block 34 (scale): a computed number's "
                             "numerator or denominator exceeds the limit of 300 digits (raise it "
                             "with --max-digits)")
    status, out, _ = _run(tmp_path, cert, "--max-digits", "700", "--jobs", jobs)
    assert (status, out) == (1, "REJECTED: output: sequence 0: T(X) differs from Y (Hausdorff "
                             "distance > 0)")


def test_numbers_that_grow_and_shrink_again_verify():
    """Coordinates and eta of 601 digits, within --max-digits 1000 when read; their
    product (1201 digits) is past it, and block 2 brings it back."""
    a, b, c = 10 ** 600 + 1, 10 ** 600 + 3, 10 ** 600 + 7
    cert = _growth(2, a, b, 2)
    cert["dataset"]["sequences"][0]["input"][0][0] = _text(c)
    cert["dataset"]["sequences"][0]["output"][0][0] = _text(c)
    cert["blocks"][1] = json.loads(json.dumps(cert["blocks"][1]))
    cert["blocks"][1]["ff"]["eta"] = f"{_text(b)}/{_text(a)}"
    assert proofs_check.check(cert, limits=Limits(max_digits=1201))["blocks"] == 2
    with pytest.raises(Malformed, match="^block 1 \\(scale\\): a computed number's numerator or "
                                        "denominator exceeds the limit of 1000 digits"):
        proofs_check.check(cert, limits=Limits(max_digits=1000))


def test_digit_bounds_from_bit_lengths_are_exact_at_the_limit():
    cap = bits_within(100_000)
    assert cap == 332_193 and digits_at_least(cap) == 100_000 and digits_at_least(cap + 1) == 100_001
    assert (10 ** 99_999).bit_length() <= cap < (2 ** cap).bit_length()
    lim = Limits()
    # within: 10^100000 - 1 (100000 digits), and 10^100000 (bits alone cannot tell: never refused)
    check_growth([[(F(10 ** 100_000 - 1), F(1, 10 ** 100_000))]], "block 1 (x)", lim, point=lambda x: x)
    check_growth([[(F(1, 10 ** 100_000),)]], "block 1 (x)", lim, point=lambda x: x)
    with pytest.raises(Malformed, match=r"^block 1 \(x\): a computed number's numerator or denominator "
                                        r"exceeds the limit of 100000 digits \(raise it with --max-digits\)$"):
        check_growth([[(F(0), F(1, 2 ** cap))]], "block 1 (x)", lim, point=lambda x: x)


def test_work_budget_counts_big_numbers_only():
    """(digits/1000)^2 per integer of 1000 digits or more, charged within a check only."""
    from proofs_check.numbers import KBITS, spend, work_budget
    spend([10 ** 9], "outside")                         # no budget active: nothing counted
    with work_budget(Limits(max_work=8)):
        spend([KBITS - 1] * 1000, "small")              # under 1000 digits: free
        spend([2 * KBITS], "two")                       # 4
        spend([KBITS, KBITS, KBITS, KBITS], "four")     # 8 in all: at the limit
        with pytest.raises(Malformed, match=r"^five: the work on numbers of 1000 digits or more "
                           r"\(the sum of \(digits/1000\)\^2\) exceeds the limit of 8 \(raise it with "
                           r"--max-work\)$"):
            spend([KBITS], "five")


def test_quotients_of_huge_powers_are_refused_in_a_second(tmp_path):
    """Coordinates like 9967^9999/9973^9999 - 9949^9999/9941^9999 (80,000-digit
    numerators and denominators, each within --max-digits): the work budget stops
    the file at its third token; with a larger budget two tokens verify."""
    P = [9967, 9973, 9949, 9941, 9931, 9929, 9923, 9907, 9901, 9887, 9883, 9871, 9859, 9857, 9851, 9839,
         9833, 9829, 9817, 9811, 9803, 9791, 9787, 9781]
    X = [[f"{P[8 * i]}^9999/{P[8 * i + 1]}^9999-{P[8 * i + 2]}^9999/{P[8 * i + 3]}^9999",
          f"{P[8 * i + 4]}^9999/{P[8 * i + 5]}^9999-{P[8 * i + 6]}^9999/{P[8 * i + 7]}^9999"]
         for i in range(3)]
    cert = _cert([-1, 0, 1], ["0", "2"], X)
    cert["field"] = None
    cert["dataset"]["sequences"][0]["output"] = [["0", "0"]]
    cert["blocks"] = [{"phase": "p", "claims": [], "ff": {"eta": "0", "U": [], "b": [], "W": [[], []]},
                       "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}}}]
    status, out, p = _run(tmp_path, cert)
    assert status == 2 and out.startswith(f"proofs_check: {p}: malformed: dataset sequence 0 input token ")
    assert out.endswith("exceeds the limit of 100000 (raise it with --max-work)")
    cert["dataset"]["sequences"][0]["input"] = X[:1]
    status, out, p = _run(tmp_path, cert, "--max-work", "10000000")
    assert status == 0 and out.startswith("VERIFIED: 1 blocks")
