"""The text reports of ``exactseq check`` (hardmax, softmax, causal): counts that
read the same at 5 sequences as at 10^5, every sequence with --verbose."""
from __future__ import annotations

from .. import __version__


def hardmax(r, verbose=False):
    ds = r["dataset"]
    lines = [f"exactseq {__version__}: exact hardmax "
             + ("classification (Theorem 1.4 with every m_j = 1)" if r.get("classification")
                else "interpolation (Theorem 1.4)"),
             f"dataset      {ds['file']}: N = {ds['N']} sequence{'s' if ds['N'] != 1 else ''}, d = {ds['d']}, "
             f"sum n = {ds['sum_n']}, sum m = {ds['sum_m']}"
             + (f", coordinates in a number field of degree {ds['field']['degree']}" if ds["field"] else "")]
    if r["blocks"] is not None:
        ph = ", ".join(f"{k} {v}" for k, v in r["phases"].items())
        lines += [f"blocks       {r['blocks']} (bound 2 sum m + 2N + 1 = {r['block_bound']}): {ph}",
                  f"FF width     {r['width']} (bound {r['width_bound']})"]
        if r.get("max_width"):
            lines.append(f"packing      up to {max(1, r['max_width'] // 3)} hat moves per layer: "
                         f"{r['blocks']} blocks for {r['unpacked_blocks']} at one move per block")
    if r["parameters"] is not None:
        lines.append(f"parameters   {r['parameters']} non-zero")
        lines.append("lemmas       " + ", ".join(f"{k} {v}" for k, v in r["claims_checked"].items())
                     + " claims proved")
        m = r["margins"]
        lines.append(f"margins      smallest tube eps {m['smallest_tube_eps']}, largest |parameter| "
                     f"{'' if m['largest_abs_parameter'].startswith('~') else '~'}"
                     f"{m['largest_abs_parameter']}, numerators and denominators of up to "
                     f"{m['max_parameter_bits']} bits")
    if r.get("parameter_norms"):
        from ..tikhonov import norm_line
        lines.append("norms        " + norm_line(r["parameter_norms"]))
    if r.get("classification"):
        from ..classification import text_lines
        lines += text_lines(r, r["blocks"], verbose)
    if r.get("construction"):
        lines.append(_construction_line(r["construction"]))
    if r.get("float_claim"):
        from ..floatsafe import line
        lines.append(line(r["float_claim"]))
    return tail(r, lines, verbose=verbose)


def _construction_line(c):
    if c["construction"] == "float-safe":
        scale = f", inputs scaled by {c['scale']}" if c.get("scale") not in (None, "1") else ""
        return f"construction float-safe for {c['format']} (free parameters chosen for floats{scale})"
    return f"construction the paper's parameters ({c['note']})"


def sequence_lines(r, verbose, size):
    """One summary line of the sequences' verdicts; with ``verbose`` a line per
    sequence too (the verdict is the whole model's: one check covers them all)."""
    seqs = r["sequences"]
    counts = {}
    for s in seqs:
        counts[s["verdict"]] = counts.get(s["verdict"], 0) + 1
    lines = ["sequences    " + ", ".join(f"{n} {v}" for v, n in counts.items())
             + ("" if verbose or len(seqs) < 2 else " (--verbose lists each)")]
    if verbose or len(seqs) == 1:
        for s in seqs:
            name = f" ({s['name']!r})" if s["name"] is not None else ""
            lines.append(f"sequence {s['index']}{name}: {size(s)}: {s['verdict']}")
    return lines


def tail(r, lines, scope="", verbose=False):
    """The sequences, the verdict, the certificate and the time."""
    lines += sequence_lines(r, verbose, lambda s: f"{s['n']} -> {s['m']} token{'s' if s['m'] != 1 else ''}")
    if r["verdict"] == "certified":
        lines.append("verdict      CERTIFIED: every output set equals its target exactly "
                     f"(Hausdorff distance 0){scope}")
    else:
        lines.append(f"verdict      {r['verdict'].upper()}: {r['reason']}")
    if r.get("certificate"):
        lines.append(f"certificate  {r['certificate']}"
                     + (f" ({r['certificate_note']})" if r.get("certificate_note") else ""))
    t = r["time_s"]
    split = (f" (construction {t['construct']:.3f} s, certificate and check {t['check']:.3f} s)"
             if "check" in t else "")
    lines.append(f"time         {t['total']:.3f} s{split}")
    return "\n".join(lines)


def softmax(r, verbose=False):
    ds = r["dataset"]
    lines = [f"exactseq {__version__}: exact softmax interpolation (Theorem 1.6)",
             f"dataset      {ds['file']}: N = {ds['N']} sequence{'s' if ds['N'] != 1 else ''}, d = {ds['d']}, "
             f"sum n = {ds['sum_n']}, sum m = {ds['sum_m']}"]
    if r["blocks"] is not None:
        ph = ", ".join(f"{k} {v}" for k, v in r["phases"].items())
        lines += [f"blocks       {r['blocks']} (bound 2 sum m + 3N = {r['block_bound']}): {ph} "
                  f"(collapse = softmax attention + saturating layer)",
                  f"FF width     {r['width']}; parameters {r['parameters']} non-zero"]
    if r["tau"] and r["verdict"] != "certified":
        lines.append(f"temperature  tau = {r['tau']} (the last one tried)")
    elif r["tau"]:
        lines.append(f"temperature  tau = {r['tau']}" + (" (largest found by bisection)" if r["tau0_search"] else "")
                     + f"; weight bounds from exp(x) >= sum_(i<={r['order']}) x^i/i!")
        lines.append("lemmas       " + ", ".join(f"{k} {v}" for k, v in r["claims_checked"].items())
                     + " claims proved on enclosures")
        lines.append("enclosures   block: widest radius / smallest scaled score gap")
        for b in r["per_block"]:
            if b["widest"] != "0" or b["smallest_gap"] is not None:
                lines.append(f"             {b['block']:>3} {b['phase']:<14} {b['widest']:>10} / "
                             f"{b['smallest_gap'] or '-'}")
    if r.get("parameter_norms"):
        from ..tikhonov import norm_line
        lines.append("norms        " + norm_line(r["parameter_norms"]))
    return tail(r, lines, " for the softmax transformer at this tau", verbose)


