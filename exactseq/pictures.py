"""Pictures of the construction: the tokens of every sequence at the input and
after each phase, as in the paper's Figure 5.

``figure(source)`` returns a matplotlib Figure with one panel for the input
and one per phase of the certificate's blocks (separation, leaders, collapse,
interpolation; a softmax certificate also has its saturating layer).

* Colours: one per class for labelled data (a class legend with the number of
  sequences of each class), else one per sequence (the legend names the first
  12).  Targets (class points) are stars in every panel.
* Many sequences: at most ``max_sequences`` are drawn, chosen evenly (per class
  for labelled data); the figure says "showing N of M sequences".
* Evaluation: the chosen sequences are run through the blocks together, block
  by block, and only the states at the ends of the phases are kept (every
  state with ``trajectories=True``: each token's path is then drawn block by
  block).  Hardmax tokens are exact: a float pass with a rigorous error bound
  only tells which tokens a hat move leaves where they are and which keys
  cannot win an argmax; every other value is computed exactly (see
  ``_run_hardmax``).  Softmax tokens are the centres of their rigorous
  enclosures.  Tokens become floats only to be drawn.
* Axes: each panel has its own limits.  When a few far points (the leaders
  placed far out, for instance) would squash the others, the limits are
  robust (from quantiles), the far points are drawn on the frame's edge as
  hollow diamonds and the panel says how many there are.
* Projection for d > 2: by default onto the two principal axes of the
  targets (completed by those of the input tokens when the targets span a
  line).  When that brings targets together (a few class points closer than
  5% of their spread, or many coinciding), the pair of coordinates that
  separates them best, else the best of a fixed family of planes.  ``coords``
  picks two coordinates instead (numbered from 1).

matplotlib is an optional dependency (``pip install 'exactseq[plot]'``); it
is imported only here, with the Agg canvas (no display needed).
"""
from __future__ import annotations

import math
import os
from fractions import Fraction

__all__ = ["figure", "save", "PictureError", "MAX_SEQUENCES", "HELP", "FORMATS"]

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
MISSING = "exactseq: plot needs matplotlib: pip install 'exactseq[plot]'"
MAX_SEQUENCES = 200          # default cap on drawn sequences
LEGEND_ENTRIES = 12          # sequences or classes named in the legend
U = 2.0 ** -53               # unit roundoff of binary64
TINY = 2.0 ** -1050          # 2^24 times the largest absolute error of a rounding below 2^-1022


from .errors import PictureError  # noqa: E402  (re-exported: pictures.PictureError)


# ------------------------------------------------------------------ data
def _model_and_data(source, limits=None, progress=None):
    """(Model, [(name, input tokens, output tokens)]) of a certificate or a dataset.

    A dataset (a path, dict or Dataset) is built first (hardmax)."""
    model, seqs, _ = _model_data_classes(source, limits, progress)
    return model, [(name, X, Y) for name, X, Y, _ in seqs]


def _built(ds, progress):
    """The exact model of the construction ``check`` builds for a dataset."""
    import json
    from . import certificate
    from .exactmodel import Model
    from .floatsafe import construct
    cons, how = construct(ds, progress=progress)
    model = Model(json.loads(certificate.dumps(certificate.build(ds, cons))), _net=cons.model)
    model.construction = how
    return model


def _model_data_classes(source, limits=None, progress=None):
    """(Model, [(name, input, output, label key or None)], {label key: class point} or None)."""
    from . import dataset as dmod
    from .errors import CertificateError
    from .exactmodel import Model, load_certificate
    if hasattr(source, "verdict") and hasattr(source, "model"):       # an api.Result
        source = source.model
    if isinstance(source, (str, os.PathLike)):
        obj = _read(os.fspath(source), limits)
        if isinstance(obj, dict) and obj.get("format") == "exactseq-certificate":
            source = load_certificate(source, limits)
        else:
            source = dmod.load(os.fspath(source), limits)
    if isinstance(source, dict) and source.get("format") == "exactseq-certificate":
        source = Model(source)
    if not isinstance(source, Model):
        ds = source if isinstance(source, dmod.Dataset) else dmod.from_obj(source, "<dict>", limits)
        say = progress or (lambda text: None)
        source = _built(ds, lambda phase: say(f"constructing: {phase}"))
    data = source.certificate.get("dataset")
    if not isinstance(data, dict) or not isinstance(data.get("sequences"), list):
        raise CertificateError("malformed certificate: no dataset")
    from .classification import label_key
    seqs = []
    for j, s in enumerate(data["sequences"]):
        if not isinstance(s, dict) or "input" not in s:
            raise CertificateError(f"malformed certificate: dataset: sequence {j} has no input")
        label = s.get("label")
        key = label_key(label) if isinstance(label, (str, int)) and not isinstance(label, bool) else None
        name = s.get("name")
        seqs.append((name if isinstance(name, str) else None, s["input"],
                     s["output"] if "output" in s else s.get("targets", []),  # causal: targets
                     key))
    labelled = bool(seqs) and all(s[3] is not None for s in seqs)
    classes = None
    if labelled:
        given = data.get("classes") if isinstance(data.get("classes"), dict) else {}
        classes = {}
        for name, X, Y, key in seqs:
            if key not in classes:
                classes[key] = given.get(key, Y[0] if isinstance(Y, list) and Y else None)
    else:
        seqs = [(name, X, Y, None) for name, X, Y, _ in seqs]
    return source, seqs, classes


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


