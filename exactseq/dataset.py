"""Loading and validating datasets of sequence pairs.

Format (JSON)::

    {"dimension": 2,                       # optional, checked if present
     "sequences": [{"name": "a",           # optional, used in messages
                    "input":  [[1, 0], ["1/2", "sqrt(3)/2"]],
                    "output": [[0, 1]]}]}

A sequence may give a ``"label"`` instead of an ``"output"`` (classification,
with an optional top-level ``"classes"``: see :mod:`exactseq.classification`);
its output is then ``[class point]``.  Or every sequence gives ``"targets"``,
one target point per input position, for causal (masked) attention: see
:func:`_causal` for its rules.

Every problem is reported as one :class:`DatasetError` whose message names
the file, the sequence (index from 0, and name) and the token; a coordinate
beyond a resource limit (:mod:`proofs_check.limits`) is one such problem.
Unknown keys are not errors: each becomes a line of ``Dataset.warnings``.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field as _field

from proofs_check.limits import DEFAULT, FloatText, LimitError, parse_int_text, read_bytes, read_json

from fractions import Fraction

from . import classification
from .numbers import (Alg, NumberError, Point, RadicalExpr, add_roots, build_field, parse_coordinate,
                      quote, radical_atoms, to_text)

__all__ = ["DatasetError", "Dataset", "Pair", "load", "from_obj", "canonical_obj"]

TOP_KEYS = ("classes", "dimension", "sequences")
SEQUENCE_KEYS = ("input", "label", "name", "output", "targets")


from .errors import DatasetError  # noqa: E402  (re-exported: dataset.DatasetError)


@dataclass(frozen=True)
class Pair:
    name: str | None
    input: tuple          # tuple of points (tuples of scalars)
    output: tuple
    label: object = None  # classification: the sequence's label (str or int), else None
    targets: tuple = None  # causal ("targets" form): one target point per input position, else None


@dataclass
class Dataset:
    source: str
    dim: int
    pairs: list
    field: object = None          # AlgField or None (rational data)
    texts: dict = None            # scalar -> original text, for algebraic coordinates
    atoms: dict = None            # (base, exponent) -> value of each root in those texts
    warnings: list = _field(default_factory=list)  # one line each: ignored unknown keys
    classes: dict = None          # classification: label text -> class point, else None
    classes_chosen: bool = False  # classification: the class points were chosen, not given

    @property
    def N(self):
        return len(self.pairs)

    @property
    def sum_m(self):
        return sum(len(p.output) for p in self.pairs)

    @property
    def causal(self):
        """A dataset in the "targets" form (one target per position, causal attention)."""
        return any(p.targets is not None for p in self.pairs)

    def label(self, j):
        name = self.pairs[j].name
        return f"sequence {j}" + (f" ({quote(name)})" if name is not None else "")

    def scalar_text(self, x):
        if isinstance(x, Alg):
            if x.is_rational():
                return to_text(x.c[0])
            return self.texts[x]
        return to_text(x)


def load(path, limits=None, assumption=True):
    """Read and validate a dataset file; raise DatasetError on any problem.

    ``limits`` (default proofs_check.limits.DEFAULT) bound the file and every
    coordinate in it; each refusal names the limit and its flag.  With
    ``assumption`` False, Assumption 1.3 is not required (data for given weights:
    inputs may repeat a token or coincide as sets, outputs may be longer).
    """
    limits = limits or DEFAULT
    try:
        raw = read_bytes(path, limits)       # "-": standard input
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    except LimitError as exc:
        raise DatasetError(f"{path}: {str(exc).replace('a file of', 'file of')}") from None
    path = "<stdin>" if path == "-" else path
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
    return from_obj(obj, path, limits, assumption)


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


def _nearest(key, known):
    """" (did you mean 'output'?)" for a key close to a known one, else ""."""
    import difflib
    if not isinstance(key, str) or len(key) > 100:
        return ""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown_keys(obj, known, source, where=""):
    return [f"{source}: {where}unknown {'key' if where else 'top-level key'} {quote(k)} ignored"
            + (_nearest(k, known) or f" (known keys: {', '.join(known)})") for k in obj if k not in known]


def _missing(item, key, known):
    """The message for a missing key, naming an unknown key that looks like it."""
    for k in item:
        if isinstance(k, str) and k not in known and _nearest(k, [key]):
            return f"missing key {key!r}; it has {quote(k)}: did you mean {key!r}?"
    return f"missing key {key!r}"


def from_obj(obj, source="<data>", limits=None, assumption=True):
    """Validate a parsed JSON object and build a :class:`Dataset`.

    ``limits`` (default proofs_check.limits.DEFAULT) bound every coordinate,
    and the work on big numbers of the whole file (--max-work); ``assumption``
    as in :func:`load`.
    """
    from proofs_check.limits import work_budget
    with work_budget(limits or DEFAULT):
        return _from_obj(obj, source, limits, assumption)


def _from_obj(obj, source, limits, assumption=True):
    def fail(msg):
        raise DatasetError(f"{source}: {msg}")

    limits = limits or DEFAULT
    if not isinstance(obj, dict):
        fail("the top level must be a JSON object with a 'sequences' list")
    if "sequences" not in obj:
        fail(_missing(obj, "sequences", TOP_KEYS))
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

    def where_of(j):
        item = seqs[j]
        return f"sequence {j}" + (f" ({quote(item['name'])})" if isinstance(item, dict) and
                                  isinstance(item.get("name"), str) else "")

    if any(isinstance(s, dict) and "targets" in s for s in seqs):   # causal: one target per position
        return _causal(obj, seqs, dim, source, limits, warnings, where_of)
    labelled, err = classification.mode(seqs, where_of)
    if err:
        fail(err)
    if "classes" in obj and not labelled:
        fail("'classes' is given but no sequence has a 'label' (" + classification.RULE + ")")

    raw_pairs = []
    radicals, roots = [], {}

    def parse_point(tok, tw, what="a token"):
        nonlocal dim
        if not isinstance(tok, list):
            fail(f"{tw}: {what} must be a list of coordinates")
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
        return coords

    for j, item in enumerate(seqs):
        where = where_of(j)
        if not isinstance(item, dict):
            fail(f"{where}: must be an object with 'input' and " + ("'label'" if labelled else "'output'"))
        warnings += _unknown_keys(item, SEQUENCE_KEYS, source, f"{where}: ")
        keys = ("input", "output") if not labelled or "output" in item else ("input",)
        for key in keys + (("label",) if labelled else ()):
            if key not in item:
                fail(f"{where}: {_missing(item, key, SEQUENCE_KEYS)}")
        for key in keys:
            if not isinstance(item[key], list):
                fail(f"{where}: {key!r} must be a list of tokens")
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            fail(f"{where}: 'name' must be a string")
        label = item.get("label") if labelled else None
        if labelled and classification.check_label(label):
            fail(f"{where}: {classification.check_label(label)}")
        sides = []
        for key in keys:
            toks = item[key]
            if not toks:
                fail(f"{where}: {key} is empty")
            sides.append([parse_point(tok, f"{where}, {key} token {t}") for t, tok in enumerate(toks)])
        raw_pairs.append((name, where, sides[0], sides[1] if len(sides) > 1 else None, label))

    raw_classes = {}           # label text -> coordinates (given classes used by a sequence)
    if labelled:
        used = list(dict.fromkeys(classification.label_key(r[4]) for r in raw_pairs))
        given = obj.get("classes")
        if given is not None:
            if not isinstance(given, dict):
                fail("'classes' must be an object mapping each label to its class point")
            for name, where, _, _, label in raw_pairs:
                if classification.label_key(label) not in given:
                    fail(f"{where}: label {quote(label)} has no class point in 'classes'")
            for key in used:
                raw_classes[key] = parse_point(given[key], f"classes: label {quote(key)}",
                                               "a class point")
            warnings += [f"{source}: classes: label {quote(k)} is used by no sequence; ignored"
                         for k in given if k not in raw_classes]
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

    classes = None
    if labelled:
        classes = {key: Point(conv(c) for c in p) for key, p in raw_classes.items()}
        owner = {}
        for key, p in classes.items():
            if p in owner:
                fail(f"classes: labels {quote(owner[p])} and {quote(key)} have the same point")
            owner[p] = key
        if not raw_classes:            # chosen: (1, 0, ..., 0), (2, 0, ..., 0), ..., not an input token
            taken = {Point(conv(c) for c in p) for r in raw_pairs for p in r[2]}
            make = (lambda c: field.const(Fraction(c))) if field is not None else Fraction
            for key in dict.fromkeys(classification.label_key(r[4]) for r in raw_pairs):
                classes[key] = Point(classification.chosen_point(len(classes), dim, taken, make))

    pairs = []
    for name, where, xin, xout, label in raw_pairs:
        X = tuple(Point(conv(c) for c in p) for p in xin)
        if labelled:
            point = classes[classification.label_key(label)]
            if xout is not None and tuple(Point(conv(c) for c in p) for p in xout) != (point,):
                fail(f"{where}: its output is not [the class point of label {quote(label)}] (a labelled "
                     "sequence may give an output only if it is its class point)")
            Y = (point,)
        else:
            Y = tuple(Point(conv(c) for c in p) for p in xout)
        for key, pts in (("input", X), ("output", Y)) if assumption else ():
            seen = {}
            for t, p in enumerate(pts):
                if p in seen:
                    fail(f"{where}: {key} tokens {seen[p]} and {t} are equal "
                         f"(assumption 1.3 ii)")
                seen[p] = t
        if assumption and len(Y) > len(X):
            fail(f"{where}: output has {len(Y)} tokens but input only {len(X)}")
        pairs.append(Pair(name, X, Y, label))

    first = {}
    for j, p in enumerate(pairs if assumption else ()):
        key = frozenset(p.input)
        if key in first:
            i = first[key]
            same = frozenset(pairs[i].output) == frozenset(p.output)
            fail(f"{raw_pairs[i][1]} and {raw_pairs[j][1]} have the same input set "
                 f"(assumption 1.3 i)" + ("; their outputs agree too, but a "
                 "transformer needs distinct inputs" if same else ""))
        first[key] = j
    return Dataset(source, dim, pairs, field, texts, atoms, warnings, classes,
                   labelled and not raw_classes)


def canonical_obj(ds):
    """The dataset as plain JSON with exact number text (for hashing and export)."""
    seqs = []
    for p in ds.pairs:
        entry = {"input": [[ds.scalar_text(c) for c in t] for t in p.input]}
        if p.targets is not None:   # causal: one target per position
            entry["targets"] = [[ds.scalar_text(c) for c in t] for t in p.targets]
        else:
            entry["output"] = [[ds.scalar_text(c) for c in t] for t in p.output]
        if p.name is not None:
            entry["name"] = p.name
        if ds.classes is not None:
            entry["label"] = p.label
        seqs.append(entry)
    obj = {"dimension": ds.dim, "sequences": seqs}
    if ds.classes is not None:    # classification: the class points used (records the checker ignores)
        obj["classes"] = {k: [ds.scalar_text(c) for c in p] for k, p in ds.classes.items()}
    return obj


def canonical_hash(obj):
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------- the "targets" form
CAUSAL_RULE = ("a dataset with 'targets' gives every sequence an 'input' and its 'targets', one "
               "target point per input position, and no 'output' or 'label'")


def _causal(obj, seqs, dim, source, limits, warnings, where_of):
    """The "targets" form, for causal (masked) attention: position i of a sequence
    must be sent to its i-th target.  Requirements: 'targets' exactly as long as
    'input', no token repeated inside an input, rational coordinates, and
    sequences that share a prefix (as an ordered list) share the targets on it."""
    def fail(msg):
        raise DatasetError(f"{source}: {msg}")

    if "classes" in obj:
        fail(f"'classes' does not apply: {CAUSAL_RULE}")

    def point(tok, tw):
        nonlocal dim
        if not isinstance(tok, list):
            fail(f"{tw}: must be a list of coordinates")
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
            except (NumberError, LimitError) as exc:
                fail(f"{tw}, coordinate {i}: {exc}")
            if isinstance(v, RadicalExpr):
                fail(f"{tw}, coordinate {i}: {quote(c)} is not rational (a dataset with "
                     "'targets' needs rational coordinates)")
            coords.append(v)
        return Point(coords)

    pairs = []
    for j, item in enumerate(seqs):
        where = where_of(j)
        if not isinstance(item, dict):
            fail(f"{where}: must be an object with 'input' and 'targets'")
        for key in ("output", "label"):
            if key in item and "targets" in item:
                fail(f"{where}: 'targets' and {key!r} do not mix ({CAUSAL_RULE})")
            if key in item:
                other = next(i for i, s in enumerate(seqs) if isinstance(s, dict) and "targets" in s)
                fail(f"{where}: has {key!r} but {where_of(other)} has 'targets' ({CAUSAL_RULE})")
        for key in ("input", "targets"):
            if key not in item:
                fail(f"{where}: {_missing(item, key, SEQUENCE_KEYS)} ({CAUSAL_RULE})")
            if not isinstance(item[key], list):
                fail(f"{where}: {key!r} must be a list of points")
        warnings += _unknown_keys(item, SEQUENCE_KEYS, source, f"{where}: ")
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            fail(f"{where}: 'name' must be a string")
        if not item["input"]:
            fail(f"{where}: input is empty")
        n, k = len(item["input"]), len(item["targets"])
        if k != n:
            fail(f"{where}: 'targets' has {k} point{'s' * (k != 1)} but 'input' has {n} "
                 f"token{'s' * (n != 1)} (one target per position)")
        X = tuple(point(t, f"{where}, input token {i}") for i, t in enumerate(item["input"]))
        Y = tuple(point(t, f"{where}, target at position {i}") for i, t in enumerate(item["targets"]))
        seen = {}
        for i, p in enumerate(X):
            if p in seen:
                fail(f"{where}: input tokens {seen[p]} and {i} are equal (a causal input "
                     "repeats no token)")
            seen[p] = i
        pairs.append(Pair(name, X, (), targets=Y))
    first = {}         # (prefix id, token) -> (prefix id, sequence, target): a trie of prefixes
    for j, p in enumerate(pairs):
        node = 0
        for i, (x, y) in enumerate(zip(p.input, p.targets)):
            hit = first.get((node, x))
            if hit is None:
                hit = first[(node, x)] = (len(first) + 1, j, y)
            elif hit[2] != y:
                fail(f"{where_of(j)}, position {i}: its prefix (positions 0..{i}) is also a prefix "
                     f"of {where_of(hit[1])}, with a different target (equal prefixes need equal "
                     "targets: a causal model's output at a position depends on the prefix only)")
            node = hit[0]
    return Dataset(source, dim, pairs, warnings=warnings)
