"""The float claim's proof (proofs_check/floatclaim.py): hostile certificates that a
float pass contradicts end unknown, never verified; tolerance texts within the limits;
the relative and class semantics with exact expected bounds; the fast paths (lazy runs of
one-row layers, the float Gram filter) against the plain per-token analysis; and, on
random small certificates, a real float64 / float32 NumPy pass never beyond the proven
bound."""
import copy
import json
import math
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from proofs_check import floatclaim as fc
from proofs_check import report
from proofs_check.numbers import Numbers, Unknown

np = pytest.importorskip("numpy")
fp = pytest.importorskip("exactseq.floatpass")

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ building certificates
def num(q):
    if isinstance(q, list):
        return [num(c) for c in q]
    q = F(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def mat(M):
    if M[0] == "zero":
        return {"kind": "zero"}
    if M[0] == "scalar":
        return {"kind": "scalar", "c": num(M[1])}
    if M[0] == "rank1":
        return {"kind": "rank1", "c": num(M[1]), "a": [num(x) for x in M[2]]}
    return {"kind": "full", "rows": [[num(x) for x in r] for r in M[1]]}


def block(d, eta=1, U=(), b=(), W=None, rho=1, A=("zero",), V=("zero",)):
    W = W if W is not None else [[] for _ in range(d)]
    return {"phase": "hand", "claims": [],
            "ff": {"eta": num(eta), "U": [[num(c) for c in u] for u in U], "b": [num(c) for c in b],
                   "W": [[num(c) for c in r] for r in W]},
            "sa": {"rho": num(rho), "A": mat(A), "V": mat(V)}}


def make(d, inputs, blocks, claim, outputs=None, field=None):
    """A weights-only hardmax certificate; its outputs are its weights' exact outputs
    (computed with the exact Fraction pass of exactseq.floatpass unless given)."""
    cert = {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax",
            "dataset": {"dimension": d, "sequences": [
                {"input": [[num(c) for c in x] for x in X], "output": [[num(c) for c in X[0]]]}
                for X in inputs]},
            "blocks": blocks, "float_claim": claim}
    if field:
        cert["field"] = field
    if outputs is None:
        outs = exact_outputs(cert)
        outputs = [list({tuple(r): None for r in Y}) for Y in outs]
    for s, Y in zip(cert["dataset"]["sequences"], outputs):
        s["output"] = [[num(c) for c in y] for y in Y]
    width = max((len(bk["ff"]["U"]) for bk in blocks), default=0)
    if width > 4:
        cert["max_width"] = width
    return cert


def exact_outputs(cert):
    c = copy.deepcopy(cert)
    c.pop("float_claim", None)
    return [[tuple(F(v) for v in row) for row in Y] for Y in fp.forward(c, dtype=object)[0]]


def verify(cert):
    return report.run(copy.deepcopy(cert))


def claim(tol="1/1000", fmt="binary64", **kw):
    return dict({"format": fmt, "tolerance": tol}, **kw)


def float_outputs(cert, dtype=np.float64):
    with np.errstate(all="ignore"):
        return fp.forward(cert, dtype)[0]


def hausdorff_exact(out, Y):
    """Euclidean Hausdorff distance^2 between float rows and exact points, in rationals
    (None when a float is not finite)."""
    rows = [[F(float(v)) for v in r] if all(map(math.isfinite, map(float, r))) else None for r in out]
    if None in rows:
        return None
    d2 = lambda p, q: sum((a - b) ** 2 for a, b in zip(p, q))
    return max(max(min(d2(r, y) for y in Y) for r in rows), max(min(d2(r, y) for r in rows) for y in Y))


def claim_is_false(cert, dtype=np.float64):
    """Does a real NumPy pass contradict the absolute claim (non-finite, or an output set
    farther than the tolerance from its target set)?"""
    T = F(cert["float_claim"]["tolerance"])
    targets = [[tuple(F(c) for c in y) for y in s["output"]] for s in cert["dataset"]["sequences"]]
    for out, Y in zip(float_outputs(cert, dtype), targets):
        h = hausdorff_exact(out, Y)
        if h is None or h > T * T:
            return True
    return False


# ------------------------------------------------------------------ hostile certificates
SQRT2 = {"minpoly": ["-2", "0", "1"], "interval": ["1", "2"]}


def field_inverse_cert(tol="1/1000"):
    """Q(sqrt 2), one-token sequences: V = 0 (a zero matrix), then x -> x + c x with
    c = 2^60 sqrt 2, then its exact inverse x -> x + c' x, 1 + c' = 1 / (1 + c).  Exactly
    the identity; in floats the second step cancels 2^60 sqrt 2 x catastrophically."""
    k = 2 ** 121 - 1
    c, cinv = ["0", str(2 ** 60)], [f"-{2 ** 121}/{k}", f"{2 ** 60}/{k}"]
    one, zero = ["1", "0"], ["0", "0"]

    def blk(V):
        return {"phase": "hand", "claims": [], "ff": {"eta": one, "U": [], "b": [], "W": [[], []]},
                "sa": {"rho": one, "A": {"kind": "scalar", "c": one}, "V": V}}
    inputs = [[["3", "5"]], [["7", "-2"]]]
    return {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax", "field": SQRT2,
            "dataset": {"dimension": 2, "sequences": [{"input": X, "output": X} for X in inputs]},
            "blocks": [blk({"kind": "scalar", "c": zero}), blk({"kind": "scalar", "c": c}),
                       blk({"kind": "scalar", "c": cinv})],
            "float_claim": claim(tol)}


def test_field_weights_are_remembered_by_value_not_by_address():
    cert = field_inverse_cert()
    assert verify({k: v for k, v in cert.items() if k != "float_claim"})[0] == "verified"
    assert claim_is_false(cert)                  # a real float64 pass is far from the identity
    verdict, res = verify(cert)
    assert verdict == "unknown"
    assert res["reason"].startswith("float claim: the proven error bound ")
    # the matrix statistics are keyed by value: equal values share, different values do not
    nums = Numbers(SQRT2)
    a, b, c = (nums.num(x) for x in (["0", "1"], ["0", "1"], ["0", "2"]))
    assert a is not b and fc._mkey(("scalar", a)) == fc._mkey(("scalar", b)) != fc._mkey(("scalar", c))
    eng = fc.Engine(fc.Arith("binary64"), 2, [([(F(1), F(0))], [(F(1), F(0))])],
                    {(1, (1, 0)): fc.Tok((F(1), F(0)), 1)})
    sa, sb, sc = (eng.mstats(("scalar", x)) for x in (a, b, c))
    assert sa is sb and sc is not sa and sc.hrow > sa.hrow


def overflow_cert(column=False, tol="1/1000000"):
    """d = 16, A with one row (or column) of 1.5 * 2^1023, tokens of coordinates 3/32 and
    1/16: every exact score is finite and has a unique maximiser, but A x_i (or A^T x_j)
    is beyond binary64, so in floats every score is inf: a tie, the mean of both keys."""
    d, M = 16, F(3, 2) * F(2) ** 1023
    rows = [[M] * d] + [[0] * d for _ in range(d - 1)]
    if column:
        rows = [list(r) for r in zip(*rows)]
    x1 = [F(3, 32)] * d
    x2 = [F(1, 16)] + [F(3, 32)] * (d - 1)
    if column:
        x1, x2 = x1[::-1], x2[::-1]
    return make(d, [[x1, x2]], [block(d, rho=1, A=("full", rows), V=("scalar", 1))], claim(tol))


def key_side_pass(cert):
    """One attention block (rho = 1, V = I) in float64 with the scores in the other order
    the model allows, (A^T x_j).x_i, the maximisers averaged as in exactseq.floatpass."""
    blocks, inputs, _ = fp.convert(cert)
    _, _, _, _, rho, At, Vt = blocks[0]
    X = inputs[0]
    with np.errstate(all="ignore"):
        S = X @ (X @ At.T).T                       # S[i, j] = x_i . (A^T x_j)
        M = (S == S.max(axis=1, keepdims=True)).astype(float)
        return rho * X + (M / M.sum(axis=1, keepdims=True)) @ X @ Vt


@pytest.mark.parametrize("column", [False, True])
def test_intermediate_overflow_is_unknown(column):
    cert = overflow_cert(column)
    exact = exact_outputs(cert)[0]
    # the NumPy pass ((A x_i).x_j) with a huge row, the key-side order with a huge column:
    # every score is inf, a tie, and the mean of both keys puts the first output 1/64 off
    out = key_side_pass(cert) if column else float_outputs(cert)[0]
    c = 15 if column else 0
    assert abs(F(float(out[0][c])) - exact[0][c]) == F(1, 64)
    assert column or claim_is_false(cert)
    verdict, res = verify(cert)
    assert verdict == "unknown"
    assert res["reason"] == ("float claim: block 1 (hand): sequence 0: " + ("A^T x_j" if column else "A x_i")
                             + " may overflow the format")


def nan_cert(A, x=(4096, 8192), tol="1/1000"):
    return make(2, [[x], [(3, 5)]], [block(2, rho=1, A=A, V=("scalar", F(1, 2)))], claim(tol))


def test_one_token_score_is_proven_finite():
    """One token: no gap to prove, but its score must still be finite.  A = diag(2^1000,
    -2^1000), x = (4096, 8192): as one sum of triple products (einsum) the score is
    2^1024 - 2^1026 = inf - inf = NaN; A = diag(2^1023, -2^1023), x = (3, 3): A x is
    (inf, -inf) and the NumPy pass itself ends in NaN."""
    cert = nan_cert(("full", [[F(2) ** 1000, 0], [0, -F(2) ** 1000]]))
    blocks, inputs, _ = fp.convert(cert)
    with np.errstate(all="ignore"):
        assert np.isnan(np.einsum("id,de,je->ij", inputs[0], blocks[0][5].T, inputs[0])).all()
    assert verify(cert) == ("unknown", {"verdict": "unknown", "reason": "float claim: block 1 (hand): sequence 0: "
                                        "an attention score may overflow the format"})
    cert = nan_cert(("full", [[F(2) ** 1023, 0], [0, -F(2) ** 1023]]), x=(3, 3))
    assert np.isnan(float_outputs(cert)[0]).all() and claim_is_false(cert)
    assert verify(cert) == ("unknown", {"verdict": "unknown", "reason": "float claim: block 1 (hand): sequence 0: "
                                        "A x_i may overflow the format"})


def test_all_tie_rows_are_unknown_and_checked_for_overflow():
    """Every key ties (A = 0): unknown as before; with huge tokens the overflow is found
    first, on every row."""
    cert = make(2, [[(1, 0), (0, 1)]], [block(2, rho=1, A=("scalar", 0), V=("scalar", F(1, 2)))], claim())
    assert verify(cert) == ("unknown", {"verdict": "unknown", "reason": "float claim: block 1 (hand): sequence 0: "
                                        "a query has several maximisers (ties are not analysed)"})
    big = F(2) ** 600
    cert = make(2, [[(big, 0), (0, big)]], [block(2, rho=1, A=("scalar", 0), V=("scalar", F(1, 2)))],
                claim("1000000"))
    assert verify(cert)[1]["reason"] == ("float claim: block 1 (hand): sequence 0: a product x_id x_je may "
                                         "overflow the format")


def test_the_same_certificates_verify_where_floats_are_safe():
    """Small weights on the same shapes: proven, and the NumPy pass within the bound."""
    d = 16
    rows = [[F(3, 2)] * d] + [[0] * d for _ in range(d - 1)]
    cert = make(d, [[[F(3, 32)] * d, [F(1, 16)] + [F(3, 32)] * (d - 1)]],
                [block(d, rho=1, A=("full", rows), V=("scalar", 1))], claim("1/1000000"))
    verdict, res = verify(cert)
    assert verdict == "verified", res["reason"]
    assert not claim_is_false(cert)
    cert = nan_cert(("full", [[F(1, 4), 0], [0, -F(1, 4)]]))
    assert verify(cert)[0] == "verified"


def test_gamma_needs_n_u_at_most_one_half():
    ar = fc.Arith("binary32")
    assert ar.gamma(2 ** 23) == -((-(2 ** 23) << ar.s) // (2 ** 24 - 2 ** 23)) == ar.one
    with pytest.raises(Unknown, match="a sum of 8388609 terms is beyond the error analysis"):
        ar.gamma(2 ** 23 + 1)


def test_irrational_weight_beyond_the_format_is_unknown():
    ar = fc.Arith("binary32")
    x = Numbers(SQRT2).num(["0", str(2 ** 127)])       # 2^127 sqrt 2 > the largest binary32
    with pytest.raises(Unknown, match="may overflow the format"):
        ar.weight(x)


# ------------------------------------------------------------------ tolerance texts
@pytest.fixture(scope="module")
def small_cert():
    return make(2, [[(F(4, 3), 0), (0, 1)]], [block(2, rho=1, A=("scalar", 1), V=("scalar", F(1, 4)))],
                claim("1/1000"))


def run_cli(tmp_path, cert, *args):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cert))
    r = subprocess.run([sys.executable, "-m", "proofs_check", *args, str(path)], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    return r.returncode, r.stdout, r.stderr, str(path)


@pytest.mark.parametrize("text,digits", [("1e-20000000", 20000001), ("1e100000", 100001),
                                         ("1e-1000000", 1000001), ("-2e-100001", 100002)])
def test_tolerance_beyond_the_limits_is_one_line_exit_2(tmp_path, small_cert, text, digits):
    status, out, err, path = run_cli(tmp_path, dict(small_cert, float_claim=claim(text)))
    assert (status, out) == (2, "")
    assert err == (f"proofs_check: {path}: malformed: float_claim.tolerance: a literal of about {digits} "
                   "digits exceeds the limit of 100000 (raise it with --max-digits)\n")


def test_tolerance_texts_within_the_limits(tmp_path, small_cert):
    # 10^-99999: no binary64 point is that near 4/3 (rejected), and with dyadic data (every
    # float exact, bound one unit of the analysis, 2^-(53 + 128 + 2) for the coordinate 1/4)
    # the bound exceeds it (unknown); both one line, quickly
    status, out, err, _ = run_cli(tmp_path, dict(small_cert, float_claim=claim("1e-99999")))
    assert (status, err) == (1, "")
    assert out == "REJECTED: float claim: sequence 0: no binary64 point lies within the tolerance of the target " \
        f"({', '.join(small_cert['dataset']['sequences'][0]['output'][0])})\n"
    dyadic = make(2, [[(F(1, 4), F(1, 2))]], [], claim("1e-99999"), outputs=[[(F(1, 4), F(1, 2))]])
    status, out, err, _ = run_cli(tmp_path, dyadic)
    assert (status, out, err) == (3, "UNKNOWN: float claim: the proven error bound 8.16e-56 exceeds the tolerance "
                                     "~2^-332189 (the claim may still hold)\n", "")
    verdict, res = verify(dict(small_cert, float_claim=claim("2.5e-3")))
    assert verdict == "verified" and res["float_claim"]["tolerance"] == "1/400"
    for text in ("1" + "0" * 5000, "1" + "0" * 4999 + "/3"):    # beyond 12000 bits: the certificate's text
        verdict, res = verify(dict(small_cert, float_claim=claim(text)))
        assert verdict == "verified" and res["float_claim"]["tolerance"] == text
    status, out, err, _ = run_cli(tmp_path, dict(small_cert, float_claim=claim("1" + "0" * 100001)))
    assert status == 2 and err.endswith("malformed: float_claim.tolerance: an integer of 100002 digits exceeds "
                                        "the limit of 100000 (raise it with --max-digits)\n")


@pytest.mark.parametrize("fcl,verdict,reason", [
    (claim("1/0"), "malformed", "float_claim.tolerance: zero denominator"),
    (claim("1e"), "malformed", 'float_claim: the tolerance must be a rational "p/q"'),
    (claim(" 1/3"), "malformed", 'float_claim: the tolerance must be a rational "p/q"'),
    (claim("0e5"), "rejected", "float claim: the tolerance must be positive"),
    (claim("1/3", fmt=["binary64"]), "malformed",
     'float_claim: expected {"format": "binary64" | "binary32", "tolerance": "p/q"}'),
    (claim("1/3", relative="yes"), "malformed", 'float_claim: "relative" must be true or false'),
    (claim("1/3", classes=1), "malformed", 'float_claim: "classes" must be true or false'),
    (claim("1/3", Relative=True), "malformed", "float_claim: unknown key 'Relative'"),
    (claim("1/3", classes=True), "malformed",
     'float_claim: "classes" needs one output token per sequence (sequence 0 has 2)'),
])
def test_malformed_claims(small_cert, fcl, verdict, reason):
    assert verify(dict(small_cert, float_claim=fcl)) == (verdict, {"verdict": verdict, "reason": reason})


def test_json_number_tolerance_is_malformed_from_a_file(tmp_path, small_cert):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(small_cert).replace('"tolerance": "1/1000"', '"tolerance": 0.001'))
    r = subprocess.run([sys.executable, "-m", "proofs_check", str(path)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 2 and r.stderr == (f"proofs_check: {path}: malformed: float_claim: expected "
                                              '{"format": "binary64" | "binary32", "tolerance": "p/q"}\n')


# ------------------------------------------------------------------ relative and classes
def zero_block(points, **kw):
    """No blocks: each output is its input, so the only float error is the rounding of
    the input (|fl(4/3) - 4/3| = 2^-52 / 3 in binary64)."""
    return make(2, [[p] for p in points], [], claim("1", **kw), outputs=[[p] for p in points])


def test_relative_and_absolute_bounds_exactly():
    # one token (4/3, 0): error 2^-52 / 3, |y| = 4/3
    verdict, res = verify(zero_block([(F(4, 3), 0)], relative=True))
    assert verdict == "verified"
    # sqrt(2) (2^-52 / 3) / (4/3) = sqrt(2) 2^-54; rounded up to 24 bits: ceil(sqrt(2) 2^23) 2^-77
    assert res["float_claim"] == {"format": "binary64", "tolerance": "1", "decisions": 0, "bound": "7.850e-17",
                                  "bound_exact": "2965821/37778931862957161709568", "relative": True}
    assert F(res["float_claim"]["bound_exact"]) == F(math.ceil(math.sqrt(2) * 2 ** 23), 2 ** 77)
    verdict, res = verify(zero_block([(F(4, 3), 0)]))
    # sqrt(2) 2^-52 / 3 = (sqrt(2) / 3 * 4) 2^-54; 24 bits: ceil(15817710.94) 2^-77
    assert res["float_claim"]["bound_exact"] == "15817711/151115727451828646838272"
    assert res["float_claim"]["relative"] is False
    # |y| < 1 counts as 1: (1/3, 0) errs by 2^-54 / 3
    rel = verify(zero_block([(F(1, 3), 0)], relative=True))[1]["float_claim"]
    ab = verify(zero_block([(F(1, 3), 0)]))[1]["float_claim"]
    assert rel["bound_exact"] == ab["bound_exact"] == "15817711/604462909807314587353088"


def test_relative_tolerance_verifies_at_the_bound_and_not_below():
    cert = zero_block([(F(4, 3), 0), (F(40, 3), F(1, 7))], relative=True)
    bound = F(verify(cert)[1]["float_claim"]["bound_exact"])
    t = F(1)
    while t / 2 >= bound:
        t /= 2
    for tol, verdict in ((t, "verified"), (bound, "verified"), (bound * 99 / 100, "unknown")):
        assert verify(dict(cert, float_claim=claim(num(tol), relative=True)))[0] == verdict
    # read absolutely, that tolerance is below the rounding of 40/3 itself
    assert verify(dict(cert, float_claim=claim(num(bound))))[0] == "rejected"


def test_unreachable_relative_tolerance_is_rejected():
    cert = zero_block([(F(4, 3), 0)], relative=True)
    # fl(4/3) is 2^-52/3 away: relative 2^-54, below it no binary64 point is near enough
    verdict, res = verify(dict(cert, float_claim=claim(num(F(1, 2 ** 55)), relative=True)))
    assert (verdict, res["reason"]) == ("rejected", "float claim: sequence 0: no binary64 point lies within "
                                                    "the tolerance of the target (4/3, 0)")
    assert verify(dict(cert, float_claim=claim(num(F(1, 2 ** 53)), relative=True)))[0] == "verified"


def test_classes_are_proven_and_counted():
    cert = zero_block([(F(4, 3), 0), (1, 1), (F(4, 3), F(1, 1000))], relative=True, classes=True)
    verdict, res = verify(cert)
    assert verdict == "verified" and res["float_claim"]["classes"] == 3
    assert list(res["float_claim"]) == ["format", "tolerance", "decisions", "bound", "bound_exact", "relative",
                                        "classes"]
    line = report.line(res)
    assert line.endswith("ends within 1 relative, i.e. 1 max(1, |y|) from each exact output y (proven bound "
                         "7.850e-17), each output nearer its own target point than any other (3 sequences)")


def test_class_decision_not_provable_is_unknown():
    """Two targets 1e-17 apart, closer than twice the rounding error of fl(4/3): the class
    decision cannot be proven (fl of both may even be the same float)."""
    p, q = (F(4, 3), 0), (F(4, 3) + F(1, 10 ** 17), 0)
    cert = zero_block([p, q], classes=True)
    assert fp.forward(cert)[0][0][0][0] == fp.forward(cert)[0][1][0][0]     # the same float
    assert verify(cert) == ("unknown", {"verdict": "unknown", "reason": "float claim: sequence 0: the class "
                            "decision is not proven (a float output may lie nearer another target point)"})
    assert verify(zero_block([p, q]))[0] == "verified"           # the tolerance itself holds


def test_classes_over_a_field():
    inputs = [[["sqrt(2)", "0"]], [["1", "1"]]]
    field = dict(SQRT2, atoms=[{"base": "2", "exponent": "1/2", "value": ["0", "1"]}])
    cert = {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax", "field": field,
            "dataset": {"dimension": 2, "sequences": [{"input": X, "output": X} for X in inputs]},
            "blocks": [], "float_claim": claim("1", relative=True, classes=True)}
    verdict, res = verify(cert)
    assert verdict == "verified" and res["float_claim"]["classes"] == 2


def test_absolute_report_line_is_unchanged(small_cert):
    res = verify(small_cert)[1]
    assert report.line(res).endswith(f"a binary64 pass decides as the exact model and ends within 1/1000 "
                                     f"(proven bound {res['float_claim']['bound']})")


# ------------------------------------------------------------------ fast paths against the plain analysis
def trapezoid_run(points, moves, u=(1, -1), e=F(1, 8)):
    """Layers relu(z + 2e) - relu(z + e) - relu(z - e) + relu(z - 2e), z = <u, x> - s0, with
    W = w (1, -1, -1, 1): tokens with |z| <= e move by w e, tokens with z >= 2e see every
    unit on (exactly the identity), tokens below see none."""
    d = len(u)
    blocks = []
    for s0, w in moves:
        U = [list(u)] * 4
        b = [-s0 + 2 * e, -s0 + e, -s0 - e, -s0 - 2 * e]
        W = [[wi, -wi, -wi, wi] for wi in w]
        blocks.append(block(d, U=U, b=b, W=W))
    return blocks


def lazy_and_plain(cert, monkeypatch):
    a = verify(cert)
    monkeypatch.setattr(fc, "LAZY", False)
    b = verify(cert)
    monkeypatch.setattr(fc, "LAZY", True)
    return a, b


def test_lazy_run_matches_the_plain_analysis(monkeypatch):
    # <u, x> = 10 k / 21 on the first sequence; each tube holds its token k = 5, 4, 2, 1 (top
    # down, as the leaders phase moves them), the second sequence lies below every tube
    X = [[(F(k, 3), F(-k, 7)) for k in range(1, 9)], [(F(k, 50), F(k, 11)) for k in range(1, 7)]]
    ws = [(F(-1, 3), F(5, 7)), (F(2, 7), F(-1, 9)), (F(9, 10), F(1, 3)), (F(1, 9), F(1, 9))]
    moves = [(F(10 * k, 21), w) for k, w in zip((5, 4, 2, 1), ws)]
    cert = make(2, X, trapezoid_run(X, moves), claim("1/1000000"))
    (va, ra), (vb, rb) = lazy_and_plain(cert, monkeypatch)
    assert va == vb == "verified", (ra, rb)
    a, b = F(ra["float_claim"]["bound_exact"]), F(rb["float_claim"]["bound_exact"])
    assert abs(a - b) <= b / 10 ** 6 and ra["float_claim"]["decisions"] == rb["float_claim"]["decisions"] == 4 * 4 * 14
    for dtype in (np.float64,):
        out, exact = float_outputs(cert, dtype), exact_outputs(cert)
        for O, Y in zip(out, exact):
            for o, y in zip(O, Y):
                assert sum((F(float(v)) - c) ** 2 for v, c in zip(o, y)) <= a * a


@st.composite
def one_row_runs(draw):
    """Random runs of trapezoid layers on one row u over random tokens (some in a tube,
    some above every tube, some below)."""
    d = draw(st.integers(2, 3))
    u = [F(draw(st.integers(1, 3)))] + [F(draw(st.integers(-3, 3))) for _ in range(d - 1)]
    n = draw(st.integers(3, 8))
    X = sorted({tuple(F(draw(st.integers(-30, 30)), draw(st.sampled_from([1, 3, 7, 10]))) for _ in range(d))
                for _ in range(n)})
    proj = sorted({sum(a * b for a, b in zip(u, x)) for x in X})
    moves = []
    for _ in range(draw(st.integers(2, 6))):
        s0 = draw(st.sampled_from(proj)) + F(draw(st.integers(-2, 2)), 64)
        w = [F(draw(st.integers(-20, 20)), draw(st.sampled_from([1, 3, 8]))) for _ in range(d)]
        moves.append((s0, w))
    e = F(1, draw(st.sampled_from([8, 16, 1000])))
    return d, [X], trapezoid_run(X, moves, tuple(u), e), draw(st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(one_row_runs())
def test_lazy_runs_against_the_plain_analysis(monkeypatch, spec):
    """A lazy run decides as the plain per-token analysis and proves the same bound up to
    a relative 10^-9 (its product of (1 + a) factors and roundings), and the NumPy pass
    stays within it."""
    d, X, blocks, rel = spec
    cert = make(d, X, blocks, claim("1000000", relative=rel))
    (va, ra), (vb, rb) = lazy_and_plain(cert, monkeypatch)
    assert va == vb and (va != "verified" or ra["float_claim"]["decisions"] == rb["float_claim"]["decisions"])
    if va != "verified":
        assert ra == rb
        return
    a, b = F(ra["float_claim"]["bound_exact"]), F(rb["float_claim"]["bound_exact"])
    assert abs(a - b) <= b / 10 ** 9 + F(1, 2 ** 150)
    for O, Y in zip(float_outputs(cert), exact_outputs(cert)):
        for o, y in zip(O, Y):
            scale = max(F(1), sum(c * c for c in y)) if rel else 1
            assert sum((F(float(v)) - c) ** 2 for v, c in zip(o, y)) <= a * a * scale


def test_gram_filter_matches_exact_decisions(monkeypatch):
    """Attention with A = c I on more than two tokens goes through the float Gram filter;
    with the filter's premises broken (a coordinate below 2^-500) every score is exact:
    the same verdict and bound."""
    X = [[(F(k, 3), F(k * k, 7) - 1) for k in range(6)]]
    cert = make(2, X, [block(2, rho=F(1, 2), A=("scalar", F(3, 2)), V=("scalar", F(1, 3)))], claim("1/100000"))
    verdict, res = verify(cert)
    assert verdict == "verified", res
    monkeypatch.setattr(fc.Filter, "make", classmethod(lambda cls, q, k: None))
    assert verify(cert) == (verdict, res)


def test_full_a_filter_matches_exact_decisions(monkeypatch):
    """A full rational A goes through the same filter with queries A x_i; without it
    every score is exact: the same verdict and bound."""
    X = [[(F(k, 3), F(k * k, 7) - 1) for k in range(7)]]
    A = ("full", ((F(1), F(2, 3)), (F(-1, 5), F(3))))
    cert = make(2, X, [block(2, rho=F(1, 2), A=A, V=("scalar", F(1, 3)))], claim("1/100000"))
    verdict, res = verify(cert)
    assert verdict == "verified", res
    monkeypatch.setattr(fc.Filter, "make", classmethod(lambda cls, q, k: None))
    assert verify(cert) == (verdict, res)


# ------------------------------------------------------------------ property: real passes within the bound
def small_q(draw, top=6, dens=(1, 2, 3, 5, 7, 10)):
    return F(draw(st.integers(-top, top)), draw(st.sampled_from(dens)))


@st.composite
def certificates(draw):
    d = draw(st.integers(2, 3))
    N = draw(st.integers(1, 2))
    inputs = []
    for _ in range(N):
        n = draw(st.integers(1, 4))
        pts = {tuple(small_q(draw) for _ in range(d)) for _ in range(n)}
        inputs.append(sorted(pts))
    if len({frozenset(X) for X in inputs}) != N:
        inputs = inputs[:1]
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        w = draw(st.integers(0, 3))
        if draw(st.booleans()):           # one row (as hats and trapezoids use), else any rows
            u = [small_q(draw, 3, (1, 2)) for _ in range(d)]
            U = [u] * w
        else:
            U = [[small_q(draw, 3, (1, 2)) for _ in range(d)] for _ in range(w)]
        b = [small_q(draw, 4) for _ in range(w)]
        W = [[small_q(draw, 2, (1, 3, 4)) for _ in range(w)] for _ in range(d)]
        eta = draw(st.sampled_from([1, 1, F(1, 2), F(2, 3), -1]))
        kind = draw(st.sampled_from(["zero", "scalar", "rank1", "full"]))
        A = {"zero": ("zero",), "scalar": ("scalar", small_q(draw, 3)),
             "rank1": ("rank1", small_q(draw, 2), [small_q(draw, 3) for _ in range(d)]),
             "full": ("full", [[small_q(draw, 3) for _ in range(d)] for _ in range(d)])}[kind]
        V = draw(st.sampled_from([("zero",), ("scalar", F(1, 3)), ("scalar", 1), ("rank1", F(1, 2), [1] * d)]))
        rho = draw(st.sampled_from([1, 0, F(1, 2)]))
        blocks.append(block(d, eta, U, b, W, rho, A, V))
    fmt = draw(st.sampled_from(["binary64", "binary64", "binary32"]))
    rel = draw(st.booleans())
    return d, inputs, blocks, fmt, rel


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(certificates())
def test_numpy_pass_within_the_proven_bound(spec):
    d, inputs, blocks, fmt, rel = spec
    try:
        cert = make(d, inputs, blocks, claim("1000000", fmt, relative=rel))
    except Exception:       # outputs breaking Assumption 1.3 or the block bound: not a certificate
        return
    verdict, res = verify(cert)
    if verdict != "verified":
        assert verdict in ("unknown", "rejected") and res["reason"], res
        return
    B = F(res["float_claim"]["bound_exact"])
    exact = exact_outputs(cert)
    for dtype in ((np.float64,) if fmt == "binary64" else (np.float32,)):
        for O, Y in zip(float_outputs(cert, dtype), exact):
            for o, y in zip(O, Y):
                assert all(map(math.isfinite, map(float, o)))
                err2 = sum((F(float(v)) - c) ** 2 for v, c in zip(o, y))
                scale = max(F(1), sum(c * c for c in y)) if rel else 1
                assert err2 <= B * B * scale


def test_random_certificates_are_mostly_proven():
    """The property above is not vacuous: most of a fixed sample of such certificates
    verify, and each verified one's float64 pass stays within its bound."""
    import random
    rng = random.Random(7)
    proven = tried = 0
    for _ in range(40):
        d = 2
        X = [sorted({(F(rng.randint(-9, 9), rng.choice([1, 3, 5])), F(rng.randint(-9, 9), rng.choice([2, 7])))
                     for _ in range(3)})]
        blocks = [block(d, F(1, 2), [[1, 2]], [F(rng.randint(-5, 5), 3)], [[F(1, 3)], [1]], 1,
                        ("scalar", F(1, 5)), ("scalar", F(1, 4)))]
        cert = make(d, X, blocks, claim("1000000"))
        tried += 1
        verdict, res = verify(cert)
        if verdict == "verified":
            proven += 1
            assert not claim_is_false(dict(cert, float_claim=claim(res["float_claim"]["bound_exact"])))
    assert proven >= tried // 2


@pytest.mark.parametrize("name, block", [("tie-multiplicity", 2), ("tie-at-zero", 1)])
def test_several_tokens_on_one_exact_point_are_a_tie(name, block):
    """Tokens merged onto one exact point are still several keys: a float pass averages
    them (weights fl(1/k), and float tokens that are not all equal), so the decision is a
    tie, unknown, in the fast checker and in the reference kernel alike; before, a
    sequence of one distinct point was taken as decided and the claim verified falsely."""
    import proofs_check
    from proofs_check import report
    cert = json.loads((ROOT / "tests/data/float" / f"{name}.cert.json").read_text())
    for reference in (False, True):
        verdict, result = report.run(cert, reference=reference)
        assert verdict == "unknown" and result["reason"].startswith(f"float claim: block {block} ")
        assert result["reason"].endswith("a query has several maximisers (ties are not analysed)")
    assert proofs_check.check(cert, claim_required=False)["float_claim"] is None


def test_the_kernel_reads_the_tolerance_within_the_same_limits(tmp_path):
    from proofs_check import report
    from proofs_check.limits import DEFAULT
    cert = json.loads((ROOT / "tests/data/float" / "tie-at-zero.cert.json").read_text())
    cert["float_claim"]["tolerance"] = "1/" + "1" * 20
    small = DEFAULT.with_(max_digits=19)
    for reference in (False, True):
        verdict, result = report.run(cert, small, reference=reference)
        assert verdict == "malformed" and "float_claim.tolerance: an integer of 20 digits" in result["reason"]
