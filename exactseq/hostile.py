"""Generators of size-class certificates and datasets: long contexts and hostile sizes.

Each function returns a JSON-ready object (a certificate in the documented
format, or a dataset), deterministic in its arguments, and says in its
docstring what it attacks and which verdict the checker owes it.  They feed
``benchmarks/long_context.py``, the ``sizes`` fuzz target
(``exactseq fuzz sizes``) and ``tests/test_sizes.py``.

    from exactseq import hostile
    cert = hostile.full_attention(1500)          # one sequence of 1500 tokens, full A
    bad = hostile.full_attention(1500, wrong=True)
    hostile.growth(60, 60)                       # refused at block 51 (--max-digits)

Every generator here uses exact integers and Fractions only (the outputs it
writes are the exact outputs of its weights, computed here, or a planted
fault); it imports nothing but the standard library and :mod:`exactseq.errors`.
"""
from __future__ import annotations

import math
import random
from fractions import Fraction

from .errors import InputError

__all__ = ["decimal_text", "build_sequences", "long_dataset", "full_attention", "power_fractions",
           "tiny_denominators", "growth",
           "field_coefficients", "growth_stop", "text", "GENERATORS"]

FORMAT = {"format": "exactseq-certificate", "schema_version": 1, "attention": "hardmax"}


# ------------------------------------------------------------------ helpers
def text(q):
    """Exact text "p" or "p/q" of a rational, of any size (CPython's int-to-text
    guard stops str() at 4300 digits; this splits the integer instead)."""
    q = Fraction(q)
    n = _int_text(q.numerator)
    return n if q.denominator == 1 else f"{n}/{_int_text(q.denominator)}"


def _int_text(n):
    if n < 0:
        return "-" + _int_text(-n)
    if n < 10 ** 4000:
        return str(n)
    k = n.bit_length() * 3 // 20             # about half its digits
    hi, lo = divmod(n, 10 ** k)
    return _int_text(hi) + _int_text(lo).rjust(k, "0")


def _digits(n):
    """Decimal digits of |n|, exactly (without converting it to text)."""
    n = abs(n)
    if n < 10:
        return 1
    k = int((n.bit_length() - 1) * 0.30102999566398114)    # 10^k <= n, or one below
    while 10 ** (k + 1) <= n:
        k += 1
    while 10 ** k > n:
        k -= 1
    return k + 1


def _identity_ff(d):
    return {"eta": "1", "U": [], "b": [], "W": [[] for _ in range(d)]}


def _full(rows):
    return {"kind": "full", "rows": [[text(c) for c in r] for r in rows]}


def _cert(d, sequences, blocks, **extra):
    return {**FORMAT, "dataset": {"dimension": d, "sequences": sequences}, "blocks": blocks, **extra}


def _need(ok, message):
    if not ok:
        raise InputError(message)


# ------------------------------------------------------------------ long sequences
def decimal_text(k, e):
    """The decimal text of k / 10^e (k an integer, e >= 0), e.g. (-314159, 5) -> "-3.14159"."""
    sign, k = ("-" if k < 0 else ""), abs(k)
    whole, frac = divmod(k, 10 ** e)
    return f"{sign}{whole}.{frac:0{e}d}" if e else f"{sign}{whole}"


def build_sequences(rng, N, lengths, d, m, coord, overlap=0.0, key=None):
    """Sequences of fresh tokens (a fraction ``overlap`` copied from the previous
    input) and m fresh outputs each.  ``key`` maps a token (tuple of strings) to
    the number it denotes, so that equal numbers written differently count as
    equal (default: the text itself)."""
    key = key or (lambda t: t)
    if not 0 <= overlap < 1:
        raise ValueError("overlap must be in [0, 1)")
    seqs, prev, input_sets = [], [], set()
    for j in range(N):
        n = lengths[j]
        if m > n:
            raise ValueError(f"m = {m} is more than the {n} tokens of sequence {j}")
        while True:  # redraw in the (unlikely) case of an input equal to an earlier one
            k = int(overlap * min(n, len(prev)))
            toks = rng.sample(prev, k) if k else []
            seen = {key(t) for t in toks}
            while len(toks) < n:
                t = tuple(coord() for _ in range(d))
                if key(t) not in seen:
                    seen.add(key(t))
                    toks.append(t)
            as_set = frozenset(seen)
            if as_set not in input_sets:
                input_sets.add(as_set)
                break
        out, seen_out = [], set()
        while len(out) < m:
            t = tuple(coord() for _ in range(d))
            if key(t) not in seen_out:
                seen_out.add(key(t))
                out.append(t)
        seqs.append({"input": [list(t) for t in toks], "output": [list(t) for t in out]})
        prev = toks
    return {"dimension": d, "sequences": seqs}


