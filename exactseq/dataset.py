"""Loading and validating datasets of sequence pairs.

Format (JSON)::

    {"dimension": 2,                       # optional, checked if present
     "sequences": [{"name": "a",           # optional, used in messages
                    "input":  [[1, 0], ["1/2", "sqrt(3)/2"]],
                    "output": [[0, 1]]}]}

Every problem is reported as one :class:`DatasetError` whose message names
the file, the sequence (index from 0, and name) and the token.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass

from .numbers import (Alg, JsonDecimal, NumberError, RadicalExpr, build_field,
                      parse_coordinate, radical_atoms, to_text)

__all__ = ["DatasetError", "Dataset", "Pair", "load", "from_obj", "canonical_obj"]


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

    @property
    def N(self):
        return len(self.pairs)

    @property
    def sum_m(self):
        return sum(len(p.output) for p in self.pairs)

    def label(self, j):
        name = self.pairs[j].name
        return f"sequence {j}" + (f" ({name!r})" if name is not None else "")

    def scalar_text(self, x):
        if isinstance(x, Alg):
            if x.is_rational():
                return to_text(x.c[0])
            return self.texts[x]
        return to_text(x)


def _reject_constant(name):
    raise ValueError(f"{name} is not a number")


def load(path):
    """Read and validate a dataset file; raise DatasetError on any problem."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    return from_obj(parse_json(text, path), path)


def parse_json(text, source):
    """json.loads with exact number literals; DatasetError on bad JSON."""
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)
    try:
        return json.loads(text, parse_float=JsonDecimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{source}: invalid JSON at line {exc.lineno} column "
                           f"{exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise DatasetError(f"{source}: invalid JSON: {exc}") from None


def from_obj(obj, source="<data>"):
    """Validate a parsed JSON object and build a :class:`Dataset`."""
    def fail(msg):
        raise DatasetError(f"{source}: {msg}")

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
        fail(f"'dimension' must be an integer, not {json.dumps(dim)}")
    if dim is not None and dim < 2:
        fail(f"dimension {dim} is below 2")

    raw_pairs = []
    radicals = []
    for j, item in enumerate(seqs):
        where = f"sequence {j}"
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            where += f" ({item['name']!r})"
        if not isinstance(item, dict):
            fail(f"{where}: must be an object with 'input' and 'output'")
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
                        v = parse_coordinate(c)
                    except NumberError as exc:
                        fail(f"{tw}, coordinate {i}: {exc}")
                    if isinstance(v, RadicalExpr):
                        radicals.append(v)
                    coords.append(v)
                pts.append(coords)
            sides.append(pts)
        raw_pairs.append((name, where, sides[0], sides[1]))

    field, texts, atoms = None, None, None
    if radicals:
        try:
            field, values, fconv = build_field(radicals)
        except NumberError as exc:
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
        X = tuple(tuple(conv(c) for c in p) for p in xin)
        Y = tuple(tuple(conv(c) for c in p) for p in xout)
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
    return Dataset(source, dim, pairs, field, texts, atoms)


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
