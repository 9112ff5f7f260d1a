"""``exactseq plot``: the tokens after each phase (the paper's Figure 5)."""
from __future__ import annotations

import os

from proofs_check import limits as lim

from .console import EXIT_OK, Progress, error


def add_parser(sub):
    import argparse
    from ..pictures import HELP, MAX_SEQUENCES
    p = sub.add_parser("plot", help="draw the tokens after each phase (the paper's Figure 5)",
                       description="Draw the tokens of every sequence at the input and after each "
                       "phase of the construction, one panel per phase.", epilog=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help="certificate or dataset JSON file")
    p.add_argument("-o", "--out", required=True, metavar="FIG",
                   help="output picture: .png, .svg or .pdf (written atomically)")
    p.add_argument("--trajectories", action="store_true",
                   help="also draw each token's path, block by block")
    p.add_argument("--coords", metavar="I,J", help="for d > 2: the two coordinates to draw, "
                   "numbered from 1 (default: the principal axes of the targets)")
    p.add_argument("--max-sequences", metavar="N", default=str(MAX_SEQUENCES),
                   help=f"draw at most N sequences, chosen evenly (per class) (default "
                   f"{MAX_SEQUENCES}; 'all' for every one)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line on stderr")
    lim.add_arguments(p)
    return p


def _parse_coords(text):
    from ..pictures import PictureError
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return int(parts[0]), int(parts[1])
    except ValueError:
        raise PictureError(f"--coords {text!r}: expected two coordinate numbers like 1,3") from None


def _parse_cap(text):
    from ..pictures import PictureError
    if text.strip().lower() == "all":
        return None
    try:
        cap = int(text)
    except ValueError:
        cap = 0
    if cap < 1:
        raise PictureError(f"--max-sequences {text!r}: expected a positive number or 'all'")
    return cap


def _delayed(show, after=2.0):
    """A progress callback that starts forwarding after ``after`` seconds."""
    import time
    start = time.monotonic()

    def say(text):
        if time.monotonic() - start >= after:
            show(text)
    return say


def run(args):
    from ..errors import CertificateError, ConstructionError, DatasetError
    from ..pictures import FORMATS, MISSING, PictureError, figure, save
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return error(MISSING.removeprefix("exactseq: "))
    limits = lim.from_args(args)
    progress = Progress(not args.quiet)
    try:
        coords = _parse_coords(args.coords) if args.coords else None
        cap = _parse_cap(args.max_sequences)
        if FORMATS.get(os.path.splitext(args.out)[1].lower()) is None:
            raise PictureError(f"{args.out}: unknown picture format; use .png, .svg or .pdf")
        if os.path.exists(args.out) and os.path.exists(args.file) and os.path.samefile(args.out, args.file):
            raise PictureError(f"{args.out}: is the input file; refusing to overwrite it")
        say = _delayed(progress)
        fig = figure(args.file, trajectories=args.trajectories, coords=coords, limits=limits,
                     max_sequences=cap, progress=say)
        say("writing the picture")
        save(fig, args.out)
    except (PictureError, DatasetError, CertificateError, ConstructionError) as exc:
        progress.done()
        msg = str(exc)
        return error(msg if msg.startswith((args.file, args.out, "--")) else f"{args.file}: {msg}")
    finally:
        progress.done()           # also on an interrupt: no progress line left behind
    return EXIT_OK
