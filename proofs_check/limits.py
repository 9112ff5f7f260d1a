"""Resource limits, and a JSON reader that enforces them before any work.

A certificate or dataset comes from someone else.  A few kilobytes can ask
for a 10^9-digit power, a 10^6-digit integer (CPython converts decimal text
to int in quadratic time), a field of degree 2000 or JSON nested 100,000
deep.  Every such request is refused up front, with one line naming the
limit and the command-line flag that raises it.  Refusals are malformed
input (exit status 2), never a verdict.

Limits (default, flag):

* file size in bytes                  (1 GiB,   --max-file-size)
* JSON nesting depth                  (64,      --max-depth)
* decimal digits of one integer       (100000,  --max-digits); this bounds
  every integer of the file, every numerator and denominator, the value of
  a decimal exponent ("1e-30" has 31 digits) and the size of a power's
  result (a^n is refused when n times the size of a exceeds it), and every
  number the checker computes: after each block, a token coordinate (over
  a field, a coefficient) whose numerator or denominator surely has more
  digits stops the check, naming the block
* integer exponent and root index     (10000,   --max-exponent): |p| and q
  of a power a^(p/q)
* number field degree                 (16,      --max-field-degree)
* decimal digits of one integer of a number field's definition (500,
  --max-field-digits): each numerator and denominator of the minimal
  polynomial's coefficients and of the isolating interval's ends.  Work
  in the field costs about the square of this size (a product's
  reduction, a zero test, an inverse, a Sturm sequence): at 500 digits
  and degree 16 each takes well under a second.  The fields exactseq
  writes need a few dozen digits at most
* characters of one coordinate text   (10000,   --max-expr-length); an
  expression also has at most that many syntax nodes and depth at most
  the nesting limit
* blocks of a certificate             (1000000, --max-blocks); the
  theorem's block bound is checked before any evaluation as well
* work on big numbers                 (100000,  --max-work): the sum, over
  every number of 1000 decimal digits or more that one check reads or
  computes (each numerator and denominator of a parsed number, of an
  expression's intermediate results, and of the tokens each block
  computes), of (its digits / 1000)^2, rounded down.  Products, quotients
  and gcds of such numbers cost about the square of their size: a 10 KB
  file of a hundred 80,000-digit quotients, or tokens that grow by
  thousands of digits a block, stop within seconds with one line instead
  of running for minutes.  Numbers under 1000 digits cost nothing: real
  data and the weights exactseq writes never come near it
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import sys
from itertools import accumulate
from dataclasses import dataclass, fields, replace

__all__ = ["Limits", "LimitError", "DEFAULT", "FLAGS", "read_json", "parse_int_text", "read_bytes",
           "check_depth", "work_budget", "spend", "counting", "KBITS"]


class LimitError(ValueError):
    """Input beyond a resource limit; the message names the limit and its flag."""


@dataclass(frozen=True)
class Limits:
    max_file_size: int = 1 << 30
    max_depth: int = 64
    max_digits: int = 100_000
    max_exponent: int = 10_000
    max_field_degree: int = 16
    max_field_digits: int = 500
    max_expr_length: int = 10_000
    max_blocks: int = 1_000_000
    max_work: int = 100_000

    def with_(self, **kw):
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    def refuse(self, what, field_name):
        """A LimitError for ``what`` beyond the limit ``field_name``."""
        flag = "--" + field_name.replace("_", "-")
        return LimitError(f"{what} exceeds the limit of {getattr(self, field_name)} "
                          f"(raise it with {flag})")


DEFAULT = Limits()

# flag name -> (field, help text) for argparse front ends
FLAGS = {
    "--max-file-size": ("max_file_size", "largest input file in bytes (default 1073741824)"),
    "--max-depth": ("max_depth", "deepest JSON nesting (default 64)"),
    "--max-digits": ("max_digits", "most decimal digits of one integer, including a "
                     "number's numerator, denominator, decimal exponent and a power's "
                     "result (default 100000)"),
    "--max-exponent": ("max_exponent", "largest |p| and q in a power a^(p/q) (default 10000)"),
    "--max-field-degree": ("max_field_degree", "largest number field degree (default 16)"),
    "--max-field-digits": ("max_field_digits", "most decimal digits of one integer in a number "
                           "field's minimal polynomial and interval (default 500)"),
    "--max-expr-length": ("max_expr_length", "longest coordinate expression text in "
                          "characters (default 10000)"),
    "--max-blocks": ("max_blocks", "most blocks in a certificate (default 1000000)"),
    "--max-work": ("max_work", "most work on numbers of 1000 digits or more: the sum of "
                   "(digits/1000)^2 over every such number read or computed (default 100000)"),
}
assert {f for f, _ in FLAGS.values()} == {f.name for f in fields(Limits)}


# ---------------------------------------------------------- the work budget
_WORK = contextvars.ContextVar("proofs_check_work", default=None)
KBITS = 3322          # bits of about 1000 decimal digits


@contextlib.contextmanager
def work_budget(limits):
    """Count the big-number work of one check (or one dataset read) against
    ``limits.max_work``: :func:`spend` refuses beyond it.  Outside such a block
    nothing is counted."""
    token = _WORK.set([0, limits])
    try:
        yield
    finally:
        _WORK.reset(token)


def counting():
    return _WORK.get() is not None


def spend(bits):
    """Charge integers of the given bit lengths: (bits // KBITS)^2 each (about
    (digits / 1000)^2, nothing under 1000 digits); LimitError beyond --max-work."""
    st = _WORK.get()
    if st is None:
        return
    c = 0
    for b in bits:
        if b >= KBITS:
            k = b // KBITS
            c += k * k
    if c:
        st[0] += c
        if st[0] > st[1].max_work:
            raise st[1].refuse("the work on numbers of 1000 digits or more (the sum of (digits/1000)^2)",
                               "max_work")


def add_arguments(parser):
    """Add the limit flags to an argparse parser (dest = the Limits field)."""
    group = parser.add_argument_group("resource limits (hostile-input guards)")
    for flag, (dest, text) in FLAGS.items():
        group.add_argument(flag, dest=dest, type=int, metavar="N", default=None, help=text)


def from_args(args):
    """Limits from parsed arguments (None keeps the default); LimitError if not positive."""
    vals = {dest: getattr(args, dest, None) for dest, _ in FLAGS.values()}
    for flag, (dest, _) in FLAGS.items():
        if vals[dest] is not None and vals[dest] < 1:
            raise LimitError(f"{flag} must be a positive integer")
    return DEFAULT.with_(**vals)


_CHUNK = 4000  # below CPython's int/str conversion guard (4300 digits)


def read_bytes(path, limits=DEFAULT):
    """The bytes of the file at ``path`` ("-": standard input), refused beyond
    --max-file-size before more than that is read; OSError as open() raises it."""
    if path == "-":
        raw = sys.stdin.buffer.read(limits.max_file_size + 1)
        size = len(raw)
    else:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            raw = b"" if size > limits.max_file_size else fh.read(limits.max_file_size + 1)
            size = max(size, len(raw))
    if size > limits.max_file_size:
        raise limits.refuse(f"a file of {'more than ' if path == '-' else ''}"
                            f"{min(size, limits.max_file_size + 1) if path == '-' else size} bytes",
                            "max_file_size")
    return raw


def parse_int_text(s, limits=DEFAULT):
    """int(s) for an optionally signed decimal string, within --max-digits.

    Works whatever sys.set_int_max_str_digits says: long strings are split
    into chunks (divide and conquer), so no global setting is changed.
    """
    digits = len(s) - (s[:1] in "+-")
    if digits > limits.max_digits:
        raise limits.refuse(f"an integer of {digits} digits", "max_digits")
    if len(s) <= _CHUNK:
        return int(s)
    neg = s[0] == "-"
    body = s.lstrip("+-")
    return -_int_dc(body) if neg else _int_dc(body)


def _int_dc(s):
    if len(s) <= _CHUNK:
        return int(s)
    h = len(s) // 2
    return _int_dc(s[:h]) * 10 ** (len(s) - h) + _int_dc(s[h:])


# A JSON string once its escapes are gone (see check_depth); one never closed
# runs to the end of the text.  A single character class: linear, no state per
# character.
_STRING = re.compile(r'"[^"]*(?:"|\Z)')
_NOT_BRACKET = re.compile(r'[^\[\]{}]+')
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def check_depth(text, limits=DEFAULT, source="input"):
    """Refuse JSON text nested deeper than --max-depth.  Escaped backslashes, then
    escaped quotes are deleted (left to right, as a JSON reader pairs them), so
    every quote left opens or closes a string; the strings are removed, then
    everything but brackets, and the running depth is summed.  Linear in time and
    memory, no recursion."""
    bare = text.replace("\\\\", "").replace('\\"', "")
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", bare))
    if brackets and max(accumulate(map(_STEP.__getitem__, brackets))) > limits.max_depth:
        raise limits.refuse(f"{source}: JSON nesting", "max_depth")


def _no_duplicates(pairs):
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {dup[:40]!r} in one JSON object (readers disagree on "
                         "which one counts)")
    return obj


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


def read_json(raw, limits=DEFAULT, source="input", parse_float=None):
    """Parse JSON bytes or text within the limits.

    Size, then nesting, then integer digits are checked before Python builds
    anything large.  A UTF-8 byte order mark is skipped.  NaN and Infinity are
    refused.  Raises LimitError for a limit, ValueError for anything else
    (bad UTF-8, bad JSON, a key twice in one object), each with a one-line message.
    """
    size = len(raw)
    if size > limits.max_file_size:
        raise limits.refuse(f"{source}: file of {size} bytes", "max_file_size")
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    else:
        text = raw[1:] if raw.startswith("\ufeff") else raw
    check_depth(text, limits, source)
    try:
        return json.loads(text, parse_int=lambda s: parse_int_text(s, limits),
                          parse_float=parse_float or (lambda s: _float_text(s, limits)),
                          parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except LimitError:
        raise
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:  # only with --max-depth raised past what Python's reader follows
        raise ValueError(f"JSON nesting deeper than the JSON reader follows (about "
                         f"{sys.getrecursionlimit() // 100 * 100 - 100} levels)") from None


class FloatText(str):
    """A JSON number literal with a fraction or exponent, kept as its text."""


def _float_text(s, limits):
    if len(s) > limits.max_digits:
        raise limits.refuse(f"a number literal of {len(s)} characters", "max_digits")
    return FloatText(s)
