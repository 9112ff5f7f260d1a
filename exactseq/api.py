"""The Python API of exactseq: build, certify and run exact transformers.

Everything here is also reachable as ``exactseq.NAME`` (imported on first use,
so the command line starts without it).

>>> import exactseq
>>> ds = exactseq.dataset_from(
...     inputs=[[[0, 0], [1, 0]], [[0, 1], [1, 1], ["1/2", 2]]],
...     outputs=[[[1, 1]], [[2, 0], [0, 2]]])
>>> result = exactseq.certify(ds)                 # construct, then run proofs_check
>>> result.verdict, result.report["blocks"] <= result.report["block_bound"]
('certified', True)
>>> model = result.model
>>> sorted(set(model([[0, 1], [1, 1], ["1/2", 2]])))   # its output set: the target
[(Fraction(0, 1), Fraction(2, 1)), (Fraction(2, 1), Fraction(0, 1))]
>>> out = model([[3, 0], [0, "1/3"]])             # any other input, exactly
>>> all(isinstance(c, Fraction) for token in out for c in token)
True

Certificates are plain JSON; anyone can check them again:

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "cert.json")
>>> result.save(path)
>>> cert = exactseq.load_certificate(path)
>>> exactseq.check(cert)["verdict"]
'certified'
>>> exactseq.evaluate(cert, [[3, 0], [0, "1/3"]]) == out
True
>>> sorted(exactseq.parameter_norms(cert))
['approx', 'entries', 'l1', 'l2_squared', 'linf', 'number_format']

Every command has its function here: ``certify`` (check), :func:`verify`,
:func:`export_weights` (export), :func:`audit_floats` (audit),
:func:`tikhonov_file` (tikhonov), :func:`evaluate_file` (eval), :func:`figure`
(plot) and :func:`fuzz_campaign` (fuzz):

>>> exactseq.verify(path)["verdict"]                 # proofs_check alone
'verified'
>>> exactseq.verify(path, reference=True)["blocks"] == result.report["blocks"]
True
>>> npz = os.path.join(os.path.dirname(path), "w.npz")
>>> exactseq.export_weights(path, npz)["float_claim"]["proven"]      # verified, then written
True
>>> exactseq.audit_floats(path, bits=False, use_torch=False)["interpolates"]
True
>>> exactseq.tikhonov_file(path, "1/1000")["bound_is_rational"]
True
>>> inputs = os.path.join(os.path.dirname(path), "in.json")
>>> with open(inputs, "w") as fh:
...     _ = fh.write('{"sequences": [{"input": [[0, 1], [1, 1], ["1/2", 2]], "output": [[0, 2], [2, 0]]}]}')
>>> exactseq.evaluate_file(path, inputs)[0]["all_equal"]
True
>>> exactseq.fuzz_campaign("hat", count=5, seed=1)["cases"]
5

Numbers: coordinates are ints, Fractions, exact text ("1/2", "-0.125",
"1e-30", "sqrt(3)/2") or Python floats, read as the decimal they print as
(0.1 is 1/10, as in dataset files).  Outputs are tuples of Fractions, or of
real algebraic numbers (``exactseq.numbers.Alg``) for algebraic data; a
softmax model gives :class:`Enclosure` balls instead (its outputs are not
rational in general).  :func:`as_text` turns either into exact text.
"""
from __future__ import annotations

import json
import re
import os
import time
from dataclasses import dataclass
from fractions import Fraction

from .certificate import phase_of
from .dataset import Dataset, DatasetError
from .enclosures import Enclosure
from .exactmodel import (Model, as_text, cert_obj, coordinate_text, evaluate, load_certificate,
                         save_certificate)
from .exactmodel import parse_tokens as _parse_tokens  # noqa: F401  (the old private name)
from .numbers import rational

__all__ = ["verify", "export_weights", "audit_floats", "tikhonov_file", "evaluate_file", "figure", "fuzz_campaign",
           "ExactseqError", "load", "dataset_from", "build", "certify", "check", "check_weights", "evaluate", "load_certificate",
           "save_certificate", "as_text", "Model", "Result", "Enclosure", "Dataset",
           "DatasetError", "CertificateError", "InputError"]

PHASES = ("separation", "leaders", "collapse", "interpolation")
WIDTH_BOUND = 4
VERDICT = {"verified": "certified", "rejected": "failed", "unknown": "unknown"}


from .errors import CertificateError, ExactseqError, InputError  # noqa: E402  (re-exported)


