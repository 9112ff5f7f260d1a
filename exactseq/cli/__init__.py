"""Command line: parse, call the API, print.

One module per command (:data:`COMMANDS`), each with ``add_parser(subparsers)``
and ``run(args) -> exit status``; console matters (printing, errors, exit
statuses, progress) live in :mod:`exactseq.cli.console`.  Exit status: 0
certified/verified, 1 a check failed (rejected), 2 bad input or usage, 3
undecided (unknown: never a pass).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from proofs_check import limits as lim

from .. import __version__
from .console import (EXIT_BAD, EXIT_FAILED, EXIT_OK, EXIT_UNKNOWN, STATUS, Parser, Progress, error,
                      json_mode, out)

# the names older command modules used (kept while they still import them from here)
_print, _bad, _Progress = out, error, Progress

# name: (module of this package, what it does)
COMMANDS = {
    "check": ("check", "construct and certify a dataset"),
    "verify": ("verify", "re-check a certificate with proofs_check only"),
    "fuzz": ("fuzz", "hunt the lemmas' edge cases"),
    "eval": ("eval", "exact outputs of a certified model on new inputs"),
    "plot": ("plot", "draw the tokens after each phase (the paper's Figure 5)"),
    "tikhonov": ("tikhonov", "certified bound on the Tikhonov-regularised training minimum"),
    "export": ("export", "write a certificate's weights (npz, safetensors or torch)"),
    "audit": ("audit", "compare a float evaluation of a certificate with the exact one"),
}

DESCRIPTION = """\
Build a transformer with exact weights that maps every input sequence of a
dataset exactly onto its output sequence (Alcalde, Fantuzzi, Zuazua,
Theorem 1.4), and certify it with the independent checker proofs_check, which
re-evaluates every block from the weights alone in exact arithmetic.
"""

INTERRUPTED = {"check": "interrupted; nothing certified", "verify": "interrupted; nothing verified"}

__all__ = ["main", "COMMANDS", "EXIT_OK", "EXIT_FAILED", "EXIT_BAD", "EXIT_UNKNOWN", "STATUS"]


def parser():
    """The whole argument parser, with every command's options."""
    p = Parser(prog="exactseq", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-V", "--version", action="version", version=f"exactseq {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module, _) in COMMANDS.items():
        importlib.import_module(f"{__name__}.{module}").add_parser(sub)
    return p


def main(argv=None):
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)   # exact integers of any size: --max-digits bounds what is read
    argv = sys.argv[1:] if argv is None else list(argv)
    json_mode("--json" in argv)
    for stream in (sys.stdout, sys.stderr):   # names from a dataset never crash the output
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = parser().parse_args(argv)
        if args.command is None:
            parser().print_help(sys.stderr)
            return EXIT_BAD
        module = importlib.import_module(f"{__name__}.{COMMANDS[args.command][0]}")
        return module.run(args)
    except lim.LimitError as exc:
        return error(str(exc))
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        command = next((a for a in argv if a in COMMANDS), None)
        msg = INTERRUPTED.get(command, "interrupted")
        print(f"exactseq: {msg}", file=sys.stderr)
        if "--json" in argv:
            from .console import out_json
            out_json({"verdict": "unknown", "reason": msg, "exit_status": 130})
        return 130
    except Exception as exc:  # a bug: say so in one line, never certify
        msg = f"internal error: {type(exc).__name__}: {exc}"
        print(f"exactseq: {msg}", file=sys.stderr)
        if "--json" in argv:
            from .console import out_json
            out_json({"verdict": "failed", "reason": msg, "exit_status": EXIT_FAILED})
        return EXIT_FAILED
    finally:
        json_mode(False)
