"""``exactseq verify``: the independent checker alone on a certificate."""
from __future__ import annotations

import json
import os
import sys

from proofs_check import limits as lim

from .check import JOBS_HELP, options
from .console import EXIT_BAD, Progress, STATUS, error, out, quiet_and_json


def add_parser(sub):
    pv = sub.add_parser("verify", help="re-check a certificate with proofs_check only",
                        description="Run only the independent checker on a certificate. "
                        "With DATASET, the certificate must be about that dataset "
                        "(SHA-256 of its canonical form).",
                        epilog="Exit status: 0 verified, 1 rejected, 2 malformed or bad input, "
                        "3 unknown (undecided; never a pass).")
    pv.add_argument("cert", metavar="CERT", help="certificate JSON file")
    pv.add_argument("dataset", metavar="DATASET", nargs="?", help="dataset JSON file (optional)")
    quiet_and_json(pv, "print one JSON object (the same as python -m proofs_check --json)")
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

    return pv


def dask_session(args):
    """(dask session or None, exit status or None) for --scheduler."""
    if not getattr(args, "scheduler", None):
        return None, None
    from .. import distributed
    try:
        return distributed.Session(args.scheduler, args.jobs), None
    except distributed.NeedsDask as exc:
        print(exc, file=sys.stderr)
        return None, EXIT_BAD
    except Exception as exc:  # e.g. no scheduler at that address
        return None, error(f"--scheduler {args.scheduler}: cannot start or reach it: "
                          f"{type(exc).__name__}: {exc}")


def run(args):
    from ..dataset import DatasetError, canonical_obj, load
    from proofs_check import report as pcr

    limits, err = options(args)
    if err:
        return error(err)
    if args.reference and (args.jobs not in (None, 1) or args.scheduler):
        return error("--reference checks in one process: it cannot be combined with --jobs or --scheduler")
    if args.cert != "-" and not os.path.isfile(args.cert):
        return error(f"{args.cert}: no such file" if not os.path.exists(args.cert) else
                     f"{args.cert}: not a regular file")
    session, status = dask_session(args)
    if status is not None:
        return status
    progress = Progress(not args.quiet and not args.json)
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
            return error(str(exc))
        result["dataset_file"] = args.dataset
        if pcr.dataset_hash(canonical_obj(ds)) != cert.get("dataset_sha256"):
            verdict, result["verdict"] = "malformed", "malformed"
            result["reason"] = (f"the certificate is not about {args.dataset} (the SHA-256 of its "
                                "canonical form differs from the certificate's dataset_sha256)")
    if args.json:
        out(json.dumps(result, indent=1))
    elif verdict == "malformed":
        print(f"exactseq: error: {args.cert}: malformed: {result['reason']}", file=sys.stderr)
    elif not args.quiet:
        out(pcr.line(result))
    return STATUS[verdict]
