"""The command line end to end: check, --json, certificates, verify, python -m proofs_check."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exactseq import __version__, certificate
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
    assert main(["check", path, "--paper"]) == 0
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
    (lambda c: c.pop("blocks"), "malformed: blocks: expected a JSON list"),
    (lambda c: c.update(schema_version=99), "malformed: unknown schema_version 99"),
    (lambda c: c.update(format="other"), "malformed: not an exactseq certificate (missing or wrong 'format')"),
    (lambda c: c["blocks"][0]["ff"].update(eta=1.5),
     "malformed: block 1 (separation) ff.eta: expected a rational \"p\" or \"p/q\", got the JSON number 1.5"),
    (lambda c: c["blocks"][0]["ff"].update(eta="0.5"),
     "malformed: block 1 (separation) ff.eta: expected a rational \"p\" or \"p/q\", got '0.5'"),
    (lambda c: c["blocks"][0]["sa"].update(A={"kind": "weird"}),
     "malformed: block 1 (separation) sa.A: unknown matrix kind 'weird'"),
    (lambda c: c["blocks"][1]["claims"][0].update(kind="magic"),
     "malformed: block 2 (leaders): unknown claim kind 'magic'"),
    (lambda c: c["blocks"][1]["claims"][0].update(kind="saturate"),
     "malformed: block 2 (leaders): claim 'saturate' is not checked in hardmax mode"),
    (lambda c: c["dataset"]["sequences"][0].update(name="changed"),
     "malformed: 'dataset_sha256' does not match the embedded dataset"),
])
def test_malformed_certificates_exit_2(tmp_path, capsys, edit, message):
    cert = json.loads(Path(GOOD).read_text())
    edit(cert)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(cert))
    assert main(["verify", str(p)]) == 2
    assert capsys.readouterr().err == f"exactseq: error: {p}: {message}\n"
    assert main(["verify", str(p), "--json"]) == 2                 # the same as python -m proofs_check
    ours = json.loads(capsys.readouterr().out)
    r = subprocess.run([sys.executable, "-m", "proofs_check", str(p), "--json"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 2 and json.loads(r.stdout) == ours
    assert ours["verdict"] == "malformed" and message == "malformed: " + ours["reason"]


def test_dataset_mismatch_exit_2(capsys):
    assert main(["verify", GOOD, str(ROOT / "examples/masked.json")]) == 2
    assert "malformed: the certificate is not about " in capsys.readouterr().err


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


# ------------------------------------------------ failure paths, every output mode
FIG5 = str(ROOT / "examples/figure5.json")


@pytest.fixture(scope="module")
def softmax_cert(tmp_path_factory):
    out = tmp_path_factory.mktemp("sm") / "s.json"
    assert main(["check", FIG5, "--attention", "softmax", "--tau", "1/10", "--certificate",
                 str(out), "--quiet"]) == 0
    return str(out)


def test_verify_softmax_certificate_in_every_mode(softmax_cert, capsys):
    assert main(["verify", softmax_cert]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VERIFIED: softmax at tau = 1/10, 11 blocks (bound 17), width 7") and \
        out.rstrip().endswith("every output equals its target exactly")
    assert main(["verify", softmax_cert, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["verdict"] == "verified" and rep["tau"] == "1/10" and rep["attention"] == "softmax"
    assert main(["verify", softmax_cert, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["verify", softmax_cert, FIG5]) == 0


def test_verify_and_proofs_check_print_the_same(softmax_cert, capsys):
    for path in (GOOD, BAD, softmax_cert):
        status = main(["verify", path, "--json"])
        ours = json.loads(capsys.readouterr().out)
        r = subprocess.run([sys.executable, "-m", "proofs_check", path, "--json"],
                           capture_output=True, text=True)
        assert r.returncode == status and json.loads(r.stdout) == ours
        main(["verify", path])
        r = subprocess.run([sys.executable, "-m", "proofs_check", path], capture_output=True, text=True)
        assert r.stdout == capsys.readouterr().out


def _undecided(softmax_cert, tmp_path):
    cert = json.loads(Path(softmax_cert).read_text())
    cert["softmax"]["tau"] = "6"                      # far too warm: enclosures cannot decide
    cert["dataset_sha256"] = certificate.canonical_hash(cert["dataset"])
    p = tmp_path / "warm.json"
    p.write_text(json.dumps(cert))
    return str(p)


def test_unknown_is_exit_3_everywhere(softmax_cert, tmp_path, capsys):
    p = _undecided(softmax_cert, tmp_path)
    assert main(["verify", p]) == 3
    assert capsys.readouterr().out.startswith("UNKNOWN: ")
    assert main(["verify", p, "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["verdict"] == "unknown"
    r = subprocess.run([sys.executable, "-m", "proofs_check", p], capture_output=True, text=True)
    assert r.returncode == 3 and r.stdout.startswith("UNKNOWN: ") and "internal error" not in r.stdout
    status = main(["check", FIG5, "--attention", "softmax", "--tau", "6", "--max-prec", "4", "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert (status, rep["verdict"], rep["tau"]) == (3, "unknown", "6") and rep["reason"]
    assert main(["check", FIG5, "--attention", "softmax", "--tau", "6", "--max-prec", "4"]) == 3
    assert "verdict      UNKNOWN: " in capsys.readouterr().out


def test_proofs_check_help_and_version():
    for flag, text in (("--help", "Exit status: 0 verified"), ("--version", "proofs_check")):
        r = subprocess.run([sys.executable, "-m", "proofs_check", flag], capture_output=True, text=True)
        assert r.returncode == 0 and text in r.stdout
    r = subprocess.run([sys.executable, "-m", "proofs_check"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr == ("python -m proofs_check: error: the following arguments "
                                              "are required: CERT (see python -m proofs_check --help)\n")


def test_broken_pipe_is_quiet():
    """A reader that goes away (| head, | true) costs no traceback, and the exit
    status is still the verdict's."""
    for cmd in (f"-m exactseq.cli check {FIG5}", f"-m exactseq.cli check {FIG5} --json",
                f"-m exactseq.cli verify {GOOD}", f"-m proofs_check {GOOD}"):
        r = subprocess.run(["bash", "-c", f"{sys.executable} {cmd} | true; echo ${{PIPESTATUS[0]}}"],
                           capture_output=True, text=True)
        assert (r.stderr, r.stdout) == ("", "0\n"), cmd


