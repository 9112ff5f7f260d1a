"""Softmax transformers (Theorem 1.6): certified on enclosures, never by guess."""
import copy
import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

import proofs_check
from proofs_check import softmax as sm
from exactseq import certificate
from exactseq.cli import main
from exactseq.softsearch import attempt
from proofs_check.limits import DEFAULT
from exactseq.construction import build
from exactseq.dataset import from_obj, load
from test_construction import CASES

ROOT = Path(__file__).resolve().parent.parent


def certify_softmax(ds, max_prec=64):
    cons = build(ds, attention="softmax")
    for k in range(0, 10):
        tau = Fraction(1, 10**k)
        verdict, info, cert = attempt(ds, cons, tau, max_prec, lambda s: None, DEFAULT)
        if verdict == "certified":
            return cons, info, json.loads(certificate.dumps(cert))
    raise AssertionError(f"not certified: {info}")


@pytest.mark.parametrize("name", list(CASES))
def test_hard_cases_certify_with_softmax(name):
    ds = from_obj(CASES[name][0])
    cons, summary, cert = certify_softmax(ds)
    assert summary["blocks"] <= 2 * ds.sum_m + 3 * ds.N
    assert summary["claims_checked"]["saturate"] == 1 and summary["claims_checked"]["counts"] == 1


