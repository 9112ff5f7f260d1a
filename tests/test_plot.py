"""``exactseq plot`` and exactseq.pictures.figure: the tokens after each phase."""
import json
import os
import random
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("matplotlib")

import numpy as np
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from matplotlib.colors import to_rgba

from exactseq import api, pictures
from exactseq.cli import main
from exactseq.cli import plot as plot_cmd
from exactseq.model import FF, SA, Block, Mat, ZERO

ROOT = Path(__file__).resolve().parent.parent
FIG5 = str(ROOT / "examples/figure5.json")
CIRCLE = str(ROOT / "examples/circle.json")
MASKED = str(ROOT / "examples/masked.json")
CLASSES = str(ROOT / "examples/classification.json")
CAUSAL = str(ROOT / "examples/causal.json")


def panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def drawn_colours(ax):
    out = set()
    for c in ax.collections:
        for arr in (c.get_facecolors(), c.get_edgecolors()):
            out |= {tuple(round(float(v), 4) for v in rgba) for rgba in arr}
    for line in ax.get_lines():
        out.add(tuple(round(float(v), 4) for v in to_rgba(line.get_color())))
    return out


def phase_groups(phases):
    return sum(1 for k, p in enumerate(phases) if k == 0 or phases[k - 1] != p)


def legend_texts(fig):
    return [t.get_text() for t in fig.legends[0].get_texts()]


