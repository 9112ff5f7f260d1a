"""``exactseq eval``: exact outputs of a certified model on new inputs."""
from __future__ import annotations

from proofs_check import limits as lim

from .console import EXIT_FAILED, EXIT_OK, EXIT_UNKNOWN, error, out, out_json, quiet_and_json, warn


def add_parser(sub):
    import argparse
    from ..evaluation import HELP
    p = sub.add_parser("eval", help="exact outputs of a certified model on new inputs",
                       description="Evaluate the transformer of a certificate on the input "
                       "sequences of INPUT.json, exactly.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cert", metavar="CERT", help="certificate JSON file")
    p.add_argument("input", metavar="INPUT", help="JSON file with the input sequences")
    quiet_and_json(p)
    lim.add_arguments(p)
    return p


def run(args):
    from ..errors import CertificateError, InputError
    from ..evaluation import evaluate_file, text
    limits = lim.from_args(args)
    try:
        result, warnings = evaluate_file(args.cert, args.input, limits)
    except (CertificateError, InputError) as exc:
        return error(str(exc))
    for w in () if args.quiet else warnings:
        warn(w)
    status = {False: EXIT_FAILED, None: EXIT_UNKNOWN}.get(result["all_equal"], EXIT_OK)
    if result["all_equal"] is None and not any("equal" in r for r in result["sequences"]):
        status = EXIT_OK             # no output given: nothing to compare
    if args.json:
        out_json(result)
    elif not args.quiet:
        out(text(result))
    return status
