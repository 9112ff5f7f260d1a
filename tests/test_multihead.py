"""Several attention heads and weights certificates in exactseq's own world: the exact
model (model.MultiSA), loading a weights certificate, softmax enclosures, the NumPy
float pass, PyTorch, the exports (npz, safetensors, torch, exact json) and the
commands that read a certificate (eval, plot, audit, tikhonov, export)."""
import json
import random
from fractions import Fraction as F

import pytest
from hypothesis import given, settings, strategies as st

from exactseq import certificate
from exactseq import export as ex
from exactseq import weights as wt
from exactseq.cli import main
from exactseq.construction import build
from exactseq.dataset import canonical_hash, from_obj
from exactseq.errors import CertificateError, InputError, NormError
from exactseq.exactmodel import Model
from exactseq.model import SA, MaskedMultiSA, MaskedSA, Mat, MultiSA

np = pytest.importorskip("numpy")
from exactseq import floatpass as fp  # noqa: E402  (needs numpy)

X0 = [[1, 2], [3, -1], [-2, 1]]
# By hand (see two_heads_cert): block 1 (FF identity; rho = 1):
#   head 1, A = e1 e1^T, V = I/2: the keys' maximisers are x_1, x_1, x_2 (0-based 1, 1, 2);
#   head 2, A = [[0,1],[1,0]], V = diag(1,-1): scores x_i2 x_j1 + x_i1 x_j2; token 1 has a
#   tie between keys 0 and 2 (5 = 5), so it gets V of their mean (-1/2, 3/2) = (-1/2, -3/2);
#   z = (1,2)+(3/2,-1/2)+(3,1) = (11/2, 5/2), (3,-1)+(3/2,-1/2)+(-1/2,-3/2) = (4,-3),
#       (-2,1)+(-1,1/2)+(3,1) = (0, 5/2).
# block 2: FF x1 += relu(x1 - 1); SA rho = 1/2, V = 0: (10, 5/2)/2, (7, -3)/2, (0, 5/2)/2.
Y0 = [(F(5), F(5, 4)), (F(7, 2), F(-3, 2)), (F(0), F(5, 4))]
STATE1 = [(F(11, 2), F(5, 2)), (F(4), F(-3)), (F(0), F(5, 2))]


def full(rows):
    return {"kind": "full", "rows": [[str(x) for x in r] for r in rows]}


def weights_cert(blocks, sequences, attention="hardmax", d=2, **extra):
    ds = {"dimension": d, "sequences": sequences}
    return {"format": "exactseq-certificate", "schema_version": 1, "kind": "weights",
            "attention": attention, "field": None, "dataset": ds, "dataset_sha256": canonical_hash(ds),
            "blocks": blocks, **extra}


def texts(points):
    return [[str(c) for c in p] for p in points]


def two_heads_blocks():
    return [
        {"ff": {"eta": "1", "U": [], "b": [], "W": [[], []]},
         "sa": {"rho": "1", "heads": [
             {"A": {"kind": "rank1", "c": "1", "a": ["1", "0"]}, "V": {"kind": "scalar", "c": "1/2"}},
             {"A": full([[0, 1], [1, 0]]), "V": full([[1, 0], [0, -1]])}]}},
        {"ff": {"eta": "1", "U": [["1", "0"]], "b": ["-1"], "W": [["1"], ["0"]]},
         "sa": {"rho": "1/2", "A": {"kind": "zero"}, "V": {"kind": "zero"}}}]


def two_heads_cert():
    return weights_cert(two_heads_blocks(), [{"input": texts(X0), "output": texts(Y0)}])


