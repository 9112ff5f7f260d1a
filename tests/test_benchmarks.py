"""The benchmark families, the float forward pass and the bench.py table."""
import json
import math
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import families  # noqa: E402
from exactseq import certificate  # noqa: E402
from exactseq.construction import build  # noqa: E402
from exactseq.dataset import from_obj, load  # noqa: E402
import proofs_check  # noqa: E402

SMALL = {
    "generic": lambda seed: families.generic(6, 3, 7, 3, 2, seed),
    "decimals": lambda seed: families.decimals(8, 6, 3, 2, 0.5, seed),
    "dyadic": lambda seed: families.dyadic(6, 3, 7, 3, 2, bits=12, overlap=0.3, seed=seed),
    "algebraic": lambda seed: families.algebraic(4, 5, 2, 2, seed),
}


def certified(obj):
    ds = from_obj(obj)
    cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
    proofs_check.check(cert)
    return ds, cert


@pytest.mark.parametrize("family", sorted(SMALL))
def test_family_yields_a_valid_deterministic_dataset(family):
    for seed in range(3):
        obj = SMALL[family](seed)
        assert obj == SMALL[family](seed)
        ds = from_obj(json.loads(json.dumps(obj)))
        families.validate(obj)
        assert ds.N == len(obj["sequences"]) and ds.dim == obj["dimension"]
        for s in obj["sequences"]:
            assert all(isinstance(c, str) for t in s["input"] + s["output"] for c in t)
            assert 1 <= len(s["output"]) <= len(s["input"])
    assert SMALL[family](0) != SMALL[family](1)


def test_family_coordinates_look_as_documented():
    g = families.generic(4, 5, 5, 3, 2, 0)
    dens = {Fraction(c).denominator for s in g["sequences"] for t in s["input"] for c in t}
    assert len(dens) > 20 and max(dens) < 2 ** 23
    nums = [abs(Fraction(c).numerator) for s in g["sequences"] for t in s["input"] for c in t]
    assert max(nums) >= 2 ** 36

    dec = families.decimals(5, 10, 3, 2, 0.3, 0)
    coords = [c for s in dec["sequences"] for t in s["input"] + s["output"] for c in t]
    assert all(re.fullmatch(r"-?\d+\.\d+", c) for c in coords)
    assert all(len(c.replace("-", "").replace(".", "").lstrip("0")) == 6 for c in coords)
    for prev, cur in zip(dec["sequences"], dec["sequences"][1:]):
        shared = {tuple(t) for t in prev["input"]} & {tuple(t) for t in cur["input"]}
        assert len(shared) == 3  # 30% of 10 tokens copied from the previous input
        assert not {tuple(t) for t in cur["output"]} & {tuple(t) for t in cur["input"]}

    dy = families.dyadic(3, 4, 4, 2, 1, bits=40)
    assert all(c.endswith("/1099511627776") for s in dy["sequences"] for t in s["input"] for c in t)

    ds = from_obj(families.algebraic(10, 20, 4, 2, 0))
    assert ds.field is not None and ds.field.k <= 8


def test_decimals_overlap_needs_separation():
    _, cert = certified(families.decimals(4, 5, 2, 1, 0.4, 0))
    assert any(b["phase"] == "separation" for b in cert["blocks"])


def test_text_to_float_and_theta():
    np = pytest.importorskip("numpy")  # noqa: F841
    import floatpass
    assert floatpass.text_to_float("(1+sqrt(5))/2") == pytest.approx((1 + 5 ** 0.5) / 2)
    assert floatpass.text_to_float("-3/4*sqrt(3)") == pytest.approx(-0.75 * 3 ** 0.5)
    assert floatpass.text_to_float("2^(1/3)") == pytest.approx(2 ** (1 / 3))
    assert floatpass.text_to_float("-0.125") == -0.125 and floatpass.text_to_float(7) == 7.0
    theta = floatpass.theta_of({"minpoly": ["-2", "0", "1"], "interval": ["1", "2"]})
    assert abs(float(theta) - 2 ** 0.5) < 1e-15
    # a reducible polynomial, (x^2 - 2)^2 (x - 3): the square-free part is bisected
    p = [-12, 4, 12, -4, -3, 1]  # (x^4 - 4x^2 + 4)(x - 3), lowest degree first
    theta = floatpass.theta_of({"minpoly": [str(c) for c in p], "interval": ["1", "2"]})
    assert abs(float(theta) - 2 ** 0.5) < 1e-15