def collection(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    return found[0] if found else None


def labelled_dataset(N=200, d=4, n=5, K=3, seed=5, classes=None):
    """N labelled sequences of n tokens in K clusters (sequence j has class j mod K)."""
    rng = random.Random(seed)
    centres = [[rng.randint(-20, 20) for _ in range(d)] for _ in range(K)]
    seqs = []
    for j in range(N):
        k = j % K
        toks = set()
        while len(toks) < n:
            toks.add(tuple(c + rng.randint(-6, 6) for c in centres[k]))
        seqs.append({"name": f"s{j}", "input": [list(t) for t in sorted(toks)], "label": f"c{k}"})
    out = {"dimension": d, "sequences": seqs}
    if classes is not None:
        out["classes"] = classes
    return out


@pytest.fixture(scope="module")
def labelled_model():
    return api.build(labelled_dataset())


# ------------------------------------------------------------------ panels and colours
@pytest.mark.parametrize("path", [FIG5, CIRCLE, MASKED])
def test_one_panel_per_phase_and_every_colour(path):
    fig = pictures.figure(path, trajectories=True)
    model, seqs = pictures._model_and_data(path)
    axes = panels(fig)
    assert len(axes) == 1 + phase_groups(model.phases)
    phases = model.phases
    want = ["input"] + [p for k, p in enumerate(phases) if k == 0 or phases[k - 1] != p]
    assert [ax.get_title().split(" ", 1)[1].split(" (")[0] for ax in axes] == want
    colours = pictures._colours(len(seqs))
    for ax in axes:
        seen = drawn_colours(ax)
        for col in colours:
            assert tuple(round(float(v), 4) for v in col) in seen
        if model.dim == 2:
            assert (ax.get_xlabel(), ax.get_ylabel()) == ("$x_{1}$", "$x_{2}$")
        else:
            assert (ax.get_xlabel(), ax.get_ylabel()) == ("principal axis 1", "principal axis 2")


def test_projection_for_d3_is_named():
    fig = pictures.figure(MASKED)
    ax = panels(fig)[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("principal axis 1", "principal axis 2")
    assert "projection onto the principal axes of the targets in $R^{3}$" in fig.get_suptitle()
    fig = pictures.figure(MASKED, coords=(2, 3))
    assert (panels(fig)[0].get_xlabel(), panels(fig)[0].get_ylabel()) == ("$x_{2}$", "$x_{3}$")
    assert "the coordinates $(x_{2}, x_{3})$ of $R^{3}$" in fig.get_suptitle()
    with pytest.raises(pictures.PictureError):
        pictures.figure(MASKED, coords=(1, 4))


def test_softmax_certificate_has_a_saturate_panel(tmp_path):
    cert = tmp_path / "s.json"
    assert main(["check", FIG5, "--attention", "softmax", "--quiet", "--certificate", str(cert)]) == 0
    fig = pictures.figure(str(cert))
    titles = [ax.get_title() for ax in panels(fig)]
    assert any("saturate" in t for t in titles) and len(titles) == 6


# ------------------------------------------------------------------ exact evaluation
def reference(model, inputs, keep):
    runs = [model.trajectory(X) for X in inputs]
    return {k: [r[k] for r in runs] for k in keep}


@pytest.mark.parametrize("path", [FIG5, CIRCLE, MASKED, CLASSES, CAUSAL])
def test_evaluation_equals_the_exact_trajectory(path, tmp_path):
    model, seqs = pictures._model_and_data(path)
    keep = set(range(len(model.blocks) + 1))
    inputs = [X for _, X, _ in seqs]
    states, floats = pictures._evaluate(model, inputs, keep)
    assert states == reference(model, inputs, keep)
    for k, arr in floats.items():
        assert arr.tolist() == [[float(c) for c in t] for s in states[k] for t in s]


def test_evaluation_of_the_paper_construction_with_separation(labelled_model):
    data = labelled_dataset(N=12, n=4, seed=9)
    for s in data["sequences"][6:]:      # overlapping sequences: separation blocks attend
        s["input"] = s["input"][:2] + data["sequences"][0]["input"][:2]
    model = api.build(data, paper=True)
    assert any(not b.sa.V.is_zero() and b.sa.A.kind == "rank1" for b in model.blocks)
    inputs = [s["input"] for s in data["sequences"]]
    keep = set(range(len(model.blocks) + 1))
    assert pictures._evaluate(model, inputs, keep)[0] == reference(model, inputs, keep)


def test_evaluation_of_packed_wide_layers():
    """Forty hat moves in one layer of width 121: activation patterns of 121 units."""
    data = {"dimension": 2, "sequences": [
        {"input": [[j, 0], [j, 1], [j, 2]], "output": [[j, 3]]} for j in range(40)]}
    model = api.build(data, max_width=300)
    assert max(b.ff.width for b in model.blocks) > 62
    inputs = [s["input"] for s in data["sequences"]]
    keep = set(range(len(model.blocks) + 1))
    assert pictures._evaluate(model, inputs, keep)[0] == reference(model, inputs, keep)


def fake_model(blocks, d):
    return SimpleNamespace(blocks=blocks, dim=d)


def test_float_filter_defers_to_exact_hat_edges():
    """Tokens 1e-30 inside and outside a hat's tube, one beyond the float range:
    the filter cannot tell, so the exact layer decides."""
    from exactseq.construction.common import hat_ff
    one, tiny = Fraction(1), Fraction(1, 10 ** 30)
    ff = hat_ff((one, Fraction(0)), Fraction(0), one, (Fraction(0), Fraction(0)), (Fraction(5), Fraction(5)))
    blk = Block(ff, SA(one, ZERO, ZERO), "interpolation")
    X = [(one - tiny, Fraction(0)), (one + tiny, Fraction(2)), (-one + tiny, Fraction(3)),
         (Fraction(10) ** 400, Fraction(1)), (Fraction(0), Fraction(0)), (Fraction(1, 3), Fraction(4))]
    states, floats = pictures._run_hardmax(fake_model([blk], 2), [X], {0, 1}, lambda t: None)
    out = states[1][0]
    assert out == blk.apply(X)
    assert out[0] == (one - tiny + 5 * tiny, 5 * tiny)          # moved by 5e-30
    assert out[2] == (-one + 6 * tiny, Fraction(3) + 5 * tiny)
    assert out[1] == X[1] and out[3] == X[3] and out[4] == (5, 5)
    assert out[5] == (Fraction(1, 3) + 5 * Fraction(2, 3), 4 + 5 * Fraction(2, 3))
    assert floats[1][3][0] == np.inf


def test_float_filter_survives_underflow():
    """Coordinates 2e-400 (0.0 as floats) under weights 1e300: the token sits in the
    middle of a hat's tube, so it moves, although its float activations say "off"."""
    from exactseq.construction.common import hat_ff
    e = Fraction(1, 10 ** 100)
    big, tiny = Fraction(10) ** 300, Fraction(1, 10 ** 400)
    ff = hat_ff((big, Fraction(0)), 2 * e, e, (2 * tiny, Fraction(0)), (Fraction(7), Fraction(1)))
    blk = Block(ff, SA(Fraction(1), ZERO, ZERO), "interpolation")
    X = [(2 * tiny, Fraction(0)), (9 * tiny, Fraction(0)), (Fraction(1), Fraction(1))]
    states, _ = pictures._run_hardmax(fake_model([blk], 2), [X], {1}, lambda t: None)
    assert states[1][0] == blk.apply(X) == [(7, 1), X[1], X[2]]


def test_float_filter_defers_to_exact_near_ties():
    """Leader attention whose scores differ by 1e-60 or tie exactly."""
    one, tiny = Fraction(1), Fraction(1, 10 ** 30)
    sa = SA(one, Mat("rank1", one, (one, Fraction(0))), Mat("scalar", one))
    blk = Block(FF(one, (), (), ((), ())), sa, "separation")
    X = [(one, Fraction(0)), (one + tiny, Fraction(5)), (one + tiny, Fraction(7)), (Fraction(-3), one)]
    Y = [(one, Fraction(0)), (one + tiny * tiny, Fraction(1))]
    states, _ = pictures._run_hardmax(fake_model([blk], 2), [X, Y], {1}, lambda t: None)
    assert states[1] == [blk.apply(X), blk.apply(Y)]
    assert states[1][0][0] == (2 + tiny, Fraction(6))              # the mean of two tied leaders
    assert states[1][1][0] == (2 + tiny * tiny, Fraction(1))       # 1e-60 decides the leader
    collapse = Block(FF(one, (), (), ((), ())), SA(Fraction(0), Mat("scalar", one), Mat("scalar", one)),
                     "collapse")
    states, _ = pictures._run_hardmax(fake_model([collapse], 2), [X, Y], {1}, lambda t: None)
    assert states[1] == [collapse.apply(X), collapse.apply(Y)]


tokens2 = st.tuples(st.integers(-2, 2), st.integers(-2, 2))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(tokens2, min_size=1, max_size=4, unique=True), min_size=2, max_size=4),
       st.lists(tokens2, min_size=4, max_size=4), st.booleans())
