"""Example 2.2 of the paper (Tikhonov-regularised training), with a certified line.

A synthetic dataset is made as in the paper's example: random input sequences,
each mapped to one output token by a fixed one-block transformer (uniform
attention, so every token becomes the mean of its sequence, then a random FF
layer), all in exact rationals.  exactseq builds and certifies a softmax
transformer interpolating it exactly (Theorem 1.6), so for every eps > 0

    min_theta  L(theta) + eps ||theta||_2^2  <=  eps ||theta*||_2^2    (Proposition 2.1)

with theta* the certificate's weights and L the mean squared Hausdorff
distance between output and target sets (zero exactly at interpolation).
Then a transformer of the certified architecture (exactseq.torch.ExactTransformer:
same blocks, widths and temperature) is trained from a random start with Adam
at several eps, and its regularised loss is drawn against the certified bound,
log-log, as in the paper's Figure 1: left, the loss along training with the
bound as a dashed line; right, the smallest loss reached against eps.

    python examples/tikhonov_demo.py --out tikhonov.png          # about 3 minutes
    python examples/tikhonov_demo.py --tiny --out /tmp/x.png     # seconds
    python examples/tikhonov_demo.py --data examples/figure5.json --out f5.png

Needs torch and matplotlib.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)          # run from a checkout as well as installed


def synthetic(N, n, d, seed):
    """The paper's generator, exactly: inputs on the grid k/16 of [0, 1)^d, output
    FF(mean) with FF(x) = x + W relu(U x + b), U, b, W random multiples of 1/8."""
    rng = random.Random(seed)
    grid = 16

    def q(k, den):
        return Fraction(k, den)
    U = [[q(rng.randrange(8), 8) for _ in range(d)] for _ in range(4)]
    b = [q(rng.randrange(8), 8) for _ in range(4)]
    W = [[q(rng.randrange(8), 8) for _ in range(4)] for _ in range(d)]
    seqs, seen = [], set()
    while len(seqs) < N:
        X = set()
        while len(X) < n:
            X.add(tuple(q(rng.randrange(grid), grid) for _ in range(d)))
        X = sorted(X)
        if frozenset(X) in seen:
            continue
        seen.add(frozenset(X))
        mean = [sum(x[i] for x in X) / n for i in range(d)]
        h = [max(sum(u[i] * mean[i] for i in range(d)) + bk, 0) for u, bk in zip(U, b)]
        y = [mean[i] + sum(W[i][k] * h[k] for k in range(4)) for i in range(d)]
        seqs.append({"name": f"s{len(seqs)}", "input": [[str(c) for c in x] for x in X],
                     "output": [[str(c) for c in y]]})
    return {"dimension": d, "sequences": seqs}


def tensors(ds, torch):
    """Padded inputs (N, n, d), targets (N, m, d) and their masks, float64."""
    N = ds.N
    n = max(len(p.input) for p in ds.pairs)
    m = max(len(p.output) for p in ds.pairs)
    X = torch.zeros((N, n, ds.dim), dtype=torch.float64)
    Y = torch.zeros((N, m, ds.dim), dtype=torch.float64)
    xm = torch.zeros((N, n), dtype=torch.bool)
    ym = torch.zeros((N, m), dtype=torch.bool)
    for j, p in enumerate(ds.pairs):
        for i, t in enumerate(p.input):
            X[j, i] = torch.tensor([float(c) for c in t], dtype=torch.float64)
            xm[j, i] = True
        for i, t in enumerate(p.output):
            Y[j, i] = torch.tensor([float(c) for c in t], dtype=torch.float64)
            ym[j, i] = True
    return X, xm, Y, ym


def hausdorff2(T, xm, Y, ym, torch):
    """Squared Hausdorff distance between the token sets T[j] and Y[j], per sequence."""
    D = ((T[:, :, None, :] - Y[:, None, :, :]) ** 2).sum(-1)          # (N, n, m)
    inf = torch.tensor(float("inf"), dtype=D.dtype)
    to_target = D.masked_fill(~ym[:, None, :], inf).amin(2).masked_fill(~xm, -inf).amax(1)
    to_token = D.masked_fill(~xm[:, :, None], inf).amin(1).masked_fill(~ym, -inf).amax(1)
    return torch.maximum(to_target, to_token)


def regulariser(model):
    """||theta||_2^2 over every parameter: the dense eta, U, b, W, rho, A, V of every block."""
    return sum((p ** 2).sum() for p in model.parameters())


def train(cert, data, eps, steps, lr, seed, torch, ExactTransformer):
    X, xm, Y, ym = data
    torch.manual_seed(seed)
    model = ExactTransformer.from_certificate(cert, dtype=torch.float64)
    with torch.no_grad():                       # a random start of the same architecture
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = hausdorff2(model(X, xm), xm, Y, ym, torch).mean() + eps * regulariser(model)
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="tikhonov.png", help="picture to write (.png, .svg or .pdf)")
    p.add_argument("--tiny", action="store_true", help="a tiny run (seconds), for tests")
    p.add_argument("--data", help="a dataset file instead of the synthetic data")
    p.add_argument("--N", type=int, default=10, help="sequences (default 10)")
    p.add_argument("--n", type=int, default=20, help="tokens per input (default 20)")
    p.add_argument("--d", type=int, default=4, help="dimension (default 4)")
    p.add_argument("--steps", type=int, default=1000, help="Adam steps per eps (default 1000)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument("--eps", default="1/10,1/100,1/1000,1/10000",
                   help="regularisation parameters, exact (default 1/10,1/100,1/1000,1/10000)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.tiny:
        args.N, args.n, args.d, args.steps, args.eps = 3, 4, 2, 80, "1/10,1/100"

    import torch
    import exactseq
    torch.set_num_threads(1)            # small tensors: threads cost more than they give
    from exactseq.pictures import save
    from exactseq.tikhonov import parse_eps
    from exactseq.torch import ExactTransformer

    t0 = time.perf_counter()
    ds = exactseq.load(args.data) if args.data else \
        exactseq.load(synthetic(args.N, args.n, args.d, args.seed))
    result = exactseq.certify(ds, attention="softmax")
    if result.verdict != "certified":
        print(f"not certified: {result.report['reason']}", file=sys.stderr)
        return 1
    cert = result.certificate
    norms = exactseq.parameter_norms(cert)
    R = Fraction(norms["l2_squared"])
    print(f"dataset: N = {ds.N}, d = {ds.dim}, sum n = {sum(len(q.input) for q in ds.pairs)}, "
          f"sum m = {ds.sum_m}")
    print(f"certified softmax transformer: {len(cert['blocks'])} blocks, tau = {cert['softmax']['tau']}, "
          f"{norms['entries']} parameters, ||theta*||_2^2 = {norms['l2_squared']} (~{float(R):.6g}) "
          f"[{time.perf_counter() - t0:.1f} s]")
    star = ExactTransformer.from_certificate(cert, dtype=torch.float64)
    data = tensors(ds, torch)
    with torch.no_grad():
        r_float = float(regulariser(star))
        X, xm, Y, ym = data
        l_star = float(hausdorff2(star(X, xm), xm, Y, ym, torch).mean())
    print(f"the same weights in float64: ||theta*||_2^2 = {r_float:.6g}, loss L(theta*) = {l_star:.3g}")

    epsilons = [parse_eps(e.strip()) for e in args.eps.split(",")]
    rows = []
    for k, eps in enumerate(epsilons):
        hist = train(cert, data, float(eps), args.steps, args.lr, args.seed + k, torch, ExactTransformer)
        b = exactseq.tikhonov_bound(cert, eps)
        bound = float(Fraction(b["bound_upper"]))
        best = min(hist)
        rows.append((eps, hist, best, bound))
        print(f"eps {eps}: min regularised loss {best:.4g}, bound eps R(theta*) = {bound:.6g} "
              f"(exact {b['bound']}): loss <= bound: {'yes' if best <= bound else 'NO'}")
    fig = picture(rows, ds, cert, R)
    save(fig, args.out)
    print(f"wrote {args.out} [{time.perf_counter() - t0:.1f} s]")
    return 0


def picture(rows, ds, cert, R):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    colours = [f"C{i}" for i in range(10)]
    for (eps, hist, best, bound), col in zip(rows, colours):
        steps = range(1, len(hist) + 1)
        left.loglog(steps, hist, color=col, lw=1.2, label=f"$\\epsilon$ = {eps}")
        left.axhline(bound, color=col, ls="--", lw=1)
    left.set_xlabel("Adam steps")
    left.set_ylabel(r"$L(\theta) + \epsilon\,\|\theta\|_2^2$")
    left.set_title("regularised loss; dashed: certified bound", fontsize=10)
    left.legend(fontsize=8, frameon=False)
    eps = [float(r[0]) for r in rows]
    right.loglog(eps, [r[3] for r in rows], "k--", lw=1.2,
                 label=r"certified $\epsilon\,\|\theta^*\|_2^2$")
    right.loglog(eps, [r[2] for r in rows], "o-", color="C0", label="smallest loss reached")
    if len(rows) > 1:       # the paper's reference: linear in eps through the largest eps
        right.loglog(eps, [rows[0][2] * e / eps[0] for e in eps], ":", color="gray", lw=1,
                     label=r"linear in $\epsilon$")
    right.set_xlabel(r"$\epsilon$")
    right.set_ylabel("minimum regularised loss")
    right.set_title(r"Proposition 2.1: $\min J_\epsilon \leq \epsilon\,\|\theta^*\|_2^2$", fontsize=10)
    right.legend(fontsize=8, frameon=False)
    fig.suptitle(f"Tikhonov-regularised training (paper's Example 2.2): N = {ds.N}, d = {ds.dim}, "
                 f"{len(cert['blocks'])} softmax blocks, $\\|\\theta^*\\|_2^2 \\approx$ {float(R):.4g}",
                 fontsize=10)
    return fig


if __name__ == "__main__":
    sys.exit(main())
