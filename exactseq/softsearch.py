"""The temperature and order search of softmax certification (``check
--attention softmax`` and :func:`exactseq.build`).

Every verdict comes from proofs_check; this module only decides what to try.

* At one temperature the series order starts at 4 and doubles until the
  certificate is verified, the order passes ``max_prec``, or two orders fail
  with the same message (a higher order then no longer changes the enclosures
  where the check stops, so the temperature must change instead).
* Without a given tau: the first of 1, 1/100, 1/10^4, ..., 1/10^12 that
  certifies (the enclosures tighten as tau falls).
* ``find_tau0``: then, without a given tau, one step of 10 back (the largest
  1/10^k that certifies, when smaller temperatures certify whenever larger ones
  do), and 10 steps of bisection in [tau, 10 tau] for the largest temperature
  that certifies there.
"""
from __future__ import annotations

import json
from fractions import Fraction

__all__ = ["attempt", "search"]


def attempt(ds, cons, tau, max_prec, progress, limits):
    """(verdict, summary or reason, certificate object) at one temperature."""
    from . import certificate
    import proofs_check
    order, unknown, failed, last, cert = min(4, max_prec), None, None, None, None
    while order <= max_prec:
        progress(f"softmax: tau = {tau}, order {order}")
        cert = json.loads(certificate.dumps(certificate.build(ds, cons, "softmax", tau, order)))
        try:
            return "certified", proofs_check.check(cert, limits=limits), cert
        except proofs_check.Unknown as exc:
            unknown = msg = str(exc)
        except proofs_check.Rejected as exc:
            failed = msg = str(exc)
        except proofs_check.Malformed as exc:
            return "failed", f"internal error: {exc}", cert
        if msg == last:
            break
        last = msg
        order *= 2
    order = min(order, max_prec)
    if failed:
        return "failed", f"{failed} (at every order up to {order})", cert
    return "unknown", f"{unknown} (at order {order})", cert


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
    else:
        for k in range(0, 13, 2):
            tau = Fraction(1, 10 ** k)
            result = run(tau)
            if result[0] == "certified":
                if k and find_tau0:
                    r = run(Fraction(1, 10 ** (k - 1)))
                    if r[0] == "certified":
                        tau, result = Fraction(1, 10 ** (k - 1)), r
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