def one_head_cert():
    """One head, given as "heads" of length 1; its output is the dataset's target (the
    construction checker verifies it too)."""
    blocks = [{"ff": {"eta": "1", "U": [["1", "0"]], "b": ["-1"], "W": [["1"], ["0"]]},
               "sa": {"rho": "1", "heads": [{"A": {"kind": "rank1", "c": "1", "a": ["1", "0"]},
                                             "V": {"kind": "scalar", "c": "1/2"}}]}}]
    # x1 += relu(x1 - 1): (1,2), (5,-1), (-2,1); scores x_i1 x_j1: the first two tokens
    # attend to (5,-1), adding (5/2, -1/2); (-2,1) to itself, adding (-1, 1/2)
    Y = [(F(7, 2), F(3, 2)), (F(15, 2), F(-3, 2)), (F(-3), F(3, 2))]
    return weights_cert(blocks, [{"input": texts(X0), "output": texts(Y)}]), Y


def checker_verdict(cert):
    from proofs_check import report as pcr
    return pcr.run(cert)[0]


def write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return str(p)


# ------------------------------------------------------------------ the exact model
def test_two_heads_by_hand():
    m = Model(two_heads_cert())
    assert m(X0) == Y0
    assert m.trajectory(X0) == [[tuple(map(F, x)) for x in X0], STATE1, Y0]
    assert m.phases == [None, None]
    assert [type(b.sa) for b in m.blocks] == [MultiSA, SA]
    assert all(b.claims == [] for b in m.blocks)
    assert m.certificate["kind"] == "weights"


def test_causal_two_heads_by_hand():
    """Causal: position i sees 0..i in every head.  Position 0: (1,2) + (1/2,1) + (1,-2)
    = (5/2, 1), then block 2: (4, 1)/2."""
    cert = weights_cert(two_heads_blocks(), [{"input": texts(X0), "targets": texts(X0)}], "causal")
    m = Model(cert)
    assert [type(b.sa) for b in m.blocks] == [MaskedMultiSA, MaskedSA]
    # position 1: head 1 keys (1,2),(3,-1): scores 3*1, 3*3 -> (3,-1)/2; head 2: scores
    # 5, -6 -> V(1,2) = (1,-2); (3,-1) + (3/2,-1/2) + (1,-2) = (11/2, -7/2) -> (10, -7/2)/2.
    # position 2 sees every token: as in the unmasked model.
    assert m(X0) == [(F(2), F(1, 2)), (F(5), F(-7, 4)), Y0[2]]


MAT = st.builds(lambda kind, c, a, rows: (Mat("zero") if kind == 0 else Mat("scalar", c) if kind == 1
                                          else Mat("rank1", c, a) if kind == 2 else Mat("full", rows=rows)),
                st.integers(0, 3), st.fractions(-3, 3, max_denominator=4),
                st.tuples(*[st.integers(-2, 2).map(F)] * 2),
                st.tuples(*[st.tuples(*[st.integers(-2, 2).map(F)] * 2)] * 2))
TOKENS = st.lists(st.tuples(*[st.integers(-3, 3).map(F)] * 2), min_size=1, max_size=5, unique=True)


@settings(max_examples=120, deadline=None)
@given(MAT, MAT, MAT, MAT, st.fractions(-2, 2, max_denominator=3), TOKENS)
def test_multi_head_form(A, V, A2, V2, rho, X):
    """One head in the multi-head form is SA; two heads are the sum of their terms."""
    assert MultiSA(rho, ((A, V),)).apply(X) == SA(rho, A, V).apply(X)
    assert MaskedMultiSA(rho, ((A, V),)).apply(X) == MaskedSA(rho, A, V).apply(X)
    both = MultiSA(rho, ((A, V), (A2, V2))).apply(X)
    one, two = SA(rho, A, V).apply(X), SA(F(0), A2, V2).apply(X)
    assert both == [tuple(a + b for a, b in zip(p, q)) for p, q in zip(one, two)]
    assert MultiSA(rho, ((A, V), (A2, V2))).params() == [rho] + A.params() + V.params() + \
        A2.params() + V2.params()


@pytest.mark.parametrize("obj, over_field", [
    ({"dimension": 2, "sequences": [{"input": [[0, 0], [1, 2], ["1/2", 3]], "output": [[1, 1], [0, 2]]},
                                    {"input": [[1, 0], [2, 2]], "output": [[3, 3]]}]}, False),
    ({"dimension": 2, "sequences": [{"input": [[0, 0], ["sqrt(2)", 1]], "output": [[1, 1]]},
                                    {"input": [[1, 0]], "output": [[0, 1]]}]}, True)])
