"""Long contexts and hostile sizes: time and peak memory of each check, beside a float64 pass.

    python3 benchmarks/long_context.py --quick            # the small rows (about a minute)
    python3 benchmarks/long_context.py --rows long-3x4000,full-1500 --json
    python3 benchmarks/long_context.py                    # every row (the long ones take minutes)

Every measured command runs in a fresh process (its peak resident memory is
that process's own, from os.wait4), one at a time, killed after --timeout
seconds (default 900; reported as such, never as a verdict).  Beside each row,
a dense float64 NumPy forward pass of the same weights, also in its own
process (exactseq.floatpass.timed, or for sequences too long for its dense
scores the same pass with the scores computed a block of query rows at a time,
benchmarks/construction.py ``float_pass``), and the ratio of the two times.
Rows:

  long-3xN           3 sequences of N tokens (N = 2000, 4000, 8000, 20000), d = 4, m = 5
                     (exactseq.hostile.long_dataset, the decimals family):
                     `exactseq check` (float-safe default, writing the certificate),
                     then `exactseq verify` of that certificate
  long-1x100000      one sequence of 100,000 tokens, d = 4: `exactseq check`, then verify;
                     no float pass (10^10 scores); long-1x100000-paper: the same with --paper
  full-1500          exactseq.hostile.full_attention(1500): one sequence of 1500 tokens,
                     5 blocks of full A (43 KB): `python -m proofs_check` (VERIFIED)
  full-1500-wrong    the same with one output coordinate moved (REJECTED)
  tiny               hostile.tiny_denominators(): 100,000-digit denominators under full A
  power              hostile.power_fractions(10): 10 KB of 40,000-digit power quotients
  growth             hostile.growth(60, 60): refused at block 51 (--max-digits)
  field              hostile.field_coefficients(): degree 16, 10,000-digit coefficients,
                     refused by --max-field-digits; field-raised: the same with
                     --max-field-digits 10001 (VERIFIED)
  construct-1x20000  construction only (float-safe, CPU seconds) of one sequence of
                     20,000 tokens, benchmarks/construction.py --row long-1x20000
  construct-digits   the same for scikit-learn's digits (1797 sequences x 8 tokens)

Columns: case, time (wall seconds of the command, start-up included; CPU
seconds of the construction for construct-*), peak MB, the float64 pass
(seconds), ratio (time / float pass), verdict / exit status.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path[:0] = [ROOT, HERE]

LONG = {"long-3x2000": (3, 2000), "long-3x4000": (3, 4000), "long-3x8000": (3, 8000),
        "long-3x20000": (3, 20000), "long-1x100000": (1, 100000), "long-1x100000-paper": (1, 100000)}
HOSTILE = {"full-1500": ("full_attention", {"n": 1500}, ()),
           "full-1500-wrong": ("full_attention", {"n": 1500, "wrong": True}, ()),
           "tiny": ("tiny_denominators", {}, ()),
           "power": ("power_fractions", {"size_kb": 10}, ()),
           "growth": ("growth", {"blocks": 60, "tokens": 60}, ()),
           "field": ("field_coefficients", {}, ()),
           "field-raised": ("field_coefficients", {}, ("--max-field-digits", "10001"))}
CONSTRUCT = {"construct-1x20000": "long-1x20000", "construct-digits": "digits"}
ROWS = tuple(LONG) + tuple(HOSTILE) + tuple(CONSTRUCT)
QUICK = ("long-3x2000", "full-1500", "full-1500-wrong", "tiny", "field", "field-raised")
DENSE_LIMIT = 10 ** 9        # score entries of one sequence past which no float pass is run


def run(cmd, timeout):
    """(wall seconds, peak MB, exit status or None on timeout, stdout, stderr) of cmd in a
    fresh process (its own session, so a timeout ends everything it started)."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
    status = None
    while True:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(st)
            break
        if time.monotonic() - t > timeout:
            os.killpg(p.pid, signal.SIGKILL)
            pid, st, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.02)
    p.returncode = status if status is not None else -9      # reaped here, not by Popen
    secs = time.monotonic() - t
    out.seek(0)
    err.seek(0)
    return secs, ru.ru_maxrss / 1024, status, out.read().decode(errors="replace"), \
        err.read().decode(errors="replace")


def first_line(text, width=110):
    for ln in text.splitlines():
        if ln.strip():
            return ln.strip() if len(ln.strip()) <= width else ln.strip()[:width - 3] + "..."
    return ""


def last_line(text, width=110):
    return first_line("\n".join(reversed(text.splitlines())), width)


def float_row(cert_path, timeout):
    """{"seconds", "error"} of the float64 pass in its own process, or {"skip": why}."""
    with open(cert_path) as fh:
        cert = json.load(fh)
    n = max(len(s["input"]) for s in cert["dataset"]["sequences"])
    if n * n > DENSE_LIMIT:
        return {"skip": f"n/a (10^{len(str(n * n)) - 1} scores)"}
    secs, _, status, out, err = run([sys.executable, __file__, "--float", cert_path], timeout)
    if status is None:
        return {"skip": f"timeout ({timeout:g} s)"}
    if status:
        return {"skip": "failed: " + last_line(err or out, 50)}
    return json.loads(out.strip().splitlines()[-1])


def float_pass(path):
    """The float64 pass of the certificate at path, in this process: one JSON line."""
    import construction
    with open(path) as fh:
        cert = json.load(fh)
    secs, error = construction.float_pass(cert)
    print(json.dumps({"seconds": secs, "error": error}))


