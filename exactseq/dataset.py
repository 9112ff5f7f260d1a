"""Loading and validating datasets of sequence pairs.

Format (JSON)::

    {"dimension": 2,                       # optional, checked if present
     "sequences": [{"name": "a",           # optional, used in messages
                    "input":  [[1, 0], ["1/2", "sqrt(3)/2"]],
                    "output": [[0, 1]]}]}

Every problem is reported as one :class:`DatasetError` whose message names
the file, the sequence (index from 0, and name) and the token; a coordinate
beyond a resource limit (:mod:`proofs_check.limits`) is one such problem.
Unknown keys are not errors: each becomes a line of ``Dataset.warnings``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field as _field

from proofs_check.limits import DEFAULT, FloatText, LimitError, parse_int_text, read_json

from .numbers import (Alg, NumberError, Point, RadicalExpr, add_roots, build_field, parse_coordinate,
                      quote, radical_atoms, to_text)

__all__ = ["DatasetError", "Dataset", "Pair", "load", "from_obj", "canonical_obj"]

TOP_KEYS = ("dimension", "sequences")
SEQUENCE_KEYS = ("input", "name", "output")


class DatasetError(ValueError):
    """Bad input: the message is one line, ready to print."""


@dataclass(frozen=True)
class Pair:
    name: str | None
    input: tuple          # tuple of points (tuples of scalars)
    output: tuple


@dataclass
class Dataset:
    source: str
    dim: int
    pairs: list
    field: object = None          # AlgField or None (rational data)
    texts: dict = None            # scalar -> original text, for algebraic coordinates
    atoms: dict = None            # (base, exponent) -> value of each root in those texts
    warnings: list = _field(default_factory=list)  # one line each: ignored unknown keys

    @property
    def N(self):
        return len(self.pairs)

    @property
    def sum_m(self):
        return sum(len(p.output) for p in self.pairs)

    def label(self, j):
        name = self.pairs[j].name
        return f"sequence {j}" + (f" ({quote(name)})" if name is not None else "")

    def scalar_text(self, x):
        if isinstance(x, Alg):
            if x.is_rational():
                return to_text(x.c[0])
            return self.texts[x]
        return to_text(x)


def load(path, limits=None):
    """Read and validate a dataset file; raise DatasetError on any problem.

    ``limits`` (default proofs_check.limits.DEFAULT) bound the file and every
    coordinate in it; each refusal names the limit and its flag.
    """
    limits = limits or DEFAULT
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limits.max_file_size:  # refused before reading
                raise DatasetError(str(limits.refuse(f"{path}: file of {size} bytes",
                                                     "max_file_size")))
            raw = fh.read(limits.max_file_size + 1)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        obj = read_json(raw, limits, path)
    except LimitError as exc:
        if "--max-digits" in str(exc):
            _locate_long_number(raw, path, limits)
        raise DatasetError(f"{path}: {str(exc).removeprefix(f'{path}: ')}") from None
    except ValueError as exc:  # bad UTF-8 or JSON, NaN or Infinity
        msg = str(exc)
        raise DatasetError(f"{path}: " + (f"invalid JSON: {msg}" if msg.endswith(
            "is not a number") else msg)) from None
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # exact integers of any size (--max-digits bounds them)
    return from_obj(obj, path, limits)


def _locate_long_number(raw, path, limits):
    """Raise the refusal of a number literal beyond --max-digits naming its coordinate.

    The file is read again with such literals kept as text (size and nesting
    were checked already); returns if the literal is not a coordinate.
    """
    def integer(s):
        return s if len(s) > limits.max_digits else parse_int_text(s, limits)
    obj = json.loads(raw.decode("utf-8-sig"), parse_int=integer, parse_float=FloatText)
    try:
        from_obj(obj, path, limits)
    except DatasetError as exc:
        if "--max-digits" in str(exc):
            raise


def _unknown_keys(obj, known, source, where=""):
    return [f"{source}: {where}unknown {'key' if where else 'top-level key'} {quote(k)} ignored "
            f"(known keys: {', '.join(known)})" for k in obj if k not in known]


def from_obj(obj, source="<data>", limits=None):
    """Validate a parsed JSON object and build a :class:`Dataset`.

    ``limits`` (default proofs_check.limits.DEFAULT) bound every coordinate.
    """
    def fail(msg):
        raise DatasetError(f"{source}: {msg}")

    limits = limits or DEFAULT
    if not isinstance(obj, dict):
        fail("the top level must be a JSON object with a 'sequences' list")
    if "sequences" not in obj:
        fail("missing key 'sequences'")
    seqs = obj["sequences"]
    if not isinstance(seqs, list):
        fail("'sequences' must be a list")
    if not seqs:
        fail("the dataset is empty (no sequences)")
    dim = obj.get("dimension")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
        fail(f"'dimension' must be an integer, not {quote(dim)}")
    if dim is not None and dim < 2:
        fail(f"dimension {dim} is below 2")
    warnings = _unknown_keys(obj, TOP_KEYS, source)

    raw_pairs = []
    radicals, roots = [], {}
    for j, item in enumerate(seqs):
        where = f"sequence {j}"
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            where += f" ({quote(item['name'])})"
        if not isinstance(item, dict):
            fail(f"{where}: must be an object with 'input' and 'output'")
        warnings += _unknown_keys(item, SEQUENCE_KEYS, source, f"{where}: ")
        for key in ("input", "output"):
            if key not in item:
                fail(f"{where}: missing key {key!r}")
            if not isinstance(item[key], list):
                fail(f"{where}: {key!r} must be a list of tokens")
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            fail(f"{where}: 'name' must be a string")
        sides = []
        for key in ("input", "output"):
            toks = item[key]
            if not toks:
                fail(f"{where}: {key} is empty")
            pts = []
            for t, tok in enumerate(toks):
                tw = f"{where}, {key} token {t}"
                if not isinstance(tok, list):
                    fail(f"{tw}: a token must be a list of coordinates")
                if dim is None:
                    dim = len(tok)
                    if dim < 2:
                        fail(f"{tw}: dimension {dim} is below 2")
                if len(tok) != dim:
                    fail(f"{tw}: has {len(tok)} coordinates, expected {dim}")
                coords = []
                for i, c in enumerate(tok):
                    try:
                        v = parse_coordinate(c, limits)
                        if isinstance(v, RadicalExpr):
                            radicals.append(v)
                            degree = add_roots(roots, v.sym)
                            if degree > limits.max_field_degree:
                                raise limits.refuse(f"a number field of degree up to {degree}",
                                                    "max_field_degree")
                    except (NumberError, LimitError) as exc:
                        fail(f"{tw}, coordinate {i}: {exc}")
                    coords.append(v)
                pts.append(coords)
            sides.append(pts)
        raw_pairs.append((name, where, sides[0], sides[1]))

    field, texts, atoms = None, None, None
    if radicals:
        try:
            field, values, fconv = build_field(radicals, limits)
        except (NumberError, LimitError) as exc:
            fail(str(exc))
        value_of = {id(r): v for r, v in zip(radicals, values)}
        texts, atoms = {}, {}
        for r, v in zip(radicals, values):
            if v not in texts:
                texts[v] = r.text.strip()
                for base, exp, val in radical_atoms(r, fconv):
                    atoms[(base, exp)] = val

        def conv(c):
            if isinstance(c, RadicalExpr):
                return value_of[id(c)]
            return field.const(c)
    else:
        def conv(c):
            return c

    pairs = []
    for name, where, xin, xout in raw_pairs:
        X = tuple(Point(conv(c) for c in p) for p in xin)
        Y = tuple(Point(conv(c) for c in p) for p in xout)
        for key, pts in (("input", X), ("output", Y)):
            seen = {}
            for t, p in enumerate(pts):
                if p in seen:
                    fail(f"{where}: {key} tokens {seen[p]} and {t} are equal "
                         f"(assumption 1.3 ii)")
                seen[p] = t
        if len(Y) > len(X):
            fail(f"{where}: output has {len(Y)} tokens but input only {len(X)}")
        pairs.append(Pair(name, X, Y))

    first = {}
    for j, p in enumerate(pairs):
        key = frozenset(p.input)
        if key in first:
            i = first[key]
            same = frozenset(pairs[i].output) == frozenset(p.output)
            fail(f"{raw_pairs[i][1]} and {raw_pairs[j][1]} have the same input set "
                 f"(assumption 1.3 i)" + ("; their outputs agree too, but a "
                 "transformer needs distinct inputs" if same else ""))
        first[key] = j
    return Dataset(source, dim, pairs, field, texts, atoms, warnings)


def canonical_obj(ds):
    """The dataset as plain JSON with exact number text (for hashing and export)."""
    seqs = []
    for p in ds.pairs:
        entry = {"input": [[ds.scalar_text(c) for c in t] for t in p.input],
                 "output": [[ds.scalar_text(c) for c in t] for t in p.output]}
        if p.name is not None:
            entry["name"] = p.name
        seqs.append(entry)
    return {"dimension": ds.dim, "sequences": seqs}


def canonical_hash(obj):
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()