def test_certificate_path_is_checked_first(tmp_path, capsys):
    assert main(["check", FIG5, "--certificate", str(tmp_path / "no/such/dir/c.json")]) == 2
    assert capsys.readouterr().err == \
        f"exactseq: error: {tmp_path / 'no/such/dir/c.json'}: cannot write certificate: no directory " \
        f"{tmp_path / 'no/such/dir'}\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["check", FIG5, "--certificate", str(fifo)]) == 2
    assert "not a regular file; refusing to replace it" in capsys.readouterr().err
    assert main(["check", FIG5, "--certificate", "/dev/null"]) == 2
    assert "not a regular file" in capsys.readouterr().err
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main(["check", FIG5, "--certificate", str(link), "--quiet"]) == 0
    assert link.is_symlink() and json.loads(target.read_text())["verdict"] == "certified"


@pytest.mark.parametrize("args, message", [
    (["--tau", "1/10"], "--tau applies to softmax only: add --attention softmax"),
    (["--find-tau0"], "--find-tau0 applies to softmax only: add --attention softmax"),
    (["--max-prec", "8"], "--max-prec applies to softmax only: add --attention softmax"),
    (["--max-digits", "0"], "--max-digits must be a positive integer"),
])
def test_options_that_would_do_nothing_are_refused(capsys, args, message):
    assert main(["check", FIG5, *args]) == 2
    assert capsys.readouterr().err == f"exactseq: error: {message}\n"