def _select(seqs, cap):
    """Indices of the sequences to draw: all if at most cap, else cap of them chosen
    evenly (for labelled data evenly within each class, every class at least once,
    the shares proportional to the class sizes)."""
    N = len(seqs)
    if cap is None or N <= cap:
        return list(range(N))
    groups = {}
    for j, s in enumerate(seqs):
        groups.setdefault(s[3], []).append(j)
    if len(groups) == 1 or len(groups) > cap:
        return _even(list(range(N)), cap)
    share = {k: max(1, len(v) * cap // N) for k, v in groups.items()}
    order = sorted(groups, key=lambda k: (-(len(groups[k]) * cap / N - share[k]), str(k)))
    spare = cap - sum(share.values())
    for k in order:      # the largest remainders get the spare places
        if spare <= 0:
            break
        if share[k] < len(groups[k]):
            share[k] += 1
            spare -= 1
    while sum(share.values()) > cap:     # many one-sequence classes: trim the largest shares
        k = max(share, key=lambda k: share[k])
        share[k] -= 1
    return sorted(j for k, v in groups.items() for j in _even(v, share[k]))


def _even(items, k):
    n = len(items)
    if k >= n:
        return list(items)
    return [items[(i * n) // k] for i in range(k)]


# ------------------------------------------------------------------ exact evaluation
def _float(x):
    """A float reading of an exact scalar, for drawing only (nan if out of range)."""
    if not isinstance(x, (Fraction, int)):
        from .tikhonov import lower, upper
        x = (lower(x, 40) + upper(x, 40)) / 2
    try:
        return float(x)
    except OverflowError:
        return float("nan")


def _near(x):
    """float(x) rounded to nearest for a rational x, +-inf beyond the float range."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _points(tokens):
    from .enclosures import Enclosure
    return [tuple(_float(c) for c in (t.centre if isinstance(t, Enclosure) else t)) for t in tokens]


def _rational(values):
    return all(type(v) in (Fraction, int) for v in values)


def _dense(M, d):
    """The d x d float matrix of a model.Mat (entries rounded to nearest)."""
    import numpy as np
    if M.kind == "zero":
        return np.zeros((d, d))
    if M.kind == "scalar":
        return _near(M.c) * np.eye(d)
    if M.kind == "rank1":
        a = np.array([_near(v) for v in M.a])
        return _near(M.c) * np.outer(a, a)
    return np.array([[_near(v) for v in r] for r in M.rows])


def _mat_values(M):
    return [M.c] + list(M.a) + [v for r in M.rows for v in r]


class _Tokens:
    """Exact tokens of several sequences (a flat list with offsets) and their
    nearest floats (an n x d array, +-inf beyond the range) for filtering."""

    def __init__(self, seqs, d):
        import numpy as np
        self.d = d
        self.exact = [tuple(t) for s in seqs for t in s]
        self.offsets = [0]
        for s in seqs:
            self.offsets.append(self.offsets[-1] + len(s))
        self.approx = np.array([[_near(c) for c in t] for t in self.exact], dtype=float).reshape(-1, d)

    def set(self, i, token):
        self.exact[i] = token
        self.approx[i] = [_near(c) for c in token]

    def split(self):
        return [self.exact[a:b] for a, b in zip(self.offsets, self.offsets[1:])]


def _ff_step(ff, toks):
    """Apply a FF layer to every token exactly.  A unit's activation u.x + b is
    first evaluated in floats; |float - exact| <= g (|u|.|x| + |b|) with
    g = 4 (d + 4) u bounds every relative rounding (the nearest floats of x, u,
    b, the d products and d additions, in any order, and the bound's own
    evaluation), and TINY (1 + |x|_1)(1 + |u|_1 + |b|) every absolute one in the
    subnormal range (each at most 2^-1074 times the other factors of its term).  When every unit of a token is decided (active
    above the bound or inactive below it), the layer is the affine map
    x -> eta x + W_S (U_S x + b_S) on the active set S; if W_S U_S = 0 and
    W_S b_S = 0 exactly (a hat move away from its tube: its three ramps cancel),
    the image is exactly eta x.  Every other token, and any non-finite value,
    goes through the exact layer."""
    import numpy as np
    d = toks.d
    values = [ff.eta] + [v for r in ff.U for v in r] + list(ff.b) + [v for r in ff.W for v in r]
    n = len(toks.exact)
    kept = np.zeros(n, dtype=bool)          # tokens whose image is exactly eta x
    if ff.width == 0:
        kept[:] = True
    elif _rational(values) and n:
        Uf = np.array([[_near(v) for v in r] for r in ff.U], dtype=float).reshape(-1, d)
        bf = np.array([_near(v) for v in ff.b], dtype=float)
        X = toks.approx
        with np.errstate(all="ignore"):
            acts = X @ Uf.T + bf
            aX, aU = np.abs(X), np.abs(Uf)
            bound = 4 * (d + 4) * U * (aX @ aU.T + np.abs(bf)) + \
                TINY * np.outer(1 + aX.sum(axis=1), 1 + aU.sum(axis=1) + np.abs(bf))
            on = acts - bound > 0              # nan compares False: neither on nor off
            off = acts + bound < 0
        decided = np.flatnonzero(np.all(on | off, axis=1))
        if len(decided):
            rows = on[decided]
            if ff.width <= 62:               # each activation pattern as one integer
                codes = rows.astype(np.int64) @ (np.int64(1) << np.arange(ff.width, dtype=np.int64))
                first, which = np.unique(codes, return_index=True, return_inverse=True)[1:]
                patterns = rows[first]
            else:
                patterns, which = np.unique(rows, axis=0, return_inverse=True)
            vanish = np.array([_vanishes(ff, np.flatnonzero(active).tolist(), d) for active in patterns])
            kept[decided] = vanish[np.ravel(which)]
    images = {}                               # equal tokens (a collapsed class) once
    for i in np.flatnonzero(~kept).tolist():
        t = toks.exact[i]
        if t not in images:
            images[t] = ff.apply(t)
        toks.set(i, images[t])
    if ff.eta != 1:
        for i in np.flatnonzero(kept).tolist():
            toks.set(i, tuple(ff.eta * c for c in toks.exact[i]))


def _vanishes(ff, S, d):
    """True if W_S U_S = 0 and W_S b_S = 0 exactly (units S active, the others off)."""
    return all(sum(ff.W[r][k] * ff.U[k][c] for k in S) == 0 for r in range(d) for c in range(d)) \
        and all(sum(ff.W[r][k] * ff.b[k] for k in S) == 0 for r in range(d))


def _sa_step(sa, toks):
    """Apply a hardmax SA layer to every sequence exactly.  The maximisers come from
    :func:`exactseq.model.maximiser_sets` (rational tokens with A = c I or a full A
    through proofs_check's float filter, a block of queries at a time, so a long
    sequence needs no n x n scores; rank one by the extremes; else exactly); the
    output is then computed exactly.  Several heads and masked attention go by the
    definition (sa.apply)."""
    from .model import SA, MaskedSA, maximiser_sets
    d = toks.d
    several = not isinstance(sa, SA)        # several heads: by the definition (sa.apply)
    if not several and sa.V.is_zero() and sa.rho == 1:
        return                              # the identity layer
    generic = several or isinstance(sa, MaskedSA)
    for a, b in zip(toks.offsets, toks.offsets[1:]):
        X = toks.exact[a:b]
        if not X:
            continue
        if generic or sa.V.is_zero():
            out = sa.apply(X)
        else:
            Vx, means = {}, {}
            out = []
            for xi, C in zip(X, maximiser_sets(sa.A, X)):
                if C not in means:          # the mean of V x_j over the maximisers
                    acc = [0] * d
                    for j in C:
                        if j not in Vx:
                            Vx[j] = sa.V.apply(X[j])
                        acc = [s + v for s, v in zip(acc, Vx[j])]
                    n = Fraction(len(C))
                    means[C] = [s / n for s in acc]
                m = means[C]
                out.append(tuple((x if sa.rho == 1 else sa.rho * x) + s for x, s in zip(xi, m)))
        for k, t in enumerate(out):
            toks.set(a + k, tuple(t))


def _run_hardmax(model, inputs, keep, progress, record=None, exact=None):
    """({block index: [tokens of each sequence]} for the blocks in ``exact`` (default
    keep), {block index: record(n x d array of their nearest floats)} for those in
    keep) after those blocks (0: the input)."""
    toks = _Tokens(inputs, model.dim)
    exact = keep if exact is None else exact
    states, floats = {}, {}
    L = len(model.blocks)
    for k in range(L + 1):
        if k:
            _ff_step(model.blocks[k - 1].ff, toks)
            _sa_step(model.blocks[k - 1].sa, toks)
            progress(f"evaluating block {k}/{L}")
        if k in exact:
            states[k] = toks.split()
        if k in keep:
            floats[k] = record(toks.approx) if record else toks.approx.copy()
    return states, floats


def _evaluate(model, inputs, keep, progress=None, record=None, exact=None):
    """({block index: [exact tokens (hardmax) or Enclosures (softmax) of each sequence]},
    {block index: record(their float readings)} when known without the tokens).
    Hardmax over the rationals: all sequences together, block by block (the float
    readings for every block in keep, the tokens for those in ``exact``); otherwise
    sequence by sequence (the tokens for every block in keep, no float readings)."""
    from .errors import CertificateError, InputError
    say = progress or (lambda text: None)
    try:
        pts = [model.tokens(X) for X in inputs]
    except InputError as exc:
        raise CertificateError(f"malformed certificate: dataset: {exc}") from None
    if model.attention != "softmax" and model._cf is None and all(_rational(c for t in s for c in t)
                                                                  for s in pts):
        return _run_hardmax(model, pts, keep, say, record, exact)
    states = {k: [] for k in keep}
    for j, X in enumerate(inputs):
        run = model.trajectory(X)
        for k in keep:
            states[k].append(run[k])
        say(f"evaluating sequence {j + 1}/{len(inputs)}")
    return states, {}


# ------------------------------------------------------------------ geometry
def _panels(phases):
    """[(title, first block, last block)] with block numbers from 1; (input, 0, 0) first."""
    out = [("input", 0, 0)]
    k = 0
    while k < len(phases):
        j = k
        while j + 1 < len(phases) and phases[j + 1] == phases[k]:
            j += 1
        out.append((phases[k] if phases[k] is not None else "output", k + 1, j + 1))
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


def _spread_ratio(P2):
    """min over max pairwise distance of projected points (1 if fewer than 2)."""
    import numpy as np
    if len(P2) < 2:
        return 1.0
    D = np.sqrt(((P2[:, None, :] - P2[None, :, :]) ** 2).sum(-1))
    top = D.max()
    np.fill_diagonal(D, np.inf)
    return float(D.min() / top) if top > 0 else 0.0


def _projection(tokens, targets, d, coords):
    """(2 x d float matrix, (x label, y label), phrase for the title or "")."""
    import numpy as np
    if coords is not None:
        i, j = coords
        if not (1 <= i <= d and 1 <= j <= d) or i == j:
            raise PictureError(f"--coords {i},{j}: need two different coordinates between 1 and {d}")
        P = np.zeros((2, d))
        P[0, i - 1] = P[1, j - 1] = 1
        return P, (f"$x_{{{i}}}$", f"$x_{{{j}}}$"), f"the coordinates $(x_{{{i}}}, x_{{{j}}})$ of $R^{{{d}}}$"
    if d == 2:
        return np.eye(2), ("$x_{1}$", "$x_{2}$"), ""
    T = targets[np.all(np.isfinite(targets), axis=1)] if len(targets) else np.zeros((0, d))
    T = np.unique(T, axis=0)
    X = tokens[np.all(np.isfinite(tokens), axis=1)] if len(tokens) else np.zeros((0, d))
    axes = []
    for cloud in (T, X):
        if len(cloud) < 2 or len(axes) == 2:
            continue
        C = cloud - cloud.mean(axis=0)
        for a in axes:                       # the complement of the axes already chosen
            C = C - np.outer(C @ a, a)
        _, s, vt = np.linalg.svd(C, full_matrices=False)
        for sv, v in zip(s, vt):
            if len(axes) == 2 or s[0] == 0 or sv <= 1e-9 * s[0]:
                break
            v = v - sum((v @ a) * a for a in axes) if axes else v
            if np.linalg.norm(v) > 1e-6:
                axes.append(v / np.linalg.norm(v))
    for c in range(d):                       # degenerate data: fill with coordinate axes
        if len(axes) == 2:
            break
        v = np.eye(d)[c] - sum((np.eye(d)[c] @ a) * a for a in axes) if axes else np.eye(d)[c]
        if np.linalg.norm(v) > 1e-6:
            axes.append(v / np.linalg.norm(v))
    for k, a in enumerate(axes):             # a sign convention: the largest entry positive
        if a[np.argmax(np.abs(a))] < 0:
            axes[k] = -a
    P = np.array(axes)
    sample = T[np.linspace(0, len(T) - 1, min(len(T), 300)).astype(int)] if len(T) else T
    # few targets (classes) must be visibly apart; many may come close, but not coincide
    need = 0.05 if len(T) <= 12 else 1e-6
    if len(sample) < 2 or _spread_ratio(sample @ P.T) >= need:
        return P, ("principal axis 1", "principal axis 2"), \
            f"the principal axes of the targets in $R^{{{d}}}$"
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)][:500]
    i, j = max(pairs, key=lambda ij: (_spread_ratio(sample[:, list(ij)]), -ij[0], -ij[1]))
    if _spread_ratio(sample[:, [i, j]]) >= need:
        P = np.zeros((2, d))
        P[0, i] = P[1, j] = 1
        return (P, (f"$x_{{{i + 1}}}$", f"$x_{{{j + 1}}}$"), f"the coordinates $(x_{{{i + 1}}}, "
                f"x_{{{j + 1}}})$ of $R^{{{d}}}$ that separate the targets best")
    # neither: the best of a fixed family of random planes (and the principal one)
    rng = np.random.default_rng(0)
    best, score = P, _spread_ratio(sample @ P.T)
    for _ in range(300):
        Q, _ = np.linalg.qr(rng.standard_normal((d, 2)))
        r = _spread_ratio(sample @ Q)
        if r > score:
            best, score = Q.T, r
    if best is P:
        return P, ("principal axis 1", "principal axis 2"), \
            f"the principal axes of the targets in $R^{{{d}}}$"
    return best, ("axis 1", "axis 2"), f"a plane of $R^{{{d}}}$ chosen to keep the targets apart"


def _axis_limits(values, keep):
    """(lo, hi, robust?) for one axis: the full range, or when a few far values would
    squash the others (into less than a tenth of the range), the range of the values
    within one width of the shortest interval holding 80% of the distinct values
    (values in ``keep`` always inside)."""
    import numpy as np
    lo, hi = float(values.min()), float(values.max())
    v = np.unique(values)
    n = len(v)
    if n >= 10:
        k = math.ceil(0.8 * n)
        widths = v[k - 1:] - v[:n - k + 1]
        i = int(np.argmin(widths))
        a, b = float(v[i]), float(v[i + k - 1])
        w = b - a
        if w > 0:
            inside = v[(v >= a - w) & (v <= b + w)]
            rlo, rhi = float(inside.min()), float(inside.max())
            if len(keep):
                rlo, rhi = min(rlo, float(keep.min())), max(rhi, float(keep.max()))
            if rhi - rlo < 0.1 * (hi - lo):
                return rlo, rhi, True
    return lo, hi, False


def _empty_corner(points, xlim, ylim, lines):
    """(x, y) in axes fractions of the corner whose note area (about half the width,
    lines * 0.06 of the height) covers the fewest drawn points; the lower left first."""
    import numpy as np
    ax = (points[:, 0] - xlim[0]) / (xlim[1] - xlim[0]) if len(points) else np.zeros(0)
    ay = (points[:, 1] - ylim[0]) / (ylim[1] - ylim[0]) if len(points) else np.zeros(0)
    h = 0.04 + 0.06 * lines
    corners = [(0.02, 0.02), (0.98, 0.02), (0.02, 0.98), (0.98, 0.98)]

    def covered(c):
        xs = ax < 0.55 if c[0] < 0.5 else ax > 0.45
        ys = ay < h if c[1] < 0.5 else ay > 1 - h
        return int(np.sum(xs & ys))
    return min(corners, key=covered)


def _pad(lo, hi):
    w = hi - lo
    if w == 0:
        w = max(abs(lo), 1.0) * 0.2
        return lo - w, hi + w
    return lo - 0.08 * w, hi + 0.08 * w


def _panel_limits(clouds, stars):
    """((xlo, xhi), (ylo, yhi), box, stars?) for the finite points of a panel (one or
    more clouds: the tokens, and with paths the tokens where the phase starts) and
    its targets: the axis limits, the box (x0, x1, y0, y1) inside them that holds
    every point drawn where it is (the others are beyond it; the box is the union
    of the clouds' boxes), and whether the targets are framed too (not when they
    would widen the tokens' frame more than fourfold)."""
    import numpy as np
    clouds = [c for c in clouds if len(c)] or ([stars] if len(stars) else [np.zeros((1, 2))])
    none = np.zeros(0)
    boxes = [(_axis_limits(c[:, 0], none), _axis_limits(c[:, 1], none)) for c in clouds]
    x0, x1 = min(bx[0][0] for bx in boxes), max(bx[0][1] for bx in boxes)
    y0, y1 = min(bx[1][0] for bx in boxes), max(bx[1][1] for bx in boxes)
    framed = True
    if len(stars):
        sx0, sx1 = min(x0, float(stars[:, 0].min())), max(x1, float(stars[:, 0].max()))
        sy0, sy1 = min(y0, float(stars[:, 1].min())), max(y1, float(stars[:, 1].max()))
        framed = (x1 == x0 and y1 == y0) or (sx1 - sx0 <= 4 * (x1 - x0) and sy1 - sy0 <= 4 * (y1 - y0))
        if framed:
            x0, x1, y0, y1 = sx0, sx1, sy0, sy1
    return _pad(x0, x1), _pad(y0, y1), (x0, x1, y0, y1), framed


# ------------------------------------------------------------------ the figure
def figure(source, trajectories=False, coords=None, limits=None, max_sequences=MAX_SEQUENCES,
           progress=None):
    """The picture of a certificate (object, path, :class:`exactseq.Model` or
    :class:`exactseq.Result`) or of a dataset (built first), as a matplotlib
    Figure: one panel for the input and one per phase.
    ``coords``: the two coordinates to draw for d > 2, numbered from 1
    (default: the principal axes of the targets).  ``max_sequences``: how many
    sequences to draw at most (None: all).  ``progress``: called with a short
    text now and then (construction, evaluation)."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D
        from matplotlib.ticker import MaxNLocator, ScalarFormatter
        import numpy as np
    except ImportError:
        raise ImportError(MISSING.removeprefix("exactseq: ")) from None
    from .errors import CertificateError, InputError
    if max_sequences is not None and max_sequences < 1:
        raise PictureError(f"--max-sequences {max_sequences}: must be at least 1")
    say = progress or (lambda text: None)
    model, seqs, classes = _model_data_classes(source, limits, say)
    d = model.dim
    phases = model.phases
    panels = _panels(phases)
    chosen = _select(seqs, max_sequences)
    ends = {0} | {b for _, _, b in panels}
    keep = ends | (set(range(len(phases) + 1)) if trajectories else set())
    try:
        firsts = [_points(model.tokens(seqs[j][1])) for j in chosen]
        goals = [_points(model.tokens(seqs[j][2])) if seqs[j][2] else [] for j in chosen]
    except InputError as exc:
        raise CertificateError(f"malformed certificate: dataset: {exc}") from None

    # colour groups: classes (labelled) or sequences
    if classes is not None:
        names = list(classes)
        group_of = {k: g for g, k in enumerate(names)}
        groups = [group_of[seqs[j][3]] for j in chosen]
        counts = [sum(1 for s in seqs if s[3] == k) for k in names]
    else:
        names = [seqs[j][0] if seqs[j][0] is not None else f"sequence {j}" for j in chosen]
        groups = list(range(len(chosen)))
    colours = _colours(len(names))
    S = len(chosen)
    sizes = [22 + (120 - 22) * (S - 1 - g) / max(S - 1, 1) for g in range(S)] \
        if classes is None and S <= 8 else None

    token_grp = np.array([groups[s] for s, toks in enumerate(firsts) for _ in toks], dtype=int)
    star_pts, star_grp = [], []
    seen = set()
    for s, goal in enumerate(goals):
        for p in goal:
            if (p, groups[s]) not in seen:
                seen.add((p, groups[s]))
                star_pts.append(p)
                star_grp.append(groups[s])
    stars = np.array(star_pts, dtype=float).reshape(-1, d)
    star_grp = np.array(star_grp, dtype=int)
    P, labels, proj = _projection(np.array([p for t in firsts for p in t], dtype=float).reshape(-1, d),
                                  stars, d, coords)

    def project(A):
        with np.errstate(all="ignore"):
            return A @ P.T if len(A) else np.zeros((0, 2))

    # the exact tokens at the ends of the phases; every kept state as projected floats
    states, projected = _evaluate(model, [seqs[j][1] for j in chosen], keep, say, project, ends)
    say("drawing")

    def state(k):
        """The tokens after block k, projected to the plane."""
        if k not in projected:
            projected[k] = project(np.array([p for toks in states[k] for p in _points(toks)],
                                            dtype=float).reshape(-1, d))
        return projected[k]

    stars2 = project(stars)
    ok = np.all(np.isfinite(stars2), axis=1)
    stars2, star_grp = stars2[ok], star_grp[ok]
    n = len(panels)
    ncols = n if n <= 5 else (n + 1) // 2
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(3.5 * ncols, 3.4 * nrows + 1.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    letters = "abcdefghijklmnopqrstuvwxyz"
    rgba = np.array(colours)
    any_far = False
    for p, (ax, (phase, a, b)) in enumerate(zip(axes, panels)):
        blocks = "" if b == 0 else f" (block {a})" if a == b else f" (blocks {a}-{b})"
        ax.set_title(f"({letters[p % 26]}) {phase}{blocks}", fontsize=10)
        now, grp = state(b), token_grp
        fin = np.all(np.isfinite(now), axis=1)
        lost = int((~fin).sum())
        now, grp = now[fin], grp[fin]
        path, clouds = [], [now]
        if trajectories and b > 0:
            for k in range(a - 1, b):       # the tokens that move in block k + 1
                u, v = state(k), state(k + 1)
                moved = np.any(u != v, axis=1) & np.all(np.isfinite(u) & np.isfinite(v), axis=1)
                path += [(u[i], v[i], token_grp[i]) for i in np.flatnonzero(moved)]
            start = state(a - 1)
            clouds.append(start[np.all(np.isfinite(start), axis=1)])
        (xlo, xhi), (ylo, yhi), box, _ = _panel_limits(clouds, stars2)
        if 1 / 3 <= (xhi - xlo) / (yhi - ylo) <= 3:     # comparable spans: true shapes
            w = max(xhi - xlo, yhi - ylo) / 2
            (xlo, xhi), (ylo, yhi) = [(c - w, c + w) for c in ((xlo + xhi) / 2, (ylo + yhi) / 2)]
            ax.set_aspect("equal", adjustable="box")
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(ylo, yhi)
        if path:
            segs = np.array([[s, e] for s, e, _ in path])
            segs[:, :, 0] = np.clip(segs[:, :, 0], xlo, xhi)
            segs[:, :, 1] = np.clip(segs[:, :, 1], ylo, yhi)
            ax.add_collection(LineCollection(segs, colors=rgba[[g for _, _, g in path]], lw=0.8,
                                             alpha=0.5, zorder=1, gid="paths"))
            start = state(a - 1)
            inside = (start[:, 0] >= xlo) & (start[:, 0] <= xhi) & (start[:, 1] >= ylo) & (start[:, 1] <= yhi)
            ax.scatter(start[inside, 0], start[inside, 1], s=12, facecolors="none",
                       edgecolors=rgba[token_grp[inside]], linewidths=0.7, zorder=2, gid="starts")
        # points beyond the robust box are drawn on its edge (inside the frame)
        far = ~((now[:, 0] >= box[0]) & (now[:, 0] <= box[1]) & (now[:, 1] >= box[2])
                & (now[:, 1] <= box[3]))
        near = ~far
        pts, pg = now[near], grp[near]     # in sequence order: later (smaller) dots on top
        count = len(np.unique(now, axis=0)) if len(now) else 0     # distinct positions
        size = [sizes[g] for g in pg] if sizes else 30 if count <= 300 else 14 if count <= 3000 else 6
        ax.scatter(pts[:, 0], pts[:, 1], s=size, c=rgba[pg].reshape(-1, 4), edgecolors="white",
                   linewidths=0.4 if count <= 3000 else 0.2, zorder=4, gid="tokens")
        notes = []
        if count <= len(now) // 2:
            notes.append(f"{len(now)} tokens at {count} point{'s' if count != 1 else ''}")
        if far.any():
            any_far = True
            fp = now[far]
            ax.scatter(np.clip(fp[:, 0], box[0], box[1]), np.clip(fp[:, 1], box[2], box[3]), s=26,
                       marker="D", facecolors="none", edgecolors=rgba[grp[far]], linewidths=0.9, zorder=5,
                       gid="far")
            notes.append(f"{int(far.sum())} beyond the frame, on its edge")
        if lost:
            notes.append(f"{lost} beyond the float range, not drawn")
        shown = (stars2[:, 0] >= xlo) & (stars2[:, 0] <= xhi) & (stars2[:, 1] >= ylo) & \
            (stars2[:, 1] <= yhi)
        if shown.any():
            ax.scatter(stars2[shown, 0], stars2[shown, 1], marker="*", s=200 if len(stars2) <= 50 else 90,
                       facecolors="none", edgecolors=rgba[star_grp[shown]], linewidths=1.2, zorder=6,
                       gid="targets")
        if not shown.all():
            notes.append(f"{int((~shown).sum())} {'class points' if classes is not None else 'targets'} "
                         "beyond the frame")
        if notes:
            drawn = [pts, stars2[shown]] + ([np.clip(now[far], [box[0], box[2]], [box[1], box[3]])]
                                           if far.any() else [])
            cx, cy = _empty_corner(np.vstack(drawn), (xlo, xhi), (ylo, yhi), len(notes))
            ax.text(cx, cy, "\n".join(notes), transform=ax.transAxes, ha="left" if cx < 0.5 else "right",
                    va="bottom" if cy < 0.5 else "top", fontsize=6.5, color="0.25", zorder=7,
                    bbox=dict(fc="white", ec="none", alpha=0.75, pad=1))
        ax.set_xlabel(labels[0], fontsize=9)
        ax.set_ylabel(labels[1], fontsize=9)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
            fmt = ScalarFormatter(useMathText=True)
            fmt.set_powerlimits((-3, 4))
            axis.set_major_formatter(fmt)
            axis.get_offset_text().set_fontsize(7)
        ax.tick_params(labelsize=7.5)
        ax.grid(True, lw=0.3, alpha=0.5)
    for ax in axes[n:]:
        ax.set_visible(False)

    handles = []
    if classes is not None:
        for g, key in enumerate(names[:LEGEND_ENTRIES]):
            handles.append(Line2D([], [], ls="", marker="o", color=colours[g], markeredgecolor="white",
                                  markersize=7, label=f"{key} ({counts[g]})"))
        if len(names) > LEGEND_ENTRIES:
            handles.append(Line2D([], [], ls="", label=f"+{len(names) - LEGEND_ENTRIES} more classes"))
        handles.append(Line2D([], [], ls="", marker="*", markerfacecolor="none", markeredgecolor="black",
                              markersize=12, label="class points"))
    else:
        for g, name in enumerate(names[:LEGEND_ENTRIES]):
            handles.append(Line2D([], [], ls="", marker="o", color=colours[g], markeredgecolor="white",
                                  markersize=7, label=name))
        if len(names) > LEGEND_ENTRIES:
            handles.append(Line2D([], [], ls="", label=f"+{len(names) - LEGEND_ENTRIES} more sequences"))
        handles.append(Line2D([], [], ls="", marker="*", markerfacecolor="none", markeredgecolor="black",
                              markersize=12, label="target tokens"))
    if any_far:
        handles.append(Line2D([], [], ls="", marker="D", markerfacecolor="none", markeredgecolor="black",
                              markersize=6, label="beyond the frame, drawn on its edge"))
    if trajectories:
        handles.append(Line2D([], [], color="gray", lw=0.9, label="path, block by block"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5),
               fontsize=8.5, frameon=False)
    what = "softmax, enclosure centres" if model.attention == "softmax" else model.attention
    lines = [f"exact transformer ({what}, {len(phases)} blocks): tokens after each phase"]
    header = []
    if len(chosen) < len(seqs):
        header.append(f"showing {len(chosen)} of {len(seqs)} sequences"
                     + (" (evenly per class)" if classes is not None else " (evenly spread)"))
    if proj:
        header.append(f"projection onto {proj}")
    if header:
        lines.append("; ".join(header))
    fig.suptitle("\n".join(lines), fontsize=10.5)
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
built first (hardmax, float-safe). Panels: the input, then each phase of the
blocks (separation, leaders, collapse, interpolation; softmax certificates
also show the saturating layer, drawn at the centres of the tokens'
enclosures). Labelled data: one colour per class, the legend counts the
sequences of each class, class points are stars; otherwise one colour per
sequence, targets as stars. At most --max-sequences sequences are drawn
(evenly, per class), and the figure says so. Each panel has its own limits;
a few far points are drawn on the frame's edge and counted. For d > 2 the
picture is a projection: onto the principal axes of the targets, or onto
--coords I,J (numbered from 1).

Needs matplotlib: pip install 'exactseq[plot]'.
Exit status: 0 written, 2 bad input or usage (one line on stderr).
"""