# ------------------------------------------------------------------ datasets
def load(source, limits=None, assumption=True):
    """A :class:`Dataset` from a file path, a dict in the dataset format, or a Dataset.

    Raises :class:`DatasetError` (one line naming the file, sequence and
    token) on anything invalid.  Unknown keys are not errors: they are listed
    in ``dataset.warnings``.

    >>> ds = load({"sequences": [{"input": [[0, 0], [1, 0]], "output": [[1, 1]]}]})
    >>> ds.N, ds.dim, ds.sum_m
    (1, 2, 1)
    """
    from . import dataset
    if isinstance(source, Dataset):
        return source
    if isinstance(source, dict):
        return dataset.from_obj(_plain_numbers(source), "<dict>", limits, assumption)
    if isinstance(source, (str, os.PathLike)):
        return dataset.load(os.fspath(source), limits, assumption)
    raise TypeError(f"load() takes a path, a dict or a Dataset, not {type(source).__name__}")


def dataset_from(inputs, outputs, names=None, limits=None):
    """A :class:`Dataset` from Python lists: ``inputs[j]`` and ``outputs[j]`` are
    the j-th input and output sequences (lists of tokens, each a list of
    coordinates); ``names`` optionally names the sequences.

    >>> ds = dataset_from(inputs=[[[0, 0], [0.5, 1]]], outputs=[[[1, 1]]], names=["a"])
    >>> ds.pairs[0].input[1]
    (Fraction(1, 2), Fraction(1, 1))
    """
    inputs, outputs = list(inputs), list(outputs)
    if len(inputs) != len(outputs):
        raise DatasetError(f"<lists>: {len(inputs)} input sequences but {len(outputs)} output sequences")
    names = list(names) if names is not None else [None] * len(inputs)
    if len(names) != len(inputs):
        raise DatasetError(f"<lists>: {len(names)} names for {len(inputs)} sequences")
    seqs = []
    for name, X, Y in zip(names, inputs, outputs):
        entry = {"input": X, "output": Y}
        if name is not None:
            entry["name"] = name
        seqs.append(entry)
    from . import dataset
    return dataset.from_obj(_plain_numbers({"sequences": seqs}), "<lists>", limits)


