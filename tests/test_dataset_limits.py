"""Hostile datasets: every resource limit refuses in one line naming the coordinate,
each limit can be raised, and the input quirks a dataset may have."""
import json
import time
from fractions import Fraction

import pytest

from exactseq.dataset import DatasetError, from_obj, load
from exactseq.numbers import JsonDecimal, parse_coordinate, quote
from proofs_check.limits import FloatText, Limits

PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31)
AT = "sequence 0 ('a'), input token 1, coordinate 0: "


def _flag(name):
    return f"(raise it with --{name.replace('_', '-')})"


def _limit(what, name, limit):
    return f"{what} exceeds the limit of {limit} {_flag(name)}"


def _id(value):
    return value[:20] if isinstance(value, str) else None


def _text(coord):
    """A dataset whose input token 1, coordinate 0 is ``coord`` (JSON text)."""
    return '{"sequences": [{"name": "a", "input": [[1, 2], [%s, 0]], "output": [[1, 2]]}]}' % coord


def _write(tmp_path, text):
    p = tmp_path / "d.json"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(p)


def _load(tmp_path, coord, limits=None, raw=False):
    """Load a dataset with one given coordinate (a string, or raw JSON number text)."""
    path = _write(tmp_path, _text(coord if raw else json.dumps(coord)))
    return path, load(path, limits)


def _refusal(tmp_path, coord, limits=None, raw=False):
    t0 = time.perf_counter()
    with pytest.raises(DatasetError) as exc:
        _load(tmp_path, coord, limits, raw)
    assert time.perf_counter() - t0 < 2
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


HOSTILE = [  # (coordinate, raw JSON number?, message after the location)
    ("2^1000000000", False, _limit("an exponent of 1000000000", "max_exponent", 10000)),
    ("2^-1000000000", False, _limit("an exponent of -1000000000", "max_exponent", 10000)),
    ("10^10^10", False, _limit("an exponent of 10000000000", "max_exponent", 10000)),
    ("2^(1/1000000000)", False, _limit("a root index of 1000000000", "max_exponent", 10000)),
    ("1e100000000", True, _limit("a decimal number of 100000001 digits", "max_digits", 100000)),
    ("1e100000000", False, _limit("a decimal number of 100000001 digits", "max_digits", 100000)),
    ("1e-100000", False, _limit("a decimal number of 100001 digits", "max_digits", 100000)),
    ("0." + "0" * 200000 + "1", True, _limit("a decimal number of 200002 digits", "max_digits", 100000)),
    ("1" + "0" * 1000000, True, _limit("an integer of 1000001 digits", "max_digits", 100000)),
    ("1" + "0" * 1000000, False, _limit("an integer of 1000001 digits", "max_digits", 100000)),
    ("-" + "9" * 1000000 + "/7", False, _limit("an integer of 1000000 digits", "max_digits", 100000)),
    ("(10^50)^5000", False, _limit("a power of up to 255000 digits", "max_digits", 100000)),
    ("-" * 100000 + "1", False, _limit("an expression of 100001 characters", "max_expr_length", 10000)),
    ("+".join(["1"] * 200000), False,
     _limit("an expression of 399999 characters", "max_expr_length", 10000)),
    ("-" * 100 + "1", False, _limit("an expression nested 101 deep", "max_depth", 64)),
    ("+".join(f"sqrt({p})" for p in PRIMES), False,
     _limit("a number field of degree up to 2048", "max_field_degree", 16)),
    ("2^(1/10000)", False, _limit("a number field of degree up to 10000", "max_field_degree", 16)),
    ("sqrt(" + "7" * 5000 + ")", False,
     "an irrational number of up to 5001 digits exceeds the limit of 1000 "
     "(a hundredth of --max-digits; raise it with --max-digits)"),
]


@pytest.mark.parametrize("coord, raw, message", HOSTILE, ids=_id)
def test_hostile_coordinate_is_refused_in_one_line(tmp_path, coord, raw, message):
    assert _refusal(tmp_path, coord, raw=raw) == f"{tmp_path / 'd.json'}: {AT}{message}"


