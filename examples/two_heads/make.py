"""A hand-made two-head hardmax transformer and a dataset it interpolates exactly.

Run ``python3 examples/two_heads/make.py`` to write, beside this file (the
same bytes every time):

* ``model.npz``  the weights as NumPy float64 arrays (every weight is dyadic, so
  the floats are the exact values); no metadata: a plain researcher's file;
* ``model.json`` the same weights as exact text (``exactseq-weights`` JSON);
* ``data.json``  4 sequences of 2 to 4 tokens and, as outputs, the exact output
  sets of the model (computed here, by a small evaluator of its own);
* ``moved.json`` the same dataset with one target coordinate moved by 1/1024
  (sequence "c", its output token (723/256, 233/256) becomes (2893/1024,
  233/256)): the model misses it by a squared Hausdorff distance of 1/1048576.

The model (d = 2, tokens (x, y) with x, y > 0 in every input; each block is
SA(FF(X))):

* block 0, FF: ``(x, y) -> (x, y + relu(x - 1)/2)``: tokens right of x = 1
  rise.  Attention, two heads, rho = 1:

  - head 0, ``A = e1 e1^T`` (score x_i x_j): as every x > 0, each token attends
    to the token of largest x in its sequence; ``V = diag(1/2, 0)`` adds half
    of that x to its own x (a shift right by half the rightmost x);
  - head 1, ``A = e2 e2^T`` (score y_i y_j): each token attends to the token of
    largest y; ``V = diag(0, -1/4)`` lowers its y by a quarter of that y.

  The two heads look at different tokens and move different coordinates:
  without either, the outputs differ (checked below).
* block 1, FF: ``(x, y) -> (x, y) + relu(x - y) (-1/4, 1/4)``: a token below
  the diagonal x = y halves its distance to it.  Attention, one head, rho = 1:
  ``A = -I`` (score -<x_i, x_j>: each token attends to the token of smallest
  inner product with it) and ``V = I/4`` adds a quarter of that token.

No query ties in any attention layer (checked below: every argmax is a
single token), so the outputs do not depend on how ties are averaged.  The
output sets have as many tokens as the inputs (nothing merges).
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from fractions import Fraction as F
from pathlib import Path

HERE = Path(__file__).resolve().parent
D = 2
ZERO = F(0)


def diag(a, b):
    return ((F(a), ZERO), (ZERO, F(b)))


# blocks: (eta, U, b, W, rho, heads); heads a list of (A, V)
BLOCKS = [
    (F(1), ((F(1), ZERO),), (F(-1),), ((ZERO,), (F(1, 2),)), F(1),
     [(diag(1, 0), diag(F(1, 2), 0)), (diag(0, 1), diag(0, F(-1, 4)))]),
    (F(1), ((F(1), F(-1)),), (ZERO,), ((F(-1, 4),), (F(1, 4),)), F(1),
     [(diag(-1, -1), diag(F(1, 4), F(1, 4)))]),
]

INPUTS = [
    ("a", [(1, 2), (3, F(1, 2))]),
    ("b", [(F(1, 2), 1), (2, 3), (F(5, 4), F(7, 4))]),
    ("c", [(F(3, 2), F(5, 2)), (F(1, 4), F(3, 4)), (F(11, 4), F(3, 2)), (2, F(1, 8))]),
    ("d", [(F(7, 4), F(1, 4)), (F(3, 4), F(9, 4))]),
]


# ------------------------------------------------------------------ exact evaluation
def matvec(M, x):
    return tuple(sum((m * xi for m, xi in zip(row, x)), ZERO) for row in M)


def dot(u, v):
    return sum((a * b for a, b in zip(u, v)), ZERO)


def ff(block, x):
    eta, U, b, W = block[:4]
    h = [max(ZERO, dot(u, x) + bi) for u, bi in zip(U, b)]
    return tuple(eta * xi + dot(row, h) for xi, row in zip(x, W))


def sa(block, X, heads, ties):
    rho = block[4]
    out = []
    for x in X:
        y = [rho * c for c in x]
        for A, V in heads:
            q = matvec(A, x)
            scores = [dot(q, xj) for xj in X]
            top = max(scores)
            C = [xj for xj, s in zip(X, scores) if s == top]
            ties.append(len(C))
            mean = tuple(sum((xj[c] for xj in C), ZERO) / len(C) for c in range(D))
            y = [a + b for a, b in zip(y, matvec(V, mean))]
        out.append(tuple(y))
    return out


def forward(X, blocks=BLOCKS, ties=None):
    """The output sequence (a list of points) of the model on X, exactly."""
    ties = [] if ties is None else ties
    X = [tuple(F(c) for c in x) for x in X]
    for block in blocks:
        X = sa(block, [ff(block, x) for x in X], block[5], ties)
    return X


def output_set(X, blocks=BLOCKS):
    return sorted(set(forward(X, blocks)))


# ------------------------------------------------------------------ writing
def text(q):
    q = F(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def texts(x):
    return [texts(y) for y in x] if isinstance(x, (tuple, list)) else text(x)


def arrays():
    """{name: nested tuples of Fractions} in the weight-file layout."""
    out = {}
    for k, (eta, U, b, W, rho, heads) in enumerate(BLOCKS):
        p = f"blocks.{k}."
        A = heads[0][0] if len(heads) == 1 else [h[0] for h in heads]
        V = heads[0][1] if len(heads) == 1 else [h[1] for h in heads]
        out.update({p + "ff.eta": eta, p + "ff.U": U, p + "ff.b": b, p + "ff.W": W,
                    p + "sa.rho": rho, p + "sa.A": A, p + "sa.V": V})
    return out


def write_npz(path):
    """np.savez's layout (one .npy member per array) with fixed timestamps."""
    import numpy as np

    def floats(x):
        return [floats(y) for y in x] if isinstance(x, (tuple, list)) else float(x)

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, val in arrays().items():
            arr = np.array(floats(val), dtype="<f8")
            assert all(F(float(v)) == v for v in np.ravel(np.array(val, dtype=object)))   # dyadic
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, allow_pickle=False)
            z.writestr(zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0)),
                       member.getvalue())
    path.write_bytes(buf.getvalue())