@pytest.mark.parametrize("name", ["figure5.json", "masked.json", "circle.json"])
def test_forward_reproduces_certified_outputs(name):
    np = pytest.importorskip("numpy")
    import floatpass
    ds = load(str(ROOT / "examples" / name))
    cons = build(ds)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    proofs_check.check(cert)
    outputs, err = floatpass.forward(cert)
    assert err < 1e-9
    assert all(o.dtype == np.float64 and o.shape == (len(p.input), ds.dim)
               for o, p in zip(outputs, ds.pairs))
    if ds.field is None:  # token by token against the exact evaluator of exactseq.model
        for o, p in zip(outputs, ds.pairs):
            exact = cons.model.evaluate(p.input)
            assert np.abs(o - np.array(exact, dtype=float)).max() < 1e-9
        exact_out, exact_err = floatpass.forward(cert, dtype=object)
        assert exact_err == 0.0
        for o, p in zip(exact_out, ds.pairs):
            assert [tuple(r) for r in o.tolist()] == [tuple(x) for x in cons.model.evaluate(p.input)]


def test_forward_on_generated_families():
    """With exact numbers (dtype=object) the same pass reproduces every target of
    overlapping rational data (separation blocks included); in floats it is run,
    timed and measured, however far its outputs drift."""
    pytest.importorskip("numpy")
    import floatpass
    for family in ("decimals", "dyadic"):
        _, cert = certified(SMALL[family](0))
        assert any(b["phase"] == "separation" for b in cert["blocks"])
        assert floatpass.forward(cert, dtype=object)[1] == 0.0
    for family in ("decimals", "algebraic"):
        _, cert = certified(SMALL[family](0))
        outputs, err = floatpass.forward(cert)
        assert err >= 0 and len(outputs) == len(cert["dataset"]["sequences"])
        r = floatpass.timed(cert, repeats=2)
        assert r["runs"] == 2 and r["seconds"] > 0 and r["error"] == err


def test_bench_figure5_json():
    pytest.importorskip("numpy")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--rows", "figure5",
                           "--json", "--timeout", "120"], capture_output=True, text=True, timeout=180,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 1
    r = rows[0]
    assert r["row"] == "figure5" and r["done"] and not r["timed_out"] and r["error"] is None
    assert (r["N"], r["tokens"], r["d"], r["blocks"]) == (3, 11, 2, 10)
    for k in ("construct", "check", "end_to_end", "verify", "float64", "check_over_float64",
              "e2e_over_float64", "rss_mb"):
        assert isinstance(r[k], float) and r[k] > 0 and math.isfinite(r[k]), k
    assert r["float_err"] < 1e-9


def test_bench_table_marks_a_timeout():
    import bench
    r = {"row": "x", "family": "generic", "N": 1, "tokens": 2, "d": 2, "m": "1", "blocks": 3,
         "load": 0.1, "construct": 0.5, "certificate": 0.2, "float64": 0.01, "verify": 1.0,
         "end_to_end": 1.8, "at": 100.0, "timed_out": True, "timeout": 5, "rss_mb": 10.0,
         "error": None}
    bench.with_ratios(r, 104.0)
    assert r["lower_bounds"] == pytest.approx({"check": 4.0, "check_over_float64": 400.0})
    cells = [c.strip() for c in bench.table([r]).splitlines()[2].split("|")]
    assert cells[5:16] == ["3", "0.50", ">5", "1.80", ">5", "1.00", "0.01", ">400", "100", "180", "?"]
