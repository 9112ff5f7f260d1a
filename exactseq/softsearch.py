"""The temperature and order search of softmax certification (``check
--attention softmax`` and :func:`exactseq.build`).

Every verdict comes from proofs_check; this module only decides what to try.

* At one temperature the series order is ``max_prec``: a higher order only
  raises the lower bound T(x) of e^x (every term is positive), so the weight
  enclosures only tighten; if the highest order fails, the temperature must
  change.  (The checker's Taylor sums are memoised and stop early, so a high
  order costs next to nothing.)
* Without a given tau: the first of 1, 1/100, 1/10^4, ..., 1/10^12 that
  certifies (the enclosures tighten as tau falls).
* ``find_tau0``: then, without a given tau, one step of 10 back (the largest
  1/10^k that certifies, when smaller temperatures certify whenever larger ones
  do), or, if tau = 1 or the given tau certifies, steps of 10 up (to 10^12)
  while they certify; so 10 tau is known to fail.  Then 10 steps of bisection in
  [tau, 10 tau], each trying the simplest rational in the middle third, for the
  largest temperature that certifies there (within about 1.7% of 9 tau).
"""
from __future__ import annotations

import json
from fractions import Fraction

__all__ = ["attempt", "search"]


def attempt(ds, cons, tau, max_prec, progress, limits):
    """(verdict, summary or reason, certificate object) at one temperature, with
    the series order ``max_prec``."""
    from . import certificate
    import proofs_check
    progress(f"softmax: tau = {tau}, order {max_prec}")
    cert = json.loads(certificate.dumps(certificate.build(ds, cons, "softmax", tau, max_prec)))
    try:
        return "certified", proofs_check.check(cert, limits=limits), cert
    except proofs_check.Unknown as exc:
        return "unknown", f"{exc} (at order {max_prec})", cert
    except proofs_check.Rejected as exc:
        return "failed", f"{exc} (at order {max_prec})", cert
    except proofs_check.Malformed as exc:
        return "failed", f"internal error: {exc}", cert


def search(ds, cons, tau, find_tau0, max_prec, progress, limits):
    """(result of :func:`attempt`, the temperature, the list of {tau, verdict} tried)."""
    from .numbers import simplest_in
    tried = []

    def run(t):
        r = attempt(ds, cons, t, max_prec, progress, limits)
        tried.append({"tau": str(t), "verdict": r[0]})
        return r

    if tau is not None:
        result = run(tau)
        while find_tau0 and result[0] == "certified" and tau < 10 ** 12:   # is 10 tau failing?
            r = run(tau * 10)
            if r[0] != "certified":
                break
            tau, result = tau * 10, r
    else:
        for k in range(0, 13, 2):
            tau = Fraction(1, 10 ** k)
            result = run(tau)
            if result[0] == "certified":
                if k and find_tau0:
                    r = run(Fraction(1, 10 ** (k - 1)))
                    if r[0] == "certified":
                        tau, result = Fraction(1, 10 ** (k - 1)), r
                while not k and find_tau0 and tau < 10 ** 12:   # tau = 1 certifies: step up
                    r = run(tau * 10)
                    if r[0] != "certified":
                        break
                    tau, result = tau * 10, r
                break
    if result[0] == "certified" and find_tau0:
        lo, hi, best = tau, tau * 10, result
        for _ in range(10):
            mid = simplest_in(lo + (hi - lo) / 3, hi - (hi - lo) / 3)
            r = run(mid)
            if r[0] == "certified":
                lo, best = mid, r
            else:
                hi = mid
        tau, result = lo, best
    return result, tau, tried