def test_field_degree_is_bounded_over_the_whole_dataset():
    toks = [[f"sqrt({p})", 0] for p in PRIMES[:7]]
    with pytest.raises(DatasetError) as exc:
        from_obj({"sequences": [{"input": toks, "output": toks[:1]}]}, "D")
    assert str(exc.value) == "D: sequence 0, input token 4, coordinate 0: " + \
        _limit("a number field of degree up to 32", "max_field_degree", 16)


def test_file_level_limits(tmp_path):
    path = _write(tmp_path, _text("1"))
    size = len(_text("1"))
    with pytest.raises(DatasetError) as exc:
        load(path, Limits(max_file_size=10))
    assert str(exc.value) == f"{path}: " + _limit(f"file of {size} bytes", "max_file_size", 10)
    assert load(path, Limits(max_file_size=size)).N == 1
    path = _write(tmp_path, _text("[" * 100 + "]" * 100))
    with pytest.raises(DatasetError) as exc:
        load(path)
    assert str(exc.value) == f"{path}: " + _limit("JSON nesting", "max_depth", 64)


def test_too_deep_for_the_parser_is_one_line_too(tmp_path):
    big = Limits(max_expr_length=10 ** 6)
    for coord in ("-" * 100000 + "1", "+".join(["1"] * 200000)):
        msg = _refusal(tmp_path, coord, big)
        assert msg == f"{tmp_path / 'd.json'}: {AT}{quote(coord)} is nested too deeply to parse"


