"""Running the daemon inside a test: started, yielded, stopped within bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import generate_latest

from monitor.config import MonitorConfig
from monitor.daemon.run import Daemon


@asynccontextmanager
async def running_daemon(cfg: MonitorConfig, **kwargs: Any) -> AsyncIterator[Daemon]:
    """The daemon as a task (extra keyword arguments go to :class:`Daemon`); stopped and awaited at the end."""
    daemon = Daemon(cfg, **kwargs)
    task = asyncio.create_task(daemon.run(), name="daemon-under-test")
    try:
        await asyncio.wait_for(daemon.started.wait(), 30)
        yield daemon
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)


async def metrics_at_block(cfg: MonitorConfig, market: str, block: int, timeout_s: float = 120.0) -> tuple[Any, str]:
    """Run the daemon until ``market`` has a result at ``block`` or later; that result and the exported text."""
    async with running_daemon(cfg) as daemon:
        async with asyncio.timeout(timeout_s):
            while (result := daemon.alerting.latest.get(market)) is None or result.block < block:
                await asyncio.sleep(0.2)
        return result, generate_latest(daemon.metrics.registry).decode()
