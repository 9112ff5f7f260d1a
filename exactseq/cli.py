"""Command line: ``exactseq check``, ``verify`` and ``fuzz``.

Exit status: 0 certified/verified, 1 a check failed (rejected), 2 bad input or
usage, 3 undecided (unknown: never a pass).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from proofs_check import limits as lim

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_BAD, EXIT_UNKNOWN = 0, 1, 2, 3
# Modules adding commands: each has ``add_parser(subparsers) -> [command names]``
# (importing nothing heavy at module level) and ``run(args) -> exit status``.
PLUGINS = ("evaluation", "pictures", "tikhonov", "export", "audit")
STATUS = {"certified": EXIT_OK, "verified": EXIT_OK, "failed": EXIT_FAILED, "rejected": EXIT_FAILED,
          "malformed": EXIT_BAD, "unknown": EXIT_UNKNOWN}

DESCRIPTION = """\
Build a transformer with exact weights that maps every input sequence of a
dataset exactly onto its output sequence (Alcalde, Fantuzzi, Zuazua,
Theorem 1.4), and certify it with the independent checker proofs_check, which
re-evaluates every block from the weights alone in exact arithmetic.
"""

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


def _print(text):
    """print() that survives a closed pipe (exactseq check ... | head -1)."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class _Progress:
    """A one-line progress indicator on stderr, only on a terminal."""

    def __init__(self, enabled):
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, text):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        self.shown = True
        sys.stderr.write("\r\x1b[K" + text)
        sys.stderr.flush()

    def block(self, k, n):
        self(f"checking block {k}/{n}")

    def done(self):
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _bad(msg):
    print(f"exactseq: error: {msg}", file=sys.stderr)
    return EXIT_BAD


JOBS_HELP = ("check in J processes, each on a contiguous range of sequences, and combine: the "
             "verdict and the output are those of one process (default 1; hardmax certificates "
             "over the rationals; softmax and number-field certificates are checked in one process)")


def _session(args):
    """(dask session or None, exit status or None) for --scheduler."""
    if not getattr(args, "scheduler", None):
        return None, None
    from . import distributed
    try:
        return distributed.Session(args.scheduler, args.jobs), None
    except distributed.NeedsDask as exc:
        print(exc, file=sys.stderr)
        return None, EXIT_BAD
    except Exception as exc:  # e.g. no scheduler at that address
        return None, _bad(f"--scheduler {args.scheduler}: cannot start or reach it: "
                          f"{type(exc).__name__}: {exc}")


