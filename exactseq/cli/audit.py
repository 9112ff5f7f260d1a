"""``exactseq audit``: a float evaluation of a certificate beside the exact one."""
from __future__ import annotations

from proofs_check import limits as lim

from .console import EXIT_FAILED, EXIT_OK, Progress, error, out, out_json, quiet_and_json


def add_parser(sub):
    from ..audit import DTYPE_NAMES
    p = sub.add_parser(
        "audit", help="compare a float evaluation of a certificate with the exact one",
        description="Run the certificate's weights in floating point (NumPy, and PyTorch when "
        "installed) beside the exact evaluation and report, per block, the largest deviation of "
        "a token from its exact value and whether an FF activation pattern or an attention "
        "argmax set differs; then the first block where a decision differs, the final "
        "Hausdorff error per sequence and bits_needed: the smallest mantissa precision found "
        "by doubling from 8 bits and then bisecting at which a pass rounded to that precision "
        "makes every decision as the exact one and ends within the tolerance.",
        epilog="Exit status: 0 the float pass interpolates within the tolerance, 1 it does "
        "not, 2 bad input, a missing optional library, or bad usage.")
    p.add_argument("cert", metavar="CERT", help="certificate JSON file")
    p.add_argument("--dtype", choices=DTYPE_NAMES, default="float64",
                   help="float format (default float64; bfloat16 is emulated in NumPy by "
                   "rounding every intermediate float32 result, and native in PyTorch)")
    p.add_argument("--tol", metavar="T", default=None,
                   help="largest Hausdorff error that counts as interpolating (default 1e-9 "
                   "times the largest |coordinate| of the targets, at least 1e-9)")
    p.add_argument("--max-bits", type=int, default=4096, metavar="N",
                   help="largest precision the bits_needed search tries (default 4096)")
    p.add_argument("--no-bits", action="store_true", help="skip the bits_needed search")
    p.add_argument("--no-torch", action="store_true", help="do not run the PyTorch module")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw the deviation per block (log scale, phases marked; needs matplotlib)")
    quiet_and_json(p)
    lim.add_arguments(p)
    return p


def run(args):
    from ..audit import audit_file, text
    from ..errors import AuditError
    progress = Progress(not (args.json or args.quiet))
    try:
        limits = lim.from_args(args)
        result = audit_file(args.cert, args.dtype, args.tol, args.max_bits, bits=not args.no_bits,
                            use_torch=not args.no_torch, plot_to=args.plot, limits=limits, progress=progress)
    except (AuditError, lim.LimitError) as exc:
        return error(str(exc))
    finally:
        progress.done()
    if args.json:
        out_json(result)
    elif not args.quiet:
        out(text(result))
    return EXIT_OK if result["interpolates"] else EXIT_FAILED