def test_construction_certificate_as_weights_certificate(obj, over_field):
    """A construction certificate rewritten as a weights certificate (no phases, no
    claims, each attention as "heads" of one) is the same function; over a number
    field too."""
    ds = from_obj(obj)
    cons = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
    assert (cons["field"] is not None) == over_field
    w = dict(cons, kind="weights", blocks=[
        {"ff": b["ff"], "sa": {"rho": b["sa"]["rho"], "heads": [{"A": b["sa"]["A"], "V": b["sa"]["V"]}]}}
        for b in cons["blocks"]])
    a, b = Model(cons), Model(w)
    assert b.phases == [None] * len(cons["blocks"]) and None not in a.phases
    assert all(type(blk.sa) is SA for blk in b.blocks)
    for s in obj["sequences"]:
        assert a.trajectory(s["input"]) == b.trajectory(s["input"])
        assert set(b(s["input"])) == set(b.tokens(s["output"]))


@pytest.mark.parametrize("change, message", [
    (lambda c: c["blocks"][0]["sa"].update(A={"kind": "zero"}), "both 'heads' and 'A'/'V'"),
    (lambda c: c["blocks"][0]["sa"].update(heads=[]), "'heads' must be a non-empty list"),
    (lambda c: c["blocks"][0]["sa"].update(heads={"A": 1}), "'heads' must be a non-empty list"),
    (lambda c: c.pop("kind"), "'heads' only in a weights certificate"),
    (lambda c: c.update(kind="lemmas"), "unknown certificate kind 'lemmas'"),
    (lambda c: c["blocks"][1].update(claims=[{"kind": "disjoint"}]), "block 2: a weights certificate has no claims"),
    (lambda c: c["blocks"][0]["sa"]["heads"][1]["A"]["rows"].pop(), "matrix rows: expected a list of 2"),
    (lambda c: c["blocks"][1]["ff"]["W"][0].append("1"), "ff.W row: expected a list of 1"),
    (lambda c: c["blocks"][0]["sa"]["heads"][0].pop("V"), "KeyError: 'V'"),
])
def test_malformed_weights_certificates_are_one_line(change, message):
    cert = two_heads_cert()
    change(cert)
    with pytest.raises(CertificateError) as e:
        Model(cert)
    assert str(e.value).startswith("malformed certificate: ") and message in str(e.value)
    assert "\n" not in str(e.value)
    if "claims" not in message:                   # the float side reads them the same way
        with pytest.raises(InputError) as e2:
            wt.parse(cert)
        assert "\n" not in str(e2.value)


# ------------------------------------------------------------------ softmax enclosures
def test_softmax_two_heads_enclose_the_float_pass():
    cert = dict(two_heads_cert(), attention="softmax", softmax={"tau": "1/4", "order": 64},
                tolerance="1/1000")
    encs = Model(cert)(X0)
    # tokens 0 and 2 have a robust maximiser in each head: the centre is the hardmax output
    assert encs[0].centre == Y0[0] and encs[2].centre == Y0[2]
    assert all(e.radius > 0 for e in encs)
    outs, _ = fp.forward(cert)
    for e, y in zip(encs, outs[0]):
        assert e.contains([F(float(v)) for v in y])
    # a second head whose V is zero changes no enclosure at all
    one = dict(cert, blocks=[{"ff": cert["blocks"][0]["ff"], "sa": {"rho": "1", "heads": [
        cert["blocks"][0]["sa"]["heads"][0]]}}])
    zero = dict(cert, blocks=[{"ff": cert["blocks"][0]["ff"], "sa": {"rho": "1", "heads": [
        cert["blocks"][0]["sa"]["heads"][0], {"A": full([[1, 2], [3, 4]]), "V": {"kind": "zero"}}]}}])
    assert Model(one).trajectory(X0) == Model(zero).trajectory(X0)


