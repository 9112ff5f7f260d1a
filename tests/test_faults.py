"""Planted faults: the checker must reject, or the model must still interpolate exactly.

"Still interpolates" is judged by the plain dense evaluator in helpers.py,
written independently of both the constructor and proofs_check.
"""
import copy
import re
from fractions import Fraction

import pytest

import proofs_check
from helpers import certify, interpolates, seqs

a, b, c = [0, 0], [1, 0], [0, 1]
SMALL = seqs(([a, b], [[5, 5]]), ([b, c], [[5, 6]]), ([a, c], [[1, 2], [0, 0]]))


@pytest.fixture(scope="module")
def cert():
    return certify(SMALL)[2]


def weight_paths(cert):
    """Every scalar weight of every block, as (block, section, key, i, j)."""
    for k, blk in enumerate(cert["blocks"]):
        ff, sa = blk["ff"], blk["sa"]
        yield (k, "ff", "eta", None, None)
        for key in ("U", "W"):
            for i, row in enumerate(ff[key]):
                for j in range(len(row)):
                    yield (k, "ff", key, i, j)
        for i in range(len(ff["b"])):
            yield (k, "ff", "b", i, None)
        yield (k, "sa", "rho", None, None)
        for m in ("A", "V"):
            M = sa[m]
            if "c" in M:
                yield (k, "sa", m, "c", None)
            for i in range(len(M.get("a", []))):
                yield (k, "sa", m, "a", i)


def mutate(cert, path, fn):
    new = copy.deepcopy(cert)
    k, sec, key, i, j = path
    holder = new["blocks"][k][sec]
    if sec == "ff" and key in ("U", "W"):
        holder[key][i][j] = fn(holder[key][i][j])
    elif key == "b":
        holder["b"][i] = fn(holder["b"][i])
    elif i is None:
        holder[key] = fn(holder[key])
    elif i == "c":
        holder[key]["c"] = fn(holder[key]["c"])
    else:
        holder[key]["a"][j] = fn(holder[key]["a"][j])
    return new


def accepted(cert):
    try:
        proofs_check.check(cert)
        return True
    except proofs_check.Rejected:
        return False


def _q(x):
    q = Fraction(x)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


@pytest.mark.parametrize("k", [1, 6, 30])
def test_perturbing_any_weight_never_fools_the_checker(cert, k):
    rejected = harmless = 0
    for path in weight_paths(cert):
        bad = mutate(cert, path, lambda s: _q(Fraction(s) + Fraction(1, 10**k)))
        if accepted(bad):
            assert interpolates(bad), f"accepted a wrong model: {path}"
            harmless += 1
        else:
            rejected += 1
    assert rejected > harmless > 0 or (rejected > 0 and harmless == 0)


def test_sign_flips_never_fool_the_checker(cert):
    for path in weight_paths(cert):
        bad = mutate(cert, path, lambda s: _q(-Fraction(s)))
        if accepted(bad):
            assert interpolates(bad), f"accepted a wrong model: {path}"


def test_dropping_or_swapping_blocks_is_rejected(cert):
    n = len(cert["blocks"])
    for k in range(n):
        bad = copy.deepcopy(cert)
        del bad["blocks"][k]
        assert not accepted(bad) or interpolates(bad)
    for k in range(n - 1):
        bad = copy.deepcopy(cert)
        bad["blocks"][k], bad["blocks"][k + 1] = bad["blocks"][k + 1], bad["blocks"][k]
        assert not accepted(bad) or interpolates(bad)
    bad = copy.deepcopy(cert)
    del bad["blocks"][-1]
    with pytest.raises(proofs_check.Rejected, match=r"^output: sequence 2: T\(X\) differs from Y"):
        proofs_check.check(bad)


def _first(cert, kind):
    for k, blk in enumerate(cert["blocks"]):
        for cl in blk["claims"]:
            if cl["kind"] == kind:
                return k, cl
    raise AssertionError(kind)


