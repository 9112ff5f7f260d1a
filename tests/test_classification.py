"""Classification: labels instead of outputs, class points given or chosen, shared
leaders, the report in every output mode, and each bad input's one line."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import proofs_check
from exactseq import classification
from exactseq.cli import main
from exactseq.dataset import DatasetError, canonical_obj, from_obj

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples/classification.json")

# Four disjoint sequences, two labels, no classes: chosen points (2, 0) and (3, 0)
# ((1, 0) is an input token).  No separation; leaders 4 moves, collapse 1,
# interpolation one move per class.
HAND = {"sequences": [
    {"name": "p", "input": [[1, 0], [1, 1]], "label": "x"},
    {"name": "q", "input": [[2, 1], [2, 2], [3, 1]], "label": "y"},
    {"name": "r", "input": [[4, 4]], "label": "x"},
    {"name": "s", "input": [[5, 1], [6, 2]], "label": "y"}]}


def _file(tmp_path, obj, name="d.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def _json(capsys, *argv):
    status = main(["check", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_chosen_classes_and_exact_blocks(tmp_path, capsys):
    path = _file(tmp_path, HAND)
    status, r = _json(capsys, path, "--paper")
    assert status == 0 and r["verdict"] == "certified"
    assert r["blocks"] == 7 and r["phases"] == {"separation": 0, "leaders": 4, "collapse": 1,
                                                 "interpolation": 2}
    c = r["classification"]
    assert c["K"] == 2 and c["classes_chosen"] and c["bound_v1"] == 17 == r["block_bound"]
    assert c["bound_construction"] == 3 * 4 + 2 - 1 and c["saved_blocks"] == 2
    assert [(k["label"], k["point"], k["sequences"], k["verdict"]) for k in c["classes"]] == [
        ("x", ["2", "0"], [0, 2], "certified"), ("y", ["3", "0"], [1, 3], "certified")]
    # with two hats per layer: leaders 2, interpolation 1, and one block saved by sharing
    status, r = _json(capsys, path, "--max-width", "7")
    assert status == 0 and r["blocks"] == 4 and r["width"] == 7
    assert r["classification"]["saved_blocks"] == 1 and r["unpacked_blocks"] == 7


def test_user_classes_text_json_quiet(tmp_path, capsys):
    assert main(["check", EXAMPLE, "--paper"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("exactseq ") and "exact hardmax classification" in out.splitlines()[0]
    assert "blocks       10 (bound 2 sum m + 2N + 1 = 21): separation 2, leaders 5, collapse 1, " \
           "interpolation 2" in out
    assert "classes      K = 2 (given in 'classes')" in out
    assert "O(N) bound   10 blocks <= 4N + 1 = 21 (2 sum m + 2N + 1 with every m_j = 1); this " \
           "construction: at most 16 (3N + K - 1)" in out
    assert "sharing      sequences of one class share their diagonal leader: 3 blocks saved " \
           "against one interpolation move per sequence (5 sequences, 2 classes)" in out
    assert "class 'circle' -> (0, 3): 3 sequences: certified" in out
    assert "class 'square' -> (3, 0): 2 sequences: certified" in out
    assert "sequences    5 certified (--verbose lists each)" in out and "sequence 0" not in out
    assert main(["check", EXAMPLE, "--paper", "-v"]) == 0
    out = capsys.readouterr().out
    assert "class 'circle' -> (0, 3): 3 sequences 0 ('a'), 2 ('c'), 4 ('e'): certified" in out
    assert "class 'square' -> (3, 0): 2 sequences 1 ('b'), 3 ('d'): certified" in out
    assert "sequence 4 ('e'): 2 -> 1 token: certified" in out
    status, r = _json(capsys, EXAMPLE)
    assert status == 0 and r["classification"]["classes_chosen"] is False
    assert [k["point"] for k in r["classification"]["classes"]] == [["0", "3"], ["3", "0"]]
    assert main(["check", EXAMPLE, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_certificate_carries_labels_and_verifies(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["check", EXAMPLE, "--quiet", "--paper", "--certificate", str(out)]) == 0
    cert = json.loads(out.read_text())
    seqs = cert["dataset"]["sequences"]
    assert [s["label"] for s in seqs] == ["circle", "square", "circle", "square", "circle"]
    assert seqs[0]["output"] == [["0", "3"]] and seqs[1]["output"] == [["3", "0"]]
    assert cert["dataset"]["classes"] == {"circle": ["0", "3"], "square": ["3", "0"]}
    assert proofs_check.check(cert)["blocks"] == 10
    assert main(["verify", str(out), EXAMPLE]) == 0
    assert capsys.readouterr().out.startswith("VERIFIED: 10 blocks")
    # the certificate's dataset (labels, outputs, classes) reads back as the same dataset
    again = from_obj(cert["dataset"])
    assert canonical_obj(again) == cert["dataset"]


def test_integer_labels_share_a_class_with_their_text(capsys, tmp_path):
    obj = {"sequences": [{"input": [[1, 0], [0, 1]], "label": 3}, {"input": [[2, 0]], "label": "3"},
                         {"input": [[0, 2]], "label": 7}]}
    ds = from_obj(obj)
    assert ds.classes == {"3": (3, 0), "7": (4, 0)}       # (1, 0) and (2, 0) are input tokens
    assert [p.output for p in ds.pairs] == [((3, 0),), ((3, 0),), ((4, 0),)]
    status, r = _json(capsys, _file(tmp_path, obj))
    assert status == 0 and [k["sequences"] for k in r["classification"]["classes"]] == [[0, 1], [2]]
    assert r["classification"]["saved_blocks"] == 1


def test_per_class_verdicts_follow_the_verdict():
    ds = from_obj(HAND)
    rep = classification.report(ds, 2, "failed")
    assert [k["verdict"] for k in rep["classes"]] == ["failed", "failed"]


def test_unshared_construction_takes_one_move_per_sequence():
    from exactseq.construction import build
    ds = from_obj(HAND)
    assert build(ds).phase_blocks["interpolation"] == 2
    assert build(ds, share=False).phase_blocks["interpolation"] == 4


ERRORS = [
    ({"sequences": [{"input": [[0, 0]], "label": "a"}, {"input": [[1, 1]], "output": [[2, 2]]}]},
     "sequence 1: has no 'label', but sequence 0 has one (a dataset gives every sequence a 'label' "
     "or every sequence an 'output')"),
    ({"sequences": [{"input": [[0, 0]], "output": [[1, 1]]}, {"name": "s", "input": [[1, 1]], "label": "b"}]},
     "sequence 1 ('s'): has a 'label', but sequence 0 has none (a dataset gives every sequence a "
     "'label' or every sequence an 'output')"),
    ({"classes": {"a": [1, 2]}, "sequences": [{"input": [[0, 0]], "label": "a"},
                                              {"input": [[1, 1]], "label": "b"}]},
     "sequence 1: label 'b' has no class point in 'classes'"),
    ({"classes": {"a": [1, 2, 3]}, "sequences": [{"input": [[0, 0]], "label": "a"}]},
     "classes: label 'a': has 3 coordinates, expected 2"),
    ({"classes": {"a": [1, "x"]}, "sequences": [{"input": [[0, 0]], "label": "a"}]},
     "classes: label 'a', coordinate 1: 'x' is not a number"),
    ({"classes": {"a": "p"}, "sequences": [{"input": [[0, 0]], "label": "a"}]},
     "classes: label 'a': a class point must be a list of coordinates"),
    ({"classes": [1], "sequences": [{"input": [[0, 0]], "label": "a"}]},
     "'classes' must be an object mapping each label to its class point"),
    ({"classes": {"a": [1, 2], "b": ["1", "2.0"]},
      "sequences": [{"input": [[0, 0]], "label": "a"}, {"input": [[1, 1]], "label": "b"}]},
     "classes: labels 'a' and 'b' have the same point"),
    ({"classes": {"a": [1, 2]}, "sequences": [{"input": [[0, 0]], "output": [[1, 1]]}]},
     "'classes' is given but no sequence has a 'label' (a dataset gives every sequence a 'label' "
     "or every sequence an 'output')"),
    ({"classes": {"a": [1, 2]}, "sequences": [{"input": [[0, 0]], "label": "a", "output": [[1, 3]]}]},
     "sequence 0: its output is not [the class point of label 'a'] (a labelled sequence may give an "
     "output only if it is its class point)"),
    ('{"sequences": [{"input": [[0, 0]], "label": 1.5}]}', "sequence 0: label 1.5 is not a string or an integer"),
    ({"sequences": [{"input": [[0, 0]], "label": True}]}, "sequence 0: label true is not a string or an integer"),
    ({"sequences": [{"input": [[0, 0]], "label": None}]}, "sequence 0: label null is not a string or an integer"),
    ({"sequences": [{"input": [[0, 0]], "label": ["a"]}]},
     "sequence 0: label a JSON array is not a string or an integer"),
]


@pytest.mark.parametrize("obj,msg", ERRORS)
def test_one_line_errors(obj, msg, tmp_path, capsys):
    path = _file(tmp_path, obj)
    assert main(["check", path]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"exactseq: error: {path}: {msg}\n"


def test_error_through_a_process_and_unused_class_warning(tmp_path):
    path = _file(tmp_path, ERRORS[2][0])
    p = subprocess.run([sys.executable, "-m", "exactseq.cli", "check", path], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1
    obj = {"classes": {"a": [1, 2], "z": [5, 5]}, "sequences": [{"input": [[0, 0]], "label": "a"}]}
    ds = from_obj(obj, "d.json")
    assert ds.warnings == ["d.json: classes: label 'z' is used by no sequence; ignored"]
    with pytest.raises(DatasetError):
        from_obj({"sequences": [{"input": [[0, 0]], "label": "a"}, {"input": [[0, 0]], "label": "b"}]})