# ------------------------------------------------------------------ float passes
def random_dyadic_cert(rng, heads=2, d=2):
    def num():
        return str(F(rng.randint(-4, 4), 2))

    def mat():
        return full([[num() for _ in range(d)] for _ in range(d)])
    blocks = []
    for _ in range(2):
        w = rng.randint(0, 2)
        blocks.append({"ff": {"eta": num(), "U": [[num() for _ in range(d)] for _ in range(w)],
                              "b": [num() for _ in range(w)], "W": [[num() for _ in range(w)] for _ in range(d)]},
                       "sa": {"rho": num(), "heads": [{"A": mat(), "V": mat()} for _ in range(heads)]}})
    seqs = []
    for j in range(3):
        X = list(dict.fromkeys(tuple(rng.randint(-3, 3) for _ in range(d)) for _ in range(4)))
        seqs.append({"input": [[str(c) for c in x] for x in X], "output": [[str(c) for c in X[0]]]})
    return weights_cert(blocks, seqs, d=d)


def dyadic(q, bits=40):
    return q.denominator & (q.denominator - 1) == 0 and q.denominator <= 1 << bits and \
        abs(q.numerator) < 1 << bits


def test_float_passes_agree_with_exact_outputs():
    """The NumPy pass in exact Fractions equals the exact model always; in float64 (and
    torch float64) exactly whenever every exact output is a short dyadic rational."""
    rng = random.Random(7)
    torch_mod = pytest.importorskip("exactseq.torch") if _have_torch() else None
    exact_cases = 0
    for _ in range(25):
        cert = random_dyadic_cert(rng)
        m = Model(cert)
        want = [m(s["input"]) for s in cert["dataset"]["sequences"]]
        got, _ = fp.forward(cert, dtype=object)
        assert [[tuple(r) for r in o.tolist()] for o in got] == want
        if not all(dyadic(c) for Y in want for p in Y for c in p):
            continue
        exact_cases += 1
        f64, _ = fp.forward(cert)
        assert [[tuple(F(v) for v in r) for r in o.tolist()] for o in f64] == want
        if torch_mod is not None:
            import torch
            tm = torch_mod.ExactTransformer.from_certificate(cert)
            assert [b.sa.heads for b in tm.blocks] == [2, 2]
            for s, Y in zip(cert["dataset"]["sequences"], want):
                Z = tm(torch.tensor([[float(F(c)) for c in x] for x in s["input"]], dtype=torch.float64))
                assert [tuple(F(v) for v in r) for r in Z.tolist()] == Y
    assert exact_cases >= 10


def _have_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def test_float_pass_steps_report_one_argmax_per_head():
    cert = two_heads_cert()
    blocks, inputs, _ = fp.convert(cert)
    X = inputs[0][None]
    Y, pattern, argmax = fp.step(blocks[0], X, want=True)
    assert isinstance(argmax, tuple) and len(argmax) == 2
    assert argmax[0][0].tolist() == [[False, True, False], [False, True, False], [False, False, True]]
    assert argmax[1][0].tolist() == [[False, True, False], [True, False, True], [False, True, False]]
    assert [tuple(map(F, r)) for r in Y[0].tolist()] == STATE1
    assert fp.step(blocks[1], Y)[2] is None                   # V = 0: no scores


# ------------------------------------------------------------------ export
EXPECTED_A0 = [[[1, 0], [0, 0]], [[0, 1], [1, 0]]]
EXPECTED_V0 = [[[F(1, 2), 0], [0, F(1, 2)]], [[1, 0], [0, -1]]]