def test_evaluation_equals_the_exact_trajectory_on_random_data(inputs, outputs, paper):
    assume(len({frozenset(x) for x in inputs}) == len(inputs))
    data = {"dimension": 2, "sequences": [{"input": [list(t) for t in x], "output": [list(y)]}
                                          for x, y in zip(inputs, outputs)]}
    model = api.build(data, paper=paper)
    keep = set(range(len(model.blocks) + 1))
    X = [[list(t) for t in x] for x in inputs]
    assert pictures._evaluate(model, X, keep)[0] == reference(model, X, keep)


# ------------------------------------------------------------------ labelled data, many sequences
def test_labelled_data_class_legend_cap_and_limits(labelled_model):
    calls = []
    fig = pictures.figure(labelled_model, max_sequences=60, progress=calls.append)
    axes = panels(fig)
    assert len(axes) == 1 + phase_groups(labelled_model.phases)
    assert legend_texts(fig) == ["c0 (67)", "c1 (67)", "c2 (66)", "class points"]
    assert "showing 60 of 200 sequences (evenly per class)" in fig.get_suptitle()
    L = len(labelled_model.blocks)
    assert f"evaluating block {L}/{L}" in calls
    # 60 sequences of 5 tokens in every panel: drawn where they are or on the frame's edge
    for ax in axes:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        drawn = [c for c in ax.collections if c.get_gid() in ("tokens", "far")]
        assert sum(len(c.get_offsets()) for c in drawn) == 300
        for c in ax.collections:
            xy = np.asarray(c.get_offsets())
            assert np.all((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)), \
                ax.get_title()
    # one colour per class, the class points as stars of that colour
    colours = [tuple(c) for c in pictures._colours(3)]
    stars = collection(axes[-1], "targets")
    assert sorted(map(tuple, stars.get_edgecolors())) == sorted(colours)
    assert sorted(map(tuple, stars.get_offsets())) == [(1, 0), (2, 0), (3, 0)]
    assert {tuple(c) for c in collection(axes[0], "tokens").get_facecolors()} == set(colours)


def test_unlabelled_legend_is_capped():
    data = {"dimension": 2, "sequences": [
        {"name": f"q{j}", "input": [[j, 0], [j, 1]], "output": [[j, 2]]} for j in range(30)]}
    fig = pictures.figure(data)
    assert legend_texts(fig) == [f"q{j}" for j in range(12)] + ["+18 more sequences", "target tokens"]
    assert "showing" not in fig.get_suptitle()
    assert len(collection(panels(fig)[0], "tokens").get_offsets()) == 60


def test_selection_is_even_within_each_class():
    seqs = [(None, [], [], k) for k in ["a"] * 150 + ["b"] * 45 + ["c"] * 5]
    chosen = pictures._select(seqs, 20)
    assert len(chosen) == 20 == len(set(chosen)) and chosen == sorted(chosen)
    assert [sum(1 for j in chosen if seqs[j][3] == k) for k in "abc"] == [15, 4, 1]
    assert pictures._select(seqs, 500) == list(range(200))
    plain = [(None, [], [], None)] * 10
    assert pictures._select(plain, 4) == [0, 2, 5, 7]