def causal(r, verbose=False):
    ds = r["dataset"]
    lines = [f"exactseq {__version__}: exact causal interpolation (masked hardmax attention, "
             "Section 7.2.4)",
             f"dataset      {ds['file']}: N = {ds['N']} sequence{'s' if ds['N'] != 1 else ''}, d = {ds['d']}, "
             f"sum n = {ds['sum_n']} positions, T = {ds['prefixes']} distinct prefixes, "
             f"c = {ds['tokens']} distinct tokens"]
    if r["blocks"] is not None:
        ph = ", ".join(f"{k} {v}" for k, v in r["phases"].items())
        lines += [f"blocks       {r['blocks']} (bound 2T - c = {r['block_bound']} <= 2 sum n - 1 = "
                  f"{2 * ds['sum_n'] - 1}; Theorem 1.4 on the T prefixes: 4T + 1 = "
                  f"{r['reformulation_blocks']}): {ph}",
                  f"FF width     {r['width']} (bound {r['width_bound']})"]
    if r["parameters"] is not None:
        lines.append(f"parameters   {r['parameters']} non-zero")
        lines.append("checked      by exact masked evaluation of every position of every input "
                     "(no lemma claims)")
    if r.get("parameter_norms"):
        from ..tikhonov import norm_line
        lines.append("norms        " + norm_line(r["parameter_norms"]))
    lines += sequence_lines(r, verbose, lambda s: f"{s['n']} position{'s' * (s['n'] != 1)}")
    if r["verdict"] == "certified":
        lines.append("verdict      CERTIFIED: at every position the output equals its target exactly")
    else:
        lines.append(f"verdict      {r['verdict'].upper()}: {r['reason']}")
    if r.get("certificate"):
        lines.append(f"certificate  {r['certificate']}"
                     + (f" ({r['certificate_note']})" if r.get("certificate_note") else ""))
    t = r["time_s"]
    lines.append(f"time         {t['total']:.3f} s (construction {t['construct']:.3f} s, "
                 f"certificate and check {t['check']:.3f} s)")
    return "\n".join(lines)


def weights(r, verbose=False):
    """``check DATA --weights MODEL``: a given transformer checked on a dataset."""
    ds, w = r["dataset"], r["weights"]
    att = {"softmax": f"softmax attention at tau = {r.get('tau')}",
           "causal": "causal (masked) hardmax attention"}.get(r["attention"], "hardmax attention")
    lines = [f"exactseq {__version__}: given weights checked exactly ({att})",
             f"dataset      {ds['file']}: N = {ds['N']} sequence{'s' if ds['N'] != 1 else ''}, d = {ds['d']}, "
             f"sum n = {ds['sum_n']}",
             f"weights      {w['file']} ({w['format']}, sha256 {w['sha256'][:16]}...): {w['blocks']} "
             f"block{'s' if w['blocks'] != 1 else ''}, up to {w['heads']} head{'s' if w['heads'] != 1 else ''}"]
    if "parameters" in r:
        lines.append(f"model        FF width {r['width']}, {r['parameters']} non-zero parameters "
                     f"(the construction's bound for this dataset: {r['construction_bound']} blocks; "
                     "not required)")
    lines.append("checked      by proofs_check: every block re-evaluated from the weights, exactly"
                 + (" (enclosures)" if r["attention"] == "softmax" else ""))
    lines += sequence_lines(r, verbose, lambda s: f"{s['n']} tokens, {s['m']} targets")
    if r["verdict"] == "certified":
        tol = r.get("tolerance")
        if tol is None:
            what = "every output equals its target exactly" + (
                " (Hausdorff distance 0)" if r["attention"] != "causal" else " at every position")
        elif r["attention"] == "softmax":
            what = f"every output is within {tol} of its target"
        elif r.get("largest_distance_sq") is None:      # over a number field: no decimal reading
            what = f"every output is within {tol} of its target"
        else:
            what = (f"every output is within {tol} of its target (largest squared "
                    f"{'Hausdorff ' if r['attention'] != 'causal' else ''}distance "
                    f"{r.get('largest_distance_sq')}, about {r.get('largest_distance')})")
        lines.append(f"verdict      CERTIFIED: {what}")
    else:
        lines.append(f"verdict      {r['verdict'].upper()}: {r['reason']}")
        dif = r.get("difference")
        if dif and dif.get("name") is not None:
            lines.append(f"first        sequence {dif['sequence']} ({dif['name']!r})")
    if r.get("certificate"):
        lines.append(f"certificate  {r['certificate']}")
    t = r["time_s"]
    lines.append(f"time         {t['total']:.3f} s (reading {t['read']:.3f} s, check {t['check']:.3f} s)")
    return "\n".join(lines)
