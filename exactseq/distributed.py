"""``--scheduler ADDRESS``: running ``exactseq verify`` and ``exactseq fuzz`` on
dask.distributed (``local``: a LocalCluster on this machine, one single-thread
worker process per job).

Imported only when ``--scheduler`` is given; dask is an optional dependency
(``pip install 'exactseq[dask]'``).  Nothing is decided here:

* verify: the shards of proofs_check/shards.py run as dask tasks
  (shards.collect) and their messages are combined by shards.Combine, as for
  local processes, so the verdict and the output are those of one process.
  A task that fails to come back (a lost worker, a time limit) is unknown,
  never a pass.
* fuzz: the campaign's chunks of cases (exactseq.fuzz._run_chunk) run as dask
  tasks through a small stand-in for the multiprocessing pool the campaign
  uses otherwise; cases are deterministic in (seed, target, index) and are
  tallied in index order, so the summary is that of one process.

Workers must be able to import exactseq and proofs_check.
"""
from __future__ import annotations

import logging
import multiprocessing
import os

from .errors import MissingExtra

NEEDS_DASK = "exactseq: --scheduler needs dask: pip install 'exactseq[dask]'"


class NeedsDask(MissingExtra):
    """dask.distributed is not installed."""


class Session:
    """A dask client for one command: ``address`` "local" starts a LocalCluster
    of ``workers`` processes (default: all cores); anything else is a scheduler
    address.  ``client`` uses an existing client instead (left open)."""

    def __init__(self, address="local", workers=None, client=None, timeout=None):
        try:
            import distributed
        except ImportError:
            raise NeedsDask(NEEDS_DASK) from None
        self.cluster, self.own, self.timeout = None, client is None, timeout
        if client is not None:
            self.client = client
        elif address == "local":
            self.cluster = distributed.LocalCluster(
                n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)
        else:
            self.client = distributed.Client(address, timeout="10s")

    @property
    def threads(self):
        """How many tasks the cluster runs at once."""
        return max(1, sum(self.client.nthreads().values()))

    def close(self):
        if self.own:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ verify
    def run_shards(self, work, ranges, progress=None):
        """proofs_check.checker.check's ``run_shards`` on this cluster (no progress)."""
        from distributed import as_completed
        from proofs_check import shards
        from proofs_check.numbers import Unknown
        [t] = self.client.scatter([work], broadcast=True, hash=False)
        futs = [self.client.submit(shards.collect, t, lo, hi, pure=False) for lo, hi in ranges]
        shard = {f.key: s for s, f in enumerate(futs)}
        comb = shards.Combine(len(ranges))
        try:
            for f, msgs in as_completed(futs, with_results=True, timeout=self.timeout):
                for msg in msgs:
                    comb.feed(shard[f.key], msg)
                if comb.decided():
                    break
        except Exception as exc:  # the cluster, not the certificate: never a pass
            raise Unknown(f"a shard did not come back from the dask cluster ({type(exc).__name__}: "
                          f"{exc}); nothing verified") from None
        finally:
            self.client.cancel(futs + [t])
        return comb.result()

    # -------------------------------------------------------------- fuzz
    def pool(self, jobs=None):
        """What exactseq.fuzz.campaign needs of a multiprocessing pool."""
        return _Pool(self.client)


class _Pool:
    def __init__(self, client):
        self.client, self.pending = client, set()

    def apply_async(self, fn, args):
        f = self.client.submit(fn, *args, pure=False)
        self.pending.add(f)
        return _Async(self, f)

    def terminate(self):
        self.client.cancel(list(self.pending))
        self.pending.clear()

    def join(self):
        pass


class _Async:
    def __init__(self, pool, future):
        self.pool, self.future = pool, future

    def get(self, timeout=None):
        try:
            out = self.future.result(timeout=timeout)
        except TimeoutError:
            raise multiprocessing.TimeoutError from None
        self.pool.pending.discard(self.future)
        return out
