"""``exactseq fuzz``: hunt the lemmas' edge cases."""
from __future__ import annotations

import json
import os
import sys

from .console import EXIT_FAILED, EXIT_OK, Progress, error, out
from .verify import dask_session


def fuzz_seconds():
    from ..fuzz import SIZES_SECONDS
    return f"{SIZES_SECONDS:g}"


def add_parser(sub):
    pf = sub.add_parser("fuzz", help="hunt the lemmas' edge cases",
                        description="Generate cases at the boundaries of a lemma (or of the whole "
                        "pipeline), decide exactly whether its preconditions and its conclusion hold, "
                        "tally per precondition how often the conclusion then failed, and shrink and "
                        "save the smallest failing case. A case meeting every precondition whose "
                        "conclusion fails is a bug.",
                        epilog="Exit status: 0 no bug found, 1 a bug (or an exception) found, 2 bad usage, "
                        "130 interrupted.")
    pf.add_argument("target", metavar="TARGET", nargs="?", default="pipeline",
                    help="pipeline (default), a lemma (see --list), sizes (the checker on size-class "
                    "files: a finding is an internal error, a wrong verdict or a check over "
                    f"{fuzz_seconds()} s), or all (every target but sizes)")
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

    return pf


def run(args):
    from .. import fuzz
    if args.list:
        if args.json:
            out(json.dumps([{"name": t.name, "lemma": t.lemma, "doc": t.doc,
                               "preconditions": list(t.preconditions)}
                              for t in fuzz.TARGETS.values()], indent=1))
        else:
            for t in fuzz.TARGETS.values():
                out(f"{t.name:<20}{t.lemma:<17}{t.doc}")
        return EXIT_OK
    if args.replay:
        try:
            target, case = fuzz.load(args.replay)
        except fuzz.ReplayError as exc:
            return error(f"{args.replay}: cannot replay: {exc}")
        try:
            res, err = target.run(case), None
        except Exception as exc:  # as in a campaign: an exception on a case is a finding
            res, err = None, f"{type(exc).__name__}: {exc}"
        if res is None and err is None:
            return error(f"{args.replay}: cannot replay: not a valid {target.name} case "
                        "(a campaign skips such cases)")
        pre, ok = res[:2] if res else ({}, False)
        note = res[2] if res and len(res) > 2 else None
        status = EXIT_FAILED if err or all(pre.values()) and not ok else EXIT_OK
        if args.json:
            out(json.dumps({"file": args.replay, "target": target.name, "lemma": target.lemma,
                              "preconditions": pre, "conclusion": None if err else ok,
                              "error": err, "bug": status == EXIT_FAILED, "note": note}, indent=1))
        elif err:
            out(f"{target.name} ({target.lemma}): ERROR {err}")
        else:
            out(f"{target.name} ({target.lemma}): preconditions "
                  + (", ".join(f"{k} {'holds' if v else 'VIOLATED'}" for k, v in pre.items()) or "none")
                  + f"; conclusion {'holds' if ok else 'FAILS'}" + (f": {note}" if note else ""))
        return status
    names = list(fuzz.ALL) if args.target == "all" else [args.target]
    if any(n not in fuzz.TARGETS for n in names):
        return error(f"unknown fuzz target {args.target!r}; see 'exactseq fuzz --list'")
    if args.jobs is None and not args.scheduler:
        args.jobs = os.cpu_count() or 1
    bad = fuzz.check_limits(args.count, args.time, 1 if args.jobs is None else args.jobs) or fuzz.check_out(args.out)
    if bad:
        return error(bad)
    session, status = dask_session(args)
    if status is not None:
        return status
    if session:
        args.jobs = args.jobs or session.threads
    count = None if args.time is not None and args.count is None else \
        (200 if args.count is None else args.count)
    progress = Progress(not args.json)
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
                out(fuzz.table(s))
                for f in s["files"]:
                    out(f"  saved {f}")
    except KeyboardInterrupt:
        done = sum(s["cases"] for s in summaries) + running
        print(f"exactseq fuzz: interrupted after {done} cases", file=sys.stderr)
        return 130
    finally:
        if session:
            session.close()
    if args.json:
        out(json.dumps(summaries, indent=1, default=str))
    return EXIT_FAILED if found else EXIT_OK
