"""check --max-width W: several hat moves per FF layer, checked claim by claim."""
import copy
import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import proofs_check
from exactseq import certificate
from exactseq.cli import main
from exactseq.construction import build
from exactseq.construction.packing import hats_per_layer
from exactseq.dataset import from_obj, load
from exactseq.strategies import datasets
from helpers import interpolates, plain_eval
from test_sparse import run_both

ROOT = Path(__file__).resolve().parent.parent
FIGURE5 = str(ROOT / "examples/figure5.json")


def cert_of(ds, width):
    cert = json.loads(certificate.dumps(certificate.build(ds, build(ds, max_width=width))))
    cert["max_width"] = width
    return cert


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(max_sequences=4, max_pool=7), st.sampled_from([5, 7, 13]))
def test_packed_certifies_in_fewer_blocks(obj, width):
    ds = from_obj(obj)
    plain = build(ds)
    cons = build(ds, max_width=width)
    assert cons.model.width <= width and cons.unpacked_blocks == len(plain.blocks)
    assert len(cons.blocks) <= len(plain.blocks)
    k = hats_per_layer(width, shift=True)
    for phase in ("leaders", "interpolation"):   # full layers: ceil(moves / k) blocks at most
        assert plain.phase_blocks[phase] == 0 or \
            cons.phase_blocks[phase] <= -(-plain.phase_blocks[phase] // k)
    cert = cert_of(ds, width)
    summary = proofs_check.check(cert)
    assert summary["blocks"] == len(cons.blocks) and summary["width_bound"] == width
    assert summary["width"] <= width
    run_both(cert)          # the sparse evaluation of packed layers equals the dense one


def test_figure5_block_counts(capsys):
    counts = {}
    for width in (4, 7, 13):
        assert main(["check", FIGURE5, "--max-width", str(width), "--json"]) == 0
        r = json.loads(capsys.readouterr().out)
        counts[width] = (r["blocks"], r["phases"], r["width"], r["width_bound"], r["unpacked_blocks"])
    assert counts[4] == (10, {"separation": 1, "leaders": 4, "collapse": 1, "interpolation": 4}, 4, 4, 10)
    assert counts[7] == (6, {"separation": 1, "leaders": 2, "collapse": 1, "interpolation": 2}, 7, 7, 10)
    assert counts[13] == (4, {"separation": 1, "leaders": 1, "collapse": 1, "interpolation": 1}, 13, 13, 10)
    assert main(["check", FIGURE5, "--max-width", "7"]) == 0
    out = capsys.readouterr().out
    assert "FF width     7 (bound 7)" in out
    assert "packing      up to 2 hat moves per layer: 6 blocks for 10 at one move per block" in out


def test_default_width_is_the_unpacked_construction():
    ds = load(FIGURE5)
    a = certificate.build(ds, build(ds))
    b = certificate.build(ds, build(ds, max_width=4))
    assert a["blocks"] == b["blocks"]


def test_verify_packed_certificate(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["check", FIGURE5, "--max-width", "7", "--quiet", "--certificate", str(out)]) == 0
    cert = json.loads(out.read_text())
    assert cert["max_width"] == 7 and cert["bounds"] == {"blocks": 15, "width": 7}
    hats = [sum(c["kind"] == "hat" for c in b["claims"]) for b in cert["blocks"]]
    assert hats == [0, 2, 2, 0, 2, 2]                     # packed layers: two hats each
    assert main(["verify", str(out), FIGURE5]) == 0
    assert capsys.readouterr().out.startswith("VERIFIED: 6 blocks (bound 15), width 7 (bound 7)")
    assert main(["verify", str(out), "--jobs", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["width_bound"] == 7


# ------------------------------------------------------------------ planted faults
def _q(s):
    return Fraction(s)


def _text(q):
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def _tokens_before(cert, k):
    """(sequence, point) of every token entering block k (from 0), densely."""
    head = dict(cert, blocks=cert["blocks"][:k])
    return [(j, tuple(x)) for j, s in enumerate(cert["dataset"]["sequences"])
            for x in plain_eval(head, s["input"])]


def _set_eps(block, i, eps):
    """Widen hat i of an unshifted packed layer to eps, keeping FF(p_i) = y_i."""
    c = block["claims"][i]
    s0 = _q(c["s0"])
    col = [(_q(y) - _q(p)) / eps for y, p in zip(c["target"], c["point"])]
    c["eps"] = _text(eps)
    block["ff"]["b"][3 * i:3 * i + 3] = [_text(eps - s0), _text(-s0), _text(-s0 - eps)]
    for r, w in zip(block["ff"]["W"], col):
        r[3 * i:3 * i + 3] = [_text(w), _text(-2 * w), _text(w)]


def _packed_interpolation(cert):
    k = next(k for k, b in enumerate(cert["blocks"])
             if b["phase"] == "interpolation" and len(b["claims"]) >= 2)
    return k, cert["blocks"][k]


def _proj(c, x):
    return sum(_q(a) * b for a, b in zip(c["v"], x))


def test_overlapping_tubes_holding_another_point_are_rejected():
    cert = cert_of(load(FIGURE5), 7)
    k, blk = _packed_interpolation(cert)
    c0, c1 = blk["claims"][:2]
    s0 = _q(c0["s0"])
    wide = abs(_q(c1["s0"]) - s0) + Fraction(1, 10)      # tube 0 now covers point 1
    _set_eps(blk, 0, wide)
    inside = [j for j, x in _tokens_before(cert, k)
              if abs(_proj(c0, x) - s0) < wide and x != tuple(map(_q, c0["point"]))]
    with pytest.raises(proofs_check.Rejected) as exc:
        proofs_check.check(cert)
    assert str(exc.value) == f"block {k + 1} (interpolation): hat: the tube also holds a token of " \
                             f"sequence {min(inside)}"


def test_overlapping_tubes_holding_only_their_points_are_harmless():
    """Two tubes of one layer that meet where no token lies: each claim still holds
    on the tokens entering the block, and the model still interpolates."""
    cert = cert_of(load(FIGURE5), 7)
    k, blk = _packed_interpolation(cert)
    c0, c1 = blk["claims"][:2]
    s0, s1 = _q(c0["s0"]), _q(c1["s0"])
    others = [abs(_proj(c0, x) - s0) for _, x in _tokens_before(cert, k)
              if x != tuple(map(_q, c0["point"]))]
    room = min(others)                                   # the nearest other token along v
    wide = room * Fraction(99, 100)
    assert wide + _q(c1["eps"]) > abs(s1 - s0)           # the two open tubes meet
    _set_eps(blk, 0, wide)
    assert proofs_check.check(cert)["blocks"] == 6 and interpolates(cert)


def test_width_beyond_the_declared_max_width_is_rejected():
    cert = cert_of(load(FIGURE5), 7)
    for declared in (4, None):
        bad = copy.deepcopy(cert)
        if declared is None:
            del bad["max_width"]                          # the default bound is 4
        else:
            bad["max_width"] = declared
        with pytest.raises(proofs_check.Rejected) as exc:
            proofs_check.check(bad)
        assert str(exc.value) == "bounds: FF width 7 exceeds 4"
    for value, shown in ((3, "3"), ("7", "'7'"), (True, "True"), (7.0, "7.0")):
        bad = dict(cert, max_width=value)
        with pytest.raises(proofs_check.Malformed) as exc:
            proofs_check.check(bad)
        assert str(exc.value) == f"'max_width' must be an integer >= 4, not {shown}"


@pytest.mark.parametrize("argv,msg", [
    (["--max-width", "3"], "--max-width must be an integer >= 4 (a hat move and the shift take 4 units), not 3"),
    (["--max-width", "7", "--attention", "softmax"], "--max-width applies to hardmax only"),
])
def test_bad_max_width_is_exit_2(argv, msg, capsys):
    assert main(["check", FIGURE5, *argv]) == 2
    assert capsys.readouterr().err == f"exactseq: error: {msg}\n"


def test_softmax_and_causal_certificates_read_a_declared_max_width(tmp_path):
    """A declared max_width binds every attention kind: a softmax certificate wider
    than it declares is rejected, a malformed declaration is malformed."""
    import json
    import proofs_check
    from exactseq.cli import main
    out = tmp_path / "sm.json"
    assert main(["check", "examples/figure5.json", "--attention", "softmax", "--tau", "1/100",
                 "--quiet", "--certificate", str(out)]) == 0
    cert = json.loads(out.read_text())
    cert["max_width"] = 4
    with pytest.raises(proofs_check.Rejected, match=r"^bounds: FF width 7 exceeds 4$"):
        proofs_check.check(cert)
    for bad in ("x", [1], 3):
        cert["max_width"] = bad
        with pytest.raises(proofs_check.Malformed, match="'max_width' must be an integer >= 4"):
            proofs_check.check(cert)
    out = tmp_path / "causal.json"
    assert main(["check", "examples/causal.json", "--quiet", "--certificate", str(out)]) == 0
    cert = json.loads(out.read_text())
    cert["max_width"] = [1]
    with pytest.raises(proofs_check.Malformed, match="'max_width' must be an integer >= 4"):
        proofs_check.check(cert)
