"""Running the daemon inside a test: started, yielded, stopped within bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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
