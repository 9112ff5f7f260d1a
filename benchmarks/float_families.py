"""Float-robust weights (``check --robust``) on five families of data and on real
labelled data: does a float pass of the robust weights stay within the claim's
tolerance, and is the float claim proven?

    python3 benchmarks/float_families.py                 # the quick grid, float64
    python3 benchmarks/float_families.py --full          # 3x5 up to 100x100 tokens
    python3 benchmarks/float_families.py --real          # scikit-learn's bundled data
    python3 benchmarks/float_families.py --float32 --out /tmp/table.md

Families (seeded, every coordinate an exact decimal or rational text):

- ``rationals``: p/q, p a signed 40-bit integer, q a 23-bit one (families.generic);
- ``decimals``: 4 to 6 digit decimals, a third of each input copied from the
  previous one (families.decimals);
- ``neardup``: tokens in pairs 1e-9 apart, inside a sequence and across sequences;
- ``magnitudes``: m * 10^e, m of 4 digits, e from -12 to 12 per coordinate;
- ``shared``: every input drawn from a small pool of tokens (heavy overlap).

Real data (optional: ``pip install scikit-learn``; never needed by the tests):
iris, wine, breast cancer (token = (feature index / #features, standardised value
rounded to 4 decimals), d = 2) and digits (token = (row index, the 8 pixel values
of the row) / 16, d = 9), each sample a sequence with its class as "label".

For each dataset the runner records: construction error or not, the claim
proven / unknown (with the reason), the largest error of three float passes of
the robust weights (NumPy forward pass, a pure-Python pass with every sum in
reversed order, the NumPy pass on reversed coordinates) against the stated
tolerance, and the times of the plain check, the robust check (construction,
certificate, claim and checker) and a float64 NumPy pass.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import families  # noqa: E402

FAMILIES = ("rationals", "decimals", "neardup", "magnitudes", "shared")


# ------------------------------------------------------------------ generators
def _dataset(seqs, outs, d):
    return {"dimension": d, "sequences": [{"input": [list(t) for t in X], "output": [list(t) for t in Y]}
                                          for X, Y in zip(seqs, outs)]}


def _fresh(rng, coord, d, m, avoid=()):
    out, seen = [], set(avoid)
    while len(out) < m:
        t = tuple(coord() for _ in range(d))
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def _distinct_inputs(rng, N, n, draw):
    seqs, sets = [], set()
    while len(seqs) < N:
        X = draw(n)
        if len(set(X)) == len(X) and frozenset(X) not in sets:
            sets.add(frozenset(X))
            seqs.append(X)
    return seqs


def rationals(N, n, d, m, seed=0):
    return families.generic(N, n, n, d, m, seed=seed)


def decimals(N, n, d, m, seed=0):
    return families.decimals(N, n, d, m, overlap=0.3, seed=seed)


def neardup(N, n, d, m, seed=0):
    """Tokens in pairs 1e-9 apart: each input holds pairs (x, x + 1e-9 e_i), and a
    third of its tokens are near-copies (1e-9 away) of the previous input's tokens."""
    rng = random.Random(f"neardup-{seed}")

    def base():
        return tuple(rng.randrange(-10 ** 6, 10 ** 6) for _ in range(d))

    def text(t):
        return tuple(families.decimal_text(k, 15) for k in t)

    def near(t):
        i = rng.randrange(d)
        return tuple(c + (10 ** 6 if k == i else 0) * rng.choice((1, -1)) for k, c in enumerate(t))

    prev = []

    def draw(n):
        nonlocal prev
        pts = []
        k = min(len(prev), n // 3)
        for t in rng.sample(prev, k):
            pts.append(near(t))
        while len(pts) < n:
            t = tuple(c * 10 ** 9 for c in base())
            pts.append(t)
            if len(pts) < n:
                pts.append(near(t))
        prev = pts
        return [text(t) for t in pts]
    seqs = _distinct_inputs(rng, N, n, draw)
    coord = lambda: families.decimal_text(rng.randrange(-10 ** 6, 10 ** 6), 3)  # noqa: E731
    return _dataset(seqs, [_fresh(rng, coord, d, m) for _ in seqs], d)


def magnitudes(N, n, d, m, seed=0):
    """m * 10^e, m a signed 4-digit integer, e from -12 to 12 per coordinate."""
    rng = random.Random(f"magnitudes-{seed}")

    def coord():
        return f"{rng.choice((1, -1)) * rng.randrange(1000, 10000)}e{rng.randint(-15, 9)}"

    def draw(n):
        return _fresh(rng, coord, d, n)
    seqs = _distinct_inputs(rng, N, n, draw)
    return _dataset(seqs, [_fresh(rng, coord, d, m) for _ in seqs], d)


def shared(N, n, d, m, seed=0):
    """Inputs drawn from a pool of about 1.5 n tokens (small integers / 8), so nearly
    every token is shared by many sequences."""
    rng = random.Random(f"shared-{seed}")
    coord = lambda: str(Fraction(rng.randrange(-64, 65), 8))  # noqa: E731
    pool = _fresh(rng, coord, d, max(n + 2, (3 * n) // 2))
    seqs = _distinct_inputs(rng, N, n, lambda n: rng.sample(pool, n))
    return _dataset(seqs, [_fresh(rng, coord, d, m) for _ in seqs], d)


GENERATORS = {"rationals": rationals, "decimals": decimals, "neardup": neardup,
              "magnitudes": magnitudes, "shared": shared}

# (N, n, d, m): 3x5 to 100x100 tokens, d from 2 to 16
QUICK = [(3, 5, 2, 1), (5, 8, 3, 2), (10, 10, 4, 2), (10, 20, 2, 2), (20, 15, 6, 3), (40, 20, 8, 2)]
FULL = QUICK + [(30, 40, 12, 3), (40, 50, 12, 2), (50, 50, 16, 3), (100, 100, 16, 2), (100, 100, 4, 1)]


def grid(full=False):
    for fam in FAMILIES:
        for k, (N, n, d, m) in enumerate(FULL if full else QUICK):
            yield fam, f"{N}x{n} d={d} m={m}", GENERATORS[fam](N, n, d, m, seed=k)


# ------------------------------------------------------------------ real labelled data
def _labelled(X, y, tok, name):
    """Samples as sequences of tokens, labelled; duplicate inputs (as sets) dropped."""
    seqs, seen = [], set()
    for row, label in zip(X, y):
        toks = tok(row)
        key = frozenset(toks)
        if len(key) != len(toks) or key in seen:
            continue
        seen.add(key)
        seqs.append({"name": f"{name}-{len(seqs)}", "input": [list(t) for t in toks], "label": int(label)})
    return seqs


def _features(X, y, name, limit=None):
    import numpy as np
    Z = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1)
    f = X.shape[1]

    def tok(row):
        return [(str(Fraction(i + 1, f)), f"{round(float(v), 4):.4f}") for i, v in enumerate(row)]
    seqs = _labelled(Z[:limit], y[:limit], tok, name)
    return {"dimension": 2, "sequences": seqs}


def real(which=("iris", "wine", "breast_cancer", "digits"), limit=None):
    """(name, dataset) of scikit-learn's bundled data sets as labelled sequence data."""
    from sklearn import datasets as skd
    out = []
    for name in which:
        if name == "digits":
            X, y = skd.load_digits(return_X_y=True)

            def tok(img):
                rows = img.reshape(8, 8)
                return [tuple([str(Fraction(r + 1, 8))] + [str(Fraction(int(v), 16)) for v in rows[r]])
                        for r in range(8)]
            out.append((name, {"dimension": 9, "sequences": _labelled(X[:limit], y[:limit], tok, name)}))
        else:
            X, y = getattr(skd, f"load_{name}")(return_X_y=True)
            out.append((name, _features(X, y, name, limit)))
    return out


# ------------------------------------------------------------------ float passes
def relative_errors(outputs, targets):
    """Per sequence, the relative Hausdorff error the (relative) claim bounds: every
    distance |o - y| divided by max(1, |y|_2), nearest in both directions (nan when an
    output is not finite)."""
    import numpy as np
    errs = []
    with np.errstate(all="ignore"):
        for o, Y in zip(outputs, targets):
            o, Y = np.asarray(o, np.float64), np.asarray(Y, np.float64)
            D = np.sqrt(((o[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2))
            R = D / np.maximum(1.0, np.sqrt((Y ** 2).sum(axis=1)))[None, :]
            errs.append(math.nan if not np.isfinite(R).all() else
                        float(max(R.min(axis=1).max(), R.min(axis=0).max())))
    return errs


def python_pass(cert, fmt="float64", reverse=True):
    """A pure-Python float pass (float64 only): every sum in reversed order. The
    relative error (relative_errors) of each sequence."""
    import numpy as np
    from exactseq import floatpass
    blocks, inputs, targets = floatpass.convert(cert, np.float64)
    worst = []
    for X, T in zip(inputs, targets):
        X = [list(map(float, x)) for x in X]
        for eta, Ut, b, Wt, rho, At, Vt in blocks:
            U, W = Ut.T.tolist(), Wt.T.tolist()
            b, eta = b.tolist(), float(eta)
            d, w = len(X[0]), len(b)
            ir = list(range(d))[::-1] if reverse else list(range(d))
            kr = list(range(w))[::-1] if reverse else list(range(w))
            new = []
            for x in X:
                h = []
                for k in range(w):
                    s = 0.0
                    for i in ir:
                        s += U[k][i] * x[i]
                    h.append(max(s + b[k], 0.0))
                y = []
                for i in range(d):
                    s = 0.0
                    for k in kr:
                        s += W[i][k] * h[k]
                    y.append(eta * x[i] + s)
                new.append(y)
            X = new
            if Vt is not None:
                A, V = At.T.tolist(), Vt.T.tolist()
                Ax = [[sum(A[i][j] * x[j] for j in ir) for i in range(d)] for x in X]
                out = []
                for a in Ax:
                    sc = []
                    for x in X:
                        s = 0.0
                        for i in ir:
                            s += a[i] * x[i]
                        sc.append(s)
                    top = max(sc)
                    C = [X[j] for j, s in enumerate(sc) if s == top]
                    mean = [sum(c[i] for c in C) / len(C) for i in range(d)]
                    out.append([sum(V[i][j] * mean[j] for j in ir) for i in range(d)])
                X = [[float(rho) * xi + oi for xi, oi in zip(x, o)] for x, o in zip(X, out)]
            elif rho != 1:
                X = [[float(rho) * xi for xi in x] for x in X]
        worst.extend(relative_errors([np.array(X)], [T]))
    return worst


def permuted_outputs(cert, dtype):
    """The outputs of the NumPy pass with the coordinates in reversed order (another
    summation order), back in the original order, and the targets."""
    import numpy as np
    from exactseq import floatpass
    blocks, inputs, targets = floatpass.convert(cert, dtype)
    rev = floatpass.Weights()
    rev.attention, rev.phases = blocks.attention, blocks.phases
    for eta, Ut, b, Wt, rho, At, Vt in blocks:
        rev.append((eta, Ut[::-1].copy(), b, Wt[:, ::-1].copy(), rho, At[::-1, ::-1].copy(),
                    None if Vt is None else Vt[::-1, ::-1].copy()))
    with np.errstate(all="ignore"):
        out = floatpass.run(rev, [X[:, ::-1].copy() for X in inputs], dtype)
    return [o[:, ::-1] for o in out], targets


def permuted_pass(cert, dtype):
    """The Hausdorff error of each sequence in the pass on reversed coordinates."""
    from exactseq import floatpass
    return floatpass.errors(*permuted_outputs(cert, dtype))


def permuted_relative(cert, dtype):
    """The relative error (relative_errors) of each sequence in the pass on reversed
    coordinates."""
    return relative_errors(*permuted_outputs(cert, dtype))


# ------------------------------------------------------------------ the runner
def measure(name, obj, fmt="float64", passes=True, plain=True):
    import numpy as np
    import proofs_check
    from exactseq import certificate, floatpass
    from exactseq.construction import ConstructionError, build
    from exactseq import floatsafe
    from exactseq.dataset import from_obj
    ds = from_obj(obj)
    row = {"name": name, "N": ds.N, "n": sum(len(p.input) for p in ds.pairs), "d": ds.dim, "fmt": fmt}
    if plain:
        t = time.perf_counter()
        try:
            cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
            proofs_check.check(cert)
            row["plain_s"] = time.perf_counter() - t
        except Exception as exc:   # noqa: BLE001
            row["plain_s"] = None
            row["plain_error"] = f"{type(exc).__name__}: {exc}"
    t = time.perf_counter()
    try:
        cons = build(ds, robust=fmt)
    except ConstructionError as exc:
        row.update(outcome="construction error", reason=str(exc))
        return row
    except Exception as exc:  # noqa: BLE001
        row.update(outcome="internal error", reason=f"{type(exc).__name__}: {exc}")
        return row
    row["blocks"], row["bound"] = len(cons.model.blocks), 2 * ds.sum_m + 2 * ds.N + 1
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    t1 = time.perf_counter()
    cert["float_claim"] = floatsafe.float_claim(ds, fmt, cert)
    t2 = time.perf_counter()
    try:
        res = proofs_check.check(json.loads(json.dumps(cert)))
        row.update(outcome="proven", bound_proven=res["float_claim"]["bound"])
    except proofs_check.Unknown as exc:
        row.update(outcome="unknown", reason=str(exc))
    except proofs_check.Rejected as exc:
        row.update(outcome="REJECTED", reason=str(exc))
    t3 = time.perf_counter()
    row.update(build_s=t1 - t, claim_s=t2 - t1, check_s=t3 - t2, robust_s=t3 - t)
    fc = cert["float_claim"]
    tol = Fraction(fc["tolerance"])
    row["tolerance"] = float(tol)
    if passes:
        dtype = np.float64 if fmt == "float64" else np.float32
        r = floatpass.timed(cert, dtype, repeats=2)
        # relative errors (the claim is relative): |o - y| / max(1, |y|) <= T
        errs = [relative_errors(r["outputs"], [np.array([[float(c) for c in y] for y in p.output])
                                               for p in ds.pairs]), permuted_relative(cert, dtype)]
        row["numpy_s"] = r["seconds"]
        if fmt == "float64" and ds.N * max(len(p.input) for p in ds.pairs) <= 4000:
            errs.append(python_pass(cert))
        flat = [e for es in errs for e in es]
        if any(map(math.isnan, flat)):
            row["float_error"], row["within"] = math.nan, False
        else:
            row["float_error"] = max(flat)
            row["within"] = row["float_error"] <= float(tol)
    return row


def _f(x, spec=".2g"):
    return "-" if x is None else format(x, spec)


def table(rows):
    lines = ["| dataset | N | tokens | d | fmt | blocks/bound | outcome | float error (rel.) | tolerance | within | "
             "plain s | robust s | numpy s |", "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['name']} | {r['N']} | {r['n']} | {r['d']} | {r['fmt']} | "
                     f"{r.get('blocks', '-')}/{r.get('bound', '-')} | {r['outcome']} | "
                     f"{_f(r.get('float_error'))} | {_f(r.get('tolerance'))} | {r.get('within', '-')} | "
                     f"{_f(r.get('plain_s'), '.2f')} | {_f(r.get('robust_s'), '.2f')} | "
                     f"{_f(r.get('numpy_s'), '.4f')} |")
    reasons = [f"- {r['name']} ({r['fmt']}): {r['reason']}" for r in rows if r.get("reason")]
    by = {}
    for r in rows:
        fam = r["name"].split(" ")[0]
        s = by.setdefault((fam, r["fmt"]), [0, 0, 0, 0])
        s[0] += 1
        s[1] += r["outcome"] == "proven"
        s[2] += r.get("within") is False
        s[3] += r["outcome"] in ("construction error", "internal error")
    summary = ["| family | fmt | datasets | proven | float pass outside | construction errors |",
               "|---|---|---|---|---|---|"] + [f"| {f} | {fmt} | {a} | {b} | {c} | {e} |"
                                            for (f, fmt), (a, b, c, e) in by.items()]
    return "\n".join(summary + [""] + lines + [""] + reasons)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="sizes up to 100x100 tokens")
    ap.add_argument("--real", action="store_true", help="scikit-learn's bundled labelled data")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--float32", action="store_true", help="also binary32 on the small datasets")
    ap.add_argument("--limit", type=int, default=None, help="at most this many samples per real set")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    rows = []
    fams = a.families.split(",") if a.families else []
    for fam, size, obj in grid(a.full):
        if fam not in fams:
            continue
        rows.append(measure(f"{fam} {size}", obj))
        print(json.dumps(rows[-1], default=str), flush=True)
        if a.float32 and len(obj["sequences"]) <= 10:
            rows.append(measure(f"{fam} {size}", obj, "float32", plain=False))
            print(json.dumps(rows[-1], default=str), flush=True)
    if a.real:
        for name, obj in real(limit=a.limit):
            rows.append(measure(f"real {name}", obj))
            print(json.dumps(rows[-1], default=str), flush=True)
            rows.append(measure(f"real {name}", obj, "float32", plain=False))
            print(json.dumps(rows[-1], default=str), flush=True)
    text = table(rows)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
