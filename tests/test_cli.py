"""The command line end to end: check, --json, certificates, verify, python -m proofs_check."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exactseq import certificate
from exactseq.cli import main
from exactseq.construction import build
from exactseq.dataset import load

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.json"))
GOOD = str(ROOT / "tests/data/figure5.cert.json")
BAD = str(ROOT / "tests/data/figure5.bad.cert.json")


@pytest.mark.parametrize("path", EXAMPLES)
def test_examples_certify_with_json(path, capsys):
    assert main(["check", path, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["verdict"] == "certified"
    assert rep["blocks"] <= rep["block_bound"] and rep["width"] <= rep["width_bound"] == 4
    assert rep["parameters"] > 0 and all(s["verdict"] == "certified" for s in rep["sequences"])
    assert len(rep["sequences"]) == rep["dataset"]["N"]


def test_text_report_and_quiet(capsys):
    path = str(ROOT / "examples/figure5.json")
    assert main(["check", path]) == 0
    out = capsys.readouterr().out
    assert "blocks       10 (bound 2 sum m + 2N + 1 = 15): separation 1, leaders 4, collapse 1, " \
           "interpolation 4" in out
    assert out.rstrip().splitlines()[-2].startswith("verdict      CERTIFIED")
    assert main(["check", path, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_certificate_is_written_atomically_and_verifies(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["check", str(ROOT / "examples/circle.json"), "--certificate", str(out), "--quiet"]) == 0
    assert os.listdir(tmp_path) == ["c.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    cert = json.loads(out.read_text())
    assert cert["format"] == "exactseq-certificate" and cert["schema_version"] == 1
    assert cert["verdict"] == "certified" and cert["field"]["atoms"]
    assert out.read_text() == certificate.dumps(cert)          # canonical: sorted keys
    assert main(["verify", str(out), str(ROOT / "examples/circle.json")]) == 0
    assert capsys.readouterr().out.startswith("VERIFIED")


def test_unwritable_certificate_path_is_exit_2(capsys):
    assert main(["check", str(ROOT / "examples/figure5.json"), "--certificate",
                 "/nonexistent/dir/c.json", "--quiet"]) == 2
    assert "cannot write certificate" in capsys.readouterr().err


def test_known_good_and_known_bad_certificates(capsys):
    assert main(["verify", GOOD]) == 0
    assert main(["verify", BAD]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == \
        "REJECTED: block 10 (interpolation): hat: the layer does not send the point to its target"
    for path, status in ((GOOD, 0), (BAD, 1)):
        r = subprocess.run([sys.executable, "-m", "proofs_check", path], capture_output=True, text=True)
        assert r.returncode == status


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.pop("blocks"), "malformed certificate: blocks: expected a JSON list"),
    (lambda c: c.update(schema_version=99), "unknown schema_version 99"),
    (lambda c: c.update(format="other"), "not an exactseq certificate (missing or wrong 'format')"),
    (lambda c: c["blocks"][0]["ff"].update(eta=1.5),
     "malformed certificate: block 1 (separation) ff.eta: expected a rational \"p\" or \"p/q\", got 1.5"),
    (lambda c: c["blocks"][0]["ff"].update(eta="0.5"),
     "malformed certificate: block 1 (separation) ff.eta: expected a rational \"p\" or \"p/q\", got '0.5'"),
    (lambda c: c["blocks"][0]["sa"].update(A={"kind": "weird"}),
     "malformed certificate: block 1 (separation) sa.A: unknown matrix kind 'weird'"),
    (lambda c: c["blocks"][1]["claims"][0].update(kind="magic"),
     "malformed certificate: block 2 (leaders): unknown claim kind 'magic'"),
    (lambda c: c["blocks"][1]["claims"][0].update(kind="saturate"),
     "malformed certificate: block 2 (leaders): claim 'saturate' is not checked in hardmax mode"),
    (lambda c: c["dataset"]["sequences"][0].update(name="changed"),
     "'dataset_sha256' does not match the embedded dataset"),
])
def test_malformed_certificates_exit_2(tmp_path, capsys, edit, message):
    cert = json.loads(Path(GOOD).read_text())
    edit(cert)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(cert))
    assert main(["verify", str(p)]) == 2
    assert capsys.readouterr().err == f"exactseq: error: {p}: {message}\n"


def test_dataset_mismatch_exit_2(capsys):
    assert main(["verify", GOOD, str(ROOT / "examples/masked.json")]) == 2
    assert "dataset does not match the certificate (SHA-256 differs)" in capsys.readouterr().err


def _roundtrip(ds):
    cons = build(ds)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons)))
    again = certificate.load_model(cert)
    assert again.blocks == cons.model.blocks
    return cert


@pytest.mark.parametrize("path", EXAMPLES)
def test_roundtrip_examples(path):
    _roundtrip(load(path))


def test_roundtrip_huge_integers(tmp_path):
    big = 7 ** 6000                                    # > 4300 decimal digits
    p = tmp_path / "big.json"
    p.write_text('{"sequences": [{"input": [[%d, 1], [0, 0]], "output": [[1, "1/%d"]]},'
                 '{"input": [[0, 0]], "output": [[2, 2]]}]}' % (big, big))
    cert = _roundtrip(load(str(p)))
    assert str(big) in json.dumps(cert)
    assert main(["check", str(p), "--quiet"]) == 0


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        certificate.write_atomic(str(tmp_path / "c.json"), "{}")
    assert os.listdir(tmp_path) == []
