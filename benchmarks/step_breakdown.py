"""Where a block's time goes in the daemon: its steps timed in place for a benchmark run (``bench_daemon
--breakdown``)."""

from __future__ import annotations

import functools
import importlib
import time
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank; NaN when empty)."""
    s = sorted(values)
    return s[min(int(q * len(s)), len(s) - 1)] if s else float("nan")


class Breakdown:
    """Where a block's time goes: wall and CPU (of the thread that ran it) of the daemon's steps, wrapped in place
    for the run (``--breakdown``). Async steps get wall time only (other tasks interleave with them)."""

    STEPS: tuple[tuple[str, str, str, bool], ...] = (
        # (label, module, attribute path, async)
        ("cycle", "monitor.daemon.chain_loop", "ChainLoop.step", True),
        ("context", "monitor.daemon.context", "ChainReader.context", True),
        ("refresh", "monitor.protocols.aave_v3.indexer", "MarketIndexer.refresh", True),
        ("compute", "monitor.daemon.pipeline", "MarketPipeline.compute", True),
        ("book_indexes", "monitor.protocols.aave_v3.book.book", "Book.set_indexes", False),
        ("book_prices", "monitor.protocols.aave_v3.book.book", "Book.set_prices", False),
        ("book_upsert", "monitor.protocols.aave_v3.book.book", "Book.upsert_accounts", False),
        ("figures", "monitor.protocols.aave_v3.tracker", "AaveV3View.figures", False),
        ("risk_input", "monitor.protocols.aave_v3.tracker", "AaveV3View.risk_input", False),
        ("projections", "monitor.daemon.projection", "CascadeProjector.__call__", False),
        ("sweep", "monitor.daemon.projection", "CascadeProjector._sweep", False),
        ("system", "monitor.daemon.chain_loop", "ChainLoop._system", True),
    )

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        """Wrap every step (undone by :meth:`remove`)."""
        for label, module, path, is_async in self.STEPS:
            owner_name, attr = path.split(".")
            owner = getattr(importlib.import_module(module), owner_name)
            original = getattr(owner, attr)
            wall, cpu = self.wall.setdefault(label, []), self.cpu.setdefault(label, [])
            if is_async:

                def make_async(fn: Any, wall: list[float]) -> Any:
                    @functools.wraps(fn)
                    async def timed(*a: Any, **k: Any) -> Any:
                        t0 = time.perf_counter()
                        try:
                            return await fn(*a, **k)
                        finally:
                            wall.append(time.perf_counter() - t0)

                    return timed

                wrapped = make_async(original, wall)
            else:

                def make_sync(fn: Any, wall: list[float], cpu: list[float]) -> Any:
                    @functools.wraps(fn)
                    def timed(*a: Any, **k: Any) -> Any:
                        t0, c0 = time.perf_counter(), time.thread_time()
                        try:
                            return fn(*a, **k)
                        finally:
                            wall.append(time.perf_counter() - t0)
                            cpu.append(time.thread_time() - c0)

                    return timed

                wrapped = make_sync(original, wall, cpu)
            self._undo.append((owner, attr, original))
            setattr(owner, attr, wrapped)

    def remove(self) -> None:
        """Put the original methods back."""
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()

    def clear(self) -> None:
        """Forget what was measured so far (the cold index)."""
        for v in (*self.wall.values(), *self.cpu.values()):
            v.clear()

    def figures(self) -> dict[str, dict[str, float]]:
        """Per step: calls, wall p50 / p99 ms, CPU p50 ms and CPU seconds summed (sync steps)."""
        out = {}
        for label, wall in self.wall.items():
            if not wall:
                continue
            cpu = self.cpu.get(label) or []
            out[label] = {"calls": len(wall), "wall_p50_ms": percentile(wall, 0.5) * 1e3,
                          "wall_p99_ms": percentile(wall, 0.99) * 1e3, "wall_sum_s": sum(wall)}  # fmt: skip
            if cpu:
                out[label].update(cpu_p50_ms=percentile(cpu, 0.5) * 1e3, cpu_sum_s=sum(cpu))
        return out