@pytest.mark.parametrize("ext", ["npz", "safetensors", "pt", "json"])
def test_export_round_trip_two_heads(tmp_path, capsys, ext):
    if ext == "safetensors":
        pytest.importorskip("safetensors")
    if ext == "pt" and not _have_torch():
        pytest.skip("torch not installed")
    cert = write(tmp_path, "w.cert.json", two_heads_cert())
    out = str(tmp_path / f"w.{ext}")
    assert main(["export", cert, "-o", out, "--no-verify"]) == 0
    fmt = {"pt": "torch"}.get(ext, ext)
    dtype = "exact" if ext == "json" else "float64"
    assert capsys.readouterr().out == (f"wrote {out}: {fmt}, {dtype}, 2 blocks, up to 2 heads a block, "
                                       f"14 tensors, 33 numbers (hardmax)\n")
    sd, md = ex.read_export(out)
    sd = {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in sd.items()}
    assert set(sd) == {f"blocks.{k}.{n}" for k in range(2) for n in wt.NAMES}
    assert sd["blocks.0.sa.A"].shape == sd["blocks.0.sa.V"].shape == (2, 2, 2)
    assert sd["blocks.1.sa.A"].shape == (2, 2) and sd["blocks.0.ff.U"].shape == (0, 2)
    assert sd["blocks.0.sa.A"].tolist() == EXPECTED_A0 and sd["blocks.0.sa.V"].tolist() == EXPECTED_V0
    assert sd["blocks.1.ff.W"].tolist() == [[1], [0]] and sd["blocks.1.sa.rho"].tolist() == F(1, 2)
    assert md["attention"] == "hardmax" and md["blocks"] == 2
    if ext == "json":
        assert md["dtype"] == "exact"
        assert all(type(x) is F for a in sd.values() for x in np.ravel(a))
    else:
        assert md["heads"] == [2, 1] and md["phases"] == [None, None]
    if _have_torch():
        import torch
        from exactseq.torch import ExactTransformer
        tm = ExactTransformer.load(out)
        assert [b.sa.heads for b in tm.blocks] == [2, 1]
        Z = tm(torch.tensor(X0, dtype=torch.float64))
        assert [tuple(F(v) for v in r) for r in Z.tolist()] == Y0


