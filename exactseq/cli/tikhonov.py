"""``exactseq tikhonov``: the certified bound on the Tikhonov-regularised minimum."""
from __future__ import annotations

from proofs_check import limits as lim

from .console import STATUS, error, out, out_json, quiet_and_json


def add_parser(sub):
    import argparse
    from ..tikhonov import DEFAULT_REGULARIZER, HELP, REGULARIZERS
    p = sub.add_parser("tikhonov", help="certified bound on the Tikhonov-regularised training minimum",
                       description="The certified upper bound eps * R(theta*) on "
                       "min_theta L(theta) + eps R(theta) (Proposition 2.1).",
                       epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cert", metavar="CERT", help="certificate JSON file")
    p.add_argument("--eps", required=True, metavar="E",
                   help="regularisation parameter, exact (e.g. 1/1000 or 1e-3)")
    p.add_argument("--regularizer", choices=REGULARIZERS, default=DEFAULT_REGULARIZER,
                   help="R: l2_squared (default, as in the paper's Example 2.2), l2, l1 or linf")
    quiet_and_json(p)
    lim.add_arguments(p)
    return p


def run(args):
    from ..errors import CertificateError, NormError
    from ..tikhonov import bound_for_file, parse_eps, text
    limits = lim.from_args(args)
    try:
        eps = parse_eps(args.eps)
    except ValueError as exc:
        return error(str(exc))
    try:
        result = bound_for_file(args.cert, eps, args.regularizer, limits)
    except (CertificateError, NormError) as exc:
        return error(str(exc))
    if args.json:
        out_json(result)
    elif not args.quiet:
        out(text(result))
    return STATUS[result["verdict"]]