def test_projection_keeps_class_points_apart():
    """Class points that the targets' principal axes would bring together (three near
    the origin, two far on x3 and x4): the projection still keeps all five apart."""
    classes = {"c0": [0, 0, 0, 0], "c1": [1, 0, 0, 0], "c2": [0, 1, 0, 0],
               "c3": [0, 0, 40, 0], "c4": [0, 0, 0, 40]}
    data = labelled_dataset(N=25, d=4, n=3, K=5, seed=2, classes=classes)
    fig = pictures.figure(data)
    assert "projection onto a plane of $R^{4}$ chosen to keep the targets apart" in fig.get_suptitle()
    P = collection(panels(fig)[-1], "targets").get_offsets()
    assert len(P) == 5
    D = np.sqrt(((P[:, None, :] - P[None, :, :]) ** 2).sum(-1))
    assert D[np.triu_indices(5, 1)].min() > 0.02 * D.max()
    # chosen class points (k, 0, 0, 0) lie on a line: the second axis comes from the tokens
    fig = pictures.figure(labelled_dataset(N=30, d=4, n=3, K=3, seed=3))
    P = collection(panels(fig)[-1], "targets").get_offsets()
    assert sorted(np.round(P[:, 0], 9)) == [1, 2, 3]
    assert np.ptp(collection(panels(fig)[0], "tokens").get_offsets()[:, 1]) > 1


