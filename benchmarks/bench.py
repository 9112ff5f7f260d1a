"""Time construction and checking, beside a float64 forward pass of the same weights.

    python benchmarks/bench.py                      # the original dyadic table
    python benchmarks/bench.py --N 40 --nmin 50 --nmax 200 --d 8 --bits 40 --m 3
    python benchmarks/bench.py --suite [--timeout 600] [--json]
    python benchmarks/bench.py --rows generic,decimals-m5,figure5 [--json]
    python benchmarks/bench.py --family decimals --N 50 --n 100 --d 16 --m 5

Without --family, --suite or --rows the original benchmark runs: coordinates
are random rationals k / 2^bits with |k| < 2^bits (so of `bits` bits each),
outputs are fresh random points, sequences may overlap with --overlap (a
fraction of each input copied from the previous one); one process, no timeout.

--suite (or --rows, or --family) runs each row in its own process
(`bench.py --row SPEC`) with a wall-clock limit of --timeout seconds and prints
one table (families are in benchmarks/families.py):

  family, N, tokens (input tokens), d, m (outputs per sequence), blocks;
  construct s   exactseq.construction.build;
  check s       proofs_check.check on the certificate object;
  end-to-end s  what `exactseq check` does: load (JSON text -> from_obj; for a
                file, exactseq.dataset.load) + construct + certificate
                (certificate.build and dumps) + verify;
  verify s      proofs_check.check on the certificate re-read from its JSON text
                (json.loads included);
  float64 s     benchmarks/floatpass.py: a dense NumPy float64 forward pass of
                the same weights (best of up to 3 runs; converting the weights
                to floats is not counted, see the JSON's float_convert);
  check/f64, e2e/f64   the ratios;
  f64 err       the largest Hausdorff distance between a float64 output set and
                its target (the exact model's is 0);
  RSS MB        the row process's peak resident memory.

The stages run in that order (the float pass right after the certificate, so
that a row stopped by its limit still shows it); an exact stage shorter than
1 s is repeated and its best of 3 kept.  A time not measured within --timeout
is shown as >S (the whole row, including generating its data, counts towards
the limit); a ratio whose stage was running when the row was stopped as >R, a
lower bound (the stage ran at least from its start to the limit); anything
else not reached as ?.  --json prints a list of the rows as objects instead
(missing values null, the lower bounds under "lower_bounds").

Rows of --suite (--rows picks some, by name):
  generic         generic:   N=40, 50-200 tokens, d=8, m=3
  decimals-m5     decimals:  N=100, n=100, d=16, m=5, overlap 0.3
  decimals-m100   decimals:  N=100, n=100, d=16, m=100, overlap 0.3
  decimals-N1000  decimals:  N=1000, n=100, d=16, m=1, overlap 0.3
  dyadic          dyadic:    N=40, 50-200 tokens, d=8, m=3, bits 40
  algebraic       algebraic: N=10, n=20, d=4, m=2 (sqrt(2), sqrt(3), (1+sqrt(5))/2)
  figure5         examples/figure5.json, read from the file
  softmax-small   generic, softmax: N=20, 10-50 tokens, d=4, m=3
  softmax-large   generic, softmax: N=40, 50-200 tokens, d=8, m=3

A softmax row runs the whole `exactseq check --attention softmax --json` (the
temperature and order search included: its time is the row's end-to-end and
CLI time), then verify and the float pass of the certificate it wrote.  Every
other row ends with `CLI s`: the wall time of `exactseq check FILE --quiet` in
a new process (Python start-up, the report's margins and norms included).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path[:0] = [ROOT, HERE]

from exactseq import certificate  # noqa: E402
from exactseq.construction import build  # noqa: E402
from exactseq.dataset import from_obj  # noqa: E402
import proofs_check  # noqa: E402
import families  # noqa: E402


# ------------------------------------------------------------ the original benchmark
def make(N, nmin, nmax, d, bits, m, overlap=0.0, seed=0):
    return families.dyadic(N, nmin, nmax, d, m, bits=bits, overlap=overlap, seed=seed)


def run(N, nmin, nmax, d, bits, m, overlap=0.0, seed=0):
    obj = make(N, nmin, nmax, d, bits, m, overlap, seed)
    t0 = time.perf_counter()
    ds = from_obj(json.loads(json.dumps(obj)))
    t1 = time.perf_counter()
    cons = build(ds)
    t2 = time.perf_counter()
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    t3 = time.perf_counter()
    res = proofs_check.check(cert)
    t4 = time.perf_counter()
    return {"N": N, "tokens": sum(len(p.input) for p in ds.pairs), "d": d, "bits": bits,
            "sum_m": ds.sum_m, "overlap": overlap, "blocks": res["blocks"],
            "load": t1 - t0, "construct": t2 - t1, "serialise": t3 - t2, "check": t4 - t3,
            "total": t4 - t0}


def classic(a):
    if a.N:
        cases = [(a.N, a.nmin or 50, a.nmax or 200, a.d or 8, a.bits or 40, a.m or 3,
                  a.overlap or 0.0)]
    else:
        cases = [(10, 50, 200, 8, 40, 3, 0.0), (20, 50, 200, 8, 40, 3, 0.0),
                 (40, 50, 200, 8, 40, 3, 0.0), (40, 50, 200, 8, 40, 3, 0.3),
                 (80, 50, 200, 8, 40, 3, 0.0), (40, 50, 200, 8, 200, 3, 0.0)]
    cols = ["N", "tokens", "d", "bits", "sum_m", "overlap", "blocks", "load", "construct",
            "serialise", "check", "total"]
    print(" ".join(f"{c:>9}" for c in cols))
    for case in cases:
        r = run(*case, seed=a.seed or 0)
        print(" ".join(f"{r[c]:>9.3f}" if isinstance(r[c], float) else f"{r[c]:>9}" for c in cols),
              flush=True)


# ------------------------------------------------------------ rows
ROWS = {
    "generic": {"family": "generic", "N": 40, "nmin": 50, "nmax": 200, "d": 8, "m": 3},
    "decimals-m5": {"family": "decimals", "N": 100, "nmin": 100, "nmax": 100, "d": 16, "m": 5,
                    "overlap": 0.3},
    "decimals-m100": {"family": "decimals", "N": 100, "nmin": 100, "nmax": 100, "d": 16,
                      "m": 100, "overlap": 0.3},
    "decimals-N1000": {"family": "decimals", "N": 1000, "nmin": 100, "nmax": 100, "d": 16,
                       "m": 1, "overlap": 0.3},
    "dyadic": {"family": "dyadic", "N": 40, "nmin": 50, "nmax": 200, "d": 8, "m": 3, "bits": 40},
    "algebraic": {"family": "algebraic", "N": 10, "nmin": 20, "nmax": 20, "d": 4, "m": 2},
    "figure5": {"family": "file", "path": "examples/figure5.json"},
    "softmax-small": {"family": "generic", "N": 20, "nmin": 10, "nmax": 50, "d": 4, "m": 3,
                      "attention": "softmax"},
    "softmax-large": {"family": "generic", "N": 40, "nmin": 50, "nmax": 200, "d": 8, "m": 3,
                      "attention": "softmax"},
}
FAMILY_DEFAULT_ROW = {"generic": "generic", "decimals": "decimals-m5", "dyadic": "dyadic",
                      "algebraic": "algebraic"}


def dataset_of(spec):
    """The dataset object of a generated row."""
    f, s = spec["family"], {"seed": 0, "overlap": 0.0, "bits": 40, **spec}
    if f == "generic":
        return families.generic(s["N"], s["nmin"], s["nmax"], s["d"], s["m"], s["seed"],
                                overlap=s["overlap"])
    if f == "decimals":
        return families.decimals(s["N"], s["nmin"], s["d"], s["m"], s["overlap"], s["seed"],
                                 nmax=s["nmax"])
    if f == "dyadic":
        return families.dyadic(s["N"], s["nmin"], s["nmax"], s["d"], s["m"], bits=s["bits"],
                               overlap=s["overlap"], seed=s["seed"])
    if f == "algebraic":
        return families.algebraic(s["N"], s["nmin"], s["d"], s["m"], s["seed"],
                                  overlap=s["overlap"], nmax=s["nmax"])
    raise ValueError(f"unknown family {f!r}")


def _best(fn, short=1.0, repeats=3):
    """(result, seconds): one run, or the best of ``repeats`` if the first is short."""
    t = time.perf_counter()
    out = fn()
    best = time.perf_counter() - t
    if best < short:
        for _ in range(repeats - 1):
            t = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t)
    return out, best


def _rss_mb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _cli(path, *extra):
    """(seconds, exit status, stdout) of ``exactseq check PATH ...`` in a new process:
    what a user waits for, Python start-up included."""
    code = "import sys; from exactseq.cli import main; sys.exit(main(sys.argv[1:]))"
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code, "check", path, *extra], capture_output=True,
                       text=True, cwd=ROOT)
    return time.perf_counter() - t, p.returncode, p.stdout


def softmax_child(spec, emit):
    """A softmax row: the whole ``exactseq check --attention softmax`` (temperature
    and order search included), then verify and the float pass of its certificate."""
    import floatpass
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "data.json"), os.path.join(tmp, "cert.json")
        with open(data, "w") as fh:
            json.dump(dataset_of(spec), fh)
        t, status, stdout = _cli(data, "--attention", "softmax", "--json", "--certificate", out)
        rep = json.loads(stdout)
        emit(family=f"{spec['family']} softmax", N=rep["dataset"]["N"], tokens=rep["dataset"]["sum_n"],
             d=rep["dataset"]["d"], m=str(spec["m"]), blocks=rep["blocks"], cli=t,
             end_to_end=t, verdict=rep["verdict"], tau=rep.get("tau"))
        if rep["verdict"] != "certified":
            emit(done=True)
            return
        with open(out) as fh:
            text = fh.read()
    cert = json.loads(text)
    f = floatpass.timed(cert, repeats=3)
    emit(float64=f["seconds"], float_convert=f["convert_seconds"], float_runs=f["runs"],
         float_err=None if math.isnan(f["error"]) else f["error"], float_nan=math.isnan(f["error"]))
    _, t_verify = _best(lambda: proofs_check.check(json.loads(text)))
    emit(verify=t_verify, done=True)


def row_child(spec):
    """Run one row in this process, printing the results so far as one JSON line
    after every stage."""
    import floatpass
    from exactseq.dataset import load

    res = {"row": spec.get("name"), "spec": spec}

    def emit(**kw):  # "at": a monotonic clock shared with the parent process
        res.update(kw, rss_mb=round(_rss_mb(), 1), at=time.monotonic())
        print(json.dumps(res), flush=True)

    if spec.get("attention") == "softmax":
        return softmax_child(spec, emit)

    if spec["family"] == "file":
        path = os.path.join(ROOT, spec["path"]) if not os.path.isabs(spec["path"]) else spec["path"]
        ds, t_load = _best(lambda: load(path))
    else:
        text = json.dumps(dataset_of(spec))
        ds, t_load = _best(lambda: from_obj(json.loads(text)))
    ms = sorted({len(p.output) for p in ds.pairs})
    emit(family=spec["family"] if spec["family"] != "file" else os.path.basename(spec["path"]),
         N=ds.N, tokens=sum(len(p.input) for p in ds.pairs), d=ds.dim, sum_m=ds.sum_m,
         m=str(ms[0]) if len(ms) == 1 else f"{ms[0]}-{ms[-1]}",
         field_degree=None if ds.field is None else ds.field.k, load=t_load)
    cons, t_cons = _best(lambda: build(ds))
    emit(blocks=len(cons.blocks), construct=t_cons)

    def cert_text():
        c = certificate.build(ds, cons)
        return c, certificate.dumps(c)
    (cert, text), t_cert = _best(cert_text)
    emit(certificate=t_cert, certificate_mb=round(len(text) / 2 ** 20, 2))

    f = floatpass.timed(cert, repeats=3)
    emit(float64=f["seconds"], float_convert=f["convert_seconds"], float_runs=f["runs"],
         float_err=None if math.isnan(f["error"]) else f["error"],
         float_nan=math.isnan(f["error"]))

    _, t_verify = _best(lambda: proofs_check.check(json.loads(text)))
    emit(verify=t_verify, end_to_end=t_load + t_cons + t_cert + t_verify)
    _, t_check = _best(lambda: proofs_check.check(cert))
    emit(check=t_check)
    cons = cert = text = None     # free the model before the CLI run
    if spec["family"] == "file":
        t_cli = _best(lambda: _cli(path, "--quiet"))[1]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "data.json")
            with open(path, "w") as fh:
                json.dump(dataset_of(spec), fh)
            t_cli = _cli(path, "--quiet")[0]
    emit(cli=t_cli, done=True)


STAGES = ("load", "construct", "certificate", "float64", "verify", "check", "cli")


def run_row(name, spec, timeout):
    """Run a row in a child process; its results (partial if it ran out of time or
    failed), with timed_out, error and the child's peak RSS."""
    spec = dict(spec, name=name)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--row", json.dumps(spec)],
                                stdout=out, stderr=err, cwd=ROOT)
        deadline, pause, timed_out = time.monotonic() + timeout, 0.02, False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                timed_out = True
                break
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = [ln for ln in out.read().splitlines() if ln.startswith("{")]
        errtext = err.read().strip()
    res = {"row": name, "spec": spec}
    for ln in reversed(lines):
        try:
            res = json.loads(ln)
            break
        except ValueError:
            continue
    res["timed_out"] = timed_out
    res["timeout"] = timeout
    res["rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    res["error"] = None
    if not timed_out and not res.get("done"):
        res["error"] = (errtext.splitlines()[-1] if errtext else f"exit status {proc.returncode}")
    return with_ratios(res, deadline)


def with_ratios(res, deadline):
    """res with the ratios to the float pass and, for a row stopped at the deadline,
    the lower bounds."""
    f64 = res.get("float64")
    res["check_over_float64"] = res["check"] / f64 if res.get("check") is not None and f64 else None
    res["verify_over_float64"] = res["verify"] / f64 if res.get("verify") is not None and f64 else None
    res["e2e_over_float64"] = (res["end_to_end"] / f64 if res.get("end_to_end") is not None and f64
                               else None)
    res["lower_bounds"] = _lower_bounds(res, deadline) if res.get("timed_out") else {}
    return res


def _lower_bounds(res, deadline):
    """Lower bounds of the stage that was running when the row was stopped (it had
    run from the last result line to the deadline) and of what includes it."""
    running = next((st for st in STAGES if res.get(st) is None), None)
    if running is None or res.get("at") is None:
        return {}
    lb = {running: max(0.0, deadline - res["at"])}
    if running == "verify":
        lb["end_to_end"] = res["load"] + res["construct"] + res["certificate"] + lb["verify"]
    f64 = res.get("float64")
    if f64:
        if "check" in lb:
            lb["check_over_float64"] = lb["check"] / f64
        if "end_to_end" in lb:
            lb["e2e_over_float64"] = lb["end_to_end"] / f64
    return lb


COLUMNS = [("family", "family"), ("N", "N"), ("tokens", "tokens"), ("d", "d"), ("m", "m"),
           ("blocks", "blocks"), ("construct", "construct s"), ("check", "check s"),
           ("end_to_end", "end-to-end s"), ("cli", "CLI s"), ("verify", "verify s"),
           ("float64", "float64 s"), ("check_over_float64", "check/f64"),
           ("verify_over_float64", "verify/f64"), ("e2e_over_float64", "e2e/f64"),
           ("float_err", "f64 err"), ("rss_mb", "RSS MB")]


TIME_COLUMNS = ("construct", "check", "end_to_end", "cli", "verify", "float64")


def _ratio(v):
    return f"{v:.0f}" if v >= 10 else f"{v:.2g}"


def _secs(x):
    return f"{x:.3g}" if x < 0.01 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _cell(r, key):
    v = r.get(key)
    if key == "float_err" and r.get("float_nan"):
        return "nan"
    ratio = key in ("check_over_float64", "verify_over_float64", "e2e_over_float64")
    if v is None:
        if r.get("timed_out"):
            if key in TIME_COLUMNS:
                return f">{r['timeout']:g}"
            lb = r.get("lower_bounds", {}).get(key)
            return f">{_ratio(lb)}" if ratio and lb is not None else "?"
        return "err" if r.get("error") else "-"
    if ratio:
        return _ratio(v)
    if key == "float_err":
        return f"{v:.1e}"
    if key == "rss_mb":
        return f"{v:.0f}"
    if isinstance(v, float):
        return _secs(v)
    return str(v)


def table(results):
    head = [h for _, h in COLUMNS]
    body = [[_cell(r, k) for k, _ in COLUMNS] for r in results]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    fmt = lambda cells: " | ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    lines = [fmt(head), "-+-".join("-" * w for w in widths)] + [fmt(b) for b in body]
    for r in results:
        if r.get("error"):
            lines.append(f"{r['row']}: {r['error']}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=int)
    ap.add_argument("--n", type=int, help="tokens per input (sets --nmin and --nmax)")
    ap.add_argument("--nmin", type=int)
    ap.add_argument("--nmax", type=int)
    ap.add_argument("--d", type=int)
    ap.add_argument("--bits", type=int, help="dyadic: bits of the denominator 2^bits (default 40)")
    ap.add_argument("--m", type=int)
    ap.add_argument("--overlap", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--family", choices=sorted(FAMILY_DEFAULT_ROW),
                    help="one row of this family (its suite row, changed by the flags above)")
    ap.add_argument("--suite", action="store_true", help="run every row of the suite")
    ap.add_argument("--rows", help="comma-separated row names: " + ",".join(ROWS))
    ap.add_argument("--timeout", type=float, default=600, help="seconds per row (default 600)")
    ap.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    ap.add_argument("--row", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.row:
        row_child(json.loads(a.row))
        return 0
    if a.n is not None:
        a.nmin = a.nmax = a.n
    if not (a.suite or a.rows or a.family):
        classic(a)
        return 0
    plan = []
    if a.suite:
        plan = list(ROWS.items())
    if a.rows:
        for name in a.rows.split(","):
            name = name.strip()
            if name not in ROWS:
                ap.error(f"unknown row {name!r} (rows: {', '.join(ROWS)})")
            plan.append((name, ROWS[name]))
    if a.family:
        spec = dict(ROWS[FAMILY_DEFAULT_ROW[a.family]])
        for k in ("N", "nmin", "nmax", "d", "m", "bits", "overlap", "seed"):
            if getattr(a, k) is not None:
                spec[k] = getattr(a, k)
        spec["nmax"] = max(spec["nmax"], spec["nmin"])
        plan.append((a.family, spec))
    results = []
    for name, spec in plan:
        r = run_row(name, spec, a.timeout)
        results.append(r)
        if not a.json:
            print(f"# {name}: " + ("done" if r.get("done") else "timed out" if r["timed_out"]
                                   else "failed"), file=sys.stderr, flush=True)
    if a.json:
        print(json.dumps(results, indent=1))
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
