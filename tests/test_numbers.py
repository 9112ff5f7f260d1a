from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from exactseq.numbers import (Alg, JsonDecimal, NumberError, RadicalExpr, build_field,
                              parse_coordinate, simplest_in, to_text)


@pytest.mark.parametrize("value, expected", [
    (3, Fraction(3)), ("-7", Fraction(-7)), ("6/4", Fraction(3, 2)), ("-0.125", Fraction(-1, 8)),
    ("1e-30", Fraction(1, 10**30)), (JsonDecimal("0.1"), Fraction(1, 10)),
    ("(1+3)/2^2", Fraction(1)), ("sqrt(4)", Fraction(2)), ("8^(1/3)", Fraction(2)),
    (" 2 ", Fraction(2)), ("2**-2", Fraction(1, 4)),
])
def test_rational_forms(value, expected):
    assert parse_coordinate(value) == expected


@pytest.mark.parametrize("value, reason", [
    ("nan", "'nan' is not a number"), ("inf", "'inf' is not a number"),
    ("abc", "'abc' is not a number"), (True, "true is not a number"), (None, "null is not a number"),
    ("1/0", "'1/0' divides by zero"), ("sqrt(-1)", "'sqrt(-1)' is not a real number"),
    ("(-8)^(1/3)", "'(-8)^(1/3)': fractional power of a non-positive number"),
    ("2^sqrt(2)", "'2^sqrt(2)': exponents must be rational"),
    ("os.system('x')", "\"os.system('x')\" is not a number"), ([1], "a JSON array is not a number"),
])
def test_rejections(value, reason):
    with pytest.raises(NumberError) as exc:
        parse_coordinate(value)
    assert str(exc.value) == reason


def test_limits_refuse_huge_decimal_exponents():
    from proofs_check.limits import LimitError
    with pytest.raises(LimitError) as exc:
        parse_coordinate("1e100000")
    assert str(exc.value) == ("a decimal number of 100001 digits exceeds the limit of 100000 "
                              "(raise it with --max-digits)")


def test_field_arithmetic_is_exact():
    rads = [parse_coordinate(s) for s in ("sqrt(2)", "sqrt(3)", "2^(1/3)")]
    assert all(isinstance(r, RadicalExpr) for r in rads)
    field, (r2, r3, c2), _ = build_field(rads)
    assert r2 * r2 == 2 and r3 * r3 == 3 and c2 * c2 * c2 == 2
    assert r2 > Fraction(14142135, 10**7) and r2 < Fraction(14142136, 10**7)
    assert (r2 * r3 - Fraction(2449489742783178, 10**15)).sign() == 1
    assert (r2 + r3) * (r3 - r2) == 1
    assert isinstance(r2, Alg) and hash(field.const(2)) == hash(Fraction(2))


def test_simplest_in():
    assert simplest_in(0, 3) == 1
    assert simplest_in(Fraction(1, 6), Fraction(1, 3)) == Fraction(1, 4)
    assert simplest_in(Fraction(-5, 2), Fraction(-2)) == Fraction(-7, 3)
    assert simplest_in(Fraction(2), Fraction(5, 2)) == Fraction(7, 3)
    assert simplest_in(Fraction(1, 3), Fraction(1, 2)) == Fraction(2, 5)
    assert to_text(Fraction(-6, 4)) == "-3/2"


# ---------------------------------------------------------------- Point: cached hash and integer form
_M = __import__("sys").hash_info.modulus
_ints = st.one_of(st.integers(-10**40, 10**40), st.sampled_from([0, 1, -1, _M, -_M, _M - 1, 1 - _M, _M + 1]))
_dens = st.one_of(st.integers(1, 10**30), st.sampled_from([1, _M, 2 * _M, _M - 1, _M + 1]))


@given(st.lists(st.tuples(_ints, _dens), min_size=1, max_size=6))
def test_point_hashes_equals_and_keys_as_the_plain_tuple(coords):
    from exactseq.numbers import Point, intform, translate, dot
    plain = tuple(Fraction(n, d) for n, d in coords)
    p = Point(plain)
    assert p == plain and hash(p) == hash(plain) and hash(p) == hash(p)
    q = Point.from_key(intform(plain))
    assert q == plain and hash(q) == hash(plain)
    assert all(type(c) is Fraction and c.denominator > 0 for c in q)
    assert {p: 1}[plain] == 1 and plain in {q}
    v = tuple(Fraction(n + 1, d) for n, d in coords)
    assert translate(q, Point(v)) == tuple(a + b for a, b in zip(plain, v))
    assert dot(q, Point(v)) == sum(a * b for a, b in zip(plain, v))


def test_checker_reads_each_text_once_and_the_same_every_time():
    """The checker's memo of short rationals: a text read twice is the same number,
    bad texts are never remembered, and the memo stops growing at MEMO."""
    from proofs_check import numbers as pn
    nums = pn.Numbers(None)
    assert nums.rat("6/4") == Fraction(3, 2) and nums.rat("6/4") is nums.rat("6/4")
    for bad in ("1/0", "1/00", " 1", "1_0", "+1", "1.5"):
        with pytest.raises(pn.Malformed):
            nums.rat(bad)
        assert bad not in nums.memo
    assert set(nums.memo) == {"6/4"}
    nums.memo = {str(i): Fraction(i) for i in range(pn.MEMO)}
    assert nums.rat("-3/9") == Fraction(-1, 3) and "-3/9" not in nums.memo


@given(st.fractions(), st.fractions())
def test_at_least_is_the_order_of_rationals_and_of_field_elements(a, b):
    from proofs_check import numbers as pn
    assert pn.at_least(a, b) == (a >= b)
    f = pn.Field([Fraction(-2), Fraction(0), Fraction(1)], Fraction(1), Fraction(2))   # sqrt(2)
    x, y = pn.K(f, (a, Fraction(1))), pn.K(f, (b, Fraction(1)))      # a + sqrt 2, b + sqrt 2
    assert pn.at_least(x, y) == (a >= b)