def verdict_of(status, out, err, path=None):
    if status is None:
        return "killed at the timeout"
    if path:        # a refusal names the file: keep the reason
        out, err = (t.replace(f"proofs_check: {path}: ", "") for t in (out, err))
    line = first_line(out) if status in (0, 1, 3) and out.strip() else last_line(err or out)
    return f"exit {status}: {line}" if line else f"exit {status}"


def measure_long(name, N, n, tmp, timeout):
    from exactseq.hostile import long_dataset
    data, cert = os.path.join(tmp, f"{name}.json"), os.path.join(tmp, f"{name}.cert.json")
    with open(data, "w") as fh:
        json.dump(long_dataset(N, n, 4, seed=0), fh)
    flags = ["--paper"] if name.endswith("-paper") else []
    rows = []
    cmd = [sys.executable, "-m", "exactseq", "check", data, "--quiet", "--certificate", cert, *flags]
    secs, mb, status, out, err = run(cmd, timeout)
    fl = float_row(cert, timeout) if status == 0 else {"skip": "no certificate"}
    rows.append({"case": f"{name} check" + (" --paper" if flags else ""), "seconds": secs, "peak_mb": mb,
                 "status": status, "verdict": "certified" if status == 0 else verdict_of(status, out, err),
                 "float": fl})
    if status == 0:
        secs, mb, status, out, err = run([sys.executable, "-m", "exactseq", "verify", cert], timeout)
        rows.append({"case": f"{name} verify", "seconds": secs, "peak_mb": mb, "status": status,
                     "verdict": verdict_of(status, out, err), "float": fl})
    return rows


def measure_hostile(name, tmp, timeout):
    from exactseq import hostile
    gen, kw, flags = HOSTILE[name]
    path = os.path.join(tmp, f"{name}.cert.json")
    t = time.monotonic()
    obj = getattr(hostile, gen)(**kw)
    made = time.monotonic() - t
    with open(path, "w") as fh:
        json.dump(obj, fh, separators=(",", ":"))
    size = os.path.getsize(path)
    secs, mb, status, out, err = run([sys.executable, "-m", "proofs_check", path, *flags], timeout)
    fl = float_row(path, min(timeout, 300)) if name.startswith("full") else {"skip": "-"}
    return [{"case": f"{name} ({size / 1024:.1f} KB, made in {made:.1f} s)", "seconds": secs, "peak_mb": mb,
             "status": status, "verdict": verdict_of(status, out, err, path), "float": fl}]


def measure_construct(name, timeout):
    secs, mb, status, out, err = run([sys.executable, os.path.join(HERE, "construction.py"), "--row",
                                      CONSTRUCT[name]], timeout)
    if status != 0:
        return [{"case": name, "seconds": secs, "peak_mb": mb, "status": status,
                 "verdict": verdict_of(status, out, err), "float": {"skip": "-"}}]
    r = json.loads(out.strip().splitlines()[-1])
    return [{"case": f"{name} ({r['N']} x {r['tokens'] // r['N']} tokens, {r['blocks']} blocks)",
             "seconds": r["safe_s"], "peak_mb": mb, "status": status,
             "verdict": f"constructed ({r['construction']})",
             "float": {"seconds": r["f64_s"], "error": r["f64_error"]}}]


def measure(name, tmp, timeout):
    if name in LONG:
        return measure_long(name, *LONG[name], tmp, timeout)
    if name in HOSTILE:
        return measure_hostile(name, tmp, timeout)
    return measure_construct(name, timeout)


def table(rows):
    head = "| case | time | peak MB | float64 pass | ratio | verdict / exit |"
    out = [head, "|---|---|---|---|---|---|"]
    for r in rows:
        fl = r["float"]
        t = f"{r['seconds']:.2f} s" if r["status"] is not None else f"timeout ({r['seconds']:.0f} s)"
        if "seconds" in fl:
            f64, ratio = f"{fl['seconds']:.3g} s", f"{r['seconds'] / fl['seconds']:.3g}" \
                if r["status"] is not None and fl["seconds"] > 0 else "-"
        else:
            f64, ratio = fl["skip"], "-"
        verdict = r["verdict"].replace("|", "/")
        out.append(f"| {r['case']} | {t} | {r['peak_mb']:.0f} | {f64} | {ratio} | {verdict} |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", help="comma-separated rows (default: all): " + ", ".join(ROWS))
    ap.add_argument("--quick", action="store_true", help="the small rows only: " + ", ".join(QUICK))
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per command (default 900)")
    ap.add_argument("--keep", metavar="DIR", help="write the generated files to DIR (default: a "
                    "temporary directory, removed)")
    ap.add_argument("--float", metavar="CERT", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.float:
        float_pass(a.float)
        return 0
    names = a.rows.split(",") if a.rows else list(QUICK if a.quick else ROWS)
    bad = [n for n in names if n not in ROWS]
    if bad:
        ap.error(f"unknown row {bad[0]!r}; rows: {', '.join(ROWS)}")
    if a.timeout <= 0:
        ap.error("--timeout must be positive")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        where = a.keep or tmp
        os.makedirs(where, exist_ok=True)
        for name in names:
            got = measure(name, where, a.timeout)
            for r in got:
                print(f"{r['case']}: {r['seconds']:.2f} s, {r['peak_mb']:.0f} MB, {r['verdict']}",
                      file=sys.stderr, flush=True)
            rows += got
    print(json.dumps(rows, indent=1) if a.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
