"""Construction time alone, float-safe and plain, beside a float64 pass of the same weights.

    python3 benchmarks/construction.py                  # every row
    python3 benchmarks/construction.py --rows wine,long-3x4000
    python3 benchmarks/construction.py --row long-1x20000 --profile   # cProfile of one row

Rows (each in its own process, one at a time):

  wine            scikit-learn's wine as labelled data (178 sequences x 13 tokens, d = 2)
  breast_cancer   scikit-learn's breast cancer as labelled data (569 sequences x 30 tokens, d = 2)
  digits          scikit-learn's digits as labelled data (1797 sequences x 8 tokens, d = 9)
  decimals-m5     families.decimals(100, 100, 16, 5): 100 sequences x 100 tokens, d = 16
  long-3x4000     families.decimals(3, 4000, 4, 5): 3 sequences x 4,000 tokens, d = 4
  long-1x20000    families.decimals(1, 20000, 4, 5): one sequence of 20,000 tokens, d = 4

(wine and digits need scikit-learn; benchmarks/float_families.py ``real()`` turns
them into datasets.)  Columns:

  safe s      exactseq.floatsafe.construct(ds): the float-safe construction (CPU
              seconds of this process: the machine is shared);
  plain s     exactseq.construction.build(ds): the paper's construction (CPU seconds);
  f64 s       exactseq.floatpass.timed(cert): a dense NumPy float64 forward pass of
              the float-safe weights (best of 3, conversion not counted);
  safe/f64    construction time over float pass time (target: within 10);
  safe/plain  float-safe construction time over the plain one.

"before" is the construction time measured before the construction was made
fast (same machine, the other core busy), kept here in BEFORE; "after" is
measured now.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path[:0] = [ROOT, HERE]

ROWS = ("wine", "breast_cancer", "digits", "decimals-m5", "long-3x4000", "long-1x20000")

# measured before the speed work, the same day, the machine shared: (float-safe
# construction, plain construction: CPU seconds; float64 pass of the float-safe weights:
# wall seconds, best of 3)
BEFORE = {
    "wine": (0.447, 0.228, 0.0287),
    "breast_cancer": (3.79, 6.91, 0.446),
    "digits": (9.61, 4.55, 2.5),
    "decimals-m5": (7.75, 3.85, 0.522),
    "long-3x4000": (3.63, 1.53, 3.26),
    "long-1x20000": (1.48, 0.602, 4.9),
}


def dataset(name):
    from exactseq.dataset import from_obj
    if name in ("wine", "breast_cancer", "digits"):
        import float_families
        return from_obj(float_families.real((name,))[0][1])
    import families
    if name == "decimals-m5":
        return from_obj(families.decimals(100, 100, 16, 5))
    N, n = {"long-3x4000": (3, 4000), "long-1x20000": (1, 20000)}[name]
    return from_obj(families.decimals(N, n, 4, 5))


def measure(name, profile=False):
    from exactseq import certificate
    from exactseq.construction import build
    from exactseq.floatsafe import construct
    ds = dataset(name)
    row = {"row": name, "N": ds.N, "tokens": sum(len(p.input) for p in ds.pairs), "d": ds.dim}
    if profile:
        import cProfile
        import pstats
        pr = cProfile.Profile()
        pr.enable()
        construct(ds)
        pr.disable()
        pstats.Stats(pr, stream=sys.stderr).sort_stats("cumtime").print_stats(40)
        pstats.Stats(pr, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    t = time.process_time()
    cons, how = construct(ds)
    row["safe_s"] = time.process_time() - t
    row["construction"] = how["construction"]
    row["blocks"] = len(cons.model.blocks)
    t = time.process_time()
    plain = build(ds)
    row["plain_s"] = time.process_time() - t
    row["plain_blocks"] = len(plain.model.blocks)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    row["f64_s"], row["f64_error"] = float_pass(cert)
    return row


def float_pass(cert, repeats=3):
    """(seconds, error) of a float64 NumPy pass of the certificate's weights:
    exactseq.floatpass.timed, or, for a sequence whose n x n scores the dense pass
    refuses (more than weights.MAX_SCORES), the same operations with the attention
    scores computed ROWS query rows at a time."""
    import math
    import numpy as np
    from exactseq import floatpass, weights
    n = max(len(s["input"]) for s in cert["dataset"]["sequences"])
    if n * n <= weights.MAX_SCORES:
        r = floatpass.timed(cert, repeats=repeats)
        return r["seconds"], r["error"]
    weights.MAX_SCORES = n * n
    blocks, inputs, targets = floatpass.convert(cert, np.float64)
    best, out = math.inf, None
    with np.errstate(all="ignore"):
        for _ in range(repeats):
            t = time.perf_counter()
            out = [_rows_pass(blocks, X) for X in inputs]
            best = min(best, time.perf_counter() - t)
    return best, max(floatpass.errors(out, targets))


ROWS_PER_CHUNK = 2048


def _rows_pass(blocks, X):
    """floatpass.step on one sequence (n x d), hardmax, the scores in row chunks."""
    import numpy as np
    for eta, Ut, b, Wt, rho, At, Vt in blocks:
        H = X @ Ut
        H += b
        np.maximum(H, 0, out=H)
        X = eta * X + H @ Wt
        if Vt is not None:
            XA, XT, mean = X @ At, X.T, np.empty_like(X)
            for i in range(0, len(X), ROWS_PER_CHUNK):
                S = XA[i:i + ROWS_PER_CHUNK] @ XT
                M = (S == S.max(axis=1, keepdims=True)).astype(X.dtype)
                mean[i:i + ROWS_PER_CHUNK] = (M / M.sum(axis=1, keepdims=True)) @ X
            X = rho * X + mean @ Vt
        elif rho != 1:
            X = rho * X
    return X


def _f(x):
    return "-" if x is None else f"{x:.3g}"


def table(rows):
    head = ("| row | N | tokens | d | blocks | safe s before -> after | plain s before -> after "
            "| f64 s | safe/f64 before -> after | safe/plain |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        b = BEFORE.get(r["row"], (None, None, None))
        ratio_before = b[0] / b[2] if b[0] and b[2] else None
        out.append(f"| {r['row']} | {r['N']} | {r['tokens']} | {r['d']} | {r['blocks']} "
                   f"| {_f(b[0])} -> {_f(r['safe_s'])} | {_f(b[1])} -> {_f(r['plain_s'])} "
                   f"| {_f(r['f64_s'])} | {_f(ratio_before)} -> {_f(r['safe_s'] / r['f64_s'])} "
                   f"| {_f(r['safe_s'] / r['plain_s'])} |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--row", help="measure one row in this process and print it as JSON")
    ap.add_argument("--profile", action="store_true", help="with --row: cProfile the float-safe construction")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.row:
        print(json.dumps(measure(a.row, a.profile)))
        return 0
    rows = []
    for name in a.rows.split(","):
        res = subprocess.run([sys.executable, __file__, "--row", name], capture_output=True, text=True)
        if res.returncode:
            print(f"{name}: failed\n{res.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(f"{name}: {rows[-1]}", file=sys.stderr)
    print(json.dumps(rows, indent=1) if a.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
