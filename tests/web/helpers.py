"""The daemon on the devnet for the page's tests, the CLI as a user runs it, and HTTP helpers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from monitor.config import MonitorConfig, load_config
from monitor.daemon.result import MarketResult
from monitor.daemon.run import Daemon
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon

MARKET = "devnet-aave"


def write_config(devnet: Devnet, tmp_path: Path, **more: Any) -> tuple[Path, MonitorConfig]:
    """The devnet config (sweep every 5 blocks, default scenarios, devnet alert rules) as a YAML file."""
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["alerts"]["stale_after_s"] = 3600
    data |= more
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, load_config(path, environ={})


@asynccontextmanager
async def page_daemon(cfg: MonitorConfig) -> AsyncIterator[tuple[Daemon, str]]:
    """The daemon and the base URL of its page."""
    async with running_daemon(cfg) as daemon:
        yield daemon, f"http://127.0.0.1:{daemon.listen_port}"


async def settled(daemon: Daemon, devnet: Devnet, timeout: float = 120) -> MarketResult:
    """Mine one block, then wait until the daemon's result is at the head (nothing else moves the chain)."""
    await asyncio.to_thread(devnet.rpc.mine, 1)
    head = devnet.rpc.block_number()
    async with asyncio.timeout(timeout):
        while (st := daemon.store.statuses()[MARKET]).result is None or st.result.block < head:
            await asyncio.sleep(0.1)
    assert st.result.block == head
    return st.result


async def get_json(url: str) -> tuple[int, Any]:
    """Status and JSON body of a GET."""
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.json(content_type=None)


async def cli(*argv: str) -> dict[str, Any]:
    """``cascade-monitor ARGV --json`` in a child process; its JSON document."""
    exe = str(Path(sys.executable).parent / "cascade-monitor")
    done = await asyncio.to_thread(subprocess.run, [exe, *argv, "--json"], capture_output=True, text=True,
                                   timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc
