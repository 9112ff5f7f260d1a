"""proofs_check: the small trusted checker for exactseq certificates.

Standard library only; imports nothing from exactseq and trusts no activation
the constructor computed.  Given a certificate (plain JSON: the dataset, every
block's weights, every block's claims with witnesses) it

1. checks the dataset against Assumption 1.3,
2. re-evaluates every token of every sequence through every block from the
   weights alone, exactly (hardmax ties detected exactly and averaged),
3. checks every claim against the tokens it recomputed,
4. checks that each final output set equals the target set exactly, and
5. for a certificate with a "float_claim", proves it (floatclaim.py: a float pass
   of the weights decides as the exact model and ends within a tolerance).

The first false statement raises :class:`Rejected` with the message
"block k (phase): claim: detail"; a certificate that is not of the documented
form raises :class:`Malformed`.  Nothing is certified unless every check ran
to the end and passed.

Numbers in a certificate: "p" or "p/q" for rationals; for a dataset over a
real number field Q(theta), a list of rationals [c0, ..., c_{k-1}] meaning
sum c_i theta^i, with theta given by "field": {"minpoly": monic, lowest degree
first, "interval": [lo, hi] holding exactly one of its roots}.  The polynomial
need not be irreducible: numbers.py states why no representation can stand in
for a different number.  Lemma predicates live in lemmas.py (shared with the
softmax path); resource limits in limits.py.

The modules below this dispatcher: reading.py (the certificate's form, the
size bounds, the output comparison), engine.py (the fast exact evaluation and
the block loop; its shortcuts are listed there), causal.py, softmax.py,
floatclaim.py, weights.py (certificates of given weights, "kind": "weights"),
shards.py (``check(..., jobs=J)``: the block loop in J
processes, combined into the same result); kernel.py is the reference
checker every fast path is tested against.
"""
from __future__ import annotations

from .engine import Decide, run_blocks
from .limits import DEFAULT
from .numbers import Malformed, Rejected, Unknown, sgn
from .reading import (HARDMAX_CLAIMS, SCHEMA_VERSION, _mat_params, attach_claim, attention_of,
                      declared_width, is_weights, prescan, read_block, start)

__all__ = ["check", "Rejected", "Malformed", "Unknown", "SCHEMA_VERSION"]


def check(cert, progress=None, limits=DEFAULT, jobs=1, run_shards=None, claim_required=True):
    """Check a certificate.  Returns a summary dict (JSON-ready); raises Rejected,
    Malformed or Unknown.

    With ``claim_required=False`` a float claim that is not proven does not
    decide the verdict: the exact statements are checked as always, and the
    summary's "float_claim" is None with "float_claim_unproven" =
    {"verdict": "unknown" | "rejected" | "malformed", "reason": ...} beside it
    (a constructor uses this to keep the exact certificate and drop the claim).

    With ``jobs`` > 1 a hardmax certificate over the rationals is checked in
    that many processes, each on a contiguous range of sequences, and the
    results are combined (shards.py) into exactly the summary or the exception
    of one process; other certificates are checked in one process.
    ``run_shards(work, ranges, progress)`` runs the shards elsewhere (the
    default: local processes, shards.run_local)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, not {jobs!r}")
    attention = attention_of(cert)
    if is_weights(cert):          # a given transformer: evaluation only (weights.py)
        from . import weights
        return weights.check(cert, progress, limits=limits)
    if attention == "softmax":
        from . import softmax
        return softmax.check(cert, progress, limits=limits)
    if attention == "causal":
        from . import causal
        return causal.check(cert, progress, limits=limits)
    nums, d, pairs, blocks = start(cert, limits)
    N, sum_m = len(pairs), sum(len(Y) for _, Y in pairs)
    bound = 2 * sum_m + 2 * N + 1
    max_width = declared_width(cert)
    prescan(blocks, bound, max_width, limits, "2 sum m + 2N + 1")

    rational = nums.field is None      # then a number is zero iff its Fraction is

    def read(k):
        """Block k read, with its number of non-zero parameters (or the exception
        reading it raises)."""
        where, (eta, U, b, W), (rho, A, V), claims = read_block(blocks[k - 1], k, nums, d)
        nonzero = sum(1 for x in (eta, rho, *b, *(c for r in U for c in r), *(c for r in W for c in r))
                      if (x if rational else sgn(x) != 0)) + _mat_params(A) + _mat_params(V)
        unknown = {c["kind"] for c in claims} - HARDMAX_CLAIMS
        if unknown:
            raise Malformed(f"{where}: claim {sorted(unknown, key=str)[0]!r} is not checked in hardmax mode")
        return where, (eta, U, b, W), (rho, A, V), claims, nonzero

    if jobs > 1 and N > 1 and nums.field is None:
        from . import shards
        work = shards.Work(pairs, d, len(blocks), read, limits)
        width, params, claims_ok = (run_shards or shards.run_local)(
            work, shards.split([len(X) for X, _ in pairs], jobs), progress)
    else:
        width, params, claims_ok = run_blocks(pairs, d, len(blocks), read, Decide(), progress=progress,
                                              limits=limits)
    summary = {"attention": "hardmax", "blocks": len(blocks), "block_bound": bound, "width": width,
               "width_bound": max_width, "parameters": params, "claims_checked": claims_ok,
               "N": N, "d": d, "sum_m": sum_m}
    if "float_claim" in cert:     # after the exact outputs are proven: floatclaim.py
        from .floatclaim import check_claim
        attach_claim(summary, lambda: check_claim(cert, d, pairs, len(blocks), read, limits=limits),
                     claim_required)
    return summary
