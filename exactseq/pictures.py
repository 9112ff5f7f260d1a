"""Pictures of the construction: the tokens of every sequence at the input and
after each phase, as in the paper's Figure 5.

``figure(source)`` returns a matplotlib Figure with one panel for the input
and one per phase of the certificate's blocks (separation, leaders, collapse,
interpolation; a softmax certificate also has its saturating layer).  Each
sequence has one colour; its target tokens are stars in every panel.  With
``trajectories=True`` each token's path is drawn block by block within each
phase.  Tokens are evaluated exactly (hardmax) or as the centres of their
rigorous enclosures (softmax) and turned into floats only to be drawn.  For
d > 2 the picture is the projection onto two coordinates: by default the two
whose values spread the most, or the ones given (numbered from 1).

matplotlib is an optional dependency (``pip install 'exactseq[plot]'``); it
is imported only here, with the Agg canvas (no display needed).
"""
from __future__ import annotations

import os
import sys

__all__ = ["figure", "save", "PictureError", "add_parser", "run"]

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
MISSING = "exactseq: plot needs matplotlib: pip install 'exactseq[plot]'"


class PictureError(ValueError):
    """Bad input for a picture (one line)."""


# ------------------------------------------------------------------ data
def _model_and_data(source, limits=None):
    """(Model, [(name, input tokens, output tokens)]) of a certificate or a dataset.

    A dataset (a path, dict or Dataset) is built first (hardmax)."""
    from . import api
    if isinstance(source, api.Result):
        source = source.model
    if isinstance(source, (str, os.PathLike)):
        obj = _read(os.fspath(source), limits)
        if isinstance(obj, dict) and obj.get("format") == "exactseq-certificate":
            source = api.load_certificate(source, limits)
        else:
            source = api.load(source, limits)
    if isinstance(source, dict) and source.get("format") == "exactseq-certificate":
        source = api.Model(source)
    if not isinstance(source, api.Model):
        source = api.build(api.load(source, limits))
    data = source.certificate.get("dataset")
    if not isinstance(data, dict) or not isinstance(data.get("sequences"), list):
        raise api.CertificateError("malformed certificate: no dataset")
    seqs = [(s.get("name"), s["input"], s["output"] if "output" in s else s.get("targets", []))
            for s in data["sequences"]]     # causal datasets: the targets are drawn as the outputs
    return source, seqs


