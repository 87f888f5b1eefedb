"""Reorgs under the daemon at depth 1, 3 and deeper than ``confirmations``: the book ends equal to a rebuild on
the new chain, and an alert raised on orphaned blocks is resolved (reason ``reorg``), never left firing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.config import parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.anvil import free_port
from monitor.devnet.liquidator import crash
from monitor.devnet.monitor_config import devnet_config
from tests.alerts.broker import Mosquitto
from tests.alerts.collector import Collector
from tests.conftest import Devnet
from tests.daemon.test_alerts_e2e import MARKET, RULE, _alerts, _blocks_until, _cfg, _daemon
from tests.daemon.test_faults import _assert_equals_fresh


@pytest.mark.parametrize("depth", [1, 3, 6])
async def test_reorg_leaves_the_book_equal_to_a_rebuild(devnet: Devnet, tmp_path: Path, depth: int) -> None:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["chain"].update(confirmations=2, poll_interval_s=0.2)
    data["alerts"] = {"stale_after_s": 3600}
    cfg = parse_config(data, environ={})
    async with _daemon(cfg) as daemon:
        await _blocks_until(devnet, lambda: MARKET in daemon.alerting.latest, "first result")
        gen_a = ActivityGenerator(devnet.rpc, devnet.dep, seed=41, actions_per_block=12)
        for _ in range(depth + 3):
            await asyncio.to_thread(gen_a.step)
        await _caught_up_to(devnet, daemon, devnet.rpc.block_number() - 2)
        devnet.rpc.call("anvil_rollback", depth)
        gen_b = ActivityGenerator(devnet.rpc, devnet.dep, seed=1000 + depth, actions_per_block=12)
        for _ in range(depth + 3):
            await asyncio.to_thread(gen_b.step)
        await _caught_up_to(devnet, daemon, devnet.rpc.block_number() - 2)
    fresh_cfg = parse_config({**data, "chain": {**data["chain"], "confirmations": 2}}, environ={})
    await _assert_equals_fresh(devnet, daemon, fresh_cfg, tmp_path)


async def _caught_up_to(devnet: Devnet, daemon: Daemon, block: int) -> None:
    for _ in range(200):
        latest = daemon.alerting.latest.get(MARKET)
        if latest is not None and latest.block >= block:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the daemon did not reach block {block}")


async def test_an_alert_raised_on_orphaned_blocks_is_resolved(
    devnet: Devnet, tmp_path: Path, broker: Mosquitto
) -> None:
    cfg = _cfg(devnet, tmp_path, broker)  # confirmations 0: it acts on blocks a reorg can take away
    async with Collector(broker.port) as sub, _daemon(cfg) as daemon:
        await _blocks_until(devnet, lambda: MARKET in daemon.alerting.latest, "first result")
        fork = devnet.rpc.block_number()
        await asyncio.to_thread(crash, devnet.rpc, devnet.dep, "WETH", 0.25)
        await _blocks_until(devnet, lambda: len(_alerts(sub)) >= 1, "page alert")
        assert _alerts(sub)[0]["state"] == "firing"
        # the crash never happened on the new chain
        devnet.rpc.call("anvil_rollback", devnet.rpc.block_number() - fork)
        await _blocks_until(devnet, lambda: len(_alerts(sub)) >= 2, "the orphaned alert settled")
        fired, resolved = _alerts(sub)[:2]
        assert resolved["id"] == fired["id"] and resolved["state"] == "resolved"
        assert resolved["reason"] == "reorg"
        assert daemon.alerting.engine.active().get(RULE, 0) == 0
