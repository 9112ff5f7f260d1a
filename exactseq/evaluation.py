"""``exactseq eval CERT INPUT.json``: a certified model's exact outputs on new inputs."""
from __future__ import annotations


HELP = """\
INPUT.json has the dataset layout, outputs optional:
  {"sequences": [{"name": "a", "input": [[0, 0], [1, 2]]},
                 {"input": [["1/2", 3], [2, 2]], "output": [[3, 3]]}]}
Coordinates as in datasets: integers, "p/q", exact decimals, and for hardmax
expressions with sqrt, ^, + - * / (for a certificate over a number field, in
the roots its dataset uses, e.g. "sqrt(3)/2").

Hardmax certificates evaluate exactly: every output token is printed as exact
text ("p/q", or an algebraic expression). Softmax certificates: the exact
outputs are not rational in general, so each token is printed as a rigorous
enclosure, a max-norm ball "centre +- radius" that contains the true value
(radius 0: exact). A sequence with an "output" is compared with it as a set
(the paper's Hausdorff distance 0): "equals", "differs", or for a softmax
enclosure that cannot tell, "undecided".  The other keys of the dataset format
("label", "targets", "classes") are accepted and not compared.

The certificate is read with the checker's safe JSON reader but not checked
(use exactseq verify for that).

Exit status: 0 done (every given output equal), 1 a given output differs,
2 bad input or usage, 3 undecided (softmax enclosures too wide to compare).
"""


