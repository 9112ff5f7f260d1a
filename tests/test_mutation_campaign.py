"""Mutation campaigns: every number of every block and claim, and block drops,
duplicates and swaps (rational data, judged by the plain dense evaluator); and
over real number fields the field, the atoms and every coefficient list
(judged by tests/independent.py, which shares no number code with the checker).
verify must never accept a certificate whose statement is false."""
import copy
import json
import os
import time
from fractions import Fraction

import pytest

import proofs_check
from helpers import campaign, certify, seqs
from independent import judge

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
DATA = os.path.join(HERE, "data")

DATASETS = {
    "overlapping": seqs(([[0, 0], [1, 0]], [[5, 5]]), ([[1, 0], [0, 1]], [[5, 6]]),
                        ([[0, 0], [0, 1]], [[1, 2], [0, 0]])),
    "nested 3d": seqs(([[0, 0, 1]], [[1, 1, 1]]), ([[0, 0, 1], [1, 0, 0]], [[2, 0, 0]]),
                      ([[0, 0, 1], [1, 0, 0], [0, 2, 0]], [[0, 1, 0], [1, 2, 3]])),
    "disjoint": seqs(([[2, 0], [0, 3]], [["1/2", 0]]), ([[1, 1], [-1, 1], [0, 0]], [[1, 1], [9, 9]])),
}


@pytest.mark.parametrize("name", list(DATASETS))
def test_campaign_never_fooled(name):
    _, _, cert, _ = certify(DATASETS[name])
    counts, fooled = campaign(cert)
    assert fooled == []
    assert counts["rejected"] > counts["harmless"] > 0


# ====================================================== algebraic certificates
def _circle():
    with open(os.path.join(ROOT, "examples", "circle.json")) as fh:
        return json.load(fh)


# Equal numbers written differently, each spelling in a different sequence.
SPELLINGS = seqs(([["sqrt(2)", "0"], ["0", "1"]], [["sqrt(8)/2", "1"]]),
                 ([["sqrt(8)/2", "1"], ["1", "0"]], [["sqrt(2)", "0"]]))

ALGEBRAIC = {
    "circle": _circle,
    "sqrt(2) = sqrt(8)/2": lambda: SPELLINGS,
    "golden ratio": lambda: seqs(([["(1+sqrt(5))/2", "1"], ["0", "1"]], [["1", "(1-sqrt(5))/2"]]),
                                 ([["1", "1"], ["2/(1+sqrt(5))", "0"]], [["(1+sqrt(5))/2", "0"]])),
    "cube root": lambda: seqs(([["2^(1/3)", "0"], ["0", "1"]], [["2^(2/3)", "1"]]),
                              ([["1", "2^(1/3)"], ["1", "0"]], [["0", "4^(1/3)"]])),
}


