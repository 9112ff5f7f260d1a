"""``exactseq export``: a certificate's weights as npz, safetensors, torch or exact json files."""
from __future__ import annotations

from proofs_check import limits as lim

from .console import EXIT_OK, error, out, out_json, quiet_and_json, warn


def add_parser(sub):
    from ..export import FORMATS
    p = sub.add_parser(
        "export", help="write a certificate's weights (npz, safetensors, torch or exact json)",
        description="Write the weights of certificate CERT to OUT under the names "
        "blocks.{k}.ff.eta, .ff.U, .ff.b, .ff.W, .sa.rho, .sa.A, .sa.V (k = 0, 1, ...; matrices "
        "dense; A and V of a block with H > 1 attention heads H x d x d), each float the "
        "correctly rounded value of its exact number, with metadata (attention, tau, the "
        "certificate's SHA-256, the format version). json writes the exact numbers instead, "
        "never rounded: {\"format\": \"exactseq-weights\", \"version\": 1, \"dimension\", "
        "\"blocks\", \"attention\", \"tau\" (softmax), \"weights\": {name: \"p/q\" or nested "
        "lists}} (rational certificates only).",
        epilog="The certificate is verified first (proofs_check), unless --no-verify; the "
        "report says whether a proven float claim covers DTYPE, and warns when none does. "
        "Exit status: 0 written, 1 the certificate is rejected, 2 bad input, a malformed "
        "certificate, a missing optional library, or bad usage, 3 the check is undecided "
        "(nothing written unless 0).")
    p.add_argument("cert", metavar="CERT", help="certificate JSON file")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="file to write (atomically)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="npz (numpy), safetensors, torch (torch.save of a state_dict for "
                   "exactseq.torch.ExactTransformer), or json (exact numbers); default: from "
                   "OUT's extension (.npz, .safetensors, .pt, .pth, .json)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="float format of the weights (default float64); does not apply to json, "
                   "whose numbers are exact (no float claim is needed)")
    p.add_argument("--no-verify", action="store_true",
                   help="write without checking the certificate first (nothing is then said about "
                   "its float claim)")
    quiet_and_json(p)
    lim.add_arguments(p)
    return p


def run(args):
    from ..errors import ExportError
    from ..export import export_file, text
    try:
        report = export_file(args.cert, args.output, args.format, args.dtype, lim.from_args(args),
                             verify=not args.no_verify)
    except ExportError as exc:
        return error(str(exc), exc.status)
    if report.get("warning") and not args.quiet and not args.json:
        warn(report["warning"])
    if args.json:
        out_json(report)
    elif not args.quiet:
        out(text(report))
    return EXIT_OK
