"""``exactseq check``: parse the options, call exactseq.certify, write the
certificate, print the report."""
from __future__ import annotations

import argparse
import os

from proofs_check import limits as lim

from .console import Progress, STATUS, error, out, out_json, quiet_and_json, short, warn
from . import render

CHECK_HELP = """\
Dataset format (JSON):
  {"sequences": [{"name": "a", "input": [[1, 0], [0, 1]], "output": [[2, 2]]}, ...],
   "dimension": 2}
Coordinates: integers, "p/q", exact decimals ("-0.125", "1e-30"; a JSON 0.1 is
1/10, never a float), or real algebraic expressions with sqrt, ^, + - * / and
parentheses ("sqrt(3)/2", "(1+sqrt(5))/2", "2^(1/3)").
Requirements (Assumption 1.3): inputs pairwise distinct as sets; no repeated
token inside an input or an output; each output no longer than its input.
Classification: each sequence may give a "label" (a string or an integer)
instead of an "output", with an optional top-level "classes": {"label": [point]}
(default: (1, 0, ..., 0), (2, 0, ..., 0), ... in order of first appearance,
skipping input tokens).
Unknown keys are ignored with a warning on stderr.
Causal attention: sequences with "targets" (one target point per input
position) instead of "output" are certified for masked attention, the output
at every position exactly its target (equal prefixes need equal targets).

Exit status: 0 certified, 1 a check failed, 2 bad input or usage, 3 undecided
(softmax: the enclosures could not decide at any temperature and precision
tried; never a pass).
"""



JOBS_HELP = ("check in J processes, each on a contiguous range of sequences, and combine: the "
             "verdict and the output are those of one process (default 1; hardmax certificates "
             "over the rationals; softmax and number-field certificates are checked in one process)")



