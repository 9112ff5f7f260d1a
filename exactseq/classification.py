"""Classification (the first version of the paper): labels instead of outputs.

A dataset may give each sequence a ``"label"`` (a JSON string or integer)
instead of an ``"output"``.  Each label names a class, and each class has a
*class point* in R^d: given in an optional top-level ``"classes"`` object
(``{"label": [coordinates]}``, JSON keys are text, so the integer label 3 and
the string "3" name the same class), or else chosen by this rule: the classes
in order of first appearance get (1, 0, ..., 0), (2, 0, ..., 0), ...,
skipping every such point that is an input token of the dataset.

The dataset is then an ordinary one with ``output = [class point]`` (every
m_j = 1), so ``check`` certifies, with the ordinary construction and
checker, that every sequence collapses onto exactly its class point.  The
dataset written into a certificate keeps each ``"label"`` and the
``"classes"`` used (records the checker ignores) beside the outputs.

Rules (each violation is one line naming the file, and the sequence or the
label): every sequence has a label or none has; a label is a string or an
integer; given classes cover every label and each is a point of dimension d
with valid coordinates; two classes have different points; a labelled
sequence may also give an ``"output"`` only if it is exactly its class point
(as a certificate's dataset does).

Blocks.  With every m_j = 1 the bound of Theorem 1.4 is 2 sum m + 2N + 1 =
4N + 1, an explicit O(N) (the first version's abstract states O(N) blocks;
4N + 1 is the constant used here).  Sequences of one class share their
diagonal leader position t (1, ..., 1), so after the collapse they sit on one
point and one hat move sends them all to the class point: the construction
takes at most 2(N - 1) + N + 1 + K = 3N + K - 1 blocks for K classes, and
saves N - K interpolation blocks against one move per sequence (with
``--max-width W``: ceil(N / k) - ceil(K / k) for k = floor(W / 3) moves per
layer).
"""
from __future__ import annotations

from .numbers import quote

__all__ = ["label_key", "check_label", "mode", "chosen_point", "v1_bound", "construction_bound",
           "report", "text_lines"]

RULE = "a dataset gives every sequence a 'label' or every sequence an 'output'"


def label_key(label):
    """The class a label names: its text (integer labels as decimal text)."""
    return label if isinstance(label, str) else str(label)


def check_label(label):
    """None if label is a valid label, else the problem (one phrase)."""
    if type(label) is str or isinstance(label, int) and not isinstance(label, bool):
        return None
    if isinstance(label, str):    # a JSON number with a fraction or exponent, kept as its text
        return f"label {label} is not a string or an integer"
    return f"label {quote(label)} is not a string or an integer"


def mode(seqs, where_of):
    """(labelled?, error or None): sequence 0 sets the mode, every other must agree.

    ``where_of(j)`` names sequence j for messages."""
    first = isinstance(seqs[0], dict) and "label" in seqs[0]
    for j, item in enumerate(seqs[1:], 1):
        if not isinstance(item, dict):
            continue                    # reported by the reader
        if first and "label" not in item:
            return first, (f"{where_of(j)}: has no 'label', but sequence 0 has one ({RULE})")
        if not first and "label" in item:
            return first, (f"{where_of(j)}: has a 'label', but sequence 0 has none ({RULE})")
    return first, None


def chosen_point(k, d, taken, make):
    """The k-th chosen class point (k >= 0): the (k+1)-th point (c, 0, ..., 0),
    c = 1, 2, ..., that is not in ``taken``; ``taken`` is updated.  ``make(c)``
    builds the scalar c."""
    c = 1
    while True:
        p = (make(c),) + tuple(make(0) for _ in range(d - 1))
        if p not in taken:
            taken.add(p)
            return p
        c += 1


def v1_bound(N):
    """4N + 1: the bound 2 sum m + 2N + 1 of Theorem 1.4 with every m_j = 1."""
    return 4 * N + 1


def construction_bound(N, K, width=4):
    """What this construction takes at most: separation 2(N - 1), leaders N moves,
    collapse 1, interpolation K moves, with hats packed per layer as at ``width``."""
    first, per = max(1, (width - 1) // 3), max(1, width // 3)   # the first layer has a shift unit
    leaders = 1 + max(0, -(-(N - first) // per))
    return 2 * (N - 1) + leaders + 1 + -(-K // per)


def report(ds, saved, verdict, width=4):
    """The classification part of ``check``'s report (JSON-ready)."""
    classes = []
    index = {}
    for j, p in enumerate(ds.pairs):
        key = label_key(p.label)
        if key not in index:
            index[key] = len(classes)
            classes.append({"label": p.label, "point": [ds.scalar_text(c) for c in ds.classes[key]],
                            "sequences": [], "names": [], "verdict": verdict})
        classes[index[key]]["sequences"].append(j)
        classes[index[key]]["names"].append(p.name)
    N, K = ds.N, len(classes)
    return {"K": K, "classes_chosen": ds.classes_chosen, "classes": classes,
            "bound_v1": v1_bound(N), "bound_construction": construction_bound(N, K, width),
            "saved_blocks": saved}


CLASS_LINES = 20        # classes listed in the text report without --verbose


def text_lines(r, blocks, verbose=False):
    """Report lines for a classification run: a line per class (the first
    CLASS_LINES of them), with its sequences listed only when ``verbose``."""
    c = r["classification"]
    N = r["dataset"]["N"]
    lines = [f"classes      K = {c['K']} ("
             + ("chosen: (1, 0, ..., 0), (2, 0, ..., 0), ... in order, skipping input tokens"
                if c["classes_chosen"] else "given in 'classes'") + ")"]
    if blocks is not None:
        lines.append(f"O(N) bound   {blocks} blocks <= 4N + 1 = {c['bound_v1']} (2 sum m + 2N + 1 with "
                     f"every m_j = 1); this construction: at most {c['bound_construction']}"
                     + (" (3N + K - 1)" if r.get("max_width") in (None, 4) else ""))
    if c["saved_blocks"] is not None:
        lines.append(f"sharing      sequences of one class share their diagonal leader: {c['saved_blocks']} "
                     f"block{'s' if c['saved_blocks'] != 1 else ''} saved against one interpolation "
                     f"move per sequence ({N} sequences, {c['K']} classes)")
    shown = c["classes"] if verbose else c["classes"][:CLASS_LINES]
    for cl in shown:
        k = len(cl["sequences"])
        seqs = (" " + ", ".join(f"{j}" + (f" ({n!r})" if n is not None else "")
                                for j, n in zip(cl["sequences"], cl["names"]))) if verbose else ""
        lines.append(f"class {quote(cl['label'])} -> ({', '.join(cl['point'])}): "
                     f"{k} sequence{'s' if k != 1 else ''}{seqs}: {cl['verdict']}")
    if len(shown) < len(c["classes"]):
        lines.append(f"             ... and {len(c['classes']) - len(shown)} more classes (--verbose lists them)")
    return lines
