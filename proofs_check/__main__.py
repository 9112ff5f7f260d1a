"""python -m proofs_check [--json | --quiet] [--jobs J | --reference] [limits] CERT.json"""
import argparse
import json
import os
import sys

from . import limits as lim
from . import report

EPILOG = """\
Exit status: 0 verified, 1 rejected (a claim or an output is false),
2 malformed (unreadable, not of the documented form, or beyond a resource
limit), 3 unknown (undecided: enclosures too wide or a sign not found within
the limits; never a pass).
"""


def main(argv=None):
    p = report.Parser(
        prog="python -m proofs_check",
        description="Check an exactseq certificate independently: re-evaluate every block from "
        "the weights in exact arithmetic, check every lemma claim, and compare every output "
        "set with its target.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cert", metavar="CERT", help="certificate JSON file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="print nothing; the exit status tells")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="check in J processes, each on a contiguous range of sequences, and combine; "
                   "the verdict and the output are the same as with one (default 1; hardmax "
                   "certificates over the rationals only, others are checked in one process)")
    p.add_argument("--reference", action="store_true",
                   help="check with the reference kernel (proofs_check/kernel.py): every block "
                   "evaluated straight from the definitions, no fast path; the same verdict and "
                   "message as the default checker, slower; one process (--jobs does not apply); "
                   "softmax certificates: unknown")
    p.add_argument("--version", action="version", version="proofs_check (certificate schema 1)")
    lim.add_arguments(p)
    for stream in (sys.stdout, sys.stderr):   # text from a certificate never crashes the output
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    p.json_errors = "--json" in (sys.argv[1:] if argv is None else argv)
    args = p.parse_args(argv)
    try:
        limits = lim.from_args(args)
    except lim.LimitError as exc:
        p.error(str(exc))
    if args.jobs < 1:
        p.error(f"--jobs must be an integer >= 1, not {args.jobs}")
    try:
        cert = report.load(args.cert, limits)
        verdict, result = report.run(cert, limits, jobs=args.jobs, reference=args.reference)
    except report.Malformed as exc:
        verdict, result = "malformed", {"verdict": "malformed", "reason": str(exc)}
    except KeyboardInterrupt:
        print("proofs_check: interrupted; nothing verified", file=sys.stderr)
        if args.json:
            print(json.dumps({"verdict": "unknown", "reason": "interrupted; nothing verified"}, indent=1))
        return 130
    result["certificate"] = args.cert
    try:
        if args.json:
            print(json.dumps(result, indent=1))
        elif verdict == "malformed":
            print(f"proofs_check: {args.cert}: malformed: {result['reason']}", file=sys.stderr)
        elif not args.quiet:
            print(report.line(result))
        sys.stdout.flush()
    except BrokenPipeError:   # e.g. piped into head: the verdict still sets the status
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return report.STATUS[verdict]


if __name__ == "__main__":
    sys.exit(main())