def test_json_export_is_exact_and_complete(tmp_path, capsys):
    """Every number of the exact JSON file is the exact text of the certificate's weight,
    never rounded: 1/3 stays 1/3, 10^-30 stays 10^-30; softmax gives tau exactly."""
    blocks = two_heads_blocks()
    blocks[1]["sa"] = {"rho": "1/3", "A": {"kind": "rank1", "c": "1/1000000000000000000000000000000",
                                           "a": ["1", "3"]}, "V": {"kind": "scalar", "c": "-7/3"}}
    cert = weights_cert(blocks, [{"input": texts(X0), "output": texts(Y0)}], "softmax",
                        softmax={"tau": "1/7", "order": 64}, tolerance="1/10")
    path = write(tmp_path, "s.cert.json", cert)
    out = tmp_path / "s.json"
    assert main(["export", path, "-o", str(out), "--no-verify", "--dtype", "float32", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    obj = json.loads(out.read_text())
    assert list(obj) == ["format", "version", "dimension", "blocks", "attention", "tau", "weights"]
    assert obj["format"] == "exactseq-weights" and obj["version"] == 1 and obj["dimension"] == 2
    assert obj["blocks"] == 2 and obj["attention"] == "softmax" and obj["tau"] == "1/7"
    w = obj["weights"]
    assert w["blocks.1.sa.rho"] == "1/3"
    e = F(1, 10 ** 30)
    assert w["blocks.1.sa.A"] == [[str(e), str(3 * e)], [str(3 * e), str(9 * e)]]
    assert w["blocks.1.sa.V"] == [["-7/3", "0"], ["0", "-7/3"]]
    assert w["blocks.0.sa.V"] == [[["1/2", "0"], ["0", "1/2"]], [["1", "0"], ["0", "-1"]]]
    assert w["blocks.0.ff.W"] == [[], []] and w["blocks.1.ff.b"] == ["-1"]


def test_json_export_output_modes(tmp_path, capsys):
    """exactseq export CERT -o x.json on a construction certificate that verifies: the
    text line, --json, --quiet."""
    ds = from_obj({"dimension": 2, "sequences": [{"input": [[0, 0], [1, 2]], "output": [[1, 1]]},
                                                 {"input": [[1, 0], [2, 2]], "output": [[3, 3]]}]})
    cert = tmp_path / "c.cert.json"
    cert.write_text(certificate.dumps(certificate.build(ds, build(ds))))
    L = len(json.loads(cert.read_text())["blocks"])
    out = tmp_path / "x.json"
    assert main(["export", str(cert), "-o", str(out)]) == 0
    text, err = capsys.readouterr()
    numbers = sum(ex._count(v) for v in json.loads(out.read_text())["weights"].values())
    assert text == (f"wrote {out}: json, exact, {L} blocks, {7 * L} tensors, {numbers} numbers "
                    "(hardmax); certificate verified\n")
    assert err == ""
    assert main(["export", str(cert), "-o", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["format"] == "json" and r["dtype"] == "exact" and r["verified"] is True
    assert r["float_claim"] is None and r["warning"] is None and r["heads"] == 1
    assert (r["blocks"], r["tensors"], r["numbers"]) == (L, 7 * L, numbers)
    assert (r["overflow"], r["underflow"]) == (0, 0)
    out.unlink()
    assert main(["export", str(cert), "-o", str(out), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "") and out.exists()
    # the exact numbers are the certificate's: read back, each equals the dense exact weight
    sd, _ = ex.read_export(str(out))
    model = wt.load(str(cert))
    for k, a in enumerate(wt.exact_arrays(model)):
        for name in wt.NAMES:
            assert sd[f"blocks.{k}.{name}"].tolist() == (list(map(list, a[name])) if name in
                                                         ("ff.U", "ff.W", "sa.A", "sa.V") else
                                                         list(a[name]) if name == "ff.b" else a[name])


def test_json_export_refuses_a_number_field(tmp_path, capsys):
    ds = from_obj({"dimension": 2, "sequences": [{"input": [[0, 0], ["sqrt(2)", 1]], "output": [[1, 1]]},
                                                 {"input": [[1, 0]], "output": [[0, 1]]}]})
    cert = tmp_path / "f.cert.json"
    cert.write_text(certificate.dumps(certificate.build(ds, build(ds))))
    out = tmp_path / "f.json"
    assert main(["export", str(cert), "-o", str(out), "--no-verify"]) == 2
    o, err = capsys.readouterr()
    assert o == ""
    assert err == (f"exactseq: error: {cert}: not exported: json export needs rational weights; this "
                   "certificate is over a number field (export npz, safetensors or torch)\n")
    assert not out.exists()


# ------------------------------------------------------------------ the other commands
def test_eval_a_weights_certificate(tmp_path, capsys):
    cert = write(tmp_path, "w.cert.json", two_heads_cert())
    inputs = write(tmp_path, "in.json", {"sequences": [{"input": X0, "output": texts(Y0)},
                                                       {"input": [[1, 2], [3, -1]]}]})
    assert main(["eval", cert, inputs]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "sequence 0: 3 tokens -> {(5, 5/4), (7/2, -3/2), (0, 5/4)}; equals the given output"
    # (1,2),(3,-1): head 1 both -> (3,-1)/2; head 2 scores 4, 5 / 5, -6 -> V(3,-1), V(1,2)
    # (1,2)+(3/2,-1/2)+(3,1) = (11/2,5/2) -> (5,5/4); (3,-1)+(3/2,-1/2)+(1,-2) = (11/2,-7/2) -> (5,-7/4)
    assert lines[2] == "sequence 1: 2 tokens -> {(5, 5/4), (5, -7/4)}"


def test_plot_a_weights_certificate(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    cert = write(tmp_path, "w.cert.json", two_heads_cert())
    out = tmp_path / "p.png"
    assert main(["plot", cert, "-o", str(out), "--trajectories", "--quiet"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from exactseq.pictures import _panels
    assert _panels([None, None]) == [("input", 0, 0), ("output", 1, 2)]


def test_audit_a_weights_certificate(tmp_path, capsys):
    one, _ = one_head_cert()
    path = write(tmp_path, "one.cert.json", one)
    assert main(["audit", path, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["interpolates"] is True and r["exact_interpolates"] is True
    assert [b["phase"] for b in r["blocks"]] == ["-"]
    two = write(tmp_path, "two.cert.json", two_heads_cert())
    assert main(["audit", two]) == 2
    o, err = capsys.readouterr()
    assert o == "" and err == (f"exactseq: error: {two}: not audited: a block has several attention "
                               "heads; the audit's exact reference pass (exactseq.rounded) handles one "
                               "head per block\n")


def test_tikhonov_norms_count_every_head():
    from exactseq.tikhonov import parameter_norms, tikhonov_bound
    n = parameter_norms(two_heads_cert())
    # block 1: eta 1, rho 1, A1 (1), V1 (1/2, 1/2), A2 (1, 1), V2 (1, -1): squares 7 + 1/2
    # block 2: eta 1, U (1, 0), b (-1), W (1, 0), rho 1/2, A = V = 0: squares 4 + 1/4
    assert (n["l2_squared"], n["l1"], n["linf"]) == ("47/4", "25/2", "1")
    assert n["entries"] == (2 + 4 * 4) + (2 + 2 + 1 + 2 + 2 * 4)
    tol = dict(two_heads_cert(), tolerance="1/1000")
    with pytest.raises(NormError) as e:
        tikhonov_bound(tol, "1/100")
    assert str(e.value) == ("no bound: the certificate interpolates within a tolerance, not exactly "
                            "(Proposition 2.1 needs a loss of 0 at theta*)")
    assert tikhonov_bound(dict(two_heads_cert(), tolerance="0"), "1/100")["bound"] == "47/400"


def test_commands_that_verify_first(tmp_path, capsys):
    """tikhonov and export (without --no-verify) check the certificate first."""
    one, Y = one_head_cert()
    assert Model(one)(X0) == Y
    if checker_verdict(one) != "verified":
        pytest.skip("needs proofs_check weights kind")
    path = write(tmp_path, "one.cert.json", one)
    assert main(["tikhonov", path, "--eps", "1/100", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    # eta 1, U (1, 0), b -1, W (1, 0), rho 1, A e1 e1^T, V I/2: 1+1+1+1+1+1+1/4+1/4 = 13/2
    assert r["verdict"] == "verified" and r["bound"] == "13/200" and r["entries"] == 15
    out = tmp_path / "one.json"
    assert main(["export", path, "-o", str(out)]) == 0
    assert capsys.readouterr().out.endswith("(hardmax); certificate verified\n")


def test_commands_that_verify_first_two_heads(tmp_path, capsys):
    cert = two_heads_cert()
    if checker_verdict(cert) != "verified":
        pytest.skip("needs proofs_check weights kind")
    path = write(tmp_path, "w.cert.json", cert)
    assert main(["tikhonov", path, "--eps", "1/100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bound"] == "47/400"
    out = tmp_path / "w.json"
    assert main(["export", path, "-o", str(out)]) == 0
    assert capsys.readouterr().out.endswith("(hardmax); certificate verified\n")


def test_json_export_of_numbers_beyond_4300_digits(tmp_path):
    """Exact texts of any length (within --max-digits): Python's int/str guard of 4300
    digits does not cut them (the API in a fresh process, where the guard is at its default)."""
    import subprocess
    import sys
    sys.set_int_max_str_digits(0)           # this process writes and reads the long texts
    big = F(3 ** 12000, 2 ** 15000 + 1)
    blocks = two_heads_blocks()
    blocks[1]["sa"]["rho"] = f"{big.numerator}/{big.denominator}"
    path = write(tmp_path, "big.cert.json", weights_cert(blocks, [{"input": texts(X0), "output": texts(Y0)}]))
    out = tmp_path / "big.json"
    code = ("import sys; from exactseq.export import export_file; "
            "export_file(sys.argv[1], sys.argv[2], verify=False)")  # the API: no CLI set-up
    r = subprocess.run([sys.executable, "-c", code, path, str(out)], capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (0, "")
    sd, _ = ex.read_export(str(out))
    assert sd["blocks.1.sa.rho"].tolist() == big and len(str(big.numerator)) > 5000