RAISED = [  # (coordinate, raw?, limits that refuse it, limits that accept it, value)
    ("1" * 150000, True, None, Limits(max_digits=200000), Fraction((10 ** 150000 - 1) // 9)),
    ("1" * 150000, False, None, Limits(max_digits=200000), Fraction((10 ** 150000 - 1) // 9)),
    ("1e-100000", False, None, Limits(max_digits=100001), Fraction(1, 10 ** 100000)),
    ("2^20000", False, None, Limits(max_exponent=20000), Fraction(2 ** 20000)),
    ("sqrt(" + "1" + "0" * 1500 + ")", False, None, Limits(max_digits=200000), Fraction(10 ** 750)),
    ("sqrt(2)+sqrt(3)+sqrt(5)", False, Limits(max_field_degree=4), Limits(max_field_degree=8), None),
    ("-" * 100 + "1", False, None, Limits(max_depth=101), Fraction(1)),
    ("+".join(["1"] * 30), False, Limits(max_expr_length=58), Limits(max_expr_length=59),
     Fraction(30)),
]


@pytest.mark.parametrize("coord, raw, low, high, value", RAISED, ids=_id)
def test_each_limit_can_be_raised(tmp_path, coord, raw, low, high, value):
    assert "exceeds the limit" in _refusal(tmp_path, coord, low, raw)
    _, ds = _load(tmp_path, coord, high, raw)
    assert value is None or ds.pairs[0].input[1][0] == value


def test_a_power_within_the_exponent_limit_is_still_bounded_in_digits(tmp_path):
    msg = _refusal(tmp_path, "2^1000000000", Limits(max_exponent=10 ** 9))
    assert msg.endswith(AT + _limit("a power of up to 1000000000 digits", "max_digits", 100000))


# ---------------------------------------------------------------- quirks
def test_byte_order_mark_is_accepted(tmp_path):
    path = _write(tmp_path, b"\xef\xbb\xbf" + _text('"1/2"').encode())
    assert load(path).pairs[0].input[1][0] == Fraction(1, 2)


def test_whitespace_around_rational_tokens():
    for text, value in ((" 2 / 3 ", Fraction(2, 3)), ("2 / 3", Fraction(2, 3)), (" 1 ", Fraction(1)),
                        ("-4/ 6", Fraction(-2, 3)), (" 0.5 ", Fraction(1, 2))):
        assert parse_coordinate(text) == value
    ds = from_obj({"sequences": [{"input": [[" 2 / 3 ", 0], ["2 / 3", 1], [" 1 ", 0]],
                                  "output": [["2/3", 0]]}]})
    assert [t[0] for t in ds.pairs[0].input] == [Fraction(2, 3), Fraction(2, 3), Fraction(1)]
    with pytest.raises(DatasetError) as exc:
        from_obj({"sequences": [{"input": [[" 2 / 3 ", 0], ["2/3", 0]], "output": [[0, 0]]}]}, "D")
    assert str(exc.value) == "D: sequence 0: input tokens 0 and 1 are equal (assumption 1.3 ii)"


def test_json_float_literals_are_exact_decimals(tmp_path):
    assert JsonDecimal is FloatText
    assert parse_coordinate(FloatText("0.1")) == Fraction(1, 10)
    _, ds = _load(tmp_path, "0.1", raw=True)
    assert ds.pairs[0].input[1][0] == Fraction(1, 10)


def test_quoted_input_is_cut_at_80_characters(tmp_path):
    long = "1" * 1000000
    assert quote(long) == "'" + "1" * 40 + "..." + "1" * 40 + "' (1000000 characters)"
    assert quote("x" * 80) == repr("x" * 80)
    junk = "x" * 1000
    cut = "'" + "x" * 40 + "..." + "x" * 40 + "' (1000 characters)"
    assert _refusal(tmp_path, junk) == f"{tmp_path / 'd.json'}: {AT}{cut} is not a number"
    with pytest.raises(DatasetError) as exc:
        from_obj({"sequences": [{"name": "n" * 500, "input": [[1, "?"]], "output": [[1, 2]]}]}, "D")
    name = "'" + "n" * 40 + "..." + "n" * 40 + "' (500 characters)"
    assert str(exc.value) == f"D: sequence 0 ({name}), input token 0, coordinate 1: '?' is not a number"
    with pytest.raises(DatasetError) as exc:
        from_obj({"dimension": junk, "sequences": [{"input": [[1, 2]], "output": [[1, 2]]}]}, "D")
    assert str(exc.value) == f"D: 'dimension' must be an integer, not {cut}"


def test_unknown_keys_are_warnings(tmp_path):
    path = _write(tmp_path, json.dumps({"dimesion": 2, "sequences": [
        {"name": "a", "inptu": [], "input": [[1, 2]], "output": [[1, 2]]},
        {"input": [[3, 4]], "output": [[3, 4]], "k" * 100: 1}]}))
    ds = load(path)
    k = "'" + "k" * 40 + "..." + "k" * 40 + "' (100 characters)"
    assert ds.warnings == [
        f"{path}: unknown top-level key 'dimesion' ignored (did you mean 'dimension'?)",
        f"{path}: sequence 0 ('a'): unknown key 'inptu' ignored (did you mean 'input'?)",
        f"{path}: sequence 1: unknown key {k} ignored (known keys: input, label, name, output, targets)"]
    clean = {"dimension": 2, "sequences": [{"name": "a", "input": [[1, 2]], "output": [[1, 2]]}]}
    assert from_obj(clean).warnings == []


def test_big_quotients_stop_at_the_work_budget(tmp_path, capsys):
    """A dataset of coordinates like 9967^9999/9973^9999 - 9949^9999/9941^9999: every
    number within --max-digits, but their work is not: one line naming the token and
    --max-work (exit 2), read in a few seconds instead of minutes."""
    import json
    from exactseq.cli import main
    P = [9967, 9973, 9949, 9941, 9931, 9929, 9923, 9907, 9901, 9887, 9883, 9871, 9859, 9857, 9851, 9839,
         9833, 9829, 9817, 9811, 9803, 9791, 9787, 9781]
    X = [[f"{P[8 * i]}^9999/{P[8 * i + 1]}^9999-{P[8 * i + 2]}^9999/{P[8 * i + 3]}^9999",
          f"{P[8 * i + 4]}^9999/{P[8 * i + 5]}^9999-{P[8 * i + 6]}^9999/{P[8 * i + 7]}^9999"] for i in range(3)]
    p = tmp_path / "d.json"
    p.write_text(json.dumps({"sequences": [{"input": X, "output": [[0, 0]]}]}))
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"exactseq: error: {p}: sequence 0, input token 1, coordinate 0: the work on numbers of "
                   "1000 digits or more (the sum of (digits/1000)^2) exceeds the limit of 100000 (raise it "
                   "with --max-work)")
