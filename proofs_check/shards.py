"""Checking a hardmax certificate in shards: contiguous ranges of sequences,
each in its own process, combined into exactly the answer of one process.

Why this is the same check.  In engine.run_blocks every token is evaluated
within its own sequence (FF per token, attention within a sequence), so a
shard evaluates its sequences exactly as the whole check does, in the same
order.  The claims read tokens per sequence too, except two:

* ``hat``: the tube must hold the moved point and no other token of *any*
  sequence.  A shard runs lemmas.hat on its own tokens; its answer is the
  first failure among them in sequence order, or none and whether it saw the
  point.  The whole check scans the (sequence, token) pairs of all shards in
  sequence order (shards are contiguous and in order), so its answer is the
  first shard's failure, else none if some shard saw the point, else "the
  moved point is not a current token".  The claim's own conditions (eps > 0,
  <v, p> = s0, the layer sends p to the target) come first and are the same
  in every shard.
* ``disjoint``: a shard sends the keys of its sequences' tokens, in order;
  lemmas.disjoint is run once on all of them, in sequence order.

Everything else fails per sequence: lemmas.leaders, collapse and counts get
None for the other shards' sequences and skip them (the claim's lists keep
their length, so a message names the same sequence), and the outputs are
compared per sequence.  The whole check raises the first failure in the order
(block, step within the block, claim, sequence); run_blocks records the first
three as ``at`` before each step, and within one step a lower shard holds the
lower sequences.  So: each shard runs until its first failure (a hat failure
of its own tokens ends it too: the claim fails whatever the other shards
saw), sending one message per hat or disjoint claim and a last one saying how
it ended.  :class:`Combine` decides the hat and disjoint claims in order of
``at`` as soon as every shard has reported them; the answer is the first
failing one, unless a shard ended earlier (lower ``at``, then lower shard),
whose exception is then raised.  A failure that does not depend on the
tokens (a malformed block, a claim false in itself) is the same in every
shard and so is raised as it is.  If every shard ran to the end, they all
counted the same width, parameters and claims (per-sequence claims are
counted when they hold on the shard's sequences, and all held), which are
the summary's.

A shard process that ends without its last message, or a time limit, raises
Unknown: never a pass.  Blocks are read once, before the shards start (a
read error is raised by every shard when it reaches that block).  Standard
library only; the processes are forked where the platform allows it (the
work is then inherited, not copied).
"""
from __future__ import annotations

import gc
import multiprocessing
import signal
import sys
import time
from collections import deque
from multiprocessing.connection import wait

from . import engine, lemmas
from .limits import DEFAULT
from .numbers import Unknown, work_budget

PROGRESS_SECONDS = 0.1   # a shard reports the block it reached at most this often


class Work:
    """What a shard needs: the dataset's pairs, the dimension, the number of
    blocks, every block read (``broken``: the exception reading block
    len(blocks) + 1 raised, if any) and the resource limits."""

    def __init__(self, pairs, d, n, read, limits=DEFAULT):
        self.pairs, self.d, self.n, self.limits = pairs, d, n, limits
        self.blocks, self.broken = [], None
        try:
            for k in range(1, n + 1):
                self.blocks.append(read(k))
        except Exception as exc:  # raised again where one process would meet it
            self.broken = exc

    def read(self, k):
        if k <= len(self.blocks):
            return self.blocks[k - 1]
        raise self.broken


def split(sizes, n):
    """At most n contiguous non-empty ranges (lo, hi) of the sequences, in
    order, with about equal numbers of tokens (sizes[j] for sequence j)."""
    N = len(sizes)
    n = max(1, min(n, N))
    total, acc, cuts = sum(sizes), 0, []
    for j in range(N - 1):
        acc += sizes[j]
        if len(cuts) < n - 1 and acc * n >= total * (len(cuts) + 1):
            cuts.append(j + 1)
    cuts += [c for c in range(N - 1, 0, -1) if c not in cuts][:n - 1 - len(cuts)]
    bounds = [0] + sorted(cuts) + [N]
    return list(zip(bounds, bounds[1:]))


class _Stop(Exception):
    """A hat claim failed on this shard's tokens: the shard ends there."""


class Report:
    """A shard's side of the hat and disjoint claims: what it saw is sent on."""

    def __init__(self, lo, hi, send):
        self.lo, self.hi, self.send, self.at = lo, hi, send, (0, 0, 0)

    def hat(self, where, err):
        self.send(("hat", self.at, where, err))
        if err and err[1] != lemmas.NOT_A_TOKEN:
            raise _Stop

    def disjoint(self, where, after, G):
        self.send(("disjoint", self.at, where, [[G.key(t) for t in toks] for toks in after[self.lo:self.hi]]))