def add_parser(sub):
    pc = sub.add_parser("check", help="construct and certify a dataset",
                        description="Construct an exact transformer for FILE (hardmax by default, or softmax) and "
                        "certify it with proofs_check.", epilog=CHECK_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pc.add_argument("file", metavar="FILE", help="dataset JSON file")
    quiet_and_json(pc, "print one JSON object instead of the report")
    pc.add_argument("-v", "--verbose", action="store_true",
                    help="list every sequence (and every class's sequences) in the text report; "
                    "without it the report gives counts, the same at 5 sequences as at 10^5")
    pc.add_argument("--certificate", metavar="OUT", help="write the certificate (canonical JSON) to OUT")
    pc.add_argument("--attention", choices=("hardmax", "softmax", "causal"), default=None,
                    help="hardmax (Theorem 1.4, default), softmax (Theorem 1.6), or causal: masked "
                    "hardmax attention, for a dataset with 'targets' (one target per position; "
                    "the default for such a dataset)")
    pc.add_argument("--tau", metavar="T", help="softmax only: temperature, exact (e.g. 1/1000); "
                    "default: the first of 1, 1/100, 1/10^4, ..., 1/10^12 that certifies")
    pc.add_argument("--find-tau0", action="store_true",
                    help="softmax only: then bisect in [T, 10 T] for the largest temperature that "
                    "certifies (10 steps), T being the default temperature after one step of 10 back, "
                    "or --tau or 1 after steps of 10 up while they certify")
    pc.add_argument("--max-prec", type=int, default=None, metavar="N",
                    help="softmax only: order N of the exponential's rational lower bound "
                    "sum_{i<=N} x^i/i! used for the weight enclosures, 1..4096 (default 64; a "
                    "higher order only tightens them)")
    pc.add_argument("--jobs", type=int, default=1, metavar="J", help=JOBS_HELP)
    pc.add_argument("--audit", choices=("float64", "float32", "bfloat16"), metavar="DTYPE",
                    help="after a certificate, run the float audit (exactseq audit) of its "
                    "weights in DTYPE (float64, float32 or bfloat16) and print its summary; "
                    "the exit status stays the check's")
    pc.add_argument("--max-width", type=int, default=None, metavar="W",
                    help="hardmax only: FF layers of up to W units (W >= 4), so that a layer holds "
                    "up to floor(W/3) hat moves of the leaders and interpolation phases (W - 1 with "
                    "the shift): fewer blocks, wider layers; the certificate declares max_width W "
                    "(default: one hat move per block, width 4)")
    pc.add_argument("--robust", choices=("float64", "float32"), default=None, metavar="FORMAT",
                    help="hardmax only: require the float claim in FORMAT (float64 = binary64 or "
                    "float32 = binary32): the exit status is 3 (unknown) when it is not proven, "
                    "and the certificate written holds the exact statements only. Without it, "
                    "check builds the float-safe construction and states the binary64 claim "
                    "(proven or not) beside an exact verdict")
    pc.add_argument("--paper", action="store_true",
                    help="hardmax only: the paper's literal parameter choices instead of the "
                    "float-safe ones (the float claim is still stated, and rarely proven)")
    pc.add_argument("--tolerance", metavar="T",
                    help="hardmax construction: the float claim's tolerance, relative: every float output "
                    "within T max(1, |y|) of its target y (a positive rational, e.g. 1e-9 or "
                    "1/1024; default: the smallest 2^-k the checker proves). With --weights: "
                    "certify that every output set is within Hausdorff distance T of its target "
                    "(causal: every position within T) instead of exactly equal; required, and "
                    "positive, for softmax weights")
    pc.add_argument("--weights", metavar="MODEL",
                    help="check this transformer instead of constructing one: MODEL is .npz, "
                    ".safetensors, .pt/.pth (a state_dict) or exact .json weights with the keys "
                    "exactseq export writes (blocks.{k}.ff.eta, ff.U, ff.b, ff.W, sa.rho, sa.A, sa.V; "
                    "sa.A and sa.V d x d, or H x d x d for H heads); every float is read as the exact "
                    "dyadic rational it is. The verdict names the first sequence that differs and its "
                    "exact squared Hausdorff distance (exit 1)")
    lim.add_arguments(pc)

    return pc


def options(args):
    """(limits, error message or None): option combinations that would do nothing are refused."""
    limits = lim.from_args(args)
    jobs = getattr(args, "jobs", 1)
    if jobs is not None and jobs < 1:
        return limits, f"--jobs must be an integer >= 1, not {jobs}"
    if args.command == "check" and getattr(args, "weights", None) is not None:
        for flag, given in (("--robust", args.robust), ("--paper", args.paper),
                            ("--max-width", args.max_width is not None), ("--find-tau0", args.find_tau0),
                            ("--audit", args.audit), ("--jobs", args.jobs != 1)):
            if given:
                return limits, f"{flag} applies to a construction, not to --weights"
        if args.tau is not None and args.attention != "softmax":
            return limits, "--tau applies to softmax only: add --attention softmax"
        if args.tolerance is not None:
            from ..floatsafe import parse_tolerance
            args.tolerance_q, err = parse_tolerance(args.tolerance)
            if err:
                return limits, err
        return limits, None
    if args.command == "check" and args.max_width is not None:
        if args.attention in ("softmax", "causal"):
            return limits, "--max-width applies to hardmax only"
        if args.max_width < 4:
            return limits, (f"--max-width must be an integer >= 4 (a hat move and the shift take "
                            f"4 units), not {args.max_width}")
    if args.command == "check":
        for flag, given in (("--robust", args.robust), ("--paper", args.paper),
                            ("--tolerance", args.tolerance is not None)):
            if given and args.attention in ("softmax", "causal"):
                return limits, f"{flag} applies to hardmax only"
        if args.robust and args.max_width is not None:
            return limits, "--robust builds one move per layer: it cannot be combined with --max-width"
        if args.robust and args.paper:
            return limits, "--robust builds the float-safe construction: it cannot be combined with --paper"
        if args.tolerance is not None:
            from ..floatsafe import parse_tolerance
            args.tolerance_q, err = parse_tolerance(args.tolerance)
            if err:
                return limits, err
    if args.command == "check" and args.attention != "softmax":
        for flag, given in (("--tau", args.tau), ("--find-tau0", args.find_tau0),
                            ("--max-prec", args.max_prec is not None)):
            if given:
                return limits, f"{flag} applies to softmax only: add --attention softmax"
    return limits, None


def _out_path(path, source=None):
    """Where --certificate writes: the target of a symlink, a regular file or a new
    path in an existing directory, never the dataset itself.  (resolved path,
    None) or (None, error)."""
    if not path:
        return None, "--certificate needs a file name"
    if path == "-":
        return None, "--certificate -: the certificate goes to a file; give its name (--json prints the report)"
    real = os.path.realpath(path)
    if source and os.path.exists(source) and os.path.exists(real) and os.path.samefile(real, source):
        return None, f"{path}: is the dataset file; refusing to overwrite it with a certificate"
    if os.path.lexists(real) and not os.path.isfile(real):
        return None, f"{path}: not a regular file; refusing to replace it with a certificate"
    directory = os.path.dirname(real) or "."
    if not os.path.isdir(directory):
        return None, f"{path}: cannot write certificate: no directory {directory}"
    if not os.access(directory, os.W_OK):
        return None, f"{path}: cannot write certificate: directory {directory} is not writable"
    return real, None


def run(args):
    """Parse, call exactseq.certify, write the certificate, print: the API does the work."""
    from .. import api
    from ..dataset import DatasetError, load

    limits, err = options(args)
    if err:
        return error(err)
    if args.certificate is not None:
        args.cert_path, err = _out_path(args.certificate, args.file)
        if err:
            return error(err)
    try:
        ds = load(args.file, limits, assumption=args.weights is None)   # given weights: any data
    except DatasetError as exc:
        return error(str(exc))
    for w in () if args.quiet else getattr(ds, "warnings", None) or ():
        warn(w)
    if args.weights is not None:
        return given_weights(args, ds, limits)
    causal = getattr(ds, "causal", False)
    if causal and args.attention not in (None, "causal"):
        return error(f"{args.file}: a dataset with 'targets' is for causal attention: use "
                    "--attention causal, or no --attention")
    if args.attention == "causal" and not causal:
        return error(f"{args.file}: --attention causal needs a dataset with 'targets' "
                    "(one target point per input position)")
    if causal and args.max_width is not None:
        return error("--max-width applies to hardmax only")
    if causal and (args.robust or args.paper or args.tolerance is not None):
        return error(f"{'--robust' if args.robust else '--paper' if args.paper else '--tolerance'} "
                    "applies to hardmax only (not to causal attention)")
    opts = {}
    if args.attention == "softmax":
        opts, err = _softmax_options(ds, args)
        if err:
            return error(err)
    elif not causal:
        opts = {"robust": args.robust, "paper": args.paper, "max_width": args.max_width,
                "tolerance": getattr(args, "tolerance_q", None)}
    progress = Progress(not args.quiet and not args.json)
    try:
        res = api.certify(ds, args.attention or "hardmax", limits=limits, progress=progress, jobs=args.jobs,
                          audit=None if args.quiet else args.audit, **opts)
    except api.CertificateError as exc:        # e.g. a --max-* limit below what the dataset needs
        return error(str(exc).replace(ds.source, args.file, 1))
    finally:
        progress.done()
    report = res.report
    report["dataset"]["file"] = args.file
    view = {"softmax": render.softmax, "causal": render.causal}.get(report["attention"], render.hardmax)
    return finish(args, report, res.certificate, view)


def given_weights(args, ds, limits):
    """``check DATA --weights MODEL``: read the model, check it on the dataset."""
    from .. import api
    from ..errors import ExactseqError
    progress = Progress(not args.quiet and not args.json)
    try:
        res = api.check_weights(ds, args.weights, args.attention, tau=args.tau,
                                max_prec=64 if args.max_prec is None else args.max_prec,
                                tolerance=getattr(args, "tolerance_q", None), limits=limits,
                                progress=progress)
    except (ExactseqError, ValueError) as exc:
        return error(str(exc).replace(ds.source, args.file, 1))
    finally:
        progress.done()
    report = res.report
    report["dataset"]["file"] = args.file
    report["weights"]["file"] = args.weights
    return finish(args, report, res.certificate, render.weights)


def _softmax_options(ds, args):
    """(the softmax options of certify, error or None) from the command line."""
    from fractions import Fraction
    if ds.field is not None:
        return None, f"{args.file}: softmax certification needs rational coordinates"
    max_prec = 64 if args.max_prec is None else args.max_prec
    if not 1 <= max_prec <= 4096:
        return None, "--max-prec must be an integer in 1..4096"
    tau = None
    if args.tau is not None:
        import re
        text = args.tau.strip()
        if not re.fullmatch(r"[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?(/[0-9]+)?", text, re.ASCII) \
                or len(text) > 1000:
            return None, (f"--tau {short(args.tau)} is not a positive rational number "
                          "(p, p/q or a decimal, at most 1000 characters)")
        try:
            tau = Fraction(text)
        except (ValueError, ZeroDivisionError):
            tau = Fraction(0)
        if tau <= 0:
            return None, f"--tau {short(args.tau)} is not a positive rational number"
    return {"tau": tau, "find_tau0": args.find_tau0, "max_prec": max_prec}, None


def finish(args, report, cert, view):
    """Write the certificate (atomically), print, and give the exit status."""
    from .. import certificate
    if cert is not None and args.certificate:
        try:
            certificate.write_atomic(getattr(args, "cert_path", None) or args.certificate,
                                     certificate.dumps(cert))
        except OSError as exc:
            return error(f"{args.certificate}: cannot write certificate: {exc.strerror}")
        report["certificate"] = args.certificate
        fc = report.get("float_claim")
        if fc and not fc["proven"]:
            report["certificate_note"] = (f"exact statements only: the {fc['format']} float claim "
                                          "is not proven and not in it")
    extra = ""
    if "audit" in report:
        from ..audit import summary_text
        a = report["audit"]
        extra = f"audit        not run: {a['error']}" if "error" in a else summary_text(a)
    if args.json:
        out_json(report)
    elif not args.quiet:
        out(view(report, verbose=getattr(args, "verbose", False)) + ("\n" + extra if extra else ""))
    return STATUS[report["verdict"]]