def _plain_numbers(obj):
    if hasattr(obj, "tolist") and not isinstance(obj, (int, float, str)):   # numpy arrays, tensors
        obj = obj.tolist()
    if isinstance(obj, dict):
        return {k: _plain_numbers(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain_numbers(v) for v in obj]
    return coordinate_text(obj)


# ------------------------------------------------------------------ build and check
def build(dataset, attention="hardmax", *, tau=None, find_tau0=False, max_prec=64, limits=None,
          progress=None, robust=None, paper=False, max_width=None):
    """Construct the transformer of Theorem 1.4 (hardmax) or 1.6 (softmax) for a
    dataset (anything :func:`load` takes) and return its :class:`Model`.

    Softmax options are those of ``exactseq check``: ``tau`` (exact; default:
    the first of 1, 1/100, 1/10^4, ... that certifies, see :mod:`exactseq.softsearch`), ``find_tau0`` (bisect
    for the largest temperature that certifies) and ``max_prec``.  Choosing a
    temperature means running the checker; the model then carries its
    ``summary``.  If no temperature certifies, the model of the last one tried
    is returned and ``model.search["verdict"]`` says why.

    Hardmax: the float-safe construction for ``robust`` ("float64", the
    default, or "float32"; :mod:`exactseq.floatsafe`), or the paper's literal
    parameters with ``paper=True`` or packed layers with ``max_width``;
    ``model.construction`` says which (and why, on a fall-back).
    Raises ``exactseq.construction.ConstructionError`` if the construction fails.
    """
    from . import certificate
    ds = load(dataset, limits)
    tau = _options(attention, tau, find_tau0, max_prec)
    if getattr(ds, "causal", False) or attention == "causal":
        return _build_causal(ds, attention, progress)
    if attention == "hardmax":
        from . import floatsafe
        if robust is not None and robust not in floatsafe.FORMATS:
            raise ValueError(f"robust must be 'float64' or 'float32', not {robust!r}")
        if robust and (paper or max_width is not None):
            raise ValueError("robust builds the float-safe construction at width 4: not with paper or max_width")
        t0 = time.perf_counter()
        cons, how = floatsafe.construct(ds, robust=robust, paper=paper, max_width=max_width,
                                        progress=progress)
        cert = certificate.build(ds, cons)
        if max_width is not None:
            cert["max_width"] = max_width
        cert = json.loads(certificate.dumps(cert))
        model = Model(cert, _net=cons.model)
        model.construction = how
        model.unpacked_blocks, model.saved_by_sharing = cons.unpacked_blocks, cons.saved_by_sharing
        model.construct_time = time.perf_counter() - t0
        model.search = None
        model.source = ds.source
        return model
    return _build_softmax(ds, tau, find_tau0, max_prec, limits, progress)


def _build_causal(ds, attention, progress):
    """A dataset with "targets": masked attention (construction/causal.py)."""
    from . import certificate
    from .construction import causal
    if not getattr(ds, "causal", False):
        raise ValueError("attention='causal' needs a dataset with 'targets' (one target per position)")
    if attention == "softmax":
        raise ValueError("a dataset with 'targets' is for causal attention, not softmax")
    t0 = time.perf_counter()
    cons = causal.build(ds, progress=progress)
    cert = json.loads(certificate.dumps(certificate.build(ds, cons, attention="causal")))
    model = Model(cert, _net=cons.model)
    model.construct_time = time.perf_counter() - t0
    model.search = None
    model.source = ds.source
    model.causal = {"phases": dict(cons.phase_blocks), "classes": cons.classes}
    return model


def _build_softmax(ds, tau, find_tau0, max_prec, limits, progress):
    from .construction import build as construct
    import proofs_check
    if ds.field is not None:
        raise DatasetError(f"{ds.source}: softmax certification needs rational coordinates")
    limits = limits or proofs_check.DEFAULT
    t0 = time.perf_counter()
    cons = construct(ds, attention="softmax")
    say = progress or (lambda text: None)

    from .softsearch import search
    result, tau, tried = search(ds, cons, tau, find_tau0, max_prec, say, limits)
    verdict, info, cert = result
    model = Model(cert)
    model.summary = info if verdict == "certified" else None
    model.search = {"verdict": verdict, "reason": None if verdict == "certified" else info,
                    "tried": tried, "tau0_search": bool(find_tau0)}
    model.construct_time = time.perf_counter() - t0
    model.source = ds.source
    return model


def _options(attention, tau, find_tau0, max_prec):
    """The options of build/certify checked (ValueError); returns tau as a Fraction or None."""
    if attention not in ("hardmax", "softmax", "causal"):
        raise ValueError(f"attention must be 'hardmax', 'softmax' or 'causal', not {attention!r}")
    if attention in ("hardmax", "causal"):
        if tau is not None or find_tau0:
            raise ValueError("tau and find_tau0 apply to softmax only")
        return None
    if not isinstance(max_prec, int) or not 1 <= max_prec <= 4096:
        raise ValueError("max_prec must be an integer in 1..4096")
    if tau is not None:
        tau = _rational(tau, "tau") if isinstance(tau, str) else Fraction(tau)
        if tau <= 0:
            raise ValueError("tau must be positive")
    return tau


def _rational(text, what):
    from .numbers import NumberError, parse_coordinate
    try:
        q = parse_coordinate(text)
    except (NumberError, ValueError):
        q = None
    if not isinstance(q, Fraction):
        raise ValueError(f"{what} {text!r} is not a rational number")
    return q


def check(certificate, limits=None, source=None):
    """Run the independent checker (proofs_check) on a certificate (a JSON
    object, a path, or a :class:`Model`) and return the report that
    ``exactseq check --json`` prints: ``verdict`` ("certified", "failed" or
    "unknown"), ``blocks``, ``block_bound``, ``width``, ``parameters``,
    ``parameter_norms``, ``sequences``, ... .  Raises
    :class:`CertificateError` on a certificate not of the documented form."""
    import proofs_check
    from proofs_check import report as pcr
    if isinstance(certificate, (str, os.PathLike)):
        source = source or os.fspath(certificate)
    cert = cert_obj(certificate)
    t0 = time.perf_counter()
    verdict, result = pcr.run(cert, limits or proofs_check.DEFAULT)
    if verdict == "malformed":
        raise CertificateError(f"malformed certificate: {result['reason']}")
    summary = result if verdict == "verified" else None
    t = round(time.perf_counter() - t0, 4)
    rep = _report(cert, summary, VERDICT[verdict], result.get("reason"), source,
                  {"construct": 0.0, "check": t, "total": t})
    if cert.get("kind") == "weights":       # a given transformer: no phases, no construction bounds
        rep.update(kind="weights", phases=None, block_bound=None, width_bound=None,
                   tolerance=cert.get("tolerance"))
    if isinstance(cert.get("float_claim"), dict):
        from .floatsafe import stated
        rep["float_claim"] = stated(cert["float_claim"], summary and summary.get("float_claim"))
    return rep


def _report(cert, summary, verdict, reason, source, times, search=None):
    """The ``exactseq check --json`` object, from a certificate and the checker's summary."""
    from .tikhonov import parameter_norms
    if cert.get("attention") == "causal":
        return _causal_report(cert, summary, verdict, reason, source, times)
    ds = cert["dataset"]
    seqs = ds["sequences"]
    softmax = cert.get("attention", "hardmax") == "softmax"
    N, sum_m = len(seqs), sum(len(s["output"]) for s in seqs)
    field = cert.get("field")
    phases = {p: 0 for p in PHASES}
    for b in cert["blocks"]:
        ph = "collapse" if phase_of(b) == "saturate" else phase_of(b)
        phases[ph] = phases.get(ph, 0) + 1
    rep = {"verdict": verdict, "attention": "softmax" if softmax else "hardmax",
           "dataset": {"file": source, "N": N, "d": ds["dimension"],
                       "sum_n": sum(len(s["input"]) for s in seqs), "sum_m": sum_m,
                       "field": None if field is None else {"degree": len(field["minpoly"]) - 1}}}
    width = max((len(b["ff"]["U"]) for b in cert["blocks"]), default=0)
    seq = [{"index": j, "name": s.get("name"), "n": len(s["input"]), "m": len(s["output"]),
            "verdict": verdict} for j, s in enumerate(seqs)]
    if softmax:
        sm = cert.get("softmax", {})
        search = search or {"tried": [], "tau0_search": False}
        rep.update({
            "tau": sm.get("tau"), "order": summary["order"] if summary else None,
            "tau0_search": search["tau0_search"], "tried": search["tried"],
            "blocks": len(cert["blocks"]), "block_bound": 2 * sum_m + 3 * N, "phases": phases,
            "width": width, "width_bound": None, "parameters": _nonzero(cert),
            "claims_checked": summary["claims_checked"] if summary else None,
            "per_block": [{"block": b["block"], "phase": b["phase"],
                           "widest": _approx(Fraction(b["widest"])),
                           "smallest_gap": None if b["smallest_gap"] is None
                           else _approx(Fraction(b["smallest_gap"]))}
                          for b in summary["per_block"]] if summary else None,
            "sequences": seq, "reason": None if summary else reason,
            "time_s": {"total": times["total"]}})
    else:
        rep.update({
            "blocks": len(cert["blocks"]), "block_bound": 2 * sum_m + 2 * N + 1, "phases": phases,
            "width": width, "width_bound": cert.get("max_width", WIDTH_BOUND),
            "parameters": summary["parameters"] if summary else None,
            "claims_checked": summary["claims_checked"] if summary else None,
            "margins": _margins(cert), "sequences": seq, "reason": reason, "time_s": times})
    if summary is not None:
        rep["parameter_norms"] = parameter_norms(cert)
    return rep


def _causal_report(cert, summary, verdict, reason, source, times):
    """The ``exactseq check --json`` object of a causal certificate."""
    from proofs_check.causal import bound
    from .tikhonov import parameter_norms
    ds = cert["dataset"]
    seqs = ds["sequences"]
    limit, T, c = bound([(tuple(map(tuple, s["input"])), None) for s in seqs])
    phases = {}
    for b in cert["blocks"]:
        phases[phase_of(b)] = phases.get(phase_of(b), 0) + 1
    rep = {"verdict": verdict, "attention": "causal",
           "dataset": {"file": source, "N": len(seqs), "d": ds["dimension"],
                       "sum_n": sum(len(s["input"]) for s in seqs), "prefixes": T, "tokens": c,
                       "field": None},
           "blocks": len(cert["blocks"]), "block_bound": limit, "reformulation_blocks": 4 * T + 1,
           "phases": phases, "classes": None,
           "width": max((len(b["ff"]["U"]) for b in cert["blocks"]), default=0),
           "width_bound": WIDTH_BOUND,
           "parameters": summary["parameters"] if summary else None,
           "claims_checked": summary["claims_checked"] if summary else None,
           "sequences": [{"index": j, "name": s.get("name"), "n": len(s["input"]), "verdict": verdict}
                         for j, s in enumerate(seqs)],
           "reason": reason, "time_s": times}
    if summary is not None:
        rep["parameter_norms"] = parameter_norms(cert)
    return rep


def _numbers(cert):
    """Every parameter of the certificate as in the model's parameter lists."""
    for b in cert["blocks"]:
        ff, sa = b["ff"], b["sa"]
        yield ff["eta"]
        for r in ff["U"]:
            yield from r
        yield from ff["b"]
        for r in ff["W"]:
            yield from r
        yield sa["rho"]
        heads = sa.get("heads") or [{"A": sa.get("A"), "V": sa.get("V")}]
        for M in (M for h in heads for M in (h.get("A") or {}, h.get("V") or {})):
            if M["kind"] == "scalar":
                yield M["c"]
            elif M["kind"] == "rank1":
                if M.get("c", "1") != "1":
                    yield M.get("c", "1")
                yield from M["a"]
            elif M["kind"] == "full":
                for r in M["rows"]:
                    yield from r


def _is_zero(x):
    return all(rational(c) == 0 for c in x) if isinstance(x, list) else rational(x) == 0


def _nonzero(cert):
    return sum(1 for x in _numbers(cert) if not _is_zero(x))


def _margins(cert):
    from .certfield import field_of
    from .tikhonov import upper
    cf = field_of(cert)
    eps = []
    for b in cert["blocks"]:
        for c in b.get("claims", []):
            if c.get("kind") == "hat":
                e = c["eps"]
                eps.append(rational(e) if not isinstance(e, list) else
                           rational(e[0]) if not any(rational(x) for x in e[1:]) else None)
    big, bits = Fraction(0), 0
    for x in _numbers(cert):
        if isinstance(x, list):
            cs = [rational(c) for c in x] + [Fraction(0)] * (cf.field.k - len(x))
            v = cf.field.elem(cs)
            a = max(abs(upper(v)), abs(upper(-v)))
        else:
            cs = [rational(x)]
            if cf is not None:
                cs += [Fraction(0)] * (cf.field.k - 1)
            a = abs(cs[0])
        big = max(big, a)
        bits = max(bits, max(max(abs(c.numerator).bit_length(), c.denominator.bit_length()) for c in cs))
    eps = [e for e in eps if e is not None]
    return {"smallest_tube_eps": str(min(eps)) if eps else None,
            "largest_abs_parameter": _approx(big), "max_parameter_bits": bits}


def _approx(q):
    try:
        return f"{float(q):.4g}"
    except OverflowError:
        return f"~2^{q.numerator.bit_length() - q.denominator.bit_length()}"


@dataclass
class Result:
    """What :func:`certify` found: ``verdict`` ("certified", "failed" or "unknown"),
    ``report`` (the ``exactseq check --json`` object), ``certificate`` (the
    JSON object, None unless certified) and ``model`` (None if the construction
    failed)."""
    verdict: str
    report: dict
    certificate: dict = None
    model: Model = None

    @property
    def ok(self):
        return self.verdict == "certified"

    def save(self, path):
        """Write the certificate (as ``exactseq check --certificate`` does) atomically."""
        save_certificate(self, path)


def certify(dataset, attention=None, *, tau=None, find_tau0=False, max_prec=64, limits=None,
            progress=None, robust=None, paper=False, max_width=None, tolerance=None, jobs=1,
            audit=None, weights=None):
    """Construct and check: what ``exactseq check`` does, as a :class:`Result`
    whose ``report`` is the object ``exactseq check --json`` prints.

    ``attention``: "hardmax" (default; "causal" for a dataset with "targets"),
    "softmax" or "causal".  Softmax: ``tau``, ``find_tau0`` and ``max_prec`` as
    in :func:`build`.  Hardmax: ``robust``, ``paper`` and ``max_width`` as in
    :func:`build`; the float claim (binary64, or ``robust``'s format; relative
    tolerance ``tolerance``, default the smallest 2^-k proven) is checked
    beside the exact statements and reported in ``report["float_claim"]``;
    the certificate holds it only when proven.  With ``robust`` the claim is
    required: verdict "unknown" when it is not proven (``certificate`` then
    holds the exact statements only).  ``jobs``: checker processes (hardmax
    over the rationals).  ``audit`` ("float64", "float32" or "bfloat16"): the
    float audit of a certified model's weights in ``report["audit"]``.  ``progress(text)`` hears each phase
    and block.  ``limits``: the checker's resource limits.

    ``weights`` (a path to .npz, .safetensors, .pt or exact .json weights, or
    a :class:`exactseq.weightfile.Weights`): nothing is constructed; the given
    transformer is checked on the dataset (see :func:`check_weights`).

    Bad options raise ValueError; a certificate beyond ``limits`` raises
    :class:`CertificateError`.  Never raises otherwise on a dataset that
    loads: a construction or checker failure is the verdict "failed" (or
    "unknown") with the reason in ``report["reason"]``.
    """
    import proofs_check
    if weights is not None:
        if robust or paper or max_width is not None or find_tau0 or audit is not None or jobs != 1:
            raise ValueError("robust, paper, max_width, find_tau0, audit and jobs apply to a "
                             "construction, not to given weights")
        return check_weights(dataset, weights, attention, tau=tau, max_prec=max_prec,
                             tolerance=tolerance, limits=limits, progress=progress)
    attention = attention or "hardmax"
    ds = load(dataset, limits)
    limits = limits or proofs_check.DEFAULT
    causal = getattr(ds, "causal", False)
    if causal and attention == "softmax":
        raise ValueError("a dataset with 'targets' is for causal attention, not softmax")
    if attention == "causal" and not causal:
        raise ValueError("attention='causal' needs a dataset with 'targets' (one target per position)")
    attention = "causal" if causal else attention
    _options(attention, tau, find_tau0, max_prec)       # bad options raise ValueError
    if attention != "hardmax" and (robust or paper or max_width is not None or tolerance is not None):
        raise ValueError("robust, paper, max_width and tolerance apply to hardmax attention only")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, not {jobs!r}")
    if tolerance is not None:
        tolerance = Fraction(tolerance) if not isinstance(tolerance, str) else _rational(tolerance, "tolerance")
        if tolerance <= 0:
            raise ValueError("tolerance must be positive")
    if attention == "softmax" and ds.field is not None:
        raise DatasetError(f"{ds.source}: softmax certification needs rational coordinates")
    say = progress or (lambda text: None)
    t0 = time.perf_counter()
    hard = {"robust": robust, "paper": paper, "max_width": max_width} if attention == "hardmax" else {}
    try:
        model = build(ds, attention, tau=tau, find_tau0=find_tau0, max_prec=max_prec, limits=limits,
                      progress=lambda ph: say(f"constructing: {ph}") if attention != "softmax" else say(ph),
                      **hard)
    except ValueError:
        raise
    except Exception as exc:    # never certify after an unexpected error
        rep = _failed_report(ds, attention, f"internal error: {type(exc).__name__}: {exc}",
                             round(time.perf_counter() - t0, 4), max_width)
        return Result("failed", rep, None, None)
    t1 = time.perf_counter()
    if attention == "softmax":
        s = model.search
        verdict = s["verdict"]
        rep = _report(model.certificate, model.summary, verdict, s["reason"], ds.source,
                      {"total": round(time.perf_counter() - t0, 4)}, s)
    else:
        from proofs_check import report as pcr
        from . import floatsafe
        fmt = robust or "float64"
        if attention == "hardmax":
            model.certificate["float_claim"] = floatsafe.trial_claim(ds, fmt, tolerance)
            if max_width is not None:
                model.certificate["max_width"] = max_width
        clock = BlockClock(sum(len(p.input) for p in ds.pairs))
        verdict, result = pcr.run(json.loads(json.dumps(model.certificate)), limits, jobs=jobs,
                                  progress=lambda k, n: say(clock.text(k, n)), claim_required=False)
        if verdict == "malformed":     # e.g. a limit below what this dataset needs
            raise CertificateError(f"{ds.source}: the certificate is beyond a limit: {result['reason']}")
        model.summary = result if verdict == "verified" else None
        fc = floatsafe.settle(model.certificate, model.summary, fmt, tolerance) \
            if attention == "hardmax" else None
        verdict, reason = VERDICT[verdict], result.get("reason")
        if fc is not None and verdict == "certified" and robust and not fc["proven"]:
            verdict, reason = "unknown", f"the {fc['format']} float claim is not proven: {fc['reason']}"
        t2 = time.perf_counter()
        rep = _report(model.certificate, model.summary, verdict, reason, ds.source,
                      {"construct": round(t1 - t0, 4), "check": round(t2 - t1, 4),
                       "total": round(t2 - t0, 4)})
        if attention == "causal":      # the constructor's record
            rep["classes"] = model.causal["classes"]
        else:
            _hardmax_extras(rep, ds, model, verdict, max_width, fc)
    cert = None
    if verdict == "certified" or (model.summary is not None and attention == "hardmax"):
        cert = model.certificate
        cert["verdict"] = "certified"
        cert["bounds"] = {"blocks": rep["block_bound"]} if attention == "softmax" else \
            {"blocks": rep["block_bound"], "width": max_width or WIDTH_BOUND}
        cert["parameter_norms"] = rep["parameter_norms"]
        if audit is not None:
            from .audit import AuditError, audit_summary
            try:
                rep["audit"] = audit_summary(cert, audit)[0]
            except AuditError as exc:
                rep["audit"] = {"error": str(exc)}
    return Result(verdict, rep, cert, model)


_DIFF = re.compile(r"output: sequence (\d+)(?: position (\d+))?: .*squared (?:Hausdorff )?distance "
                   r"(\S+)(?: \(about (\S+)\))?$")


def check_weights(dataset, weights, attention=None, *, tau=None, max_prec=64, tolerance=None,
                  limits=None, progress=None):
    """Check a given transformer on a dataset: what ``exactseq check DATA --weights
    MODEL`` does, as a :class:`Result` (``report`` is its ``--json`` object).

    ``weights``: a path (.npz, .safetensors, .pt/.pth state_dict, or exact .json
    as ``exactseq export --format json`` writes) or a
    :class:`exactseq.weightfile.Weights`; every float is read as the exact
    dyadic rational it is.  ``attention``: "hardmax", "softmax" or "causal"
    (default: the file's metadata, else "causal" for a dataset with "targets",
    else "hardmax"); softmax needs ``tau`` (or the file's) and a tolerance.
    ``tolerance`` T: certified when every output set is within Hausdorff
    distance T of its target (causal: every position within T); without it,
    when every output equals its target exactly.

    Verdicts: "certified", "failed" (``report["difference"]`` names the first
    sequence beyond T and its exact squared distance) or "unknown" (softmax
    enclosures that do not decide).  A file that cannot be read raises
    :class:`InputError` (one line naming the file and the key)."""
    import proofs_check
    from proofs_check import report as pcr
    from . import weightcert, weightfile
    ds = load(dataset, limits, assumption=False)       # any data: no theorem is applied
    limits = limits or proofs_check.DEFAULT
    if attention not in (None, "hardmax", "softmax", "causal"):
        raise ValueError(f"attention must be 'hardmax', 'softmax' or 'causal', not {attention!r}")
    if tolerance is not None:
        tolerance = Fraction(tolerance) if not isinstance(tolerance, str) else _rational(tolerance, "tolerance")
        if tolerance < 0:
            raise ValueError("tolerance must be >= 0")
    if tau is not None:
        tau = Fraction(tau) if not isinstance(tau, str) else _rational(tau, "tau")
    say = progress or (lambda text: None)
    t0 = time.perf_counter()
    from proofs_check.limits import LimitError, work_budget
    try:
        with work_budget(limits):            # big numbers in a weight file (--max-work)
            w = weights if isinstance(weights, weightfile.Weights) else weightfile.read(weights, limits=limits)
    except LimitError as exc:
        raise InputError(f"{weights}: {exc}") from None
    say(f"read {w.L} blocks from {getattr(w, 'path', None) or 'the weights'}")
    cert = weightcert.build(ds, w, attention=attention, tau=tau, order=max_prec, tolerance=tolerance)
    t1 = time.perf_counter()
    clock = BlockClock(sum(len(p.input) for p in ds.pairs))
    verdict, result = pcr.run(json.loads(json.dumps(cert)), limits,
                              progress=lambda k, n: say(clock.text(k, n)))
    if verdict == "malformed":
        raise CertificateError(f"{ds.source}: the check is beyond a limit: {result['reason']}")
    t2 = time.perf_counter()
    verdict = VERDICT[verdict]
    seqs = cert["dataset"]["sequences"]
    att = cert["attention"]
    rep = {"verdict": verdict, "kind": "weights", "attention": att,
           "dataset": {"file": ds.source, "N": len(seqs), "d": ds.dim,
                       "sum_n": sum(len(s["input"]) for s in seqs)},
           "weights": {"file": getattr(w, "path", None), "format": w.format, "sha256": w.sha256,
                       "blocks": w.L, "heads": w.heads, "d": w.d},
           "tolerance": cert.get("tolerance"), "reason": result.get("reason")}
    if att == "softmax":
        rep.update(tau=cert["softmax"]["tau"], order=cert["softmax"]["order"])
    if verdict == "certified":
        keep = ("blocks", "heads", "width", "parameters", "construction_bound", "positions", "sum_m",
                "largest_distance_sq", "largest_distance")
        rep.update({k: result[k] for k in keep if k in result})
    else:
        rep["blocks"], rep["heads"] = w.L, w.heads
    m = _DIFF.match(rep["reason"] or "") if verdict == "failed" else None
    first = None
    if m:
        j = first = int(m.group(1))
        rep["difference"] = {"sequence": j, "name": seqs[j].get("name"),
                             "position": None if m.group(2) is None else int(m.group(2)),
                             "distance_sq": m.group(3), "distance_sq_about": m.group(4)}
    # the outputs are compared in order after every block ran: before the first
    # difference each sequence passed, after it none was compared
    rep["sequences"] = [
        {"index": j, "name": q.get("name"), "n": len(q["input"]),
         "m": len(q.get("output", q.get("targets", []))),
         "verdict": verdict if first is None and verdict != "failed" else
         "not compared" if first is None or j > first else "failed" if j == first else "passed"}
        for j, q in enumerate(seqs)]
    rep["time_s"] = {"read": round(t1 - t0, 4), "check": round(t2 - t1, 4), "total": round(t2 - t0, 4)}
    out = model = None
    if verdict == "certified":
        out = cert
        cert["verdict"] = "certified"
        model = Model(cert)
        model.summary = result
    return Result(verdict, rep, out, model)


class BlockClock:
    """The block progress line: block k of n, the speed (tokens through blocks per
    second when the number of tokens is known, else blocks per second), the time left."""

    def __init__(self, tokens=None):
        self.start, self.tokens = None, tokens

    def text(self, k, n):
        now = time.perf_counter()
        if self.start is None:
            self.start = now
        el = now - self.start
        if k <= 1 or el <= 0:
            return f"checking block {k}/{n}"
        rate = (k - 1) / el
        speed = f"{rate * self.tokens:.3g} tokens/s" if self.tokens else f"{rate:.3g} blocks/s"
        return f"checking block {k}/{n}, {speed}, about {(n - k) / rate:.0f} s left"


def _hardmax_extras(rep, ds, model, verdict, max_width, fc):
    """The parts of a hardmax report that come from the construction: which one,
    the float claim, packing and classification."""
    rep["construction"] = model.construction
    rep["float_claim"] = fc
    if max_width is not None:      # packed: the declared width and the count at one move per block
        rep.update(max_width=max_width, unpacked_blocks=model.unpacked_blocks)
    if ds.classes is not None:     # classification: classes, the O(N) bound, blocks saved
        from . import classification
        rep["classification"] = classification.report(ds, model.saved_by_sharing, verdict,
                                                      max_width or WIDTH_BOUND)


def _failed_report(ds, attention, reason, total, max_width=None):
    """The report of a run whose construction failed: the dataset, no model."""
    rep = {"verdict": "failed", "attention": attention,
           "dataset": {"file": ds.source, "N": ds.N, "d": ds.dim,
                       "sum_n": sum(len(p.input) for p in ds.pairs), "sum_m": getattr(ds, "sum_m", None),
                       "field": None if ds.field is None else {"degree": ds.field.k}},
           "blocks": None, "block_bound": None if attention == "causal" else
           (2 * ds.sum_m + 3 * ds.N if attention == "softmax" else 2 * ds.sum_m + 2 * ds.N + 1),
           "phases": None, "width": None, "width_bound": None if attention == "softmax" else
           (max_width or WIDTH_BOUND), "parameters": None, "claims_checked": None,
           "sequences": [{"index": j, "name": p.name, "n": len(p.input), "m": len(p.output),
                          "verdict": "failed"} for j, p in enumerate(ds.pairs)],
           "reason": reason, "time_s": {"construct": total, "check": 0.0, "total": total}}
    if attention == "hardmax":
        rep["margins"] = None
    if attention == "softmax":
        rep.update(tau=None, order=None, tau0_search=False, tried=[], per_block=None)
    if attention == "causal":
        from proofs_check.causal import bound
        limit, T, c = bound([(tuple(p.input), None) for p in ds.pairs])
        rep["dataset"].update(prefixes=T, tokens=c)
        rep.update(block_bound=limit, reformulation_blocks=4 * T + 1, classes=None)
    return rep


# ------------------------------------------------------------------ the other commands
def verify(certificate, dataset=None, limits=None, jobs=1, reference=False):
    """What ``exactseq verify`` does: proofs_check on a certificate (a path, "-",
    a JSON object, a :class:`Model` or a :class:`Result`) and, with ``dataset``,
    that the certificate is about it.  Returns the ``verify --json`` object:
    ``verdict`` ("verified", "rejected", "unknown" or "malformed"), ``reason``,
    and the checker's summary when verified.  ``reference``: the reference
    kernel instead of the fast checker."""
    import proofs_check
    from proofs_check import report as pcr
    from .dataset import canonical_obj
    limits = limits or proofs_check.DEFAULT
    try:
        cert = pcr.load(os.fspath(certificate), limits) if isinstance(certificate, (str, os.PathLike)) \
            else cert_obj(certificate)
    except pcr.Malformed as exc:
        return {"verdict": "malformed", "reason": str(exc)}
    verdict, result = pcr.run(cert, limits, jobs=jobs, reference=reference)
    if dataset is not None and verdict != "malformed":
        ds = load(dataset, limits)
        if pcr.dataset_hash(canonical_obj(ds)) != cert.get("dataset_sha256"):
            result.update(verdict="malformed", reason="the certificate is not about this dataset (the "
                          "SHA-256 of its canonical form differs from the certificate's dataset_sha256)")
    return result


def export_weights(certificate, output, fmt=None, dtype="float64", limits=None, verify=True):
    """What ``exactseq export`` does (:func:`exactseq.export.export_file`)."""
    from .export import export_file
    return export_file(os.fspath(certificate), os.fspath(output), fmt, dtype, limits, verify)


def audit_floats(certificate, dtype="float64", tol=None, max_bits=4096, bits=True, use_torch=True, plot_to=None,
          limits=None, progress=None):
    """What ``exactseq audit`` does (:func:`exactseq.audit.audit_file`)."""
    from .audit import audit_file
    return audit_file(os.fspath(certificate), dtype, tol, max_bits, bits, use_torch, plot_to, limits, progress)


def tikhonov_file(certificate, eps, regularizer="l2_squared", limits=None):
    """What ``exactseq tikhonov`` does (:func:`exactseq.tikhonov.bound_for_file`)."""
    from .tikhonov import bound_for_file
    return bound_for_file(os.fspath(certificate), eps, regularizer, limits)


def evaluate_file(certificate, inputs, limits=None):
    """What ``exactseq eval`` does: (the ``eval --json`` object, warnings)."""
    from .evaluation import evaluate_file as run
    return run(os.fspath(certificate), os.fspath(inputs), limits)


def figure(source, **options):
    """What ``exactseq plot`` draws (:func:`exactseq.pictures.figure`)."""
    from .pictures import figure as draw
    return draw(source, **options)


def fuzz_campaign(target="pipeline", count=200, seconds=None, seed=0, jobs=1, progress=None):
    """What ``exactseq fuzz TARGET`` does: one campaign's summary (a dict; its
    "bugs" list the cases that met every precondition and failed)."""
    from .fuzz import campaign
    return campaign(target, count=count, seconds=seconds, seed=seed, jobs=jobs, progress=progress)

