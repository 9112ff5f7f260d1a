"""A falsification campaign against the float claim (exactseq/falsify.py), at scale.

    python3 benchmarks/float_campaign.py --count 1500 --seed 1 --out float-findings

Generates certificates of every kind in turn, checks each with proofs_check and runs
every float pass on each verified claim.  Prints one row per kind: certificates
generated, verdicts, passes run, certificates with a contradiction (or a bound
exceeded), passes contradicting the claim, passes exceeding the proven bound,
deviations of passes outside the rounding model (none at present), passes that
raised, the worst observed error over the proven bound (relative claims: over
bound max(1, |y|)) inside and outside the model, the slowest single check, seconds.
Certificates with a finding are saved under --out.  Exit status 1 when a kind not in
falsify.HOSTILE has a contradiction, a bound exceeded, or the checker raised.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from exactseq import falsify  # noqa: E402

COLUMNS = ("generated", "verified", "unknown", "rejected", "malformed", "error", "passes",
           "contradicted", "contradictions", "bound_exceeded", "beyond_model", "pass_errors")
HEAD = ("kind", "gen", "verified", "unknown", "rejected", "malformed", "error", "passes",
        "certs contra", "passes contra", "bound>", "beyond", "pass err", "worst/bound", "beyond/bound",
        "slowest check", "s")


def table(report):
    rows = [HEAD]
    for kind, c in list(report["by_kind"].items()) + [("total", report)]:
        mark = " *" if kind in falsify.HOSTILE else ""
        rows.append((kind + mark, *(str(c[k]) for k in COLUMNS), f"{c['ratio']:.3g}",
                     f"{c['beyond_ratio']:.3g}", f"{c['slowest_check']:.2f}", f"{c['seconds']:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    lines = ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=600, help="certificates to generate (default 600)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="directory for certificates with a finding")
    ap.add_argument("--kinds", default=None, help="comma-separated kinds (default all: "
                    + ", ".join(falsify.KINDS) + ")")
    ap.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    kinds = args.kinds.split(",") if args.kinds else None
    bad = [k for k in kinds or () if k not in falsify.KINDS]
    if bad:
        ap.error(f"unknown kind {bad[0]!r}")
    t0 = time.monotonic()
    rep = falsify.campaign(args.count, args.seed, kinds, out=args.out, seconds=args.seconds)
    took = time.monotonic() - t0
    if args.json:
        print(json.dumps(rep, indent=1, default=str))
    else:
        print(f"float claim campaign: {args.count} certificates, seed {args.seed}, {took:.1f} s "
              f"({len(falsify.PASSES)} passes a claim; * = kinds aimed at known weak points)")
        print(table(rep))
        for f in rep["findings"][:30]:
            what = f.get("contradictions") or f.get("bound") or f.get("checker_error") or \
                f.get("generator_error") or f.get("errors") or f.get("beyond_model")
            first = what[0] if isinstance(what, list) else what
            print(f"  {f['kind']} #{f['index']} ({f.get('format', '-')}): {first}"
                  + (f"  -> {f['file']}" if "file" in f else ""))
        if len(rep["findings"]) > 30:
            print(f"  ... {len(rep['findings']) - 30} more findings")
    real = [f for f in rep["findings"] if f["kind"] not in falsify.HOSTILE and
            any(k in f for k in ("contradictions", "bound", "checker_error", "generator_error"))]
    return 1 if real else 0


if __name__ == "__main__":
    sys.exit(main())
