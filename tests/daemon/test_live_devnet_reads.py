"""The config of a running devnet reads one block below anvil's head, because a read of the head block can meet
the mining of the next block and answer from its state (tests/benchmarks/test_anvil_head_reads.py; at 100,000
accounts, where a cycle's reads take seconds, 25 of 29 cycles failed at the head, BENCHMARKS.md). Under heavy
blocks mined back to back while the daemon reads, the written config's cycles never fail."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from monitor.config import parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.activity import mine_busy_blocks
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import LIVE_DEVNET_CONFIRMATIONS, write_devnet_config
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon

CYCLES = 15  # cycles the daemon must complete one block below the head without a failure
RUN_S = 120.0  # at most this long to make the cycles


def _counter(daemon: Daemon, name: str) -> float:
    text = generate_latest(daemon.metrics.registry).decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


async def _run(devnet: Devnet, tmp_path: Path, confirmations: int, *, until_failure: bool) -> tuple[int, int]:
    """(cycles ok, cycles failed) of the daemon on the written config while blocks are mined back to back."""
    path = write_devnet_config(tmp_path / f"monitor-{confirmations}.yaml", devnet.url, devnet.dep,
                               metrics_port=free_port(), checkpoint=str(tmp_path / f"cp-{confirmations}.sqlite"),
                               confirmations=confirmations)  # fmt: skip
    data = yaml.safe_load(path.read_text())
    data["sweep"] = {"enabled": False}  # the block path is what reads; the sweep only costs time here
    cfg = parse_config(data, environ={})
    stop = threading.Event()
    miner = threading.Thread(
        target=mine_busy_blocks,
        args=(devnet.url, devnet.dep, stop),
        kwargs={"seed": 11, "actions_per_block": 60},
        daemon=True,
    )
    ok = failed = 0
    async with running_daemon(cfg) as daemon:
        async with asyncio.timeout(120):  # the cold index, before the mining starts
            while daemon.alerting.latest.get("devnet-aave") is None:
                await asyncio.sleep(0.1)
        base_ok = _counter(daemon, "cascade_monitor_block_processing_seconds_count")
        miner.start()
        try:
            deadline = time.monotonic() + RUN_S
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                ok = int(_counter(daemon, "cascade_monitor_block_processing_seconds_count") - base_ok)
                failed = int(_counter(daemon, "cascade_monitor_market_cycle_errors_total"))
                if (until_failure and failed) or (not until_failure and ok >= CYCLES):
                    break
        finally:
            stop.set()
            await asyncio.to_thread(miner.join, 60)
    return ok, failed


async def test_reads_one_block_below_the_head_never_meet_the_next_block(devnet: Devnet, tmp_path: Path) -> None:
    assert LIVE_DEVNET_CONFIRMATIONS >= 1
    written = yaml.safe_load(write_devnet_config(tmp_path / "default.yaml", devnet.url, devnet.dep).read_text())
    assert written["chain"]["confirmations"] == LIVE_DEVNET_CONFIRMATIONS, "devnet up writes the safe value"
    in_flight = written["chain"]["max_concurrency"] * written["chain"]["batch_size"]
    assert in_flight < 512, "eth_calls in flight stay under anvil's blocking threads (a mine queues behind the rest)"
    start = devnet.rpc.snapshot()
    try:
        # blocks below a state loaded from the cache have no stored state: mine past it first (as devnet up does)
        devnet.rpc.mine(1 + LIVE_DEVNET_CONFIRMATIONS)
        ok, failed = await _run(devnet, tmp_path, LIVE_DEVNET_CONFIRMATIONS, until_failure=False)
    finally:
        devnet.rpc.revert(start)
    assert ok >= CYCLES and failed == 0, (ok, failed)