def _text(q):
    q = Fraction(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _strings(obj):
    """The dataset with every coordinate as text (as a certificate stores it)."""
    return {**obj, "sequences": [
        {**s, **{key: [[c if isinstance(c, str) else str(c) for c in t] for t in s[key]]
                 for key in ("input", "output")}} for s in obj["sequences"]]}


def algebraic_cert(name):
    """The certificate exactseq writes for ALGEBRAIC[name].

    exactseq stores one spelling per number; the dataset's own texts are put back
    (with the atoms they need) so the checker reads them as written."""
    from exactseq import certificate
    from exactseq.construction import build
    from exactseq.dataset import canonical_hash, from_obj
    obj = ALGEBRAIC[name]()
    ds = from_obj(obj)
    cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
    if name == "sqrt(2) = sqrt(8)/2":
        data = _strings(obj)
        data["dimension"] = cert["dataset"]["dimension"]
        k = len(cert["field"]["minpoly"]) - 1
        root2 = next(a for a in cert["field"]["atoms"]
                     if a["base"][0] == "2" and a["exponent"] == "1/2")
        cert["field"]["atoms"].append({"base": ["8"] + ["0"] * (k - 1), "exponent": "1/2",
                                       "value": [_text(2 * Fraction(c)) for c in root2["value"]]})
        cert["dataset"] = data
        cert["dataset_sha256"] = canonical_hash(data)
    return cert


# ---- where the numbers of a block are
def slots(cert):
    """Paths to every number (a rational string or a coefficient list) of the blocks."""
    def vec(path, v):
        return [path + (i,) for i in range(len(v))]

    out = []
    for k, blk in enumerate(cert["blocks"]):
        ff, sa = blk["ff"], blk["sa"]
        p = ("blocks", k, "ff")
        out.append(p + ("eta",))
        out += vec(p + ("b",), ff["b"])
        for key in ("U", "W"):
            for r, row in enumerate(ff[key]):
                out += vec(p + (key, r), row)
        p = ("blocks", k, "sa")
        out.append(p + ("rho",))
        for m in ("A", "V"):
            M = sa[m]
            if "c" in M:
                out.append(p + (m, "c"))
            if "a" in M:
                out += vec(p + (m, "a"), M["a"])
            for r, row in enumerate(M.get("rows", [])):
                out += vec(p + (m, "rows", r), row)
        for i, c in enumerate(blk.get("claims", [])):
            p = ("blocks", k, "claims", i)
            kind = c["kind"]
            if kind == "hat":
                out += [p + ("s0",), p + ("eps",)]
                for key in ("v", "point", "target"):
                    out += vec(p + (key,), c[key])
            elif kind == "leaders":
                out += vec(p + ("a",), c["a"])
                for j, l in enumerate(c["leaders"]):
                    out += vec(p + ("leaders", j), l)
            elif kind == "collapse":
                out += [p + ("q",), p + ("r",)]
                out += vec(p + ("t",), c["t"])
                for j, sph in enumerate(c["sphere"]):
                    for l, pt in enumerate(sph):
                        out += vec(p + ("sphere", j, l), pt)
    return out


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def _set(obj, path, value):
    _get(obj, path[:-1])[path[-1]] = value


def _pad(cert, new_k):
    """The certificate over a field of degree new_k: every coefficient list padded with zeros."""
    m = copy.deepcopy(cert)

    def pad(v):
        return v + ["0"] * (new_k - len(v)) if isinstance(v, list) else v

    for path in slots(m):
        _set(m, path, pad(_get(m, path)))
    for at in m["field"]["atoms"]:
        at["base"], at["value"] = pad(at["base"]), pad(at["value"])
    return m


def _pmul(p, q):
    r = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            r[i + j] += a * b
    return r


def _real_roots(poly):
    """Isolating rational intervals of the distinct real roots, in increasing order."""
    import sympy
    x = sympy.Symbol("x")
    P = sympy.Poly([sympy.Rational(_text(c)) for c in reversed(poly)], x, domain="QQ")
    return [(Fraction(str(lo)), Fraction(str(hi))) for (lo, hi), _ in P.intervals()]


# ---- the mutants
FACTORS = {"(x^2-2)": ["-2", "0", "1"], "(x-1)": ["-1", "1"], "(x^2-8)": ["-8", "0", "1"],
           "(x+3)": ["3", "1"], "(x^2-5)": ["-5", "0", "1"], "(x^3-2)": ["-2", "0", "0", "1"]}


def _lift(cert, flip=None):
    """The certificate over Q[x]/(p f), f(x) = 2^k p(x/2) (p the minimal polynomial).

    Each element c(theta) becomes the polynomial that is c modulo p and c(x/2)
    modulo f (Chinese remainders): a ring map, so the certificate says the same
    about theta.  flip = i lifts atom i with c(-x/2) modulo f instead, which is
    no longer a ring map."""
    import sympy
    x = sympy.Symbol("x")
    poly = [Fraction(c) for c in cert["field"]["minpoly"]]
    k = len(poly) - 1

    def P(cs):
        return sympy.Poly([sympy.Rational(_text(c)) for c in reversed(cs)] or [0], x, domain="QQ")

    p = P(poly)
    f = P([c * 2 ** (k - i) for i, c in enumerate(poly)])
    pinv = sympy.invert(p, f)

    def psi(cs, sign=1):
        cs = [Fraction(c) for c in cs]
        A = P(cs)
        B = P([c * Fraction(sign, 2) ** i for i, c in enumerate(cs)])
        V = A + p * ((B - A) * pinv).rem(f)
        out = [Fraction(str(c)) for c in reversed(V.all_coeffs())]
        return [_text(c) for c in out + [Fraction(0)] * (2 * k - len(out))]

    m = copy.deepcopy(cert)
    for path in slots(m):
        v = _get(m, path)
        if isinstance(v, list):
            _set(m, path, psi(v))
    for i, at in enumerate(m["field"]["atoms"]):
        at["base"] = psi(at["base"])
        at["value"] = psi(at["value"], -1 if i == flip else 1)
    m["field"]["minpoly"] = [_text(Fraction(str(c))) for c in reversed((p * f).all_coeffs())]
    return m


def _intervals(poly, lo, hi):
    """(label, [lo', hi']): the interval widened over neighbouring real roots, or moved."""
    roots = _real_roots(poly)
    here = [i for i, (a, b) in enumerate(roots) if a <= hi and lo <= b]
    if not here:
        return
    here = here[0]

    def gap_below(i):
        return roots[i - 1][1] + (roots[i][0] - roots[i - 1][1]) / 2 if i > 0 else roots[0][0] - 1

    def gap_above(i):
        return roots[i][1] + (roots[i + 1][0] - roots[i][1]) / 2 if i + 1 < len(roots) else roots[-1][1] + 1

    for left in range(3):
        for right in range(3):
            if left + right == 0 or here - left < 0 or here + right >= len(roots):
                continue
            a = min(lo, gap_below(here - left))
            b = max(hi, gap_above(here + right))
            yield f"interval over {left + right + 1} roots (-{left}, +{right})", [a, b]
    if len(roots) > 1:
        yield f"interval over all {len(roots)} real roots", [min(lo, roots[0][0]) - 1,
                                                             max(hi, roots[-1][1]) + 1]
    for i, (a, b) in enumerate(roots):
        if i != here:
            if a == b:
                a, b = a - Fraction(1, 10**6), b + Fraction(1, 10**6)
            yield f"interval moved to real root {i}", [a, b]


def field_mutants(cert, flips=True):
    """Mutants of the field; flips=False leaves out the lifts that are not ring maps
    (a checker that cannot decide their signs may spend seconds on each)."""
    f = cert["field"]
    poly = [Fraction(c) for c in f["minpoly"]]
    k = len(poly) - 1
    lo, hi = (Fraction(c) for c in f["interval"])

    # reducible minimal polynomials: a rational factor (every list padded to the new
    # degree, or not), or p(x) 2^k p(x/2) with every element lifted consistently
    bases = [("", cert)]
    for name, fac in FACTORS.items():
        new = _pmul(poly, [Fraction(c) for c in fac])
        m = _pad(cert, len(new) - 1)
        m["field"]["minpoly"] = [_text(c) for c in new]
        bases.append((f"minpoly*{name}", m))
        m = copy.deepcopy(cert)
        m["field"]["minpoly"] = [_text(c) for c in new]
        yield f"field: minpoly*{name}, lists not padded", m
    bases.append(("minpoly*2^k minpoly(x/2), lifted", _lift(cert)))
    for i in range(len(f["atoms"]) if flips else 0):
        bases.append((f"minpoly*2^k minpoly(x/2), lifted, atom {i} flipped", _lift(cert, flip=i)))
    for name, base in bases:
        if name:
            yield f"field: {name}", base
        new = [Fraction(c) for c in base["field"]["minpoly"]]
        for label, (a, b) in _intervals(new, lo, hi):
            m = copy.deepcopy(base)
            m["field"]["interval"] = [_text(a), _text(b)]
            yield f"field: {name + ', ' if name else ''}{label}", m
    # one coefficient changed
    for i in range(k + 1):
        for label, new in (("+1", poly[i] + 1), ("-1", poly[i] - 1), ("+1e-6", poly[i] + Fraction(1, 10**6))):
            p2 = list(poly)
            p2[i] = new
            m = copy.deepcopy(cert)
            m["field"]["minpoly"] = [_text(c) for c in p2]
            yield f"field: minpoly[{i}] {label}", m


def atom_mutants(cert):
    atoms = cert["field"]["atoms"]
    k = len(cert["field"]["minpoly"]) - 1
    one = ["1"] + ["0"] * (k - 1)
    for i, at in enumerate(atoms):
        val = [Fraction(c) for c in at["value"]]
        others = [(f"value of atom {j}", b["value"]) for j, b in enumerate(atoms) if j != i]
        for label, new in [("negative root", [_text(-c) for c in val]),
                           ("value + 1", [_text(c + (1 if n == 0 else 0)) for n, c in enumerate(val)]),
                           ("value 1", one),
                           ("value theta", ["0", "1"] + ["0"] * (k - 2) if k > 1 else one)] + others:
            if [Fraction(c) for c in new] == val:
                continue
            m = copy.deepcopy(cert)
            m["field"]["atoms"][i]["value"] = new
            yield f"atom {i}: {label}", m
        e = Fraction(at["exponent"])
        for new in (e / 2, e + 1, -e, 1 / e if e.numerator != 0 else e):
            m = copy.deepcopy(cert)
            m["field"]["atoms"][i]["exponent"] = _text(new)
            yield f"atom {i}: exponent {_text(new)}", m
        m = copy.deepcopy(cert)
        m["field"]["atoms"][i]["base"] = [_text(Fraction(at["base"][0]) + 1)] + at["base"][1:]
        yield f"atom {i}: base + 1", m
        m = copy.deepcopy(cert)
        del m["field"]["atoms"][i]
        yield f"atom {i}: dropped", m


PERTURB = (("+1/10", Fraction(1, 10)), ("-1/10^6", Fraction(-1, 10**6)),
           ("+1/10^30", Fraction(1, 10**30)), ("neg", None), ("+1", Fraction(1)))


def coefficient_mutants(cert, stride=1):
    """Mutants of the coefficient lists (and rational strings) of weights and claims.

    Each list gets the five perturbations on one coefficient (rotating over the
    slots), one swap of two different coefficients and a replacement by its
    constant term; a rational string gets the perturbations and a theta term.
    stride > 1 keeps every stride-th slot only."""
    k = len(cert["field"]["minpoly"]) - 1
    for n, path in enumerate(slots(cert)):
        if n % stride:
            continue
        x = _get(cert, path)
        where = "/".join(str(p) for p in path[1:])
        if isinstance(x, list):
            cs = [Fraction(c) for c in x]
            i = n % k
            for label, dx in PERTURB:
                new = -cs[i] if dx is None else cs[i] + dx
                if new == cs[i]:
                    continue
                m = copy.deepcopy(cert)
                _set(m, path, [_text(new) if j == i else c for j, c in enumerate(x)])
                yield f"{where} [{i}] {label}", m
            pairs = [(i, j) for i in range(k) for j in range(i + 1, k) if cs[i] != cs[j]]
            if pairs:
                i, j = pairs[n % len(pairs)]
                m = copy.deepcopy(cert)
                y = list(x)
                y[i], y[j] = y[j], y[i]
                _set(m, path, y)
                yield f"{where} swap [{i}] [{j}]", m
            if any(cs[1:]):
                m = copy.deepcopy(cert)
                _set(m, path, x[0])
                yield f"{where} -> rational {x[0]}", m
        else:
            q = Fraction(x)
            for label, dx in PERTURB:
                new = -q if dx is None else q + dx
                if new == q:
                    continue
                m = copy.deepcopy(cert)
                _set(m, path, _text(new))
                yield f"{where} {label}", m
            m = copy.deepcopy(cert)
            _set(m, path, [x, "1"] + ["0"] * (k - 2))
            yield f"{where} + theta", m


def algebraic_mutants(cert, stride=1):
    yield from field_mutants(cert)
    yield from atom_mutants(cert)
    yield from coefficient_mutants(cert, stride)


def outcome(cert):
    """'rejected', 'harmless', 'fooled' or 'crashed: ...' for one certificate."""
    try:
        proofs_check.check(cert)
    except (proofs_check.Rejected, proofs_check.Malformed, proofs_check.Unknown):
        return "rejected"
    except Exception as exc:  # the checker must refuse with its own exceptions
        return f"crashed: {type(exc).__name__}: {exc}"[:200]
    ok, why = judge(cert)
    return "harmless" if ok else "fooled: " + why


def algebraic_campaign(cert, stride=1):
    """Counts per outcome, and (label, outcome) of every mutant that fooled or crashed."""
    counts = {"rejected": 0, "harmless": 0, "fooled": 0, "crashed": 0}
    bad = []
    for label, m in algebraic_mutants(cert, stride):
        res = outcome(m)
        key = res.split(":")[0]
        counts[key] += 1
        if key != "rejected" and key != "harmless":
            bad.append((label, res))
    return counts, bad


# ---- hand-built hostile certificates (tests/data/hostile_*.cert.json)
def _shift_block():
    """FF(x) = x + (1, 0, ..., 0) (one unit, always active); attention the identity."""
    one = "1"
    return {"phase": "interpolation", "claims": [],
            "ff": {"eta": one, "U": [["0", "0"]], "b": [one], "W": [[one], ["0"]]},
            "sa": {"rho": one, "A": {"kind": "zero"}, "V": {"kind": "zero"}}}


def _hand_cert(minpoly, interval, atoms, sequences, blocks):
    from exactseq.dataset import canonical_hash
    data = {"dimension": 2, "sequences": sequences}
    k = len(minpoly) - 1
    return {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax",
            "dataset_sha256": canonical_hash(data), "dataset": data,
            "field": {"minpoly": minpoly, "interval": interval,
                      "atoms": [{"base": [b] + ["0"] * (k - 1), "exponent": e, "value": v}
                                for b, e, v in atoms]},
            "blocks": blocks}


def _shifted(X):
    """The texts of X + (1, 0)."""
    return [[f"1+{x}" if not x.lstrip("-").isdigit() else str(int(x) + 1), y] for x, y in X]


def hostile_certificates():
    """file name -> certificate.  Each states something false; none may be certified."""
    out = {}
    # x^2 - 1 is reducible; theta = 1 in [1/2, 3/2], and sqrt(1) := theta is "another" 1
    X = [["1", "0"], ["sqrt(1)", "0"]]
    out["hostile_sqrt1_repeats_one.cert.json"] = _hand_cert(
        ["-1", "0", "1"], ["1/2", "3/2"], [("1", "1/2", ["0", "1"])],
        [{"name": "one twice", "input": X, "output": _shifted(X)}], [_shift_block()])
    # (x^2-2)(x^2-8) is reducible: modulo it, sqrt(2) := (6 theta - theta^3)/4 and
    # sqrt(8) := (14 theta - theta^3)/6 square to 2 and 8, are sqrt(2) and 2 sqrt(2)
    # at theta = sqrt(2), yet sqrt(8)/2 and sqrt(2) differ as coefficient lists
    field = (["16", "0", "-10", "0", "1"], ["11/8", "23/16"],
             [("2", "1/2", ["0", "3/2", "0", "-1/4"]), ("8", "1/2", ["0", "7/3", "0", "-1/6"])])
    X = [["sqrt(2)", "0"], ["sqrt(8)/2", "0"]]
    out["hostile_sqrt8_reducible_repeat.cert.json"] = _hand_cert(
        *field, [{"name": "sqrt(2) twice", "input": X, "output": _shifted(X)}], [_shift_block()])
    out["hostile_sqrt8_reducible_equal_inputs.cert.json"] = _hand_cert(
        *field, [{"name": "sqrt(2)", "input": [X[0], ["0", "1"]], "output": _shifted([X[0], ["0", "1"]])},
                 {"name": "sqrt(8)/2", "input": [X[1], ["0", "1"]], "output": _shifted([X[1], ["0", "1"]])}],
        [_shift_block()])
    # one field, two spellings of the same root in one input
    X = [["sqrt(2)", "0"], ["2^(1/2)", "0"]]
    out["hostile_pow_half_vs_sqrt.cert.json"] = _hand_cert(
        ["-2", "0", "1"], ["11/8", "23/16"], [("2", "1/2", ["0", "1"])],
        [{"name": "sqrt(2) twice", "input": X, "output": _shifted(X)}], [_shift_block()])
    # the circle certificate with an interval holding three roots of its minpoly
    wide = algebraic_cert("circle")
    wide["field"]["interval"] = ["-1", "4"]
    out["hostile_circle_three_roots.cert.json"] = wide
    return out


def write_hostile(directory=DATA):
    for name, cert in hostile_certificates().items():
        with open(os.path.join(directory, name), "w") as fh:
            json.dump(cert, fh, indent=1, sort_keys=True)
            fh.write("\n")


HOSTILE = sorted(f for f in os.listdir(DATA) if f.startswith("hostile_") and f.endswith(".cert.json"))


def load_hostile(name):
    with open(os.path.join(DATA, name)) as fh:
        return json.load(fh)


# ---- tests
@pytest.fixture(scope="module")
def algebraic_certs():
    return {name: algebraic_cert(name) for name in ALGEBRAIC}


def test_judge_accepts_circle_and_refuses_a_broken_copy(algebraic_certs):
    cert = algebraic_certs["circle"]
    assert judge(cert) == (True, "")
    broken = copy.deepcopy(cert)
    broken["dataset"]["sequences"][0]["output"] = [["1", "1"]]
    assert judge(broken)[0] is False
    twice = copy.deepcopy(cert)
    twice["dataset"]["sequences"][1]["input"][1] = ["sqrt(8)/4", "sqrt(2)/2"]
    twice["dataset"]["sequences"][1]["input"][2] = ["2^(-1/2)", "2^(1/2)/2"]
    assert "repeats a token" in judge(twice)[1]
    wide = copy.deepcopy(cert)
    wide["field"]["interval"] = ["-1", "4"]
    assert "3 distinct real roots" in judge(wide)[1]


@pytest.mark.parametrize("name", list(ALGEBRAIC))
def test_algebraic_certificates_are_true(algebraic_certs, name):
    cert = algebraic_certs[name]
    proofs_check.check(cert)            # certified: no exception
    assert judge(cert) == (True, "")


@pytest.mark.parametrize("name", list(ALGEBRAIC))
def test_algebraic_field_and_atom_mutants_never_fool(algebraic_certs, name):
    cert = algebraic_certs[name]
    bad = [(label, res) for label, m in (*field_mutants(cert, flips=False), *atom_mutants(cert))
           if not (res := outcome(m)) in ("rejected", "harmless")]
    assert bad == []


@pytest.mark.parametrize("name", ["sqrt(2) = sqrt(8)/2", "golden ratio", "cube root"])
def test_algebraic_coefficient_mutants_never_fool(algebraic_certs, name):
    t = time.perf_counter()
    counts, bad = {"rejected": 0, "harmless": 0}, []
    for label, m in coefficient_mutants(algebraic_certs[name], stride=3):
        res = outcome(m)
        if res in counts:
            counts[res] += 1
        else:
            bad.append((label, res))
    assert bad == []
    assert counts["rejected"] > 0
    assert time.perf_counter() - t < 20


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_certificate_is_refused(name):
    cert = load_hostile(name)
    assert judge(cert)[0] is False, "a hostile certificate must state something false"
    with pytest.raises((proofs_check.Rejected, proofs_check.Malformed, proofs_check.Unknown)):
        proofs_check.check(cert)