def long_dataset(N, n, d, seed=0, m=5, overlap=0.3):
    """A dataset of N sequences of n tokens in dimension d, m outputs each:
    6-significant-digit decimals between 0.1 and 100 in absolute value
    ("0.123456", "-3.14159", "27.1828"), a fraction ``overlap`` of each input
    copied from the previous one (so separation blocks are needed).

    The same dataset as ``benchmarks/families.py`` ``decimals(N, n, d, m,
    overlap, seed)`` (the same random stream), kept here so the library needs
    nothing from benchmarks/.  Attacks: length (the n x n attention of the
    collapse, every hat over every token), not number size."""
    _need(N >= 1 and n >= 1 and d >= 2 and 1 <= m <= n and 0 <= overlap < 1,
          "long_dataset needs N >= 1, n >= m >= 1, d >= 2 and 0 <= overlap < 1")
    rng = random.Random(f"decimals-{seed}")
    lengths = [rng.randint(n, n) for _ in range(N)]

    def coord():
        k = rng.randrange(100000, 1000000) * rng.choice((1, -1))
        return decimal_text(k, rng.choice((4, 5, 6)))

    def canonical(c):
        return c.rstrip("0").rstrip(".") if "." in c else c

    return build_sequences(rng, N, lengths, d, m, coord, overlap, key=lambda t: tuple(map(canonical, t)))


# ------------------------------------------------------------------ full attention
def _argmax_sets(A, ints):
    """For integer tokens (rows of ``ints``), the tuple of indices j maximising
    <A x_i, x_j>, for every i, exactly (Python integers)."""
    d = len(A)
    cols = list(zip(*ints))
    out = []
    memo = {}
    for x in ints:
        q = tuple(sum(A[r][c] * x[c] for c in range(d)) for r in range(d))
        hit = memo.get(q)
        if hit is not None:
            out.append(hit)
            continue
        if d == 2:
            a, b = q
            s = [a * u + b * v for u, v in zip(*cols)]
        elif d == 3:
            a, b, c = q
            s = [a * u + b * v + c * w for u, v, w in zip(*cols)]
        elif d == 4:
            a, b, c, e = q
            s = [a * u + b * v + c * w + e * z for u, v, w, z in zip(*cols)]
        else:
            s = [sum(map(int.__mul__, q, p)) for p in ints]
        top = max(s)
        C = tuple(j for j, v in enumerate(s) if v == top) if s.count(top) > 1 else (s.index(top),)
        memo[q] = C
        out.append(C)
    return out


def _hardmax_block(tokens, rho, A, V):
    """SA(X)_i = rho x_i + V mean{x_j : j maximises <A x_i, x_j>}, exactly (A integer)."""
    den = 1
    for t in tokens:
        for c in t:
            den = den * c.denominator // math.gcd(den, c.denominator)
    ints = [tuple(int(c * den) for c in t) for t in tokens]
    d = len(A)
    means = {}
    out = []
    for t, C in zip(tokens, _argmax_sets(A, ints)):
        v = means.get(C)
        if v is None:
            mean = [sum(tokens[j][c] for j in C) / len(C) for c in range(d)]
            v = means[C] = tuple(sum(V[r][c] * mean[c] for c in range(d)) for r in range(d))
        out.append(tuple(rho * a + b for a, b in zip(t, v)))
    return out


