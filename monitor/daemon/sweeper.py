"""The daemon's critical-shock sweep in a process of its own, so that it cannot starve the block path.

A sweep is hundreds of projections (seconds of CPU on a large book); run in a thread of the daemon it holds the
GIL against the block cycle (reads, book, figures, scenarios) whenever it is not inside numpy. Here it runs in
one worker process per daemon process, started on first use by ``spawn`` (no fork of a process with an event
loop and threads), at a lower CPU priority (:data:`SWEEP_NICENESS`), shared by every market's projector (their
sweeps queue). The projector travels by pickle: a fresh one holds the book and venues only (about 14 MB and a
few ms at 100,000 accounts x 8 reserves). The worker's answer is the critical shocks and its CPU seconds.
"""

from __future__ import annotations

import copyreg
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import MappingProxyType
from typing import Any

from monitor.allocator import keep_freed_memory
from monitor.errors import MonitorError
from monitor.risk import Limits, Projector, SweepSpec, sweep

log = logging.getLogger(__name__)

SWEEP_NICENESS = 10  # added to the worker's nice value: under CPU contention the block path goes first
ORPHAN_CHECK_S = 1.0  # how often the worker checks that the daemon's process is still there


def _mappingproxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_mappingproxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _mappingproxy, (dict(proxy),)


# the engine's frozen parameters hold read-only mappings, which pickle does not know: sent as their dict
copyreg.pickle(MappingProxyType, _reduce_mappingproxy)


def critical_shocks(
    projector: Projector, assets: Sequence[str] | None, spec: SweepSpec, limits: Limits
) -> tuple[dict[str, float | None], float]:
    """In the worker: the critical shock of each asset (symbol -> shock, None: no step crosses) and the CPU
    seconds the sweep took."""
    t0 = time.process_time()
    result = sweep(projector, assets, spec, limits, curves=False)
    return {a.symbol: a.critical_shock for a in result.assets}, time.process_time() - t0


class SweepStopped(MonitorError):
    """The sweep was abandoned because the daemon stopped its sweep process."""


def _init_worker(parent: int) -> None:
    """In the worker, at start: a lower CPU priority, the allocator's settings (:mod:`monitor.allocator`), and an
    exit as soon as the daemon's process is gone (killed without a chance to stop its worker, the worker would
    otherwise wait for work forever)."""
    os.nice(SWEEP_NICENESS)
    keep_freed_memory()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class SweepWorker:
    """The one sweep process of this daemon process; :meth:`run` blocks its (waiting) caller thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def run(
        self, projector: Projector, assets: Sequence[str] | None, spec: SweepSpec, limits: Limits
    ) -> tuple[dict[str, float | None], float]:
        """Sweep in the worker (started on first use; started again after it died)."""
        pool = self._executor()
        try:
            return pool.submit(critical_shocks, projector, assets, spec, limits).result()
        except (BrokenProcessPool, CancelledError) as exc:
            with self._lock:
                stopped = self._pool is not pool  # shut down meanwhile (else the worker died)
                if self._pool is pool:
                    self._pool = None
            if stopped:
                raise SweepStopped("the sweep process was stopped") from exc
            raise

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_init_worker, initargs=(os.getpid(),))  # fmt: skip
            return self._pool

    def shutdown(self) -> None:
        """Stop the worker now (a sweep under way is abandoned: its caller gets :class:`SweepStopped`); the next
        :meth:`run` starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        # the executor has no public way to stop a busy worker before Python 3.14: end it, then the executor
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)


WORKER = SweepWorker()  # shared by every projector of the process
