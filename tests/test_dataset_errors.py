"""Every bad input: one exact line on stderr, exit status 2, no traceback."""
import json
import subprocess
import sys

import pytest

import exactseq
from exactseq.cli import main


def _file(tmp_path, text, name="d.json"):
    p = tmp_path / name
    p.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(p)


def S(*pairs, **top):
    obj = {"sequences": [dict(zip(("input", "output"), p)) if len(p) == 2 else
                         {"name": p[2], "input": p[0], "output": p[1]} for p in pairs]}
    obj.update(top)
    return obj


CASES = [
    ('{"sequences": [', "invalid JSON at line 1 column 16: Expecting value"),
    ('{"sequences": [{"input": [[1,2]], "output": [[1,2]]}],}',
     "invalid JSON at line 1 column 55: Expecting property name enclosed in double quotes"),
    ({"seqs": []}, "missing key 'sequences'; it has 'seqs': did you mean 'sequences'?"),
    ({"data": []}, "missing key 'sequences'"),
    ({"sequences": [{"input": [[1, 2]], "ouput": [[1, 2]]}]},
     "sequence 0: missing key 'output'; it has 'ouput': did you mean 'output'?"),
    ([1, 2], "the top level must be a JSON object with a 'sequences' list"),
    ({"sequences": []}, "the dataset is empty (no sequences)"),
    ({"sequences": [{"input": [[1, 2]]}]}, "sequence 0: missing key 'output'"),
    (S(([], [[1, 2]])), "sequence 0: input is empty"),
    (S(([[1, 2]], [])), "sequence 0: output is empty"),
    (S(([[1]], [[1]])), "sequence 0, input token 0: dimension 1 is below 2"),
    (S(([[1, 2], [1, 2, 3]], [[1, 2]])), "sequence 0, input token 1: has 3 coordinates, expected 2"),
    (S(([[1, 2]], [[1, 2]]), dimension=3), "sequence 0, input token 0: has 2 coordinates, expected 3"),
    (S(([[1, 2], [3, "nan"]], [[1, 2]], "s")),
     "sequence 0 ('s'), input token 1, coordinate 1: 'nan' is not a number"),
    (S(([[1, 2], [3, "inf"]], [[1, 2]])), "sequence 0, input token 1, coordinate 1: 'inf' is not a number"),
    (S(([[1, 2], [3, "abc"]], [[1, 2]])), "sequence 0, input token 1, coordinate 1: 'abc' is not a number"),
    (S(([[1, 2], [3, True]], [[1, 2]])), "sequence 0, input token 1, coordinate 1: true is not a number"),
    (S(([[1, 2], [3, None]], [[1, 2]])), "sequence 0, input token 1, coordinate 1: null is not a number"),
    (S(([[1, 2]], [[1, "x"]])), "sequence 0, output token 0, coordinate 1: 'x' is not a number"),
    ('{"sequences": [{"input": [[1, NaN]], "output": [[1, 2]]}]}', "invalid JSON: NaN is not a number"),
    (S(([[1, 2], [3, 4]], [[1, 2]]), ([[3, 4], [1, 2]], [[1, 2]], "b")),
     "sequence 0 and sequence 1 ('b') have the same input set (assumption 1.3 i); their outputs "
     "agree too, but a transformer needs distinct inputs"),
    (S(([[1, 2], [3, 4]], [[1, 2]]), ([[3, 4], [1, 2]], [[0, 0]])),
     "sequence 0 and sequence 1 have the same input set (assumption 1.3 i)"),
    (S(([[1, 2], [3, 4], ["1/1", "2.0"]], [[1, 2]])),
     "sequence 0: input tokens 0 and 2 are equal (assumption 1.3 ii)"),
    (S(([[1, 2], [3, 4], [5, 6]], [[1, 2], [1, 2]])),
     "sequence 0: output tokens 0 and 1 are equal (assumption 1.3 ii)"),
    (S(([[1, 2]], [[1, 2], [3, 4]])), "sequence 0: output has 2 tokens but input only 1"),
    (S(([[1, 2], ["2^1000000000", 0]], [[1, 2]], "s")), "sequence 0 ('s'), input token 1, coordinate 0: "
     "an exponent of 1000000000 exceeds the limit of 10000 (raise it with --max-exponent)"),
    ('{"sequences": [{"input": [[1, 2], [%s, 0]], "output": [[1, 2]]}]}' % ("9" * 100001),
     "sequence 0, input token 1, coordinate 0: an integer of 100001 digits exceeds the limit of "
     "100000 (raise it with --max-digits)"),
]


@pytest.mark.parametrize("content, message", CASES)
def test_bad_input_message_and_status(tmp_path, capsys, content, message):
    path = _file(tmp_path, content)
    assert main(["check", path]) == 2
    err = capsys.readouterr().err
    assert err == f"exactseq: error: {path}: {message}\n"


def test_missing_file(capsys):
    assert main(["check", "/nonexistent/x.json"]) == 2
    assert capsys.readouterr().err == \
        "exactseq: error: /nonexistent/x.json: cannot read: No such file or directory\n"


def test_usage_error_exits_2():
    r = subprocess.run([sys.executable, "-m", "exactseq.cli", "check"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_no_traceback_in_a_real_process(tmp_path):
    path = _file(tmp_path, S(([[1, 2], [3, "abc"]], [[1, 2]])))
    r = subprocess.run([sys.executable, "-m", "exactseq.cli", "check", path],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stdout == "" and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_unknown_keys_are_warned_about_on_stderr(tmp_path, capsys):
    path = _file(tmp_path, S(([[1, 2], [3, 4]], [[1, 2]]), dimesion=2))
    assert main(["check", path, "--json"]) == 0
    assert capsys.readouterr().err == (f"exactseq: warning: {path}: unknown top-level key "
                                       "'dimesion' ignored (did you mean 'dimension'?)\n")
    assert main(["check", path, "--quiet"]) == 0          # --quiet: nothing at all
    assert capsys.readouterr() == ("", "")
    path = _file(tmp_path, S(([[1, 2], [3, 4]], [[1, 2]]), comment="x"))
    assert main(["check", path, "--json"]) == 0
    assert capsys.readouterr().err == (f"exactseq: warning: {path}: unknown top-level key "
                                       "'comment' ignored (known keys: classes, dimension, sequences)\n")


def test_python_m_exactseq_is_the_command():
    r = subprocess.run([sys.executable, "-m", "exactseq", "--version"], capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"exactseq {exactseq.__version__}\n", "")
