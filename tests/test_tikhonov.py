"""Parameter norms (exact, from the certificate alone) and the Tikhonov bound of
Proposition 2.1: ``exactseq check`` reports them, ``exactseq tikhonov`` prints
eps * R(theta*)."""
import doctest
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

import exactseq.tikhonov as tk
from exactseq.cli import main
from proofs_check import report as pcr

ROOT = Path(__file__).resolve().parent.parent
GOOD = str(ROOT / "tests/data/figure5.cert.json")
BAD = str(ROOT / "tests/data/figure5.bad.cert.json")


def block(eta, U, b, W, rho, A, V):
    return {"phase": "test", "ff": {"eta": eta, "U": U, "b": b, "W": W},
            "sa": {"rho": rho, "A": A, "V": V}, "claims": []}


# A certificate small enough to add up by hand (d = 2, one block, FF width 2):
#   eta 0, rho 1/2, U = [[1, 1], [0, -1]], b = [0, 2], W = [[1, -1], [0, 0]],
#   A = -2 a a^T with a = (1, -1): dense [[-2, 2], [2, -2]],
#   V full [[0, 1/2], [3, 0]].
# Squares: rho 1/4; U 1+1+0+1 = 3; b 4; W 1+1 = 2; A 4*4 = 16; V 1/4+9 = 37/4
#   -> l2_squared = 1/4 + 3 + 4 + 2 + 16 + 37/4 = 69/2.
# Absolute values: 1/2 + 3 + 2 + 2 + 8 + 7/2 = 19.  Largest: 3.  Entries: 2 + 4 + 2 + 4 + 4 + 4 = 20.
HAND = {"dataset": {"dimension": 2}, "field": None, "blocks": [
    block("0", [["1", "1"], ["0", "-1"]], ["0", "2"], [["1", "-1"], ["0", "0"]], "1/2",
          {"kind": "rank1", "c": "-2", "a": ["1", "-1"]},
          {"kind": "full", "rows": [["0", "1/2"], ["3", "0"]]})]}


def test_hand_computed_norms():
    n = tk.parameter_norms(HAND)
    assert (n["l2_squared"], n["l1"], n["linf"], n["entries"]) == ("69/2", "19", "3", 20)
    assert n["number_format"] == "rational"


def test_hand_computed_bounds():
    b = tk.tikhonov_bound(HAND, "1/100")
    assert b["regularizer"] == "l2_squared" == tk.DEFAULT_REGULARIZER
    assert (b["bound"], b["bound_upper"], b["bound_is_rational"]) == ("69/200", "69/200", True)
    assert tk.tikhonov_bound(HAND, "1e-2", "l1")["bound"] == "19/100"
    assert tk.tikhonov_bound(HAND, Fraction(1, 100), "linf")["bound"] == "3/100"
    l2 = tk.tikhonov_bound(HAND, "0.01", "l2")
    assert l2["bound"] == "sqrt(69/20000)" and l2["R"] == "sqrt(69/2)" and not l2["bound_is_rational"]
    up = Fraction(l2["bound_upper"])
    assert up * up >= Fraction(69, 20000) and (up - Fraction(69, 20000) / up) < up / 2 ** 63


def test_perfect_square_l2_is_exact():
    # eta 1 and V = 2 I (d = 2): 1 + 4 + 4 = 9, so ||theta||_2 = 3
    cert = {"dataset": {"dimension": 2}, "field": None, "blocks": [
        block("1", [], [], [[], []], "0", {"kind": "zero"}, {"kind": "scalar", "c": "2"})]}
    b = tk.tikhonov_bound(cert, "1/3", "l2")
    assert (b["R"], b["bound"], b["bound_is_rational"]) == ("3", "1", True)


def test_sqrt_upper():
    assert tk.sqrt_upper(Fraction(9, 4)) == (Fraction(3, 2), True)
    for q in (Fraction(2), Fraction(1, 3), Fraction(10 ** 40 + 1, 7), Fraction(1, 10 ** 50 + 3)):
        u, exact = tk.sqrt_upper(q)
        assert not exact and u * u >= q and (u - q / u) <= u / 2 ** 63


def test_doctests():
    assert doctest.testmod(tk).failed == 0