def planted_faults(cert):
    """(name, certificate, message, what): one forged witness each.  ``what`` is
    "claim" when the claim contradicts itself (no token involved) and "tokens" when
    it is false about the tokens."""
    def edit(kind, fn):
        bad = copy.deepcopy(cert)
        k, cl = _first(bad, kind)
        fn(cl)
        return bad, k, bad["blocks"][k]["phase"]

    out = []
    bad, k, ph = edit("hat", lambda cl: cl.update(eps="1000000"))
    out.append(("hat tube", bad, rf"^block {k + 1} \({ph}\): hat: the tube also holds", "tokens"))
    bad, k, ph = edit("hat", lambda cl: cl.update(eps="-1"))
    out.append(("hat eps", bad, r"hat: eps must be positive", "claim"))
    bad, k, ph = edit("hat", lambda cl: cl.update(s0=_q(Fraction(cl["s0"]) + 1)))
    out.append(("hat s0", bad, r"hat: <v, p> differs from s0", "claim"))
    bad, k, ph = edit("hat", lambda cl: cl.update(target=[_q(Fraction(x) + 1) for x in cl["target"]]))
    out.append(("hat target", bad, r"hat: the layer does not send the point", "claim"))
    bad, k, ph = edit("hat", lambda cl: cl.update(point=[_q(Fraction(x) + 100) for x in cl["point"]],
                                                   s0=_q(Fraction(cl["s0"]) + 100 * sum(
                                                       Fraction(v) for v in cl["v"]))))
    out.append(("hat point", bad, r"hat: ", "any"))

    def swap(cl):
        cl["leaders"][0], cl["leaders"][1] = cl["leaders"][1], cl["leaders"][0]
    bad, k, ph = edit("leaders", swap)
    out.append(("leaders swapped", bad, rf"^block {k + 1} \(separation\): leaders: the leader of "
                "sequence 0 is not", "tokens"))
    bad, k, ph = edit("leaders", lambda cl: cl.update(leaders=[]))
    out.append(("leaders empty", bad, r"leaders: one leader per sequence expected", "claim"))
    bad, k, ph = edit("collapse", lambda cl: cl.update(q=_q(Fraction(cl["t"][0]) + 1)))
    out.append(("collapse q", bad, r"collapse: t_0 < q", "claim"))
    bad, k, ph = edit("collapse", lambda cl: cl.update(q="-1"))
    out.append(("collapse q < 0", bad, r"collapse: q and r must be positive", "claim"))
    bad, k, ph = edit("collapse", lambda cl: cl.update(r="0"))
    out.append(("collapse r = 0", bad, r"collapse: q and r must be positive", "claim"))

    def off_sphere(cl):
        cl["sphere"][2][0][0] = _q(Fraction(cl["sphere"][2][0][0]) + Fraction(1, 10**30))
    bad, k, ph = edit("collapse", off_sphere)
    out.append(("collapse sphere", bad, r"collapse: a sphere leader of sequence 2 is off the sphere",
                "claim"))

    def orthant(cl):
        cl["sphere"][2][0] = [_q(-Fraction(x)) for x in cl["sphere"][2][0]]
    bad, k, ph = edit("collapse", orthant)
    out.append(("collapse orthant", bad, r"collapse: a sphere leader of sequence 2 is off the sphere "
                "or not in the negative orthant", "claim"))

    def not_a_token(cl):
        cl["t"][0] = _q(Fraction(cl["t"][0]) + 1)
    bad, k, ph = edit("collapse", not_a_token)
    out.append(("collapse leader not a token", bad, r"collapse: a leader of sequence 0 is not a token",
                "tokens"))
    bad, k, ph = edit("collapse", lambda cl: cl.update(t=cl["t"][:1]))
    out.append(("collapse lengths", bad, r"collapse: one diagonal and one sphere list per sequence",
                "claim"))
    bad, k, ph = edit("counts", lambda cl: cl["m"].__setitem__(0, 2))
    out.append(("counts value", bad, r"counts: sequence 0 has 1 distinct points, expected 2", "tokens"))
    bad, k, ph = edit("counts", lambda cl: cl.update(m=cl["m"][:1]))
    out.append(("counts length", bad, r"counts: one count per sequence expected", "claim"))
    return out


def test_forged_witnesses_are_named(cert):
    for name, bad, message, _ in planted_faults(cert):
        with pytest.raises(proofs_check.Rejected, match=message):
            proofs_check.check(bad)


def test_planted_faults_through_the_softmax_path(cert):
    """The same forged witnesses, read as softmax certificates: a claim that
    contradicts itself is rejected with the same message; one about the tokens is
    rejected or unknown (enclosures), and nothing is ever certified."""
    for name, bad, message, what in planted_faults(cert):
        bad["attention"] = "softmax"
        bad["softmax"] = {"tau": "1/1000000", "order": 64}
        with pytest.raises((proofs_check.Rejected, proofs_check.Unknown)) as info:
            proofs_check.check(bad)
        if what == "claim":
            assert info.type is proofs_check.Rejected and re.search(message, str(info.value)), name
    good = copy.deepcopy(cert)
    good["attention"], good["softmax"] = "softmax", {"tau": "1/1000000", "order": 64}
    with pytest.raises(proofs_check.Unknown):      # no saturating layer: outputs stay balls
        proofs_check.check(good)


def test_wrong_target_or_bad_dataset_is_rejected(cert):
    bad = copy.deepcopy(cert)
    bad["dataset"]["sequences"][1]["output"] = [["5", "7"]]
    with pytest.raises(proofs_check.Rejected, match=r"^output: sequence 1: T\(X\) differs from Y"):
        proofs_check.check(bad)
    bad = copy.deepcopy(cert)
    bad["dataset"]["sequences"][1]["input"] = copy.deepcopy(bad["dataset"]["sequences"][0]["input"])
    with pytest.raises(proofs_check.Rejected, match=r"assumption 1.3 i"):
        proofs_check.check(bad)


def test_too_wide_or_too_deep_is_rejected(cert):
    bad = copy.deepcopy(cert)
    ff = max((blk["ff"] for blk in bad["blocks"]), key=lambda f: len(f["U"]))
    assert len(ff["U"]) == 4
    d = len(ff["W"])
    ff["U"] += [["0"] * d]
    ff["b"] += ["0"]
    for row in ff["W"]:
        row += ["1"]
    with pytest.raises(proofs_check.Rejected, match=r"bounds: FF width 5 exceeds 4"):
        proofs_check.check(bad)
    bad = copy.deepcopy(cert)
    ident = {"phase": "extra", "claims": [],
             "ff": {"eta": "1", "U": [], "b": [], "W": [[] for _ in range(d)]},
             "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}}}
    bad["blocks"] += [ident] * 20
    assert len(cert["blocks"]) == 11
    with pytest.raises(proofs_check.Rejected, match=r"bounds: 31 blocks exceed 2 sum m \+ 2N \+ 1 = 15"):
        proofs_check.check(bad)