class _Strict(argparse.ArgumentParser):
    """The command-line parser: usage errors in one line (exit 2), and no
    abbreviated options (``--cert`` is not ``--certificate``)."""

    def __init__(self, *a, **k):
        k["allow_abbrev"] = False
        super().__init__(*a, **k)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv=None):
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)   # exact integers of any size: --max-digits bounds what is read
    parser = _Strict(
        prog="exactseq", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"exactseq {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Strict)

    pc = sub.add_parser("check", help="construct and certify a dataset",
                        description="Construct an exact transformer for FILE (hardmax by default, or softmax) and "
                        "certify it with proofs_check.", epilog=CHECK_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pc.add_argument("file", metavar="FILE", help="dataset JSON file")
    pc.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    pc.add_argument("-q", "--quiet", action="store_true", help="print nothing; the exit status tells")
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
                    help="hardmax only: the float claim's tolerance, relative: every float output "
                    "within T max(1, |y|) of its target y (a positive rational, e.g. 1e-9 or "
                    "1/1024; default: the smallest 2^-k the checker proves)")
    lim.add_arguments(pc)

    pv = sub.add_parser("verify", help="re-check a certificate with proofs_check only",
                        description="Run only the independent checker on a certificate. "
                        "With DATASET, the certificate must be about that dataset "
                        "(SHA-256 of its canonical form).",
                        epilog="Exit status: 0 verified, 1 rejected, 2 malformed or bad input, "
                        "3 unknown (undecided; never a pass).")
    pv.add_argument("cert", metavar="CERT", help="certificate JSON file")
    pv.add_argument("dataset", metavar="DATASET", nargs="?", help="dataset JSON file (optional)")
    pv.add_argument("--json", action="store_true", help="print one JSON object (the same as "
                    "python -m proofs_check --json)")
    pv.add_argument("-q", "--quiet", action="store_true", help="print nothing; the exit status tells")
    pv.add_argument("--jobs", type=int, default=None, metavar="J",
                    help=JOBS_HELP.replace("(default 1", "(default 1, or with --scheduler the "
                                           "cluster's worker threads"))
    pv.add_argument("--reference", action="store_true",
                    help="check with proofs_check's reference kernel (no fast path; the same verdict "
                    "and message, slower; one process: --jobs and --scheduler do not apply)")
    pv.add_argument("--scheduler", metavar="ADDRESS",
                    help="run the shards as tasks on a dask.distributed scheduler at ADDRESS "
                    "('local': a LocalCluster of J worker processes); needs exactseq[dask]")
    lim.add_arguments(pv)

    pf = sub.add_parser("fuzz", help="hunt the lemmas' edge cases",
                        description="Generate cases at the boundaries of a lemma (or of the whole "
                        "pipeline), decide exactly whether its preconditions and its conclusion hold, "
                        "tally per precondition how often the conclusion then failed, and shrink and "
                        "save the smallest failing case. A case meeting every precondition whose "
                        "conclusion fails is a bug.",
                        epilog="Exit status: 0 no bug found, 1 a bug (or an exception) found, 2 bad usage, "
                        "130 interrupted.")
    pf.add_argument("target", metavar="TARGET", nargs="?", default="pipeline",
                    help="pipeline (default), a lemma (see --list), or all")
    pf.add_argument("--count", type=int, metavar="K",
                    help="cases per target (default 200, or no limit with --time)")
    pf.add_argument("--time", type=float, metavar="S",
                    help="stop each target after S seconds (with --count, whichever comes first); "
                    "shrinking then takes at most 1 s more")
    pf.add_argument("--seed", type=int, default=0, metavar="S", help="campaign seed (default 0)")
    pf.add_argument("--jobs", type=int, default=None, metavar="J",
                    help="worker processes (default: all cores; with --scheduler, the cluster's "
                    "worker threads)")
    pf.add_argument("--scheduler", metavar="ADDRESS",
                    help="run the cases as tasks on a dask.distributed scheduler at ADDRESS "
                    "('local': a LocalCluster of J worker processes); the summary is the same; "
                    "needs exactseq[dask]")
    pf.add_argument("--out", metavar="DIR", default="fuzz-out",
                    help="where failing cases are saved (default fuzz-out)")
    pf.add_argument("--list", action="store_true", help="list the targets and their lemmas")
    pf.add_argument("--json", action="store_true",
                    help="print JSON on stdout: the summaries, the --list targets or the --replay result")
    pf.add_argument("--replay", metavar="FILE",
                    help="re-run one saved case (a NAME.json file, or a NAME.dataset.json file, "
                    "replayed as a pipeline case)")

    plugins = {}
    for modname in PLUGINS:   # further commands, each in its own module
        mod = __import__(f"exactseq.{modname}", fromlist=["add_parser"])
        for name in mod.add_parser(sub):
            plugins[name] = mod

    for stream in (sys.stdout, sys.stderr):   # names from a dataset never crash the output
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD
    try:
        if args.command == "check":
            return cmd_check(args)
        if args.command == "fuzz":
            return cmd_fuzz(args)
        if args.command in plugins:
            return plugins[args.command].run(args)
        return cmd_verify(args)
    except lim.LimitError as exc:
        return _bad(str(exc))
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("exactseq: interrupted; nothing certified", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line, never certify
        print(f"exactseq: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _options(args):
    """(limits, error message or None): option combinations that would do nothing are refused."""
    limits = lim.from_args(args)
    jobs = getattr(args, "jobs", 1)
    if jobs is not None and jobs < 1:
        return limits, f"--jobs must be an integer >= 1, not {jobs}"
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
            from .floatsafe import parse_tolerance
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


def cmd_check(args):
    """Parse, call exactseq.certify, write the certificate, print: the API does the work."""
    from . import api
    from .dataset import DatasetError, load

    limits, err = _options(args)
    if err:
        return _bad(err)
    if args.certificate is not None:
        args.cert_path, err = _out_path(args.certificate, args.file)
        if err:
            return _bad(err)
    try:
        ds = load(args.file, limits)
    except DatasetError as exc:
        return _bad(str(exc))
    for w in getattr(ds, "warnings", None) or ():
        print(f"exactseq: warning: {w}", file=sys.stderr)
    causal = getattr(ds, "causal", False)
    if causal and args.attention not in (None, "causal"):
        return _bad(f"{args.file}: a dataset with 'targets' is for causal attention: use "
                    "--attention causal, or no --attention")
    if args.attention == "causal" and not causal:
        return _bad(f"{args.file}: --attention causal needs a dataset with 'targets' "
                    "(one target point per input position)")
    if causal and args.max_width is not None:
        return _bad("--max-width applies to hardmax only")
    if causal and (args.robust or args.paper or args.tolerance is not None):
        return _bad(f"{'--robust' if args.robust else '--paper' if args.paper else '--tolerance'} "
                    "applies to hardmax only (not to causal attention)")
    opts = {}
    if args.attention == "softmax":
        opts, err = _softmax_options(ds, args)
        if err:
            return _bad(err)
    elif not causal:
        opts = {"robust": args.robust, "paper": args.paper, "max_width": args.max_width,
                "tolerance": getattr(args, "tolerance_q", None)}
    progress = _Progress(not args.quiet and not args.json)
    try:
        res = api.certify(ds, args.attention or "hardmax", limits=limits, progress=progress, jobs=args.jobs,
                          audit=None if args.quiet else args.audit, **opts)
    except api.CertificateError as exc:        # e.g. a --max-* limit below what the dataset needs
        return _bad(str(exc).replace(ds.source, args.file, 1))
    finally:
        progress.done()
    report = res.report
    report["dataset"]["file"] = args.file
    render = {"softmax": _softmax_report, "causal": _causal_report}.get(report["attention"], _text_report)
    return _finish(args, report, res.certificate, render)


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
            return None, (f"--tau {_short_arg(args.tau)} is not a positive rational number "
                          "(p, p/q or a decimal, at most 1000 characters)")
        try:
            tau = Fraction(text)
        except (ValueError, ZeroDivisionError):
            tau = Fraction(0)
        if tau <= 0:
            return None, f"--tau {_short_arg(args.tau)} is not a positive rational number"
    return {"tau": tau, "find_tau0": args.find_tau0, "max_prec": max_prec}, None


def _causal_report(r, verbose=False):
    ds = r["dataset"]
    lines = [f"exactseq {__version__}: exact causal interpolation (masked hardmax attention, "
             "Section 7.2.4)",
             f"dataset      {ds['file']}: N = {ds['N']} sequences, d = {ds['d']}, "
             f"sum n = {ds['sum_n']} positions, T = {ds['prefixes']} distinct prefixes, "
             f"c = {ds['tokens']} distinct tokens"]
    if r["blocks"] is not None:
        ph = ", ".join(f"{k} {v}" for k, v in r["phases"].items())
        lines += [f"blocks       {r['blocks']} (bound 2T - c = {r['block_bound']} <= 2 sum n - 1 = "
                  f"{2 * ds['sum_n'] - 1}; Theorem 1.4 on the T prefixes: 4T + 1 = "
                  f"{r['reformulation_blocks']}): {ph}",
                  f"FF width     {r['width']} (bound {r['width_bound']})"]
    if r["parameters"] is not None:
        lines.append(f"parameters   {r['parameters']} non-zero")
        lines.append("checked      by exact masked evaluation of every position of every input "
                     "(no lemma claims)")
    if r.get("parameter_norms"):
        from .tikhonov import norm_line
        lines.append("norms        " + norm_line(r["parameter_norms"]))
    lines += _sequence_lines(r, verbose, lambda s: f"{s['n']} position{'s' * (s['n'] != 1)}")
    if r["verdict"] == "certified":
        lines.append("verdict      CERTIFIED: at every position the output equals its target exactly")
    else:
        lines.append(f"verdict      {r['verdict'].upper()}: {r['reason']}")
    if r.get("certificate"):
        lines.append(f"certificate  {r['certificate']}"
                     + (f" ({r['certificate_note']})" if r.get("certificate_note") else ""))
    t = r["time_s"]
    lines.append(f"time         {t['total']:.3f} s (construction {t['construct']:.3f} s, "
                 f"certificate and check {t['check']:.3f} s)")
    return "\n".join(lines)


def _finish(args, report, cert, render):
    """Write the certificate (atomically), print, and give the exit status."""
    from . import certificate
    if cert is not None and args.certificate:
        try:
            certificate.write_atomic(getattr(args, "cert_path", None) or args.certificate,
                                     certificate.dumps(cert))
        except OSError as exc:
            return _bad(f"{args.certificate}: cannot write certificate: {exc.strerror}")
        report["certificate"] = args.certificate
        fc = report.get("float_claim")
        if fc and not fc["proven"]:
            report["certificate_note"] = (f"exact statements only: the {fc['format']} float claim "
                                          "is not proven and not in it")
    extra = ""
    if "audit" in report:
        from .audit import summary_text
        a = report["audit"]
        extra = f"audit        not run: {a['error']}" if "error" in a else summary_text(a)
    if args.json:
        _print(json.dumps(report, indent=1))
    elif not args.quiet:
        _print(render(report, verbose=getattr(args, "verbose", False)) + ("\n" + extra if extra else ""))
    return STATUS[report["verdict"]]


def _softmax_report(r, verbose=False):
    ds = r["dataset"]
    lines = [f"exactseq {__version__}: exact softmax interpolation (Theorem 1.6)",
             f"dataset      {ds['file']}: N = {ds['N']} sequences, d = {ds['d']}, "
             f"sum n = {ds['sum_n']}, sum m = {ds['sum_m']}"]
    if r["blocks"] is not None:
        ph = ", ".join(f"{k} {v}" for k, v in r["phases"].items())
        lines += [f"blocks       {r['blocks']} (bound 2 sum m + 3N = {r['block_bound']}): {ph} "
                  f"(collapse = softmax attention + saturating layer)",
                  f"FF width     {r['width']}; parameters {r['parameters']} non-zero"]
    if r["tau"] and r["verdict"] != "certified":
        lines.append(f"temperature  tau = {r['tau']} (the last one tried)")
    elif r["tau"]:
        lines.append(f"temperature  tau = {r['tau']}" + (" (largest found by bisection)" if r["tau0_search"] else "")
                     + f"; weight bounds from exp(x) >= sum_(i<={r['order']}) x^i/i!")
        lines.append("lemmas       " + ", ".join(f"{k} {v}" for k, v in r["claims_checked"].items())
                     + " claims proved on enclosures")
        lines.append("enclosures   block: widest radius / smallest scaled score gap")
        for b in r["per_block"]:
            if b["widest"] != "0" or b["smallest_gap"] is not None:
                lines.append(f"             {b['block']:>3} {b['phase']:<14} {b['widest']:>10} / "
                             f"{b['smallest_gap'] or '-'}")
    if r.get("parameter_norms"):
        from .tikhonov import norm_line
        lines.append("norms        " + norm_line(r["parameter_norms"]))
    return _report_tail(r, lines, " for the softmax transformer at this tau", verbose)


def _short_arg(text):
    return repr(text) if len(text) <= 40 else repr(text[:20] + "..." + text[-10:])


def _text_report(r, verbose=False):
    ds = r["dataset"]
    lines = [f"exactseq {__version__}: exact hardmax "
             + ("classification (Theorem 1.4 with every m_j = 1)" if r.get("classification")
                else "interpolation (Theorem 1.4)"),
             f"dataset      {ds['file']}: N = {ds['N']} sequences, d = {ds['d']}, "
             f"sum n = {ds['sum_n']}, sum m = {ds['sum_m']}"
             + (f", coordinates in a number field of degree {ds['field']['degree']}" if ds["field"] else "")]
    if r["blocks"] is not None:
        ph = ", ".join(f"{k} {v}" for k, v in r["phases"].items())
        lines += [f"blocks       {r['blocks']} (bound 2 sum m + 2N + 1 = {r['block_bound']}): {ph}",
                  f"FF width     {r['width']} (bound {r['width_bound']})"]
        if r.get("max_width"):
            lines.append(f"packing      up to {max(1, r['max_width'] // 3)} hat moves per layer: "
                         f"{r['blocks']} blocks for {r['unpacked_blocks']} at one move per block")
    if r["parameters"] is not None:
        lines.append(f"parameters   {r['parameters']} non-zero")
        lines.append("lemmas       " + ", ".join(f"{k} {v}" for k, v in r["claims_checked"].items())
                     + " claims proved")
        m = r["margins"]
        lines.append(f"margins      smallest tube eps {m['smallest_tube_eps']}, largest |parameter| "
                     f"{'' if m['largest_abs_parameter'].startswith('~') else '~'}"
                     f"{m['largest_abs_parameter']}, numerators and denominators of up to "
                     f"{m['max_parameter_bits']} bits")
    if r.get("parameter_norms"):
        from .tikhonov import norm_line
        lines.append("norms        " + norm_line(r["parameter_norms"]))
    if r.get("classification"):
        from .classification import text_lines
        lines += text_lines(r, r["blocks"], verbose)
    if r.get("construction"):
        lines.append(_construction_line(r["construction"]))
    if r.get("float_claim"):
        from .floatsafe import line
        lines.append(line(r["float_claim"]))
    return _report_tail(r, lines, verbose=verbose)


def _construction_line(c):
    if c["construction"] == "float-safe":
        scale = f", inputs scaled by {c['scale']}" if c.get("scale") not in (None, "1") else ""
        return f"construction float-safe for {c['format']} (free parameters chosen for floats{scale})"
    return f"construction the paper's parameters ({c['note']})"


def _sequence_lines(r, verbose, size):
    """One summary line of the sequences' verdicts; with ``verbose`` a line per
    sequence too (the verdict is the whole model's: one check covers them all)."""
    seqs = r["sequences"]
    counts = {}
    for s in seqs:
        counts[s["verdict"]] = counts.get(s["verdict"], 0) + 1
    lines = ["sequences    " + ", ".join(f"{n} {v}" for v, n in counts.items())
             + ("" if verbose or len(seqs) < 2 else " (--verbose lists each)")]
    if verbose or len(seqs) == 1:
        for s in seqs:
            name = f" ({s['name']!r})" if s["name"] is not None else ""
            lines.append(f"sequence {s['index']}{name}: {size(s)}: {s['verdict']}")
    return lines


def _report_tail(r, lines, scope="", verbose=False):
    """The sequences, the verdict, the certificate and the time."""
    lines += _sequence_lines(r, verbose, lambda s: f"{s['n']} -> {s['m']} token{'s' if s['m'] != 1 else ''}")
    if r["verdict"] == "certified":
        lines.append("verdict      CERTIFIED: every output set equals its target exactly "
                     f"(Hausdorff distance 0){scope}")
    else:
        lines.append(f"verdict      {r['verdict'].upper()}: {r['reason']}")
    if r.get("certificate"):
        lines.append(f"certificate  {r['certificate']}"
                     + (f" ({r['certificate_note']})" if r.get("certificate_note") else ""))
    t = r["time_s"]
    split = (f" (construction {t['construct']:.3f} s, certificate and check {t['check']:.3f} s)"
             if "check" in t else "")
    lines.append(f"time         {t['total']:.3f} s{split}")
    return "\n".join(lines)


def cmd_verify(args):
    from .dataset import DatasetError, canonical_obj, load
    from proofs_check import report as pcr

    limits, err = _options(args)
    if err:
        return _bad(err)
    session, status = _session(args)
    if status is not None:
        return status
    progress = _Progress(not args.quiet and not args.json)
    try:
        cert = pcr.load(args.cert, limits)
        verdict, result = pcr.run(cert, limits, progress=progress.block,
                                  jobs=args.jobs or (session.threads if session else 1),
                                  run_shards=session.run_shards if session else None,
                                  reference=args.reference)
        progress.done()
    except pcr.Malformed as exc:
        verdict, result = "malformed", {"verdict": "malformed", "reason": str(exc)}
    finally:
        if session:
            session.close()
    result["certificate"] = args.cert
    if args.dataset and verdict != "malformed":
        try:
            ds = load(args.dataset, limits)
        except DatasetError as exc:
            return _bad(str(exc))
        result["dataset_file"] = args.dataset
        if pcr.dataset_hash(canonical_obj(ds)) != cert.get("dataset_sha256"):
            verdict, result["verdict"] = "malformed", "malformed"
            result["reason"] = (f"the certificate is not about {args.dataset} (the SHA-256 of its "
                                "canonical form differs from the certificate's dataset_sha256)")
    if args.json:
        _print(json.dumps(result, indent=1))
    elif verdict == "malformed":
        print(f"exactseq: error: {args.cert}: malformed: {result['reason']}", file=sys.stderr)
    elif not args.quiet:
        _print(pcr.line(result))
    return STATUS[verdict]


def cmd_fuzz(args):
    from . import fuzz
    if args.list:
        if args.json:
            _print(json.dumps([{"name": t.name, "lemma": t.lemma, "doc": t.doc,
                               "preconditions": list(t.preconditions)}
                              for t in fuzz.TARGETS.values()], indent=1))
        else:
            for t in fuzz.TARGETS.values():
                _print(f"{t.name:<20}{t.lemma:<17}{t.doc}")
        return EXIT_OK
    if args.replay:
        try:
            target, case = fuzz.load(args.replay)
        except fuzz.ReplayError as exc:
            return _bad(f"{args.replay}: cannot replay: {exc}")
        try:
            res, err = target.run(case), None
        except Exception as exc:  # as in a campaign: an exception on a case is a finding
            res, err = None, f"{type(exc).__name__}: {exc}"
        if res is None and err is None:
            return _bad(f"{args.replay}: cannot replay: not a valid {target.name} case "
                        "(a campaign skips such cases)")
        pre, ok = res if res else ({}, False)
        status = EXIT_FAILED if err or all(pre.values()) and not ok else EXIT_OK
        if args.json:
            _print(json.dumps({"file": args.replay, "target": target.name, "lemma": target.lemma,
                              "preconditions": pre, "conclusion": None if err else ok,
                              "error": err, "bug": status == EXIT_FAILED}, indent=1))
        elif err:
            _print(f"{target.name} ({target.lemma}): ERROR {err}")
        else:
            _print(f"{target.name} ({target.lemma}): preconditions "
                  + ", ".join(f"{k} {'holds' if v else 'VIOLATED'}" for k, v in pre.items())
                  + f"; conclusion {'holds' if ok else 'FAILS'}")
        return status
    names = list(fuzz.TARGETS) if args.target == "all" else [args.target]
    if any(n not in fuzz.TARGETS for n in names):
        return _bad(f"unknown fuzz target {args.target!r}; see 'exactseq fuzz --list'")
    if args.jobs is None and not args.scheduler:
        args.jobs = os.cpu_count() or 1
    bad = fuzz.check_limits(args.count, args.time, 1 if args.jobs is None else args.jobs) or fuzz.check_out(args.out)
    if bad:
        return _bad(bad)
    session, status = _session(args)
    if status is not None:
        return status
    if session:
        args.jobs = args.jobs or session.threads
    count = None if args.time is not None and args.count is None else \
        (200 if args.count is None else args.count)
    progress = _Progress(not args.json)
    print(f"exactseq fuzz: seed {args.seed}, {args.jobs} jobs"
          + (f" on dask ({args.scheduler})" if session else ""), file=sys.stderr)
    summaries, found, running = [], False, 0
    try:
        for name in names:
            def tick(s, el, name=name):
                progress(f"{name}: {s['cases']} cases, {len(s['bugs'])} bugs, {el:.0f} s")
            try:
                s = fuzz.campaign(name, count=count, seconds=args.time, seed=args.seed,
                                  jobs=args.jobs, progress=tick,
                                  start_pool=session.pool if session else None)
            except fuzz.Interrupted as exc:
                running = exc.cases
                raise
            finally:
                progress.done()
            s["files"] = fuzz.save(s, args.out)
            found = found or bool(s["bugs"] or s["errors"])
            summaries.append(s)
            if not args.json:
                _print(fuzz.table(s))
                for f in s["files"]:
                    _print(f"  saved {f}")
    except KeyboardInterrupt:
        done = sum(s["cases"] for s in summaries) + running
        print(f"exactseq fuzz: interrupted after {done} cases", file=sys.stderr)
        return 130
    finally:
        if session:
            session.close()
    if args.json:
        _print(json.dumps(summaries, indent=1, default=str))
    return EXIT_FAILED if found else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