def _dense_norms(cert):
    """An independent, naive count: every entry of the dense matrices, one by one."""
    d = cert["dataset"]["dimension"]
    entries = []
    for b in cert["blocks"]:
        ff, sa = b["ff"], b["sa"]
        entries += [Fraction(ff["eta"]), Fraction(sa["rho"])]
        entries += [Fraction(x) for r in ff["U"] for x in r] + [Fraction(x) for x in ff["b"]]
        entries += [Fraction(x) for r in ff["W"] for x in r]
        for M in (sa["A"], sa["V"]):
            for i in range(d):
                for j in range(d):
                    if M["kind"] == "zero":
                        v = Fraction(0)
                    elif M["kind"] == "scalar":
                        v = Fraction(M["c"]) if i == j else Fraction(0)
                    elif M["kind"] == "rank1":
                        v = Fraction(M.get("c", "1")) * Fraction(M["a"][i]) * Fraction(M["a"][j])
                    else:
                        v = Fraction(M["rows"][i][j])
                    entries.append(v)
    return (sum(x * x for x in entries), sum(abs(x) for x in entries), max(abs(x) for x in entries),
            len(entries))


def test_norms_agree_with_a_naive_dense_count():
    cert = json.load(open(GOOD))
    l2, l1, big, count = _dense_norms(cert)
    n = tk.parameter_norms(cert)
    assert (Fraction(n["l2_squared"]), Fraction(n["l1"]), Fraction(n["linf"]), n["entries"]) == \
        (l2, l1, big, count)
    # the figure5 certificate: 10 blocks, d = 2
    assert n == {**n, "l2_squared": "2023232/75", "l1": "18131/15", "linf": "49", "entries": 230}


def test_field_norms_against_high_precision(tmp_path):
    out = tmp_path / "c.json"
    assert main(["check", str(ROOT / "examples/circle.json"), "--certificate", str(out), "--quiet"]) == 0
    cert = json.loads(out.read_text())
    n = cert["parameter_norms"]
    assert n["number_format"] == "field" and isinstance(n["l2_squared"], list)
    mpmath.mp.dps = 60
    f = cert["field"]
    poly = [mpmath.mpf(Fraction(c).numerator) / Fraction(c).denominator for c in f["minpoly"]]
    lo, hi = (mpmath.mpf(Fraction(x).numerator) / Fraction(x).denominator for x in f["interval"])
    sign_lo = mpmath.sign(mpmath.polyval(poly[::-1], lo))
    for _ in range(220):                      # bisection: theta to ~10^-66
        mid = (lo + hi) / 2
        if mpmath.sign(mpmath.polyval(poly[::-1], mid)) == sign_lo:
            lo = mid
        else:
            hi = mid
    theta = (lo + hi) / 2

    def val(x):
        cs = x if isinstance(x, list) else [x]
        return sum(mpmath.mpf(Fraction(c).numerator) / Fraction(c).denominator * theta ** i
                   for i, c in enumerate(cs))
    d = cert["dataset"]["dimension"]
    ents = []
    for b in cert["blocks"]:
        ff, sa = b["ff"], b["sa"]
        ents += [val(ff["eta"]), val(sa["rho"])] + [val(x) for r in ff["U"] for x in r]
        ents += [val(x) for x in ff["b"]] + [val(x) for r in ff["W"] for x in r]
        for M in (sa["A"], sa["V"]):
            if M["kind"] == "scalar":
                ents += [val(M["c"])] * d
            elif M["kind"] == "rank1":
                a = [val(x) for x in M["a"]]
                ents += [val(M.get("c", "1")) * ai * aj for ai in a for aj in a]
            elif M["kind"] == "full":
                ents += [val(x) for r in M["rows"] for x in r]
    want = {"l2_squared": sum(x * x for x in ents), "l1": sum(abs(x) for x in ents),
            "linf": max(abs(x) for x in ents)}
    for key, w in want.items():
        assert abs(val(n[key]) - w) <= w * mpmath.mpf(10) ** -40
        up = Fraction(n["upper_bounds"][key])
        assert mpmath.mpf(up.numerator) / up.denominator >= w * (1 - mpmath.mpf(10) ** -40)
        assert mpmath.mpf(up.numerator) / up.denominator <= w * (1 + mpmath.mpf(2) ** -60)
    # the bound over a field: printed in the dataset's roots, with a rational upper bound
    b = tk.tikhonov_bound(cert, "1e-3")
    assert "sqrt(3)" in b["bound"] and not b["bound_is_rational"]
    assert mpmath.mpf(Fraction(b["bound_upper"]).numerator) / Fraction(b["bound_upper"]).denominator \
        >= want["l2_squared"] / 1000


