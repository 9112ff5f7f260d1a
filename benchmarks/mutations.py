"""Print the mutation campaign's counts (rejected / harmless / fooled) per dataset.

    python benchmarks/mutations.py [examples/*.json ...]
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, ".."), os.path.join(HERE, "..", "tests")]

from exactseq import certificate  # noqa: E402
from exactseq.construction import build  # noqa: E402
from exactseq.dataset import load  # noqa: E402
from helpers import campaign  # noqa: E402
from test_mutation_campaign import DATASETS  # noqa: E402
from exactseq.dataset import from_obj  # noqa: E402


def main(paths):
    items = [(p, load(p)) for p in paths] or [(k, from_obj(v)) for k, v in DATASETS.items()]
    print(f"{'dataset':<28}{'mutants':>9}{'rejected':>10}{'harmless':>10}{'fooled':>8}{'time s':>8}")
    for name, ds in items:
        if ds.field is not None:
            print(f"{name:<28} skipped (the plain evaluator is rational only)")
            continue
        cert = json.loads(certificate.dumps(certificate.build(ds, build(ds))))
        t = time.perf_counter()
        c, fooled = campaign(cert)
        total = sum(c.values())
        print(f"{name:<28}{total:>9}{c['rejected']:>10}{c['harmless']:>10}{c['fooled']:>8}"
              f"{time.perf_counter() - t:>8.1f}")
        for f in fooled:
            print("  FOOLED:", f)


if __name__ == "__main__":
    main(sys.argv[1:])
