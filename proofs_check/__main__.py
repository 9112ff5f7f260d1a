"""python -m proofs_check CERT.json [--json]

Exit status: 0 verified, 1 rejected, 2 malformed or unreadable.
"""
import json
import sys

from .checker import Malformed, Rejected, check


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = args[0]
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    try:
        with open(path, encoding="utf-8") as fh:
            cert = json.load(fh, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (OSError, ValueError) as exc:
        print(f"proofs_check: {path}: cannot read certificate: {exc}", file=sys.stderr)
        return 2
    try:
        summary = check(cert)
    except Malformed as exc:
        print(f"proofs_check: {path}: malformed: {exc}", file=sys.stderr)
        return 2
    except Rejected as exc:
        print(json.dumps({"verdict": "rejected", "reason": str(exc)}) if as_json
              else f"REJECTED: {exc}")
        return 1
    except Exception as exc:  # never accept after an unexpected error
        print(f"REJECTED: internal error: {type(exc).__name__}: {exc}")
        return 1
    print(json.dumps(summary) if as_json else
          f"VERIFIED: {summary['blocks']} blocks, every output equals its target exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