def read_inputs(path, limits):
    """The list of sequence objects of INPUT.json; ValueError (one line) otherwise."""
    from proofs_check.limits import LimitError, read_bytes, read_json
    from .dataset import _nearest
    try:
        raw = read_bytes(path, limits)       # "-": standard input
        path = "<stdin>" if path == "-" else path
        obj = read_json(raw, limits, path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except LimitError as exc:
        raise ValueError(str(exc) if str(exc).startswith(path) else f"{path}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("sequences"), list):
        raise ValueError(f"{path}: the top level must be a JSON object with a 'sequences' list")
    if not obj["sequences"]:
        raise ValueError(f"{path}: no sequences")
    warnings = [f"{path}: unknown top-level key {k!r} ignored" for k in obj
                if k not in ("sequences", "dimension", "classes")]
    seqs = []
    for j, s in enumerate(obj["sequences"]):
        where = f"{path}: sequence {j}"
        if not isinstance(s, dict):
            raise ValueError(f"{where}: must be an object with 'input'")
        if isinstance(s.get("name"), str):
            where += f" ({s['name'][:60]!r})"
        elif s.get("name") is not None:
            raise ValueError(f"{where}: 'name' must be a string")
        if "input" not in s:
            raise ValueError(f"{where}: missing key 'input'")
        for key in ("input", "output"):
            if key in s and (not isinstance(s[key], list) or not s[key]):
                raise ValueError(f"{where}: {key!r} must be a non-empty list of tokens")
        known = ("input", "output", "name", "label", "targets")
        warnings += [f"{where}: unknown key {k!r} ignored" + _nearest(k, known) for k in s if k not in known]
        seqs.append((where, s))
    return seqs, warnings


def evaluate_file(cert, inputs, limits=None):
    """(the ``eval --json`` object, warnings) for a certificate file and an
    inputs file; CertificateError or InputError (one line) otherwise.  The
    object's ``all_equal`` is True, False, or None (no output given, or a
    softmax enclosure undecided)."""
    from proofs_check.limits import DEFAULT
    from .errors import CertificateError, InputError
    from .exactmodel import Model, load_certificate
    limits = limits or DEFAULT
    try:
        model = Model(load_certificate(cert, limits))
    except CertificateError as exc:
        msg = str(exc)
        raise CertificateError(msg if msg.startswith(cert) else f"{cert}: {msg}") from None
    try:
        seqs, warnings = read_inputs(inputs, limits)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    results = []
    for j, (where, s) in enumerate(seqs):
        try:
            res = evaluate_sequence(model, s["input"], s.get("output"), limits)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        results.append({"index": j, "name": s.get("name"), **res})
    given = [r["equal"] for r in results if "equal" in r]
    out = {"certificate": cert, "attention": model.attention,
           "tau": None if model.tau is None else str(model.tau), "d": model.dim,
           "blocks": len(model.blocks), "sequences": results,
           "all_equal": None if not given else (False if False in given else None if None in given
                                                else True)}
    if model._cf is not None and model._cf.uses_theta():
        out["theta"] = model._cf.theta()
    return out, warnings


def evaluate_sequence(model, X, Y=None, limits=None):
    """A JSON-ready dict: ``output`` (exact text per token, in order), ``output_set``
    (the distinct tokens), and with an expected output Y, ``equal``: True, False,
    or None (a softmax enclosure could not decide)."""
    from .enclosures import Enclosure
    from .exactmodel import as_text, parse_tokens
    n = len(X) if isinstance(X, list) else 0
    tokens = list(X) + (list(Y) if Y else []) if isinstance(X, list) else X
    pts, cf = parse_tokens(tokens, model.dim, model._cf, limits,
                           softmax=model.attention == "softmax",
                           label=lambda t: f"input token {t}" if t < n else f"output token {t - n}")
    xs, ys = pts[:n], pts[n:]
    if model.attention == "softmax":
        from . import enclosures
        from .numbers import to_text
        from .tikhonov import approx
        outs = enclosures.run(model.blocks, model.tau, xs, model.dim)[-1]
        res = {"output": as_text(outs), "exact": all(e.exact for e in outs),
               "max_radius": to_text(max(e.radius for e in outs)),
               "max_radius_approx": approx(max(e.radius for e in outs))}
        distinct = list(dict.fromkeys((e.centre, e.radius) for e in outs))
        res["output_set"] = as_text([Enclosure(c, r) for c, r in distinct])
        if Y:
            res["expected"] = as_text(ys)
            res["equal"] = _enclosures_equal(outs, ys)
        return res
    outs = model._net.evaluate(xs)
    distinct = list(dict.fromkeys(outs))
    res = {"output": as_text(outs, cf), "output_set": as_text(distinct, cf),
           "multiplicity": [outs.count(p) for p in distinct]}
    if Y:
        res["expected"] = as_text(ys, cf)
        res["equal"] = set(outs) == set(ys)
    return res


def _enclosures_equal(outs, ys):
    if all(e.exact for e in outs):
        return {e.centre for e in outs} == set(ys)
    if any(not any(e.contains(y) for y in ys) for e in outs):
        return False          # a token that is certainly no target
    if any(not any(e.contains(y) for e in outs) for y in ys):
        return False          # a target that no token can be
    return None


def _tok(t):
    return "(" + ", ".join(t) + ")"


def text(o):
    tau = f", tau = {o['tau']}" if o["tau"] else ""
    lines = [f"exactseq eval: {o['certificate']} ({o['attention']}{tau}, d = {o['d']}, "
             f"{o['blocks']} blocks): {len(o['sequences'])} sequence{'s' if len(o['sequences']) != 1 else ''}"
             + (" (enclosures: centre +- radius in the max-norm)" if o["attention"] == "softmax" else "")]
    for s in o["sequences"]:
        name = f" ({s['name']!r})" if s["name"] is not None else ""
        if o["attention"] == "softmax":
            toks = ", ".join(_tok(e["centre"]) + ("" if e["radius"] == "0" else f" +- {e['radius']}")
                             for e in s["output_set"])
            head = f"sequence {s['index']}{name}: {len(s['output'])} tokens -> " + \
                ("exact: " if s["exact"] else "enclosed (radius <= "
                 + ("" if s["max_radius_approx"].startswith("~") else "~") + f"{s['max_radius_approx']}): ")
        else:
            toks = ", ".join(_tok(t) + (f" x{k}" if k > 1 else "")
                             for t, k in zip(s["output_set"], s["multiplicity"]))
            head = f"sequence {s['index']}{name}: {len(s['output'])} tokens -> "
        verdict = ""
        if "equal" in s:
            verdict = {True: "; equals the given output", False: "; DIFFERS from the given output",
                       None: "; undecided against the given output (enclosures too wide)"}[s["equal"]]
        lines.append(head + "{" + toks + "}" + verdict)
    if o.get("theta"):
        lines.append(o["theta"])
    return "\n".join(lines)
