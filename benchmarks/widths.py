"""Depth against width: blocks and parameters of `exactseq check --max-width W`.

    python benchmarks/widths.py [--widths 4,7,13,25,49] [--json]

For each benchmark family (benchmarks/families.py: generic, decimals, dyadic,
at moderate sizes) and each W, the construction packs up to floor(W/3) hat
moves per FF layer (floor((W-1)/3) in the layer with the shift), and
proofs_check certifies the result with the declared width bound W.  Columns:
blocks (leaders and interpolation blocks in brackets), the widest FF layer,
non-zero parameters, and the seconds to construct and to check.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import families  # noqa: E402
import proofs_check  # noqa: E402
from exactseq import certificate  # noqa: E402
from exactseq.construction import build  # noqa: E402
from exactseq.dataset import from_obj  # noqa: E402

ROWS = {
    "generic": (lambda: families.generic(40, 50, 200, 8, 3, seed=0),
                "N=40, 50-200 tokens, d=8, m=3"),
    "decimals": (lambda: families.decimals(100, 100, 16, 5, overlap=0.3, seed=0),
                 "N=100, n=100, d=16, m=5, overlap 0.3"),
    "dyadic": (lambda: families.dyadic(40, 50, 200, 8, 3, bits=40, seed=0),
               "N=40, 50-200 tokens, d=8, m=3, bits 40"),
}


def row(name, ds, width):
    t0 = time.perf_counter()
    cons = build(ds, max_width=width)
    t1 = time.perf_counter()
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    cert["max_width"] = width
    summary = proofs_check.check(cert)
    t2 = time.perf_counter()
    return {"family": name, "N": ds.N, "tokens": sum(len(p.input) for p in ds.pairs),
            "sum_m": ds.sum_m, "W": width, "blocks": summary["blocks"],
            "leaders": cons.phase_blocks["leaders"], "interpolation": cons.phase_blocks["interpolation"],
            "bound": summary["block_bound"], "width": summary["width"],
            "parameters": summary["parameters"], "construct_s": round(t1 - t0, 2),
            "check_s": round(t2 - t1, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="4,7,13,25,49")
    ap.add_argument("--families", default=",".join(ROWS))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    rows = []
    for name in args.families.split(","):
        make, _ = ROWS[name]
        ds = from_obj(make())
        for w in widths:
            rows.append(row(name, ds, w))
            if not args.json:
                print(f"{name} W={w}: {rows[-1]['blocks']} blocks", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| family | N | tokens | sum m | W | blocks (leaders + interpolation) | bound | width "
          "| parameters | construct s | check s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['family']} | {r['N']} | {r['tokens']} | {r['sum_m']} | {r['W']} | {r['blocks']} "
              f"({r['leaders']} + {r['interpolation']}) | {r['bound']} | {r['width']} | {r['parameters']} "
              f"| {r['construct_s']} | {r['check_s']} |")


if __name__ == "__main__":
    main()
