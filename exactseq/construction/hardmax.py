"""The paper's construction (Theorem 1.4, and 1.6's with attention="softmax"),
phase by phase in the paper's order, with its literal parameter choices.

The paper's separate non-zero shift is not needed here: every separation
block carries its own shift making <a, x> > 0, so it costs 0 blocks.
"""
from __future__ import annotations

from ..model import Transformer
from .collapse import collapse
from .common import TUBE_HARDMAX, TUBE_SOFTMAX, Construction
from .interpolation import interpolate
from .leaders import select_leaders
from .packing import DEFAULT_WIDTH, layers
from .separation import separate
from .softmax import staircase

def build(ds, progress=None, attention="hardmax", max_width=None, share=None):
    """The construction; with attention="softmax" (Theorem 1.6) the hat tubes
    are narrower and a saturating staircase block follows the collapse.
    (The float-safe and the causal constructions are robust.py and causal.py;
    ``exactseq.construction.build`` picks one.)

    ``max_width`` (hardmax, >= 4): the widest FF layer; the hat moves of the
    leaders and interpolation phases are packed several per layer (packing.py).
    ``share`` (default: for a hardmax classification dataset): sequences with equal
    output lists share their leader positions, so their interpolation moves
    are shared."""
    width = DEFAULT_WIDTH if max_width is None else max_width
    if width < DEFAULT_WIDTH:
        raise ValueError(f"max_width must be at least {DEFAULT_WIDTH}, not {width}")
    d, softmax = ds.dim, attention == "softmax"
    if share is None:
        share = getattr(ds, "classes", None) is not None and not softmax
    tube = TUBE_SOFTMAX if softmax else TUBE_HARDMAX
    outputs = [list(p.output) for p in ds.pairs]
    m = [len(Y) for Y in outputs]
    seqs = [list(p.input) for p in ds.pairs]
    blocks, counts, states = [], {}, {}

    def record(phase, new_blocks, new_seqs):
        blocks.extend(new_blocks)
        counts[phase] = len(new_blocks)
        states[phase] = [list(X) for X in new_seqs]
        return new_seqs

    say = progress or (lambda phase: None)
    say("separation")
    seqs = record("separation", *separate(seqs, d, tube))
    say("leaders")
    lead_blocks, seqs, data = select_leaders(seqs, outputs, d, tube, width, share)
    seqs = record("leaders", lead_blocks, seqs)
    say("collapse")
    col_blocks, seqs = collapse(seqs, data, d, m, counts=not softmax)
    if softmax:
        col_blocks.append(staircase(seqs, m, d))
    seqs = record("collapse", col_blocks, seqs)
    say("interpolation")
    record("interpolation", *interpolate(seqs, outputs, d, tube, width))
    hats = {ph: sum(1 for b in blocks if b.phase == ph for c in b.claims if c["kind"] == "hat")
            for ph in ("leaders", "interpolation")}
    unpacked = len(blocks) - counts["leaders"] - counts["interpolation"] + sum(hats.values())
    saved = layers(ds.sum_m, width) - counts["interpolation"] if share else None
    return Construction(Transformer(blocks, d), counts, states, width, unpacked, saved)


__all__ = ["build"]