def write_json(path):
    obj = {"format": "exactseq-weights", "version": 1, "dimension": D, "blocks": len(BLOCKS),
           "attention": "hardmax"}
    lines = [f"  {json.dumps(k)}: {json.dumps(texts(v))}" for k, v in arrays().items()]
    path.write_text(json.dumps(obj, indent=1)[:-2] + ',\n "weights": {\n' + ",\n".join(lines)
                    + "\n }\n}\n")


def dataset(move=None):
    """The dataset object; ``move`` = (sequence, token, coordinate, amount)."""
    seqs = []
    for j, (name, X) in enumerate(INPUTS):
        Y = [list(y) for y in output_set(X)]
        if move and move[0] == j:
            Y[move[1]][move[2]] += move[3]
        seqs.append({"name": name, "input": texts(X), "output": texts(Y)})
    return {"dimension": D, "sequences": seqs}


def write_dataset(path, obj):
    body = ",\n".join("  " + json.dumps(s) for s in obj["sequences"])
    path.write_text('{"dimension": %d,\n "sequences": [\n%s\n ]}\n' % (obj["dimension"], body))


MOVE = (2, 1, 0, F(1, 1024))     # sequence "c", output token 1, coordinate x, + 1/1024


def check():
    """Every argmax a single token; each head of block 0 changes the outputs."""
    ties = []
    for _, X in INPUTS:
        forward(X, ties=ties)
    assert set(ties) == {1}, "a query ties"
    for h in range(2):
        cut = [BLOCKS[0][:5] + ([BLOCKS[0][5][1 - h]],), BLOCKS[1]]
        assert any(output_set(X, cut) != output_set(X) for _, X in INPUTS), f"head {h} does nothing"
    for _, X in INPUTS:
        assert len(output_set(X)) == len(X)


def main():
    check()
    write_npz(HERE / "model.npz")
    write_json(HERE / "model.json")
    write_dataset(HERE / "data.json", dataset())
    write_dataset(HERE / "moved.json", dataset(MOVE))
    try:                                   # the datasets load (Assumption 1.3 holds)
        sys.path.insert(0, str(HERE.parent.parent))
        from exactseq.dataset import from_obj
        for name in ("data.json", "moved.json"):
            from_obj(json.loads((HERE / name).read_text()), name)
    except ImportError:
        pass
    for name, X in INPUTS:
        print(name, "->", "  ".join(f"({text(a)}, {text(b)})" for a, b in output_set(X)))


if __name__ == "__main__":
    main()
