"""``exactseq plot`` and exactseq.pictures.figure: the tokens after each phase."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import to_rgba

from exactseq import pictures
from exactseq.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIG5 = str(ROOT / "examples/figure5.json")
CIRCLE = str(ROOT / "examples/circle.json")
MASKED = str(ROOT / "examples/masked.json")


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
        assert ax.get_xlabel().startswith("$x_") and ax.get_ylabel().startswith("$x_")


def test_projection_for_d3_is_named():
    fig = pictures.figure(MASKED)
    ax = panels(fig)[0]
    labels = (ax.get_xlabel(), ax.get_ylabel())
    assert labels[0] != labels[1] and "projection" in fig.get_suptitle()
    fig = pictures.figure(MASKED, coords=(2, 3))
    assert (panels(fig)[0].get_xlabel(), panels(fig)[0].get_ylabel()) == ("$x_{2}$", "$x_{3}$")
    with pytest.raises(pictures.PictureError):
        pictures.figure(MASKED, coords=(1, 4))


def test_softmax_certificate_has_a_saturate_panel(tmp_path):
    cert = tmp_path / "s.json"
    assert main(["check", FIG5, "--attention", "softmax", "--quiet", "--certificate", str(cert)]) == 0
    fig = pictures.figure(str(cert))
    titles = [ax.get_title() for ax in panels(fig)]
    assert any("saturate" in t for t in titles) and len(titles) == 6


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


def test_plot_one_line_errors(tmp_path, capsys):
    cases = [
        (["plot", FIG5, "-o", str(tmp_path / "x.gif")], "unknown picture format"),
        (["plot", FIG5, "-o", str(tmp_path / "no/dir/x.png")], "no directory"),
        (["plot", MASKED, "-o", str(tmp_path / "x.png"), "--coords", "1,1"], "--coords"),
        (["plot", MASKED, "-o", str(tmp_path / "x.png"), "--coords", "a"], "--coords"),
        (["plot", str(tmp_path / "missing.json"), "-o", str(tmp_path / "x.png")], "missing.json"),
    ]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sequences": [{"input": [[0, 0], [0, 0]], "output": [[1, 1]]}]}))
    cases.append((["plot", str(bad), "-o", str(tmp_path / "x.png")], "bad.json"))
    for argv, needle in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
    assert sorted(os.listdir(tmp_path)) == ["bad.json"]


def test_missing_matplotlib_is_one_line(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from exactseq.cli import main\n"
            f"sys.exit(main(['plot', {FIG5!r}, '-o', {str(tmp_path / 'x.png')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert r.stderr == "exactseq: plot needs matplotlib: pip install 'exactseq[plot]'\n"