def _read(path, limits):
    from proofs_check.limits import DEFAULT, read_json
    from .dataset import DatasetError
    limits = limits or DEFAULT
    try:
        size = os.stat(path).st_size
        if size > limits.max_file_size:
            raise DatasetError(str(limits.refuse(f"{path}: file of {size} bytes", "max_file_size")))
        with open(path, "rb") as fh:
            return read_json(fh.read(limits.max_file_size + 1), limits, path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        msg = str(exc)
        raise DatasetError(msg if msg.startswith(path) else f"{path}: {msg}") from None


def _float(x):
    """A float reading of an exact scalar, for drawing only (nan if out of range)."""
    from fractions import Fraction
    from .enclosures import Enclosure
    if isinstance(x, Enclosure):      # pragma: no cover - points are unpacked before
        raise TypeError
    if not isinstance(x, Fraction):
        from .tikhonov import lower, upper
        x = (lower(x, 40) + upper(x, 40)) / 2
    try:
        return float(x)
    except OverflowError:
        return float("nan")


def _points(tokens):
    from .enclosures import Enclosure
    return [tuple(_float(c) for c in (t.centre if isinstance(t, Enclosure) else t)) for t in tokens]


def _panels(phases):
    """[(title, first block, last block)] with block numbers from 1; (input, 0, 0) first."""
    out = [("input", 0, 0)]
    k = 0
    while k < len(phases):
        j = k
        while j + 1 < len(phases) and phases[j + 1] == phases[k]:
            j += 1
        out.append((phases[k], k + 1, j + 1))
        k = j + 1
    return out


def _colours(n):
    from matplotlib import colormaps
    if n <= 10:
        cmap = colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = colormaps["turbo"]
    return [cmap(0.05 + 0.9 * i / (n - 1)) for i in range(n)]


def _choose_coords(all_points, d, coords):
    if coords is not None:
        i, j = coords
        if not (1 <= i <= d and 1 <= j <= d) or i == j:
            raise PictureError(f"--coords {i},{j}: need two different coordinates between 1 and {d}")
        return i - 1, j - 1
    if d == 2:
        return 0, 1
    import math
    spread = []
    for c in range(d):
        vals = [p[c] for p in all_points if math.isfinite(p[c])]
        spread.append((max(vals) - min(vals)) if vals else 0.0)
    order = sorted(range(d), key=lambda c: (-spread[c], c))
    return tuple(sorted(order[:2]))


# ------------------------------------------------------------------ the figure
def figure(source, trajectories=False, coords=None, limits=None):
    """The picture of a certificate (object, path, :class:`exactseq.Model` or
    :class:`exactseq.Result`) or of a dataset (built with hardmax first), as a
    matplotlib Figure: one panel for the input and one per phase.
    ``coords``: the two coordinates to draw for d > 2, numbered from 1
    (default: the two that spread the most)."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.lines import Line2D
    except ImportError:
        raise ImportError(MISSING.removeprefix("exactseq: ")) from None
    from . import api
    model, seqs = _model_and_data(source, limits)
    d = model.dim
    phases = model.phases
    panels = _panels(phases)
    runs, targets = [], []
    for name, X, Y in seqs:
        try:
            states = model.trajectory(X)
            goal = model.tokens(Y)
        except api.InputError as exc:
            raise api.CertificateError(f"malformed certificate: dataset: {exc}") from None
        runs.append([_points(s) for s in states])
        targets.append(_points(goal))
    shown = {0} | {b for _, a, b in panels} | (set(range(len(phases) + 1)) if trajectories else set())
    every = [p for r in runs for k in shown for p in r[k]] + [p for t in targets for p in t]
    cx, cy = _choose_coords(every, d, coords)
    colours = _colours(len(seqs))
    N = len(seqs)
    sizes = [22 + (120 - 22) * (N - 1 - j) / max(N - 1, 1) if N <= 8 else 30 for j in range(N)]

    n = len(panels)
    ncols = n if n <= 5 else (n + 1) // 2
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(3.4 * ncols, 3.4 * nrows + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    letters = "abcdefghijklmnopqrstuvwxyz"
    for p, (ax, (phase, a, b)) in enumerate(zip(axes, panels)):
        blocks = "" if b == 0 else f" (block {a})" if a == b else f" (blocks {a}-{b})"
        ax.set_title(f"({letters[p % 26]}) {phase}{blocks}", fontsize=10)
        for j, (r, goal) in enumerate(zip(runs, targets)):
            col = colours[j]
            if trajectories and b > 0:
                for t in range(len(r[0])):
                    xs = [r[k][t][cx] for k in range(a - 1, b + 1)]
                    ys = [r[k][t][cy] for k in range(a - 1, b + 1)]
                    ax.plot(xs, ys, "-", color=col, lw=0.9, alpha=0.55, zorder=1)
                start = r[a - 1]
                ax.scatter([q[cx] for q in start], [q[cy] for q in start], s=14, facecolors="none",
                           edgecolors=[col], linewidths=0.8, zorder=2)
            ax.scatter([q[cx] for q in goal], [q[cy] for q in goal], marker="*", s=260,
                       facecolors="none", edgecolors=[col], linewidths=1.3, zorder=6)
            now = r[b]      # earlier sequences larger: tokens shared by sequences show as rings
            ax.scatter([q[cx] for q in now], [q[cy] for q in now], s=sizes[j], c=[col],
                       edgecolors="white", linewidths=0.5, zorder=4 + j / len(runs))
        ax.set_xlabel(f"$x_{{{cx + 1}}}$", fontsize=10)
        ax.set_ylabel(f"$x_{{{cy + 1}}}$", fontsize=10)
        ax.tick_params(labelsize=8)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.margins(0.12)
        ax.set_aspect("equal", adjustable="datalim")
    for ax in axes[n:]:
        ax.set_visible(False)
    handles = [Line2D([], [], ls="", marker="o", color=colours[j], markeredgecolor="white",
                      markersize=7, label=name if name is not None else f"sequence {j}")
               for j, (name, _, _) in enumerate(seqs)][:16]
    if len(seqs) > 16:
        handles.append(Line2D([], [], ls="", label=f"... {len(seqs) - 16} more sequences"))
    handles.append(Line2D([], [], ls="", marker="*", markerfacecolor="none", markeredgecolor="black",
                          markersize=13, label="target tokens"))
    if trajectories:
        handles.append(Line2D([], [], color="gray", lw=0.9, label="path, block by block"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6),
               fontsize=9, frameon=False)
    what = "softmax, enclosure centres" if model.attention == "softmax" else model.attention
    proj = f"; projection onto $(x_{{{cx + 1}}}, x_{{{cy + 1}}})$ of $R^{{{d}}}$" if d > 2 else ""
    fig.suptitle(f"exact transformer ({what}, {len(phases)} blocks): tokens after each phase{proj}",
                 fontsize=11)
    return fig


def save(fig, path):
    """Write a figure to path (format from the extension: .png, .svg or .pdf),
    atomically: a temporary file in the same directory, then os.replace."""
    fmt = FORMATS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise PictureError(f"{path}: unknown picture format; use .png, .svg or .pdf")
    real = os.path.realpath(path)
    directory = os.path.dirname(real) or "."
    if not os.path.isdir(directory):
        raise PictureError(f"{path}: cannot write: no directory {directory}")
    if os.path.lexists(real) and not os.path.isfile(real):
        raise PictureError(f"{path}: not a regular file; refusing to replace it")
    from .certificate import write_atomic_with
    try:
        write_atomic_with(real, lambda fh: fig.savefig(fh, format=fmt, dpi=150), suffix="." + fmt)
    except OSError as exc:
        raise PictureError(f"{path}: cannot write: {exc.strerror or exc}") from None


# ------------------------------------------------------------------ command
HELP = """\
FILE is a certificate (exactseq check --certificate) or a dataset; a dataset is
built first (hardmax). Panels: the input, then each phase of the blocks
(separation, leaders, collapse, interpolation; softmax certificates also show
the saturating layer, drawn at the centres of the tokens' enclosures). One
colour per sequence; its targets are stars. For d > 2 the picture is a
projection onto two coordinates, named on the axes: the two that spread the
most, or --coords I,J (numbered from 1).

Needs matplotlib: pip install 'exactseq[plot]'.
Exit status: 0 written, 2 bad input or usage (one line on stderr).
"""


def add_parser(sub):
    import argparse
    from proofs_check import limits as lim
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
                   "numbered from 1 (default: the two with the largest spread)")
    lim.add_arguments(p)
    return ["plot"]


def _parse_coords(text):
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return int(parts[0]), int(parts[1])
    except ValueError:
        raise PictureError(f"--coords {text!r}: expected two coordinate numbers like 1,3") from None


def run(args):
    from proofs_check import limits as lim
    from .cli import EXIT_BAD, EXIT_OK, _bad
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(MISSING, file=sys.stderr)
        return EXIT_BAD
    from . import api
    from .construction import ConstructionError
    limits = lim.from_args(args)
    try:
        coords = _parse_coords(args.coords) if args.coords else None
        if FORMATS.get(os.path.splitext(args.out)[1].lower()) is None:
            raise PictureError(f"{args.out}: unknown picture format; use .png, .svg or .pdf")
        if os.path.exists(args.out) and os.path.exists(args.file) and os.path.samefile(args.out, args.file):
            raise PictureError(f"{args.out}: is the input file; refusing to overwrite it")
        fig = figure(args.file, trajectories=args.trajectories, coords=coords, limits=limits)
        save(fig, args.out)
    except (PictureError, api.DatasetError, api.CertificateError, ConstructionError) as exc:
        msg = str(exc)
        return _bad(msg if msg.startswith((args.file, args.out, "--")) else f"{args.file}: {msg}")
    return EXIT_OK