# ------------------------------------------------------------------ axes
def overlapping_labels(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bad = []
    for ax in panels(fig):
        boxes = []
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for tick in axis.get_major_ticks():
                lab = tick.label1
                if lab.get_visible() and lab.get_text() and min(lo, hi) <= tick.get_loc() <= max(lo, hi):
                    boxes.append((lab.get_text(), lab.get_window_extent(renderer)))
            off = axis.get_offset_text()
            if off.get_text():
                boxes.append((off.get_text(), off.get_window_extent(renderer)))
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if boxes[i][1].overlaps(boxes[j][1]):
                    bad.append((ax.get_title(), boxes[i][0], boxes[j][0]))
    return bad


def test_tick_labels_do_not_overlap_near_5e5():
    rng = random.Random(1)
    seqs = []
    for j in range(12):
        toks = {(500000 + rng.randint(0, 400), 500000 + rng.randint(0, 400)) for _ in range(4)}
        seqs.append({"input": [list(t) for t in toks],
                     "output": [[rng.randint(-300000, 500000), rng.randint(-300000, 500000)]]})
    fig = pictures.figure({"dimension": 2, "sequences": seqs})
    assert overlapping_labels(fig) == []
    first, last = panels(fig)[0], panels(fig)[-1]
    x0, x1 = first.get_xlim()
    assert 499900 < x0 < x1 < 500500                      # the input tokens' own frame
    assert "10^{5}" in first.xaxis.get_offset_text().get_text()    # 10^5 said once, apart
    x0, x1 = last.get_xlim()
    assert x1 - x0 > 4e5                                  # the targets' frame, up to 5e5
    shown = [re.sub(r"\$|\\mathdefault|[{}]", "", t.get_text()) for ax in (first, last)
             for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert shown and all(len(t) <= 5 for t in shown), shown
    # d = 6, coordinates up to 3e5 in both signs (drawn as 6-digit labels, these ran together)
    def point():
        return [rng.randint(-300000, 300000) for _ in range(6)]
    data = {"dimension": 6, "sequences": [{"input": [point() for _ in range(5)], "output": [point()]}
                                          for _ in range(10)]}
    assert overlapping_labels(pictures.figure(data)) == []


def test_far_points_are_drawn_on_the_edge_and_counted():
    vals = np.concatenate([np.linspace(0, 1, 50), [1e6, 2e6]])
    lo, hi, robust = pictures._axis_limits(vals, np.zeros(0))
    assert (lo, hi, robust) == (0.0, 1.0, True)
    assert pictures._axis_limits(np.linspace(0, 1, 50), np.zeros(0)) == (0.0, 1.0, False)
    # 40 sequences near the origin and one token at 10^9: it goes on the frame's edge
    data = {"dimension": 2, "sequences": [
        {"input": [[j, 0], [j, 1], [j, 2]], "output": [[j, 3]]} for j in range(40)]}
    data["sequences"][7]["input"][1] = [10 ** 9, 1]
    fig = pictures.figure(data)
    ax = panels(fig)[0]
    far = collection(ax, "far")
    assert [t.get_text() for t in ax.texts] == ["1 beyond the frame, on its edge"]
    x0, x1 = ax.get_xlim()
    assert x0 < 0 and 39 < x1 < 100                       # the frame holds the others
    assert far.get_offsets().tolist() == [[39, 1]]        # on its right edge, at its height
    assert len(collection(ax, "tokens").get_offsets()) == 119
    assert "beyond the frame, drawn on its edge" in legend_texts(fig)


# ------------------------------------------------------------------ the command
@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_plot_command_writes_atomically(tmp_path, capsys, ext):
    out = tmp_path / f"fig.{ext}"
    argv = ["plot", FIG5, "-o", str(out)] + (["--trajectories"] if ext == "png" else [])
    assert main(argv) == 0
    assert capsys.readouterr() == ("", "")
    assert out.stat().st_size > 1000 and os.listdir(tmp_path) == [f"fig.{ext}"]
    head = out.read_bytes()[:8]
    assert head.startswith({"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}[ext])


def test_plot_from_a_certificate(tmp_path, capsys):
    cert = tmp_path / "c.json"
    assert main(["check", MASKED, "--quiet", "--certificate", str(cert)]) == 0
    assert main(["plot", str(cert), "-o", str(tmp_path / "m.png"), "--coords", "1,2"]) == 0
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_plot_labelled_certificate_and_options(tmp_path, capsys):
    cert = tmp_path / "c.json"
    assert main(["check", CLASSES, "--quiet", "--certificate", str(cert)]) == 0
    fig = pictures.figure(str(cert), max_sequences=2)
    assert legend_texts(fig) == ["circle (3)", "square (2)", "class points"]
    assert "showing 2 of 5 sequences (evenly per class)" in fig.get_suptitle()
    for argv in (["--max-sequences", "all"], ["--max-sequences", "3", "--quiet"]):
        assert main(["plot", str(cert), "-o", str(tmp_path / "c.png")] + argv) == 0
    assert capsys.readouterr() == ("", "")


def test_plot_one_line_errors(tmp_path, capsys):
    cases = [
        (["plot", FIG5, "-o", str(tmp_path / "x.gif")], "unknown picture format"),
        (["plot", FIG5, "-o", str(tmp_path / "no/dir/x.png")], "no directory"),
        (["plot", MASKED, "-o", str(tmp_path / "x.png"), "--coords", "1,1"], "--coords"),
        (["plot", MASKED, "-o", str(tmp_path / "x.png"), "--coords", "a"], "--coords"),
        (["plot", FIG5, "-o", str(tmp_path / "x.png"), "--max-sequences", "0"], "--max-sequences"),
        (["plot", FIG5, "-o", str(tmp_path / "x.png"), "--max-sequences", "many"], "--max-sequences"),
        (["plot", str(tmp_path / "missing.json"), "-o", str(tmp_path / "x.png")], "missing.json"),
    ]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sequences": [{"input": [[0, 0], [0, 0]], "output": [[1, 1]]}]}))
    cases.append((["plot", str(bad), "-o", str(tmp_path / "x.png")], "bad.json"))
    cert = tmp_path / "c.json"
    assert main(["check", CLASSES, "--quiet", "--certificate", str(cert)]) == 0
    obj = json.loads(cert.read_text())
    obj["dataset"]["sequences"][1]["label"] = [1]         # a hostile label, classes not a dict
    obj["dataset"]["classes"] = "x"
    fig = pictures.figure(obj)                            # the object is not checked: unlabelled
    assert legend_texts(fig)[:2] == ["a", "b"] and legend_texts(fig)[-1] == "target tokens"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(obj))
    cases.append((["plot", str(hostile), "-o", str(tmp_path / "x.png")], "hostile.json"))
    del obj["dataset"]["sequences"][0]["input"]
    noinput = tmp_path / "noinput.json"
    noinput.write_text(json.dumps(obj))
    cases.append((["plot", str(noinput), "-o", str(tmp_path / "x.png")], "noinput.json"))
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
    assert sorted(os.listdir(tmp_path)) == ["bad.json", "c.json", "hostile.json", "noinput.json"]


def test_progress_waits_then_speaks():
    said = []
    plot_cmd._delayed(said.append, after=3600)("early")
    plot_cmd._delayed(said.append, after=0)("now")
    assert said == ["now"]


def test_missing_matplotlib_is_one_line(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from exactseq.cli import main\n"
            f"sys.exit(main(['plot', {FIG5!r}, '-o', {str(tmp_path / 'x.png')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr == "exactseq: error: plot needs matplotlib: pip install 'exactseq[plot]'\n"