def full_attention(n=1500, blocks=5, d=4, seed=0, wrong=False):
    """ONE sequence of n distinct integer tokens (coordinates -99..99) through
    ``blocks`` blocks, each an identity FF (eta 1, width 0) and hardmax attention
    with a FULL A (integers -3..3) and a full V (entries k/64, |k| <= 16); rho = 1
    in every block but the last, whose rho = 0 sends each token to V times the
    mean of its maximisers, so the output is a modest set of m points (about a
    hundred at n = 1500) and the block bound 2m + 3 holds.  No claims.

    The output is the exact output of these weights (computed here with
    integer scores), so the checker owes VERIFIED; with ``wrong`` one output
    coordinate is moved by 1/7 and it owes REJECTED ("output: sequence 0: T(X)
    differs from Y").  Attacks: attention with no structure to exploit (no
    scalar or rank-one A), n^2 exact scores per block; about 43 KB at n = 1500."""
    _need(n >= 2 and blocks >= 1 and d >= 2, "full_attention needs n >= 2, blocks >= 1, d >= 2")
    _need(n <= 199 ** d, f"full_attention: at most {199 ** d} distinct tokens in dimension {d}")
    rng = random.Random(f"full-attention-{n}-{blocks}-{d}-{seed}")
    X, seen = [], set()
    while len(X) < n:
        t = tuple(rng.randint(-99, 99) for _ in range(d))
        if t not in seen:
            seen.add(t)
            X.append(t)
    tokens = [tuple(Fraction(c) for c in t) for t in X]
    blks = []
    for k in range(blocks):
        A = [[rng.randint(-3, 3) for _ in range(d)] for _ in range(d)]
        if not any(any(r) for r in A):
            A[0][0] = 1
        V = [[Fraction(rng.randint(-16, 16), 64) for _ in range(d)] for _ in range(d)]
        if not any(any(r) for r in V):
            V[0][0] = Fraction(1, 64)
        rho = 0 if k == blocks - 1 else 1
        tokens = _hardmax_block(tokens, rho, A, V)
        blks.append({"phase": "attention", "ff": _identity_ff(d),
                     "sa": {"rho": str(rho), "A": _full(A), "V": _full(V)}})
    Y = list(dict.fromkeys(tokens))
    if 2 * len(Y) + 3 < blocks:
        raise InputError(f"full_attention: {blocks} blocks exceed the bound 2m + 3 = {2 * len(Y) + 3} "
                         f"of its {len(Y)} output points; use fewer blocks")
    if wrong:
        moved = (Y[0][0] + Fraction(1, 7),) + Y[0][1:]
        while moved in Y:
            moved = (moved[0] + Fraction(1, 7),) + moved[1:]
        Y[0] = moved
    seq = {"input": [[str(c) for c in t] for t in X], "output": [[text(c) for c in y] for y in Y]}
    return _cert(d, [seq], blks)


# ------------------------------------------------------------------ huge numbers
def _primes(lo, hi):
    return [p for p in range(lo | 1, hi, 2) if all(p % q for q in range(3, math.isqrt(p) + 1, 2))]