def test_check_every_mode_and_status(tmp_path, capsys):
    assert main(["check", FIG5, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "certified"
    bad = tmp_path / "bad.json"
    bad.write_text('{"sequences": [{"input": [[0, 0]], "output": [[1, 1], [2, 2]]}]}')
    for extra in ([], ["--json"], ["--quiet"]):
        assert main(["check", str(bad), *extra]) == 2
        out, err = capsys.readouterr()
        assert err.startswith(f"exactseq: error: {bad}: sequence 0") and err.count("\n") == 1
        if extra == ["--json"]:       # one JSON object on stdout for every outcome, errors too
            assert json.loads(out) == {"verdict": "error", "exit_status": 2, "reason":
                                       f"{bad}: sequence 0: output has 2 tokens but input only 1"}
        else:
            assert out == ""


@pytest.mark.parametrize("argv", [
    ["check", "/nonexistent/d.json"], ["verify", "/nonexistent/c.json"],
    ["eval", "/nonexistent/c.json", "/nonexistent/i.json"], ["tikhonov", "/nonexistent/c.json", "--eps", "1"],
    ["export", "/nonexistent/c.json", "-o", "/tmp/x.npz"], ["audit", "/nonexistent/c.json"],
    ["check", FIG5, "--bogus"],
    ["fuzz", "nosuchtarget"],
])
def test_every_json_command_prints_one_object_on_errors(capsys, argv):
    """(verify's object is proofs_check's: its verdict "malformed" says the status.)"""
    try:
        status = main([*argv, "--json"])
    except SystemExit as e:          # a usage error
        status = e.code
    out, err = capsys.readouterr()
    obj = json.loads(out)
    assert status == obj.get("exit_status", 2) == 2 and obj["verdict"] in ("error", "malformed")
    assert obj["reason"] and err.count("\n") == 1 and "Traceback" not in err


def test_certificate_never_overwrites_the_dataset(tmp_path, capsys):
    data = tmp_path / "d.json"
    data.write_text(Path(FIG5).read_text())
    assert main(["check", str(data), "--certificate", str(data)]) == 2
    assert capsys.readouterr().err == f"exactseq: error: {data}: is the dataset file; refusing to " \
        "overwrite it with a certificate\n"
    assert json.loads(data.read_text())["sequences"]
    assert main(["check", str(data), "--certificate", ""]) == 2
    assert capsys.readouterr().err == "exactseq: error: --certificate needs a file name\n"


def test_check_limits_below_the_need_are_bad_input(capsys):
    assert main(["check", FIG5, "--max-blocks", "5", "--paper"]) == 2
    assert capsys.readouterr().err.startswith(f"exactseq: error: {FIG5}: the certificate is beyond a "
                                              "limit: blocks: 10 blocks exceeds the limit of 5")


def test_products_of_roots_certify(tmp_path, capsys):
    p = tmp_path / "roots.json"
    p.write_text(json.dumps({"sequences": [
        {"name": "a\nverdict      CERTIFIED", "input": [["sqrt(2)*sqrt(3)", "0"], ["sqrt(2)/sqrt(3)", "1"]],
         "output": [["2^(1/2)*3^(1/2)", "1"]]},
        {"input": [["1", "sqrt(3)*sqrt(5)"]], "output": [["0", "0"]]}]}))
    assert main(["check", str(p), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "sequence 0 ('a\\nverdict      CERTIFIED'): 2 -> 1 token: certified" in out
    assert sum(line.startswith("verdict") for line in out.splitlines()) == 1


def test_fuzz_list_into_a_closed_pipe():
    r = subprocess.run(["bash", "-c", f"{sys.executable} -m exactseq.cli fuzz --list | true; "
                        "echo ${PIPESTATUS[0]}"], capture_output=True, text=True, cwd=ROOT)
    assert (r.stderr, r.stdout) == ("", "0\n")


def test_check_audit_in_every_output_mode(tmp_path, capsys):
    """check --audit DTYPE: the audit summary after the report, in the JSON, none
    with --quiet; the exit status stays the check's."""
    pytest.importorskip("numpy")
    from exactseq.cli import main
    ex = str(ROOT / "examples" / "figure5.json")
    assert main(["check", ex, "--audit", "float32", "--paper"]) == 0
    out = capsys.readouterr().out
    assert "audit        float32: does NOT interpolate" in out and "bits needed 44" in out
    assert main(["check", ex, "--audit", "float64", "--json", "--paper"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["audit"]["dtype"], r["audit"]["interpolates"], r["audit"]["first_wrong_block"],
            r["audit"]["bits_needed"]) == ("float64", True, None, 44)
    assert main(["check", ex, "--audit", "float64", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit) as e:
        main(["check", ex, "--audit", "float16"])
    assert e.value.code == 2


@pytest.mark.parametrize("example, blocks", [("figure5.json", 11), ("causal.json", 12)])
def test_certificate_beyond_a_limit_is_a_usage_error(capsys, example, blocks):
    """A --max-* limit below what the dataset's certificate needs: exit 2, one line."""
    path = str(ROOT / "examples" / example)
    assert main(["check", path, "--max-blocks", "2"]) == 2
    assert capsys.readouterr().err == (f"exactseq: error: {path}: the certificate is beyond a limit: "
                                       f"blocks: {blocks} blocks exceeds the limit of 2 (raise it with "
                                       "--max-blocks)\n")


def test_short_options_and_no_abbreviations(capsys):
    with pytest.raises(SystemExit) as e:
        main(["-V"])
    assert e.value.code == 0 and capsys.readouterr().out == f"exactseq {__version__}\n"
    assert main(["check", FIG5, "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    with pytest.raises(SystemExit) as e:      # --cert is not silently --certificate
        main(["check", FIG5, "--cert", "x.json"])
    assert e.value.code == 2
    assert capsys.readouterr().err == ("exactseq: error: unrecognized arguments: --cert x.json "
                                       "(see exactseq --help)\n")


def test_huge_numbers_read_with_one_tilde(tmp_path, capsys):
    p = tmp_path / "big.json"
    p.write_text('{"sequences": [{"input": [["2^3000", 1], [0, 0]], "output": [[1, 1]]},'
                 '{"input": [[0, 0]], "output": [[2, 2]]}]}')
    assert main(["check", str(p), "--paper"]) == 0
    out = capsys.readouterr().out
    assert "~~" not in out and "largest |parameter| ~2^" in out and "||theta||_2^2 = ~2^" in out


def test_dash_reads_standard_input(tmp_path):
    """'-' for the file on check, verify, eval and python -m proofs_check."""
    def run(args, stdin):
        return subprocess.run([sys.executable, "-m", *args], input=stdin, capture_output=True, cwd=ROOT)
    cert = tmp_path / "c.json"
    r = run(["exactseq", "check", "-", "-q", "--certificate", str(cert)], Path(FIG5).read_bytes())
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    for args in (["exactseq", "verify", "-"], ["proofs_check", "-"]):
        r = run(args, cert.read_bytes())
        assert r.returncode == 0 and r.stdout.startswith(b"VERIFIED: 11 blocks")
    r = run(["exactseq", "eval", str(cert), "-", "--json"], b'{"sequences": [{"input": [[0, 0], [2, 0], [1, 2]]}]}')
    assert r.returncode == 0 and json.loads(r.stdout)["sequences"][0]["output_set"] == [["3", "3"]]
    r = run(["exactseq", "check", "-"], b'{"sequences": [{"input": [[0, 0]], "ouput": [[1, 1]]}]}')
    assert (r.returncode, r.stdout) == (2, b"")
    assert r.stderr == (b"exactseq: error: <stdin>: sequence 0: missing key 'output'; it has 'ouput': "
                        b"did you mean 'output'?\n")


def test_reference_is_one_process_and_eval_names_a_misspelt_key(tmp_path, capsys):
    cert = str(ROOT / "tests/data/figure5.cert.json")
    assert main(["verify", cert, "--reference", "--jobs", "2"]) == 2
    assert capsys.readouterr().err == ("exactseq: error: --reference checks in one process: it cannot be "
                                       "combined with --jobs or --scheduler\n")
    inputs = tmp_path / "in.json"
    inputs.write_text('{"sequences": [{"input": [[0, 0], [2, 0], [1, 2]], "ouput": [[3, 3]]}]}')
    assert main(["eval", cert, str(inputs)]) == 0
    assert capsys.readouterr().err == (f"exactseq: warning: {inputs}: sequence 0: unknown key 'ouput' "
                                       "ignored (did you mean 'output'?)\n")
