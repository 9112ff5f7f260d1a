"""Console matters of the command line, and nothing else: exit statuses, printing
that survives a closed pipe, one-line errors (or one JSON object with --json),
warnings, progress on a terminal, and the argument parser's house rules.

Only the command modules of this package import it; the library below never
prints, exits or writes to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

EXIT_OK, EXIT_FAILED, EXIT_BAD, EXIT_UNKNOWN = 0, 1, 2, 3
STATUS = {"certified": EXIT_OK, "verified": EXIT_OK, "failed": EXIT_FAILED, "rejected": EXIT_FAILED,
          "malformed": EXIT_BAD, "unknown": EXIT_UNKNOWN}


class _Mode:
    """--json given on the command line: errors become one JSON object on stdout too."""
    json = False


def json_mode(on):
    _Mode.json = bool(on)


def out(text):
    """print() that survives a closed pipe (exactseq check ... | head -1)."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def out_json(obj):
    out(json.dumps(obj, indent=1, default=str))


def error(msg, status=EXIT_BAD, verdict=None):
    """One line on stderr; with --json also one JSON object on stdout (its verdict
    "error" for bad input or usage, else the one the status means). Returns status."""
    print(f"exactseq: error: {msg}", file=sys.stderr)
    if _Mode.json:
        verdict = verdict or {EXIT_FAILED: "failed", EXIT_UNKNOWN: "unknown"}.get(status, "error")
        out_json({"verdict": verdict, "reason": msg, "exit_status": status})
    return status


def warn(msg):
    print(f"exactseq: warning: {msg}", file=sys.stderr)


class Progress:
    """A one-line progress indicator on stderr, only on a terminal, at most 5 a second."""

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
        if not hasattr(self, "clock"):
            from ..api import BlockClock
            self.clock = BlockClock()
        self(self.clock.text(k, n))

    def done(self):
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False


class Parser(argparse.ArgumentParser):
    """The command-line parser: usage errors in one line (exit 2; one JSON object
    with --json), and no abbreviated options (``--cert`` is not ``--certificate``)."""

    def __init__(self, *a, **k):
        k["allow_abbrev"] = False
        super().__init__(*a, **k)

    def error(self, message):
        msg = f"{self.prog}: error: {message} (see {self.prog} --help)"
        if _Mode.json:
            out_json({"verdict": "error", "reason": msg, "exit_status": EXIT_BAD})
        self.exit(EXIT_BAD, msg + "\n")


def quiet_and_json(p, what="print one JSON object"):
    """The --json and -q/--quiet options every command has."""
    p.add_argument("--json", action="store_true", help=f"{what} (errors too: verdict, reason, exit_status)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; the exit status tells")


def short(text, width=40):
    return repr(text) if len(text) <= width else repr(text[:20] + "..." + text[-10:])
