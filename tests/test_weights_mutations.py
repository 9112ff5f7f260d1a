"""A mutation campaign on weights certificates: every number of a certified
certificate (a weight, a target coordinate, rho, the tolerance) is moved, heads
are dropped, duplicated and swapped, and each mutant is judged by the fast
checker, the reference kernel and an independent judge written here from the
definitions (plain Fractions, dense, no shared code).  No mutant may be
VERIFIED unless the judge finds it true, and the three must agree."""
import copy
import json
import random
from fractions import Fraction as F
from pathlib import Path

import pytest

from proofs_check import report

ROOT = Path(__file__).resolve().parent.parent


def q(s):
    return F(s)


def mat(obj, d):
    k = obj["kind"]
    if k == "zero":
        return [[F(0)] * d for _ in range(d)]
    if k == "scalar":
        return [[q(obj["c"]) if i == j else F(0) for j in range(d)] for i in range(d)]
    if k == "rank1":
        a = [q(x) for x in obj["a"]]
        return [[q(obj.get("c", "1")) * a[i] * a[j] for j in range(d)] for i in range(d)]
    return [[q(x) for x in r] for r in obj["rows"]]


def judge(cert):
    """True iff the certificate's statement holds, from the definitions."""
    d = cert["dataset"]["dimension"]
    causal = cert["attention"] == "causal"
    tol = q(cert["tolerance"]) if "tolerance" in cert else F(0)
    for s in cert["dataset"]["sequences"]:
        X = [[q(c) for c in x] for x in s["input"]]
        for b in cert["blocks"]:
            ff, sa = b["ff"], b["sa"]
            eta, U, bb = q(ff["eta"]), [[q(c) for c in u] for u in ff["U"]], [q(c) for c in ff["b"]]
            W = [[q(c) for c in r] for r in ff["W"]]
            Y = []
            for x in X:
                h = [max(F(0), sum(a * c for a, c in zip(u, x)) + bk) for u, bk in zip(U, bb)]
                Y.append([eta * xi + sum(w * hk for w, hk in zip(row, h)) for xi, row in zip(x, W)])
            heads = sa.get("heads") or [{"A": sa["A"], "V": sa["V"]}]
            out = [[q(sa["rho"]) * c for c in y] for y in Y]
            for hd in heads:
                A, V = mat(hd["A"], d), mat(hd["V"], d)
                for i, y in enumerate(Y):
                    keys = Y[:i + 1] if causal else Y
                    qv = [sum(a * c for a, c in zip(r, y)) for r in A]
                    sc = [sum(a * c for a, c in zip(qv, z)) for z in keys]
                    C = [j for j, v in enumerate(sc) if v == max(sc)]
                    m = [sum(keys[j][k] for j in C) / len(C) for k in range(d)]
                    out[i] = [o + sum(a * c for a, c in zip(r, m)) for o, r in zip(out[i], V)]
            X = out
        d2 = lambda a, b: sum((u - v) ** 2 for u, v in zip(a, b))
        if causal:
            T = [[q(c) for c in y] for y in s["targets"]]
            if any(d2(z, y) > tol * tol for z, y in zip(X, T)):
                return False
        else:
            T = [[q(c) for c in y] for y in s["output"]]
            h = max(max(min(d2(z, y) for y in T) for z in X), max(min(d2(z, y) for z in X) for y in T))
            if h > tol * tol:
                return False
    return True


def certificate(data, weights, **kw):
    from exactseq import api
    res = api.check_weights(str(data), str(weights), **kw)
    assert res.verdict == "certified", res.report
    return json.loads(json.dumps(res.certificate))


def slots(obj, path=()):
    """Paths to every number text of the blocks, the dataset's targets and the tolerance."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("blocks", "dataset", "sequences", "output", "targets", "ff", "sa", "heads", "A", "V",
                     "rows", "U", "W", "b", "eta", "rho", "tolerance") or isinstance(k, int):
                yield from slots(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from slots(v, path + (i,))
    elif isinstance(obj, str) and "input" not in path:
        yield path


def get(obj, path):
    for p in path[:-1]:
        obj = obj[p]
    return obj, path[-1]


def mutants(cert, rnd, count):
    paths = [p for p in slots(cert) if p[0] in ("blocks", "dataset", "tolerance")]
    moves = [F(1, 1024), F(-1, 1024), F(1, 2 ** 60), F(1), F(-1, 3)]
    for _ in range(count):
        m = copy.deepcopy(cert)
        kind = rnd.random()
        blocks = m["blocks"]
        multi = [b for b in blocks if len(b["sa"].get("heads", [])) > 1]
        if kind < 0.1 and multi:                      # drop, duplicate or swap a head
            b = rnd.choice(multi)
            op = rnd.choice(["drop", "dup", "swap"])
            hs = b["sa"]["heads"]
            if op == "drop":
                hs.pop(rnd.randrange(len(hs)))
            elif op == "dup":
                hs.append(copy.deepcopy(rnd.choice(hs)))
            else:
                i = rnd.randrange(len(hs))
                hs[i]["A"], hs[(i + 1) % len(hs)]["A"] = hs[(i + 1) % len(hs)]["A"], hs[i]["A"]
        else:
            o, k = get(m, rnd.choice(paths))
            v = q(o[k]) + rnd.choice(moves) if rnd.random() < 0.8 else F(0)
            o[k] = str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
        m["dataset_sha256"] = report.dataset_hash(m["dataset"])      # a consistent file
        yield m


def exported(tmp):
    """figure5's robust certificate exported as float64 npz, checked within 1e-6."""
    import exactseq
    res = exactseq.certify(str(ROOT / "examples/figure5.json"), robust="float64")
    res.save(str(tmp / "c.json"))
    exactseq.export_weights(str(tmp / "c.json"), str(tmp / "w.npz"))
    return certificate(ROOT / "examples/figure5.json", tmp / "w.npz", tolerance="1/1000000")


CASES = {
    "figure5 exported": exported,
    "two heads": lambda: certificate(ROOT / "examples/two_heads/data.json", ROOT / "examples/two_heads/model.json"),
    "two heads, tolerance": lambda: certificate(ROOT / "examples/two_heads/moved.json",
                                                ROOT / "examples/two_heads/model.npz", tolerance="1/1000"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_false_verified(name, tmp_path):
    cert = CASES[name](tmp_path) if name == "figure5 exported" else CASES[name]()
    assert judge(cert)
    rnd = random.Random(sum(map(ord, name)))
    seen = {"verified": 0, "rejected": 0}
    for m in mutants(cert, rnd, 150):
        fast, ref = report.run(m), report.run(m, reference=True)
        assert fast[0] == ref[0] and fast[1].get("reason") == ref[1].get("reason")
        if fast[0] == "malformed":          # the one ill-formed mutant: a negative tolerance
            assert fast[1]["reason"] == "tolerance: must be >= 0" and q(m["tolerance"]) < 0
            continue
        truth = judge(m)
        assert fast[0] == ("verified" if truth else "rejected"), (fast, m)
        seen[fast[0]] += 1
    assert seen["rejected"] > 50 and seen["verified"] > 0        # the campaign found both kinds
