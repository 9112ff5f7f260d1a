"""Plain against float-robust constructions: what floats make of the exported weights.

    python benchmarks/research.py              # the README table (a few minutes; bits_needed dominates)
    python benchmarks/research.py --no-bits    # without the bits_needed search (seconds)
    python benchmarks/research.py --large      # also generic N=40 and decimals N=100 (no bits_needed)
    python benchmarks/research.py --json

For each dataset family (benchmarks/families.py at moderate size: generic 10 x 50-100,
d = 8, m = 3; decimals 20 x 50, d = 16, m = 5, overlap 0.3; dyadic 10 x 50-100, d = 8,
m = 3; the shipped hardmax examples and two sequences at 10^30 beside 10^-30) it builds
the plain construction and the robust one (``build(ds, robust="float64")``) and prints:

  blocks        the number of blocks;
  |param|       the largest |parameter| (a decimal reading) and the largest numerator or
                denominator in bits;
  bits          bits_needed of ``exactseq audit`` (smallest mantissa found by doubling and
                bisection at which a p-bit pass decides as the exact one and interpolates);
  float64, float32, bfloat16
                the dense NumPy pass (exactseq/floatpass.py, bfloat16 emulated): "yes" when
                its Hausdorff error is within the audit's tolerance 1e-9 max(1, |target|),
                and its error relative to max(1, |target|);
  claim         robust only: the float claim binary64 within 1e-9 max(1, |target|) checked
                by proofs_check (proven with its bound, or unknown and where).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path[:0] = [ROOT, HERE]

import numpy as np  # noqa: E402

import families  # noqa: E402
import proofs_check  # noqa: E402
from exactseq import certificate, floatpass as fp, floatsafe, weights as wt  # noqa: E402
from exactseq.construction import build  # noqa: E402
from exactseq.dataset import from_obj, load  # noqa: E402

FRAGILE = {"dimension": 2, "sequences": [
    {"name": "big", "input": [["1e30", 0], [0, "1e-30"]], "output": [["1e-30", "1e-30"]]},
    {"name": "small", "input": [["1e-30", 0], [0, "1e30"]], "output": [[1, "1e30"]]}]}

ROWS = [
    ("generic 10x50-100 d8 m3", lambda: from_obj(families.generic(10, 50, 100, 8, 3))),
    ("decimals 20x50 d16 m5", lambda: from_obj(families.decimals(20, 50, 16, 5))),
    ("dyadic 10x50-100 d8 m3", lambda: from_obj(families.dyadic(10, 50, 100, 8, 3))),
    ("examples/figure5.json", lambda: load(os.path.join(ROOT, "examples/figure5.json"))),
    ("examples/circle.json", lambda: load(os.path.join(ROOT, "examples/circle.json"))),
    ("examples/classification.json", lambda: load(os.path.join(ROOT, "examples/classification.json"))),
    ("examples/masked.json", lambda: load(os.path.join(ROOT, "examples/masked.json"))),
    ("1e30 beside 1e-30", lambda: from_obj(FRAGILE)),
]
LARGE = [
    ("generic 40x50-200 d8 m3", lambda: from_obj(families.generic(40, 50, 200, 8, 3))),
    ("decimals 100x100 d16 m5", lambda: from_obj(families.decimals(100, 100, 16, 5))),
]


def size(cons):
    big, bits = Fraction(0), 0
    for b in cons.model.blocks:
        for x in b.ff.params() + b.sa.params():
            cs = x.c if hasattr(x, "c") and not isinstance(x, Fraction) else (Fraction(x),)
            big = max(big, abs(cs[0]) if len(cs) == 1 else big)
            if len(cs) > 1:
                from exactseq.numbers import upper_bound
                big = max(big, abs(upper_bound(x)), abs(upper_bound(-x)))
            bits = max([bits] + [max(abs(q.numerator).bit_length(), q.denominator.bit_length()) for q in cs])
    return big, bits


def magnitude(q):
    try:
        return f"{float(q):.3g}"
    except OverflowError:
        return f"2^{q.numerator.bit_length() - q.denominator.bit_length()}"


def row(name, ds, robust, bits, claim=True):
    t0 = time.perf_counter()
    cons = build(ds, robust=robust) if robust else build(ds)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    scale = float(floatsafe.target_scale(ds))
    tol = 1e-9 * scale
    out = {"dataset": name, "construction": robust and f"robust {robust}" or "plain",
           "blocks": len(cert["blocks"])}
    big, nbits = size(cons)
    out["largest_parameter"], out["parameter_bits"] = magnitude(big), nbits
    for fmt in ("float64", "float32", "bfloat16"):
        with np.errstate(all="ignore"):
            _, err = fp.forward(cert, np.float64 if fmt == "float64" else np.float32, fmt=fmt)
        out[fmt] = {"interpolates": bool(err <= tol), "relative_error": err / scale}
    out["bits_needed"] = None
    if bits:
        from exactseq import audit
        r = audit.audit(wt.parse(cert), "float64", bits=True, use_torch=False, max_bits=1024)
        out["bits_needed"] = r["bits_needed"]
    out["claim"] = None
    if robust and claim:
        cert["float_claim"] = floatsafe.float_claim(ds, robust, cert)
        try:
            s = proofs_check.check(cert)["float_claim"]
            out["claim"] = f"proven, bound {float(Fraction(s['bound_exact'])):.1e} rel"
        except proofs_check.Unknown as exc:
            msg = str(exc).replace("float claim: ", "")
            if msg.startswith("the proven error bound "):
                out["claim"] = f"unknown: bound {msg.split()[4]} rel > {msg.split()[8]}"
            else:
                out["claim"] = "unknown at " + msg.split(":")[0]
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def cell(r):
    return ("yes" if r["interpolates"] else "no") + f" ({r['relative_error']:.0e})"


def table(rows):
    lines = ["| dataset | construction | blocks | largest param | bits | bits_needed | float64 | "
             "float32 | bfloat16 | float claim (binary64) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['construction']} | {r['blocks']} | {r['largest_parameter']} | "
                     f"{r['parameter_bits']} | {r['bits_needed'] if r['bits_needed'] is not None else '-'} | "
                     f"{cell(r['float64'])} | {cell(r['float32'])} | {cell(r['bfloat16'])} | "
                     f"{r['claim'] or '-'} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-bits", action="store_true", help="skip the bits_needed search")
    ap.add_argument("--large", action="store_true", help="add generic N=40 and decimals N=100")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args(argv)
    rows = []
    for name, make in ROWS + (LARGE if args.large else []):
        ds = make()
        large = (name, make) in LARGE
        for robust in (None, "float64"):
            rows.append(row(name, ds, robust, not (args.no_bits or large), claim=True))
            print(f"{name} {rows[-1]['construction']}: {rows[-1]['seconds']} s", file=sys.stderr)
    print(json.dumps(rows, indent=1) if args.json else table(rows))


if __name__ == "__main__":
    main()