def run(work, lo, hi, send, progress=False):
    """Check sequences lo..hi-1; every message goes to send(msg).  The last is
    ("end", at, exception, None) after a failure at ``at`` (exception None: a
    hat claim, decided by Combine), or ("end", None, None, (width, parameters,
    claims)).  With ``progress``, ("block", k) messages now and then."""
    out, last = Report(lo, hi, send), [0.0]

    def tick(k, n):
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS or k == n:
            last[0] = now
            send(("block", k))
    try:
        with work_budget(work.limits):       # each process counts its own sequences' work
            totals = engine.run_blocks(work.pairs, work.d, work.n, work.read, out, (lo, hi),
                                        tick if progress else None, work.limits)
    except _Stop:
        send(("end", out.at, None, None))
    except Exception as exc:  # ranked by where it happened, like every failure
        send(("end", out.at, exc, None))
    else:
        send(("end", None, None, totals))


def collect(work, lo, hi):
    """run() with its messages returned as a list (for a remote worker)."""
    msgs = []
    run(work, lo, hi, msgs.append)
    return msgs


class Combine:
    """The shards' messages in, the one-process answer out (see the module doc)."""

    def __init__(self, n):
        self.reports = [deque() for _ in range(n)]
        self.ends = [None] * n
        self.failure = None

    def feed(self, s, msg):
        if msg[0] == "end":
            self.ends[s] = msg[1:]
        elif msg[0] in ("hat", "disjoint"):
            self.reports[s].append(msg)
        while self.failure is None and all(self.reports):
            self.failure = _decide([q.popleft() for q in self.reports])

    def decided(self):
        return self.failure is not None or all(e is not None for e in self.ends)

    def result(self):
        """(width, parameters, claims) if every shard passed; else raises."""
        if self.failure is not None:
            raise self.failure
        if any(e is None for e in self.ends):
            raise Unknown("a shard of the check did not finish; nothing verified")
        stops = [(e[0], s, e[1]) for s, e in enumerate(self.ends) if e[0] is not None]
        if stops:
            exc = min(stops, key=lambda x: x[:2])[2]
            if exc is None:
                raise RuntimeError("shards disagree about a hat claim")
            raise exc
        return self.ends[0][2]


def _decide(reports):
    """One hat or disjoint claim from every shard's report, in shard order:
    None if it holds, else its Rejected."""
    kind, at, where = reports[0][:3]
    if any(r[:3] != (kind, at, where) for r in reports):
        raise RuntimeError(f"shards disagree about the claims at {at}")
    if kind == "hat":
        found = False
        for r in reports:
            err = r[3]
            if err is None:
                found = True
            elif err[1] != lemmas.NOT_A_TOKEN:
                return engine.refusal(where, "hat", err)
        return None if found else engine.refusal(where, "hat", ("tokens", lemmas.NOT_A_TOKEN))
    seqs = [[engine.Tok.from_key(k, 1) for k in keys] for r in reports for keys in r[3]]
    err = lemmas.disjoint(seqs, engine.Points({}))
    return engine.refusal(where, "disjoint", err) if err else None


def _child(work, lo, hi, conn, progress):
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the parent's: it ends the shards

    def send(msg):
        try:
            conn.send(msg)
        except Exception as exc:  # e.g. an exception that cannot be pickled
            if msg[0] != "end":
                raise
            conn.send(("end", msg[1], RuntimeError(f"{type(msg[2]).__name__}: {msg[2]} ({exc})"), None))
    try:
        run(work, lo, hi, send, progress)
    finally:
        conn.close()


def run_local(work, ranges, progress=None, timeout=None):
    """Run the shards in local processes; (width, parameters, claims) or raises
    what one process would.  A process that dies, or ``timeout`` seconds
    passing, raises Unknown."""
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    comb, procs, live = Combine(len(ranges)), [], {}
    reached = [0] * len(ranges)
    deadline = None if timeout is None else time.monotonic() + timeout
    for stream in (sys.stdout, sys.stderr):   # nothing buffered is inherited, so nothing is written twice
        if stream is not None:
            stream.flush()
    gc.freeze()     # forked shards' garbage collectors then leave the inherited objects (and pages) alone
    try:
        for s, (lo, hi) in enumerate(ranges):
            r, w = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_child, args=(work, lo, hi, w, progress is not None), daemon=True)
            p.start()
            w.close()
            procs.append(p)
            live[r] = s
        while live and not comb.decided():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise Unknown(f"the check did not finish within {timeout} s; nothing verified")
            for conn in wait(list(live), left):
                s = live[conn]
                try:
                    msg = conn.recv()
                except EOFError:
                    procs[s].join(1)
                    raise Unknown(f"a checking process ended without a result (exit status "
                                  f"{procs[s].exitcode}); nothing verified") from None
                comb.feed(s, msg)
                if msg[0] == "end":
                    del live[conn]
                    conn.close()
                elif msg[0] == "block" and progress:
                    reached[s] = msg[1]
                    progress(min(reached), work.n)
        return comb.result()
    finally:
        gc.unfreeze()
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join()
        for conn in live:
            conn.close()
