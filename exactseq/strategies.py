"""Hypothesis strategies for exact sequence-interpolation data.

Public so other test suites can use them::

    from hypothesis import given
    from exactseq.strategies import datasets

    @given(datasets(dim=2))
    def test_mine(obj): ...

Every strategy produces plain JSON objects in the dataset format, aimed at
the boundaries: shared and nested inputs, equal outputs in different
sequences, exact ties, tokens at the origin or on coordinate hyperplanes,
huge and tiny coordinates.

Hypothesis is needed only when a strategy is made (it is in the test extra:
``pip install 'exactseq[test]'``); importing this module does not need it.
"""
from __future__ import annotations

from fractions import Fraction

__all__ = ["coordinates", "points", "datasets"]


def _st():
    try:
        from hypothesis import strategies
    except ImportError:
        raise ImportError("exactseq.strategies needs hypothesis: pip install 'exactseq[test]'") from None
    return strategies


def _text(q):
    q = Fraction(q)
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def coordinates(extreme=True):
    """Exact coordinates as dataset text: small integers and fractions, optionally 10^+-30."""
    st = _st()
    small = st.integers(-4, 4).map(Fraction)
    frac = st.builds(Fraction, st.integers(-9, 9), st.integers(1, 6))
    parts = [small, small, frac]
    if extreme:
        parts.append(st.sampled_from([Fraction(10**30), Fraction(1, 10**30), Fraction(-1, 10**30),
                                      Fraction(1, 3), Fraction(0)]))
    return st.one_of(*parts).map(_text)


def points(dim, extreme=True):
    """Tokens of dimension ``dim`` (lists of coordinate text)."""
    return _st().lists(coordinates(extreme), min_size=dim, max_size=dim)


def datasets(dim=None, max_sequences=5, max_pool=8, extreme=True):
    """A valid dataset (Assumption 1.3) whose inputs overlap freely."""
    st = _st()
    return st.composite(_datasets)(st, dim, max_sequences, max_pool, extreme)


def _datasets(draw, st, dim, max_sequences, max_pool, extreme):
    d = draw(st.integers(2, 3)) if dim is None else dim
    pool = draw(st.lists(points(d, extreme), min_size=1, max_size=max_pool,
                         unique_by=lambda p: tuple(Fraction(c) for c in p)))
    n = len(pool)
    subsets = st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True)
    inputs = draw(st.lists(subsets, min_size=1, max_size=max_sequences,
                           unique_by=lambda s: frozenset(s)))
    outs = pool + draw(st.lists(points(d, extreme), max_size=3))
    seqs = []
    for idx in inputs:
        m = draw(st.integers(1, len(idx)))
        out = draw(st.lists(st.sampled_from(outs), min_size=m, max_size=m,
                            unique_by=lambda p: tuple(Fraction(c) for c in p)))
        seqs.append({"input": [pool[i] for i in idx], "output": out})
    return {"dimension": d, "sequences": seqs}
