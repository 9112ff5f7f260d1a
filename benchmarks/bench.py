"""Time construction and checking on generated datasets.

    python benchmarks/bench.py                      # the default table
    python benchmarks/bench.py --N 40 --nmin 50 --nmax 200 --d 8 --bits 40 --m 3

Coordinates are random rationals k / 2^bits with |k| < 2^bits (so of
`bits` bits each); outputs are fresh random points.  Sequences may overlap
with --overlap (a fraction of each input copied from the previous one).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from exactseq import certificate  # noqa: E402
from exactseq.construction import build  # noqa: E402
from exactseq.dataset import from_obj  # noqa: E402
import proofs_check  # noqa: E402


def make(N, nmin, nmax, d, bits, m, overlap=0.0, seed=0):
    rng = random.Random(seed)

    def coord():
        return f"{rng.randrange(-2**bits + 1, 2**bits)}/{2**bits}"

    seqs, prev = [], []
    for _ in range(N):
        n = rng.randint(nmin, nmax)
        k = int(overlap * min(n, len(prev)))
        toks = rng.sample(prev, k) if k else []
        seen = {tuple(t) for t in toks}
        while len(toks) < n:
            t = [coord() for _ in range(d)]
            if tuple(t) not in seen:
                seen.add(tuple(t))
                toks.append(t)
        out = [[coord() for _ in range(d)] for _ in range(min(m, n))]
        seqs.append({"input": toks, "output": out})
        prev = toks
    return {"sequences": seqs}


def run(N, nmin, nmax, d, bits, m, overlap=0.0, seed=0):
    obj = make(N, nmin, nmax, d, bits, m, overlap, seed)
    t0 = time.perf_counter()
    ds = from_obj(json.loads(json.dumps(obj)))
    t1 = time.perf_counter()
    cons = build(ds)
    t2 = time.perf_counter()
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    t3 = time.perf_counter()
    res = proofs_check.check(cert)
    t4 = time.perf_counter()
    return {"N": N, "tokens": sum(len(p.input) for p in ds.pairs), "d": d, "bits": bits,
            "sum_m": ds.sum_m, "overlap": overlap, "blocks": res["blocks"],
            "load": t1 - t0, "construct": t2 - t1, "serialise": t3 - t2, "check": t4 - t3,
            "total": t4 - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=int)
    ap.add_argument("--nmin", type=int, default=50)
    ap.add_argument("--nmax", type=int, default=200)
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--bits", type=int, default=40)
    ap.add_argument("--m", type=int, default=3)
    ap.add_argument("--overlap", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.N:
        cases = [(a.N, a.nmin, a.nmax, a.d, a.bits, a.m, a.overlap)]
    else:
        cases = [(10, 50, 200, 8, 40, 3, 0.0), (20, 50, 200, 8, 40, 3, 0.0),
                 (40, 50, 200, 8, 40, 3, 0.0), (40, 50, 200, 8, 40, 3, 0.3),
                 (80, 50, 200, 8, 40, 3, 0.0), (40, 50, 200, 8, 200, 3, 0.0)]
    cols = ["N", "tokens", "d", "bits", "sum_m", "overlap", "blocks", "load", "construct",
            "serialise", "check", "total"]
    print(" ".join(f"{c:>9}" for c in cols))
    for case in cases:
        r = run(*case, seed=a.seed)
        print(" ".join(f"{r[c]:>9.3f}" if isinstance(r[c], float) else f"{r[c]:>9}" for c in cols),
              flush=True)


if __name__ == "__main__":
    main()