@pytest.mark.parametrize("path", ["examples/figure5.json", "examples/masked.json"])
def test_examples_with_softmax_cli(path, capsys):
    assert main(["check", str(ROOT / path), "--attention", "softmax", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["verdict"] == "certified" and rep["blocks"] <= rep["block_bound"]
    assert any(b["smallest_gap"] is not None for b in rep["per_block"])


def test_temperature_far_too_large_is_never_certified(capsys):
    for tau in ("100", "10"):
        status = main(["check", str(ROOT / "examples/figure5.json"), "--attention", "softmax",
                       "--tau", tau, "--json"])
        rep = json.loads(capsys.readouterr().out)
        assert (status, rep["verdict"]) in ((1, "failed"), (3, "unknown")) and rep["reason"]


def test_planted_ramp_fault_is_rejected():
    ds = load(str(ROOT / "examples/figure5.json"))
    _, _, cert = certify_softmax(ds)
    bad = copy.deepcopy(cert)
    k = next(i for i, b in enumerate(bad["blocks"]) if b["phase"] == "saturate")
    ff = bad["blocks"][k]["ff"]
    # move the first ramp onto the projection of its lower ball's centre
    trace = []
    proofs_check.check(cert) and sm.check(cert, trace=trace)
    v = [Fraction(x) for x in ff["U"][1]]
    centres = sorted({c for toks in trace[k - 1] for c, _ in toks}, key=lambda c: sum(a * b for a, b in zip(v, c)))
    s = sum(a * b for a, b in zip(v, centres[0]))
    h = Fraction(ff["b"][1]) - Fraction(ff["b"][2])
    ff["b"][1] = str(-s)
    ff["b"][2] = str(-s - h)
    # the true tokens are somewhere in balls that straddle the ramp: undecided, never failed
    with pytest.raises(proofs_check.Unknown, match=rf"^block {k + 1} \(saturate\): saturate: .*too wide"):
        proofs_check.check(bad)


def _mp_eval(cert, X):
    """The true softmax transformer, in 80-digit arithmetic."""
    tau = mpmath.mpf(Fraction(cert["softmax"]["tau"]).numerator) / Fraction(cert["softmax"]["tau"]).denominator
    f = lambda s: mpmath.mpf(Fraction(s).numerator) / Fraction(s).denominator  # noqa: E731

    def mat(M, x):
        if M["kind"] == "zero":
            return [mpmath.mpf(0)] * len(x)
        if M["kind"] == "scalar":
            return [f(M["c"]) * xi for xi in x]
        a = [f(t) for t in M["a"]]
        s = f(M.get("c", "1")) * mpmath.fsum(ai * xi for ai, xi in zip(a, x))
        return [s * ai for ai in a]
    X = [[f(c) for c in x] for x in X]
    out_all = []
    for blk in cert["blocks"]:
        ff, sa = blk["ff"], blk["sa"]
        H = []
        for x in X:
            h = [max(mpmath.mpf(0), mpmath.fsum(f(u) * xi for u, xi in zip(U, x)) + f(b))
                 for U, b in zip(ff["U"], ff["b"])]
            H.append([f(ff["eta"]) * x[i] + mpmath.fsum(f(w) * hk for w, hk in zip(ff["W"][i], h))
                      for i in range(len(x))])
        if sa["V"]["kind"] == "zero":
            X = [[f(sa["rho"]) * c for c in h] for h in H]
        else:
            X = []
            for hi in H:
                q = mat(sa["A"], hi)
                z = [mpmath.fsum(a * b for a, b in zip(q, hj)) / tau for hj in H]
                zmax = max(z)
                e = [mpmath.exp(zi - zmax) for zi in z]
                tot = mpmath.fsum(e)
                avg = [mpmath.fsum(ej * hj[i] for ej, hj in zip(e, H)) / tot for i in range(len(hi))]
                X.append([f(sa["rho"]) * a + b for a, b in zip(hi, mat(sa["V"], avg))])
        out_all.append(X)
    return out_all


def test_enclosures_contain_the_true_values():
    mpmath.mp.dps = 80
    ds = load(str(ROOT / "examples/figure5.json"))
    _, _, cert = certify_softmax(ds)
    trace = []
    sm.check(cert, trace=trace)
    for j, p in enumerate(cert["dataset"]["sequences"]):
        true = _mp_eval(cert, p["input"])
        for k, (X, balls) in enumerate(zip(true, trace)):
            for x in X:
                assert any(max(abs(xi - mpmath.mpf(c.numerator) / c.denominator) for xi, c in zip(x, cen))
                           <= mpmath.mpf(r.numerator) / r.denominator + mpmath.mpf(10) ** -60
                           for cen, r in balls[j]), f"block {k + 1}, sequence {j}: value outside"


def test_softmax_certificate_verifies(tmp_path):
    out = tmp_path / "s.json"
    assert main(["check", str(ROOT / "examples/figure5.json"), "--attention", "softmax",
                 "--certificate", str(out), "--quiet"]) == 0
    assert main(["verify", str(out), "--quiet"]) == 0
    cert = json.loads(out.read_text())
    cert["softmax"]["tau"] = "1000"
    out.write_text(json.dumps(cert))
    assert main(["verify", str(out), "--quiet"]) == 3          # undecided, never verified


from hypothesis import given, strategies as st  # noqa: E402


@given(st.fractions(min_value=0, max_value=10**40))
def test_outward_rounding(x):
    """Weights and radii are rounded up, gaps down, to dyadics: never inward."""
    assert sm.up(x) >= x and sm.down(x) <= x
    if x > 0:
        assert (sm.up(x) - x) / x < Fraction(1, 2**38) and (x - sm.down(x)) / x < Fraction(1, 2**38)


@given(st.fractions(min_value=0, max_value=200), st.integers(1, 40))
def test_taylor_is_below_exp(x, order):
    mpmath.mp.dps = 50
    t = sm.taylor(x, order)
    assert mpmath.mpf(t.numerator) / t.denominator <= mpmath.exp(mpmath.mpf(x.numerator) / x.denominator)


FORMS = "(p, p/q or a decimal, at most 1000 characters)"


@pytest.mark.parametrize("args, message", [
    (["--tau", "abc"], "--tau 'abc' is not a positive rational number " + FORMS),
    (["--tau", "-1"], "--tau '-1' is not a positive rational number " + FORMS),
    (["--tau", ""], "--tau '' is not a positive rational number " + FORMS),
    (["--tau", "1_000"], "--tau '1_000' is not a positive rational number " + FORMS),
    (["--tau", "1" * 1001], "--tau '11111111111111111111...1111111111' is not a positive rational "
                            "number " + FORMS),
    (["--tau", "0/5"], "--tau '0/5' is not a positive rational number"),
    (["--tau", "1/0"], "--tau '1/0' is not a positive rational number"),
    (["--max-prec", "0"], "--max-prec must be an integer in 1..4096"),
    (["--max-prec", "4097"], "--max-prec must be an integer in 1..4096"),
])
def test_softmax_bad_options_exit_2(capsys, args, message):
    """Bad options are usage errors (exit 2), never a failed verdict."""
    assert main(["check", str(ROOT / "examples/figure5.json"), "--attention", "softmax", *args]) == 2
    assert capsys.readouterr().err == f"exactseq: error: {message}\n"


def test_softmax_needs_rational_data(capsys):
    path = str(ROOT / "examples/circle.json")
    assert main(["check", path, "--attention", "softmax"]) == 2
    assert capsys.readouterr().err == \
        f"exactseq: error: {path}: softmax certification needs rational coordinates\n"


def _stand_in(monkeypatch, top):
    """proofs_check.check replaced by a stand-in that certifies exactly at tau <= top
    (and records (tau, order) per call); returns (softsearch, figure5 data, its
    softmax construction, the calls)."""
    from exactseq import softsearch
    calls = []

    def fake(cert, limits=None):
        tau, order = Fraction(cert["softmax"]["tau"]), cert["softmax"]["order"]
        calls.append((tau, order))
        if tau <= top:
            return {"order": order}
        raise proofs_check.Unknown("block 3 (saturate): an enclosure straddles 2 ReLU kinks")

    monkeypatch.setattr(proofs_check, "check", fake)
    ds = load(ROOT / "examples" / "figure5.json")
    return softsearch, ds, build(ds, attention="softmax"), calls


def test_search_uses_the_highest_order_and_tau_steps_by_100(monkeypatch):
    """The search logic alone, on a stand-in checker: it certifies at tau <= 1/1000
    only.  One pass per temperature, at the order --max-prec."""
    softsearch, ds, cons, calls = _stand_in(monkeypatch, Fraction(1, 1000))
    (verdict, info, _), tau, tried = softsearch.search(ds, cons, None, False, 64, lambda s: None, None)
    assert verdict == "certified" and tau == Fraction(1, 10000) and info == {"order": 64}
    assert [t["tau"] for t in tried] == ["1", "1/100", "1/10000"]
    assert calls == [(Fraction(1), 64), (Fraction(1, 100), 64), (Fraction(1, 10000), 64)]
    calls.clear()     # find_tau0: one step of 10 back first, then the bisection in [T, 10 T]
    (verdict, _, _), tau, tried = softsearch.search(ds, cons, None, True, 64, lambda s: None, None)
    assert verdict == "certified" and tau == Fraction(1, 1000)
    assert [t["tau"] for t in tried][:4] == ["1", "1/100", "1/10000", "1/1000"] and len(tried) == 14
    v, info, _ = softsearch.attempt(ds, cons, Fraction(1, 10), 64, lambda s: None, None)
    assert v == "unknown" and info == ("block 3 (saturate): an enclosure straddles 2 ReLU kinks"
                                       " (at order 64)")


def _true_softmax(A, V, rho, tau, X):
    """The softmax SA output of exact tokens X at 60 digits (mpmath)."""
    mpmath.mp.dps = 60
    m = [[mpmath.mpf(c.numerator) / c.denominator for c in x] for x in X]
    t = mpmath.mpf(tau.numerator) / tau.denominator

    def score(x, y):
        if A[0] == "scalar":
            return A[1] * mpmath.fsum(a * b for a, b in zip(x, y))
        ax, ay = (mpmath.fsum(a * b for a, b in zip(A[2], z)) for z in (x, y))
        return A[1] * ax * ay
    out = []
    for x in m:
        z = [score(x, y) / t for y in m]
        e = [mpmath.exp(zi - max(z)) for zi in z]
        avg = [mpmath.fsum(ej * y[i] for ej, y in zip(e, m)) / mpmath.fsum(e) for i in range(len(x))]
        out.append([rho * a + V[1] * b for a, b in zip(x, avg)])
    return out


coord = st.builds(lambda k, e: Fraction(k, 10 ** e), st.integers(-10**6, 10**6), st.integers(0, 8))


@given(st.lists(st.tuples(coord, coord), min_size=2, max_size=6, unique=True),
       st.sampled_from([("scalar", Fraction(1)), ("scalar", Fraction(-3, 7)),
                        ("rank1", Fraction(2), (Fraction(4), Fraction(-1))),
                        ("rank1", Fraction(-1, 3), (Fraction(1), Fraction(5, 2)))]),
       st.sampled_from([Fraction(0), Fraction(1)]),
       st.sampled_from([Fraction(1), Fraction(1, 100), Fraction(1, 10**6)]),
       st.sampled_from([4, 64]))
def test_integer_attention_bounds_contain_the_truth_and_match_the_exact_ones(X, A, rho, tau, order):
    """sa_balls (scores, gaps, Taylor sums and distances in integers) against the
    true softmax output and against the exact-rational bound of sa_query: same
    maximiser, the true value inside the ball, and a radius within 1% of the
    exact computation's (or below 2^-100)."""
    V = ("scalar", Fraction(1))
    toks = [sm.Ball(x, Fraction(0)) for x in X]
    stats = {}
    try:
        out, arg = sm.sa_balls((rho, A, V), toks, tau, order, "here", stats)
    except proofs_check.Unknown:
        assert any(sm.sa_query((rho, A, V), toks, i, tau, order, {}) is None for i in range(len(toks)))
        return
    true = _true_softmax(A, V, rho, tau, X)
    for i, (b, x) in enumerate(zip(out, true)):
        best, rad = sm.sa_query((rho, A, V), toks, i, tau, order, {})
        assert arg[i] == best
        assert b.r <= rad * Fraction(101, 100) + Fraction(1, 2**100)
        assert rad <= b.r * Fraction(101, 100) + Fraction(1, 2**100)
        err = max(abs(xi - mpmath.mpf(c.numerator) / c.denominator) for xi, c in zip(x, b.c))
        assert err <= mpmath.mpf(b.r.numerator) / b.r.denominator + mpmath.mpf(10) ** -50


def test_attention_without_a_robust_maximiser_is_unknown():
    """A = 0 (as zero, 0 I, 0 a a^T or c 0 0^T) with V != 0: every score ties, so no
    query has a robust maximiser (the integer path must not take a tie for a gap)."""
    toks = [sm.Ball((Fraction(2), Fraction(2)), Fraction(0)), sm.Ball((Fraction(-3, 5), Fraction(-4, 5)), Fraction(0)),
            sm.Ball((Fraction(1, 2), Fraction(1, 2)), Fraction(0))]
    for A in [("zero",), ("scalar", Fraction(0)), ("rank1", Fraction(0), (Fraction(1), Fraction(1))),
              ("rank1", Fraction(3), (Fraction(0), Fraction(0)))]:
        with pytest.raises(proofs_check.Unknown, match="scores not separated"):
            sm.sa_balls((Fraction(1), A, ("scalar", Fraction(1))), toks, Fraction(1), 8, "block 1", {})


def test_find_tau0_steps_up_from_one(monkeypatch):
    """A stand-in checker certifying exactly at tau <= 250: --find-tau0 steps up from
    1 by 10 while certified, then bisects in [100, 1000]."""
    softsearch, ds, cons, _ = _stand_in(monkeypatch, 250)
    (verdict, _, _), tau, tried = softsearch.search(ds, cons, None, True, 64, lambda s: None, None)
    assert [t["tau"] for t in tried][:4] == ["1", "10", "100", "1000"] and len(tried) == 14
    assert verdict == "certified" and 240 < tau <= 250
    assert [t["verdict"] for t in tried if Fraction(t["tau"]) == tau] == ["certified"]


def test_tiny_temperature_certificate_verifies_in_a_fresh_checker(tmp_path):
    """At tau = 10^-4300 the radii have denominators of over 4300 digits, Python's
    default limit for integer text: the checker's per-block report gives them as
    decimal bounds (widest up, gap down), and the verdict stands."""
    import subprocess
    import sys
    out = tmp_path / "c.json"
    assert main(["check", str(ROOT / "examples/figure5.json"), "--attention", "softmax",
                 "--tau", "1e-4300", "--certificate", str(out), "--quiet"]) == 0
    r = subprocess.run([sys.executable, "-m", "proofs_check", str(out), "--json"],
                       capture_output=True, text=True, timeout=120)
    rep = json.loads(r.stdout)
    assert r.returncode == 0 and rep["verdict"] == "verified", r.stdout + r.stderr
    widest = [b["widest"] for b in rep["per_block"] if b["widest"] != "0"]
    assert widest and all(w.count("e-") == 1 and len(w) < 30 for w in widest)


def test_find_tau0_steps_up_from_a_given_tau(monkeypatch):
    softsearch, ds, cons, _ = _stand_in(monkeypatch, 250)
    (verdict, _, _), tau, tried = softsearch.search(ds, cons, Fraction(1, 100), True, 64, lambda s: None, None)
    assert [t["tau"] for t in tried][:6] == ["1/100", "1/10", "1", "10", "100", "1000"]
    assert verdict == "certified" and 240 < tau <= 250 and len(tried) == 16
    (verdict, _, _), tau, tried = softsearch.search(ds, cons, Fraction(1, 100), False, 64, lambda s: None, None)
    assert [t["tau"] for t in tried] == ["1/100"] and tau == Fraction(1, 100)


@given(st.lists(st.tuples(coord, coord), min_size=1, max_size=8),
       st.sampled_from([0, Fraction(1, 1000), Fraction(1, 3)]))
def test_eval_ff_enclosure_contains_the_exact_layer(points, r):
    """exactseq eval's FF step (the checker's FFLayer, else the hull) on balls
    around points: each ball's enclosure holds the exact image of its centre and
    of its corners, and an exact point goes to its exact image."""
    from exactseq import enclosures
    ds = load(ROOT / "examples" / "figure5.json")
    cons = build(ds, attention="softmax")
    for blk in cons.blocks:
        for p in points:
            c, rad = enclosures.ff_ball(blk.ff, p, r)
            corners = [p, *((p[0] + s * r, p[1] + t * r) for s in (-1, 1) for t in (-1, 1))]
            for q in corners:
                y = blk.ff.apply(q)
                assert max(abs(a - b) for a, b in zip(y, c)) <= rad
            if r == 0:
                assert (c, rad) == (blk.ff.apply(p), 0)
