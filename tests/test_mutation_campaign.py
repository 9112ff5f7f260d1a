"""Mutation campaign: every number of every block and claim, and block drops,
duplicates and swaps.  verify must never accept a model that does not map every
input exactly onto its output (judged by the plain dense evaluator)."""
import pytest

from helpers import campaign, certify, seqs

DATASETS = {
    "overlapping": seqs(([[0, 0], [1, 0]], [[5, 5]]), ([[1, 0], [0, 1]], [[5, 6]]),
                        ([[0, 0], [0, 1]], [[1, 2], [0, 0]])),
    "nested 3d": seqs(([[0, 0, 1]], [[1, 1, 1]]), ([[0, 0, 1], [1, 0, 0]], [[2, 0, 0]]),
                      ([[0, 0, 1], [1, 0, 0], [0, 2, 0]], [[0, 1, 0], [1, 2, 3]])),
    "disjoint": seqs(([[2, 0], [0, 3]], [["1/2", 0]]), ([[1, 1], [-1, 1], [0, 0]], [[1, 1], [9, 9]])),
}


@pytest.mark.parametrize("name", list(DATASETS))
def test_campaign_never_fooled(name):
    _, _, cert, _ = certify(DATASETS[name])
    counts, fooled = campaign(cert)
    assert fooled == []
    assert counts["rejected"] > counts["harmless"] > 0