def power_fractions(size_kb=10, exponent=9999, d=2):
    """A certificate whose dataset coordinates are expressions such as
    ``9967^9999/9973^9999-9949^9999/9941^9999``: two quotients of powers of
    4-digit primes, each numerator and denominator about 40,000 digits, their
    difference about 80,000 (within --max-digits 100000 and --max-exponent
    10000).  ``size_kb`` kilobytes of input tokens, every first coordinate with
    its own pair of denominators (so the tokens are distinct); one block with
    eta = 0 sends every token to 0 and the output is [0, ..., 0] (m = 1, bound 5).

    The checker owes VERIFIED (or a one-line refusal under smaller limits).
    Attacks: parsing cost per byte: each coordinate costs two 40,000-digit powers
    and gcds of 80,000-digit integers (80 s for a 10 KB file before)."""
    _need(size_kb > 0 and 2 <= exponent and d >= 2, "power_fractions needs size_kb > 0, exponent >= 2, d >= 2")
    primes = _primes(9000, 10000)
    rng = random.Random(f"power-fractions-{size_kb}-{exponent}-{d}")
    pairs = [(q, s) for i, q in enumerate(primes) for s in primes[i + 1:]]
    rng.shuffle(pairs)
    budget, X, used = size_kb * 1024, [], 0
    for q, s in pairs:
        p, r = rng.sample([x for x in primes if x not in (q, s)], 2)
        tok = [f"{p}^{exponent}/{q}^{exponent}-{r}^{exponent}/{s}^{exponent}"]
        for _ in range(d - 1):
            a, b, c, e = rng.sample(primes, 4)
            tok.append(f"{a}^{exponent}/{b}^{exponent}-{c}^{exponent}/{e}^{exponent}")
        used += sum(len(c) + 4 for c in tok) + 4
        if used > budget and X:
            break
        X.append(tok)
    blk = {"phase": "collapse", "ff": {"eta": "0", "U": [], "b": [], "W": [[] for _ in range(d)]},
           "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}}}
    return _cert(d, [{"input": X, "output": [["0"] * d]}], [blk])


def _eps_text(a, b, e):
    """The text of a + b 10^-e (a, b rational)."""
    if b == 0:
        return text(a)
    sign = "+" if b > 0 else "-"
    b = abs(b)
    tail = f"{b.numerator}e-{e}" if b.denominator == 1 else f"{text(b)}*1e-{e}"
    return f"{text(a)}{sign}{tail}"


def _eps_score(A, xi, xj):
    """<A x_i, x_j> as (s0, s1, s2), the value s0 + s1 eps + s2 eps^2, for tokens whose
    coordinates are pairs (a, b) meaning a + b eps.

    Compared as tuples (lexicographically), these order the values exactly when
    eps <= 10^-300 and every numerator and denominator is below 10^50 (checked):
    two first terms that differ differ by at least 10^-100, the rest of the
    difference is at most 4 10^50 eps."""
    d = len(A)
    q = [tuple(sum(A[r][c] * xi[c][e] for c in range(d)) for e in (0, 1)) for r in range(d)]
    s = (sum(q[c][0] * xj[c][0] for c in range(d)),
         sum(q[c][0] * xj[c][1] + q[c][1] * xj[c][0] for c in range(d)),
         sum(q[c][1] * xj[c][1] for c in range(d)))
    _need(all(abs(v.numerator) < 10 ** 50 and v.denominator < 10 ** 50 for v in s),
          "tiny_denominators: the numbers grew past exact comparison by tuples; use fewer blocks")
    return s


def tiny_denominators(tokens=6, exponent=99990, blocks=1):
    """A certificate of a few hundred bytes whose coordinates are literals such as
    ``2/3+1e-99990``: the tokens (i/3 + eps, ((i^2 mod 7) - 3)/3 - eps), eps =
    10^-exponent, so every coordinate has a denominator of exponent + 1 digits
    (within --max-digits 100000 at the default 99990); ``blocks`` blocks of hardmax
    attention with a full integer A and a full integer V (rho = 1).  The output,
    written as expressions a + b*1e-exponent, is the exact output (scores compared
    as polynomials in eps, exact for such small coefficients), so the checker owes
    VERIFIED, or a one-line refusal if a computed number passes --max-digits.

    Attacks: the cost of each exact product: n^2 scores of 100,000-digit
    rationals, each a gcd of such integers (3.5 minutes for a 798-byte file
    before)."""
    _need(tokens >= 2 and exponent >= 300 and blocks >= 1,
          "tiny_denominators needs tokens >= 2, exponent >= 300, blocks >= 1")
    d = 2
    X = [((Fraction(i, 3), Fraction(1)), (Fraction((i * i) % 7 - 3, 3), Fraction(-1)))
         for i in range(1, tokens + 1)]
    A = [[1, 2], [-1, 3]]
    V = [[1, 1], [0, 1]]
    toks, blks = X, []
    for _ in range(blocks):
        new = []
        for xi in toks:
            s = [_eps_score(A, xi, xj) for xj in toks]
            top = max(s)
            C = [j for j, v in enumerate(s) if v == top]
            mean = [tuple(sum(toks[j][c][e] for j in C) / len(C) for e in (0, 1)) for c in range(d)]
            v = [tuple(sum(V[r][c] * mean[c][e] for c in range(d)) for e in (0, 1)) for r in range(d)]
            new.append(tuple((xi[r][0] + v[r][0], xi[r][1] + v[r][1]) for r in range(d)))
        toks = new
        blks.append({"phase": "attention", "ff": _identity_ff(d),
                     "sa": {"rho": "1", "A": _full(A), "V": _full(V)}})
    Y = list(dict.fromkeys(toks))
    _need(2 * len(Y) + 3 >= blocks, "tiny_denominators: too many blocks for the output's block bound")
    seq = {"input": [[_eps_text(a, b, exponent) for a, b in t] for t in X],
           "output": [[_eps_text(a, b, exponent) for a, b in t] for t in Y]}
    return _cert(d, [seq], blks)


def growth(blocks=60, tokens=60, digits=2000, exact_output=False):
    """``tokens`` sequences of one token (j, 0), j = 1..tokens, and ``blocks``
    blocks each scaling every token by a / b (an FF of width 0 with eta = a/b,
    attention off), a = 10^(digits-1) + 1 and b = 10^(digits-1) + 3: every block
    adds digits - 1 digits to every numerator and denominator.  The output is
    the input (REJECTED if the check gets that far) or, with ``exact_output``,
    the exact output (VERIFIED if it does).

    The checker owes a one-line refusal naming the first block whose numbers
    pass --max-digits (:func:`growth_stop`; block 51 at the defaults: a^51 has
    101,950 digits), never minutes of arithmetic on them (13.6 s before).
    The block bound is 4 tokens + 1."""
    _need(blocks >= 1 and tokens >= 1 and digits >= 2, "growth needs blocks >= 1, tokens >= 1, digits >= 2")
    _need(blocks <= 4 * tokens + 1, f"growth: {blocks} blocks exceed the bound 4 tokens + 1 = {4 * tokens + 1}")
    a, b = 10 ** (digits - 1) + 1, 10 ** (digits - 1) + 3
    blk = {"phase": "scale", "ff": {"eta": f"{_int_text(a)}/{_int_text(b)}", "U": [], "b": [], "W": [[], []]},
           "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}}}
    seqs = []
    for j in range(1, tokens + 1):
        y = text(Fraction(j * a ** blocks, b ** blocks)) if exact_output else str(j)
        seqs.append({"input": [[str(j), "0"]], "output": [[y, "0"]]})
    return _cert(2, seqs, [blk] * blocks)


def growth_stop(blocks, tokens, digits, max_digits=100_000):
    """The blocks at which the checker may refuse :func:`growth` (the first
    block k whose largest numerator or denominator has more than ``max_digits``
    digits; a checker that bounds digits from bit lengths may see it one block
    later), or () if no block passes the limit."""
    a, b = 10 ** (digits - 1) + 1, 10 ** (digits - 1) + 3
    for k in range(1, blocks + 1):
        ak, bk = a ** k, b ** k
        # token j is j a^k / b^k in lowest terms (gcd(a, b) = gcd(a, 2) = 1): the numerator
        # j / gcd(j, b^k) a^k, the denominator b^k / gcd(j, b^k), largest at j = 1
        top = max(j // math.gcd(j, bk) for j in range(1, tokens + 1))
        size = max(_digits(top * ak), _digits(bk))
        if size > max_digits:
            return (k, k + 1) if k < blocks else (k,)
    return ()


def _eisenstein(degree, digits):
    """x^n + 2 sum_{i=2}^{n-1} R_i x^i + 4 M x - 2 M + 2, M = 10^digits: irreducible
    by Eisenstein's criterion at 2 (M is even, so the constant is 2 mod 4), one
    simple root in (1/4, 3/4), increasing there; R_i of ``digits`` digits."""
    M = 10 ** digits
    R = [10 ** (digits - 1) + 3 ** (i + 7) for i in range(2, degree)]
    return [2 - 2 * M, 4 * M] + [2 * r for r in R] + [1]


def field_coefficients(degree=16, digits=10000, scale=True):
    """A certificate over the number field Q(theta), theta the root in (1/4, 3/4)
    of an irreducible degree-``degree`` polynomial whose coefficients have
    ``digits`` + 1 digits.  The dataset is rational (one sequence, tokens (1/2, 0)
    and (1, 0)); with ``scale`` two blocks multiply every token by theta, then by
    1/theta (written out: coefficients of ``digits`` digits), so the checker
    computes in the field; the output is the input.

    The checker owes a one-line refusal at the default --max-field-digits 500
    (when ``digits`` >= 500), and VERIFIED with --max-field-digits digits + 1.
    Attacks: root isolation and field arithmetic on huge integers (Descartes'
    rule, Sturm sequences, products reduced modulo P)."""
    _need(2 <= degree and digits >= 2, "field_coefficients needs degree >= 2 and digits >= 2")
    P = _eisenstein(degree, digits)
    k = degree
    theta = ["0", "1"] + ["0"] * (k - 2)
    # theta^-1 = -(P(x) - P(0)) / (x P(0)) at theta = -(c1 + c2 theta + ... + theta^(k-1)) / c0
    inv = [text(Fraction(-P[i + 1], P[0])) for i in range(k)]

    def scaling(eta):
        return {"phase": "scale", "ff": {"eta": eta, "U": [], "b": [], "W": [[], []]},
                "sa": {"rho": "1", "A": {"kind": "zero"}, "V": {"kind": "zero"}}}
    X = [["1/2", "0"], ["1", "0"]]
    field = {"minpoly": [text(c) for c in P], "interval": ["1/4", "3/4"], "atoms": []}
    return _cert(2, [{"input": X, "output": X}], [scaling(theta), scaling(inv)] if scale else [], field=field)


GENERATORS = {"long_dataset": long_dataset, "full_attention": full_attention,
              "power_fractions": power_fractions, "tiny_denominators": tiny_denominators,
              "growth": growth, "field_coefficients": field_coefficients}
