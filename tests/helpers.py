"""Shared helpers for the tests: build, certify, and a plain second evaluator."""
from __future__ import annotations

import json
from fractions import Fraction

from exactseq import certificate
from exactseq.construction import build
from exactseq.dataset import from_obj
import proofs_check


def certify(obj):
    """(dataset, construction, certificate JSON object, checker summary)."""
    ds = from_obj(obj)
    cons = build(ds)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    return ds, cons, cert, proofs_check.check(cert)


def seqs(*pairs):
    return {"sequences": [{"input": X, "output": Y} for X, Y in pairs]}


# ---- a plain dense evaluator of a rational certificate, written for clarity only
def _q(s):
    return Fraction(s)


def _mat(M, x):
    k = M["kind"]
    if k == "zero":
        return [Fraction(0)] * len(x)
    if k == "scalar":
        return [_q(M["c"]) * xi for xi in x]
    if k == "rank1":
        a = [_q(v) for v in M["a"]]
        s = _q(M.get("c", "1")) * sum(ai * xi for ai, xi in zip(a, x))
        return [s * ai for ai in a]
    return [sum(_q(r[j]) * x[j] for j in range(len(x))) for r in M["rows"]]


def plain_eval(cert, X):
    """Run every block of a rational certificate on the token list X, densely."""
    X = [[Fraction(c) for c in x] for x in X]
    for blk in cert["blocks"]:
        ff, sa = blk["ff"], blk["sa"]
        eta = _q(ff["eta"])
        U = [[_q(v) for v in r] for r in ff["U"]]
        b = [_q(v) for v in ff["b"]]
        W = [[_q(v) for v in r] for r in ff["W"]]
        H = []
        for x in X:
            h = [max(Fraction(0), sum(u[i] * x[i] for i in range(len(x))) + bk)
                 for u, bk in zip(U, b)]
            H.append([eta * x[i] + sum(W[i][k] * h[k] for k in range(len(h)))
                      for i in range(len(x))])
        rho = _q(sa["rho"])
        out = []
        for hi in H:
            q = _mat(sa["A"], hi)
            scores = [sum(qa * hb for qa, hb in zip(q, hj)) for hj in H]
            best = max(scores)
            C = [j for j, s in enumerate(scores) if s == best]
            avg = [sum(H[j][i] for j in C) / len(C) for i in range(len(hi))]
            v = _mat(sa["V"], avg)
            out.append([rho * a + c for a, c in zip(hi, v)])
        X = out
    return X


def interpolates(cert):
    """Does the certificate's model map every input exactly onto its output set?"""
    for s in cert["dataset"]["sequences"]:
        got = {tuple(x) for x in plain_eval(cert, s["input"])}
        want = {tuple(Fraction(c) for c in y) for y in s["output"]}
        if got != want:
            return False
    return True


# ---- mutation campaign
def _numbers(obj, path=()):
    """Paths to every number string in a JSON object."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, path + (i,))
    elif isinstance(obj, str) and path and path[-1] not in ("kind", "phase"):
        try:
            Fraction(obj)
        except ValueError:
            return
        yield path


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _get(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def _text(q):
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def mutants(cert):
    """(description, mutated certificate) for the whole campaign."""
    import copy
    blocks = {"blocks": cert["blocks"]}
    for path in _numbers(blocks):
        x = Fraction(_get(blocks, path))
        for label, new in (("+1e-1", x + Fraction(1, 10)), ("-1e-6", x - Fraction(1, 10**6)),
                           ("+1e-30", x + Fraction(1, 10**30)), ("neg", -x), ("+1", x + 1)):
            if new == x:
                continue
            m = copy.deepcopy(cert)
            _set(m, path, _text(new))
            yield f"{path} {label}", m
    n = len(cert["blocks"])
    for k in range(n):
        m = copy.deepcopy(cert)
        del m["blocks"][k]
        yield f"drop {k}", m
        m = copy.deepcopy(cert)
        m["blocks"].insert(k, copy.deepcopy(cert["blocks"][k]))
        yield f"duplicate {k}", m
        if k + 1 < n:
            m = copy.deepcopy(cert)
            m["blocks"][k], m["blocks"][k + 1] = m["blocks"][k + 1], m["blocks"][k]
            yield f"swap {k}", m


def campaign(cert):
    """Run every mutant; return counts.  'fooled' must stay 0."""
    counts = {"rejected": 0, "harmless": 0, "fooled": 0}
    fooled = []
    for label, m in mutants(cert):
        try:
            proofs_check.check(m)
            ok = True
        except proofs_check.Rejected:
            ok = False
        if not ok:
            counts["rejected"] += 1
        elif interpolates(m):
            counts["harmless"] += 1
        else:
            counts["fooled"] += 1
            fooled.append(label)
    return counts, fooled
