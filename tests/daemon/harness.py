"""Running the daemon inside a test: started, yielded, stopped within bounds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
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


async def simulate_json(config: Path, block: int, shocks: dict[str, float]) -> dict[str, Any]:
    """``cascade-monitor simulate --json`` at ``block`` in a child process: the command as a user runs it."""
    argv = [str(Path(sys.executable).parent / "cascade-monitor"), "simulate", "--config", str(config),
            "--block", str(block), "--json"] + [f"--shock={a}={c}" for a, c in shocks.items()]  # fmt: skip
    done = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc
