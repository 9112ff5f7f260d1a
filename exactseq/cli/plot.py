"""``exactseq plot``: the tokens after each phase (the paper's Figure 5)."""
from __future__ import annotations


def add_parser(sub):
    from ..pictures import add_parser as add
    add(sub)


def run(args):
    from ..pictures import run as go
    return go(args)
