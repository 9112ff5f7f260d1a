"""Print the mutation campaign's counts (rejected / harmless / fooled) per dataset.

    python benchmarks/mutations.py [--stride N] [--write-hostile] [DATA.json ...]

Rational datasets are judged by the plain dense evaluator of tests/helpers.py.
Datasets over a real number field (coordinates such as "sqrt(2)") get the
algebraic campaign: the field (reducible minimal polynomials, intervals over
several roots or another root, changed coefficients), the atoms and every
coefficient list of the weights and claims are mutated, and each certificate
the checker accepts is judged by tests/independent.py (mpmath at 300 digits,
coordinates read from their text, no number code shared with the checker).
The hand-built certificates tests/data/hostile_*.cert.json are checked last.

A mutant is "rejected" (Rejected, Malformed or Unknown), "harmless" (accepted
and true), "fooled" (accepted and false) or "crashed" (any other exception).
The exit status is 1 if anything fooled the checker.  --stride N keeps every
N-th number of the blocks for the coefficient mutants (default: 2 for the
circle example, else 1); --write-hostile rewrites the hostile files first.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "tests")]

from exactseq import certificate  # noqa: E402
from exactseq.construction import build  # noqa: E402
from exactseq.dataset import from_obj, load  # noqa: E402
from helpers import campaign  # noqa: E402
from test_mutation_campaign import (ALGEBRAIC, DATASETS, HOSTILE, algebraic_campaign,  # noqa: E402
                                    algebraic_cert, load_hostile, outcome, write_hostile)

ROW = "{:<34}{:>9}{:>10}{:>10}{:>8}{:>9}{:>8}"


def rational(name, ds):
    cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
    t = time.perf_counter()
    c, fooled = campaign(cert)
    print(ROW.format(name, sum(c.values()), c["rejected"], c["harmless"], c["fooled"], "-",
                     f"{time.perf_counter() - t:.1f}"))
    for f in fooled:
        print("  FOOLED:", f)
    return len(fooled)


def algebraic(name, cert, stride):
    t = time.perf_counter()
    c, bad = algebraic_campaign(cert, stride)
    label = name if stride == 1 else f"{name} (1/{stride})"
    print(ROW.format(label, sum(c.values()), c["rejected"], c["harmless"], c["fooled"],
                     c["crashed"], f"{time.perf_counter() - t:.1f}"))
    for lab, res in bad:
        print(f"  {res.split(':')[0].upper()}: {lab}  [{res.split(':', 1)[1].strip()}]")
    return c["fooled"]


def hostile():
    t = time.perf_counter()
    c = {"rejected": 0, "harmless": 0, "fooled": 0, "crashed": 0}
    bad = []
    for name in HOSTILE:
        res = outcome(load_hostile(name))
        key = res.split(":")[0]
        c[key] += 1
        if key != "rejected":
            bad.append((name, res))
    print(ROW.format("hostile_*.cert.json", len(HOSTILE), c["rejected"], c["harmless"],
                     c["fooled"], c["crashed"], f"{time.perf_counter() - t:.1f}"))
    for name, res in bad:
        print(f"  {res.split(':')[0].upper()}: {name}  [{res.split(':', 1)[1].strip() if ':' in res else ''}]")
    return c["fooled"]


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip())
        return 0
    stride = None
    if "--stride" in argv:
        i = argv.index("--stride")
        stride = int(argv[i + 1])
        del argv[i:i + 2]
    if "--write-hostile" in argv:
        argv.remove("--write-hostile")
        write_hostile()
    start = time.perf_counter()
    print(ROW.format("dataset", "mutants", "rejected", "harmless", "fooled", "crashed", "time s"))
    fooled = 0
    if argv:
        for p in argv:
            ds = load(p)
            if ds.field is None:
                fooled += rational(p, ds)
            else:
                cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
                fooled += algebraic(p, cert, stride or 1)
    else:
        for name, obj in DATASETS.items():
            fooled += rational(name, from_obj(obj))
        for name in ALGEBRAIC:
            fooled += algebraic(name, algebraic_cert(name), stride or (2 if name == "circle" else 1))
        fooled += hostile()
    print(f"total {time.perf_counter() - start:.1f} s; "
          + ("nothing fooled the checker" if not fooled else f"{fooled} FOOLED the checker"))
    return 1 if fooled else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