# ------------------------------------------------------------------ check reports them
def test_check_reports_norms_and_certificate_carries_them(tmp_path, capsys):
    path = str(ROOT / "examples/figure5.json")
    assert main(["check", path, "--paper"]) == 0
    text = capsys.readouterr().out
    assert "norms        ||theta||_2^2 = 2023232/75, ||theta||_1 = 18131/15, ||theta||_inf = 49 " \
           "(all 230 entries" in text
    out = tmp_path / "c.json"
    assert main(["check", path, "--json", "--paper", "--certificate", str(out)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["parameter_norms"]["l2_squared"] == "2023232/75"
    cert = json.loads(out.read_text())
    assert cert["parameter_norms"] == rep["parameter_norms"]
    assert main(["verify", str(out)]) == 0          # the checker ignores the extra key
    capsys.readouterr()


def test_checker_ignores_unknown_top_level_keys():
    cert = json.load(open(GOOD))
    cert["parameter_norms"] = {"l2_squared": "1"}
    cert["something_else"] = [1, 2, 3]
    assert pcr.run(cert)[0] == "verified"


def test_softmax_check_reports_norms(capsys):
    assert main(["check", str(ROOT / "examples/figure5.json"), "--attention", "softmax", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["verdict"] == "certified" and rep["parameter_norms"]["number_format"] == "rational"


# ------------------------------------------------------------------ the command
def test_tikhonov_command_modes(capsys):
    assert main(["tikhonov", GOOD, "--eps", "1e-3"]) == 0
    out = capsys.readouterr().out
    assert "eps R(theta*)" in out and "= 252904/9375" in out and "||theta*||_2^2" in out
    assert main(["tikhonov", GOOD, "--eps", "1/1000", "--json"]) == 0
    o = json.loads(capsys.readouterr().out)
    assert o["verdict"] == "verified" and o["regularizer"] == "l2_squared"
    assert o["bound"] == o["bound_upper"] == "252904/9375" and o["eps"] == "1/1000"
    assert Fraction(o["bound"]) == Fraction(1, 1000) * Fraction("2023232/75")
    assert main(["tikhonov", GOOD, "--eps", "0.001", "--regularizer", "l2", "--json"]) == 0
    o = json.loads(capsys.readouterr().out)
    assert o["bound"] == "sqrt(31613/1171875)" and not o["bound_is_rational"]
    assert Fraction(o["bound_upper"]) ** 2 >= Fraction(31613, 1171875)
    assert main(["tikhonov", GOOD, "--eps", "1", "--regularizer", "linf", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_tikhonov_command_statuses(tmp_path, capsys):
    assert main(["tikhonov", BAD, "--eps", "1"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("REJECTED") and "no bound" in out
    for eps in ("0", "-1", "abc", "sqrt(2)"):
        assert main(["tikhonov", GOOD, "--eps", eps]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--eps" in err
    assert main(["tikhonov", str(tmp_path / "missing.json"), "--eps", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["tikhonov", str(bad), "--eps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json" in err
    bad.write_text('{"format": "something"}')
    assert main(["tikhonov", str(bad), "--eps", "1"]) == 2
    assert "malformed" in capsys.readouterr().err


def test_help_names_the_default():
    out = subprocess.run([sys.executable, "-m", "exactseq.cli", "tikhonov", "--help"],
                         capture_output=True, text=True, cwd=ROOT).stdout
    assert "l2_squared" in out and "Example 2.2" in out


# ------------------------------------------------------------------ the demo
def test_demo_tiny(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    try:
        import exactseq.torch  # noqa: F401
    except ImportError:
        pytest.skip("exactseq.torch is not available")
    out = tmp_path / "x.png"
    r = subprocess.run([sys.executable, str(ROOT / "examples/tikhonov_demo.py"), "--tiny", "--out", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.exists() and out.stat().st_size > 1000
    rows = [line for line in r.stdout.splitlines() if line.startswith("eps ")]
    assert len(rows) >= 2
    for line in rows:
        assert "bound" in line and ("loss <= bound: yes" in line or "loss <= bound: NO" in line)
