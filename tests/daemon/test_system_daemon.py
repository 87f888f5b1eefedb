"""The daemon's system result on a devnet holding Aave and Morpho Blue markets that share the Uniswap pools: after
every market's result of a block, the configured scenarios are projected on the system and exported; the figures
equal ``cascade-monitor simulate --json`` (the system projection) at the same block. With one market there is no
system result."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import load_config
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from tests.alerts.broker import Mosquitto
from tests.alerts.collector import Collector
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon, simulate_json


async def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``/metrics`` as ``{(sample name, sorted labels): value}``."""
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _status(port: int) -> dict[str, Any]:
    """``/api/v1/status``."""
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/api/v1/status") as resp:
        assert resp.status == 200
        doc: dict[str, Any] = await resp.json()
    return doc


def _config(devnet: Devnet, tmp_path: Path, *, morpho: bool, min_profit_usd: float = 0.0) -> Path:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"),
                         morpho=morpho)  # fmt: skip
    data["sweep"] = {"enabled": False}
    if min_profit_usd:
        data["liquidators"] = {"min_profit_usd": min_profit_usd}
    if morpho:
        data["markets"][0]["buffers_usd"] = {"USDC": 50_000.0, "DAI": 1e9}
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump(data))
    return config


async def test_the_daemon_exports_the_system_result_equal_tosimulate_json(devnet_v36: Devnet, tmp_path: Path) -> None:
    devnet = devnet_v36
    # a minimum profit leaves the smallest liquidatable positions as dust
    config = _config(devnet, tmp_path, morpho=True, min_profit_usd=60.0)
    cfg = load_config(config, environ={})
    names = [m.name for m in cfg.markets]
    assert names == ["devnet-aave", "devnet-morpho"]
    async with running_daemon(cfg) as daemon:
        await asyncio.to_thread(devnet.rpc.mine, 1)
        head = devnet.rpc.block_number()  # nothing else moves the chain from here on: the daemon settles on it
        async with asyncio.timeout(180):
            while (system := daemon.store.system()) is None or system.block < head:
                await asyncio.sleep(0.2)
        assert daemon.listen_port is not None
        metrics = await _scrape(daemon.listen_port)
        status = await _status(daemon.listen_port)
    assert system.block == head and system.markets == tuple(names)
    assert status["projection"]["block"] == head and status["offchain_depth"] is None  # no off-chain depth file
    assert not [k for k in metrics if k[0].startswith("cascade_monitor_offchain_depth_file_")]
    on_page = {s["name"]: s for s in status["projection"]["scenarios"]}
    assert metrics[("cascade_monitor_system_last_block", ())] == head
    assert [s.name for s in system.scenarios] == [sc.name for sc in cfg.scenarios]
    contagion_seen = 0.0
    buffers_seen = 0
    dust_seen = 0.0
    for sc in cfg.scenarios:
        doc = await simulate_json(config, head, dict(sc.shocks))
        assert doc["block"] == head and [m["name"] for m in doc["markets"]] == names
        label = (("scenario", sc.name),)
        repaid = metrics[("cascade_monitor_system_scenario_debt_repaid_usd", label)]
        bad = metrics[("cascade_monitor_system_scenario_bad_debt_usd", label)]
        assert repaid == pytest.approx(doc["debt_repaid_usd"], rel=1e-12), sc.name
        assert bad == pytest.approx(doc["bad_debt_usd"], rel=1e-12, abs=1e-6), sc.name
        # how long the cascade takes, what it liquidates in its first minute and hour, its dust
        page = on_page[sc.name]
        for metric, field in (("duration_seconds", "duration_seconds"),
                              ("liquidated_first_minute_usd", "liquidated_first_minute_usd"),
                              ("liquidated_first_hour_usd", "liquidated_first_hour_usd"),
                              ("dust_debt_usd", "dust_debt_usd")):  # fmt: skip
            got = metrics[(f"cascade_monitor_system_scenario_{metric}", label)]
            assert got == pytest.approx(doc[field], rel=1e-12, abs=1e-9), (sc.name, metric)
            assert page[field] == pytest.approx(doc[field], rel=1e-12, abs=1e-9), (sc.name, field)
        assert page["dust_accounts"] == doc["dust_accounts"] and page["duration_blocks"] == doc["duration_blocks"]
        assert [(m["dust_accounts"], m["dust_debt_usd"]) for m in page["markets"]] == [
            (m["dust_accounts"], pytest.approx(m["dust_debt_usd"], rel=1e-12)) for m in doc["markets"]
        ], sc.name
        assert sum(m["dust_debt_usd"] for m in doc["markets"]) == pytest.approx(doc["dust_debt_usd"], rel=1e-9)
        assert sum(m["dust_accounts"] for m in doc["markets"]) == doc["dust_accounts"]
        if doc["debt_repaid_usd"] > 0:
            assert doc["duration_seconds"] > 0 and doc["liquidated_first_hour_usd"] > 0, sc.name
        dust_seen += doc["dust_debt_usd"]
        for market in names:
            key = (("market", market), ("scenario", sc.name))
            extra = doc["contagion"][market]
            got_repaid = metrics[("cascade_monitor_contagion_debt_repaid_usd", key)]
            got_bad = metrics[("cascade_monitor_contagion_bad_debt_usd", key)]
            assert got_repaid == pytest.approx(extra["debt_repaid_usd"], rel=1e-9, abs=1e-6), (sc.name, market)
            assert got_bad == pytest.approx(extra["bad_debt_usd"], rel=1e-9, abs=1e-6), (sc.name, market)
            contagion_seen += abs(got_repaid)
        # each market's buffers against its part of the system cascade's losses, as simulate reports them (the
        # same units, no more)
        units_exported = {
            (dict(k[1])["market"], dict(k[1])["asset"])
            for k in metrics
            if k[0] == "cascade_monitor_system_scenario_uncovered_loss_usd" and dict(k[1])["scenario"] == sc.name
        }
        assert units_exported == {(m, u) for m, units in doc["buffers"].items() for u in units}, sc.name
        for market, units in doc["buffers"].items():
            for unit, cover in units.items():
                key = (("asset", unit), ("market", market), ("scenario", sc.name))
                ratio = cover["coverage_ratio"]
                got = metrics[("cascade_monitor_system_scenario_buffer_coverage_ratio", key)]
                assert got == (float("inf") if ratio is None else pytest.approx(ratio, rel=1e-9)), (sc.name, key)
                got = metrics[("cascade_monitor_system_scenario_uncovered_loss_usd", key)]
                assert got == pytest.approx(cover["uncovered_usd"], rel=1e-9, abs=1e-6), (sc.name, key)
                buffers_seen += 1
        print(
            f"\n{sc.name}: system repaid ${repaid:,.0f}, bad debt ${bad:,.0f}, contagion {doc['contagion']}, "
            f"{doc['duration_seconds']:.0f} s, first hour ${doc['liquidated_first_hour_usd']:,.0f}, dust "
            f"{doc['dust_accounts']} accounts ${doc['dust_debt_usd']:,.0f}"
        )
    assert contagion_seen > 0, "the markets' shared sales cause liquidations a market alone does not"
    assert buffers_seen > 0
    assert dust_seen > 0, "a minimum profit of $60 leaves some liquidatable positions"
    # Morpho's own scenarios: its write-offs are its lenders' losses per market id, never reserve deficits
    morpho = [dict(k[1]) for k in metrics if k[0] == "cascade_monitor_scenario_uncovered_loss_usd"]
    morpho = [labels for labels in morpho if labels["market"] == "devnet-morpho"]
    assert morpho and all(labels["asset"].startswith("0x") for labels in morpho), morpho
    deficits = [k for k in metrics if k[0] == "cascade_monitor_scenario_deficit_usd"]
    assert deficits and not [k for k in deficits if dict(k[1])["market"] == "devnet-morpho"]


async def test_one_market_has_no_system_result(devnet_v36: Devnet, tmp_path: Path) -> None:
    devnet = devnet_v36
    cfg = load_config(_config(devnet, tmp_path, morpho=False), environ={})
    assert len(cfg.markets) == 1
    async with running_daemon(cfg) as daemon:
        await asyncio.to_thread(devnet.rpc.mine, 1)
        head = devnet.rpc.block_number()
        async with asyncio.timeout(180):
            while (r := daemon.alerting.latest.get("devnet-aave")) is None or r.block < head:
                await asyncio.sleep(0.2)
        assert daemon.listen_port is not None
        metrics = await _scrape(daemon.listen_port)
    assert r.scenarios and daemon.store.system() is None
    assert metrics[("cascade_monitor_scenario_debt_repaid_usd", (("market", "devnet-aave"), ("scenario", "weth-20")))]
    assert not [k for k in metrics if k[0].startswith(("cascade_monitor_system_", "cascade_monitor_contagion_"))]


async def test_system_alerts_arrive_on_mqtt(devnet_v36: Devnet, tmp_path: Path, broker: Mosquitto) -> None:
    """Rules on system figures fire on the daemon's system result and arrive on MQTT as the market ``system``,
    with the value the system result holds."""
    devnet = devnet_v36
    config = _config(devnet, tmp_path, morpho=True)
    data = yaml.safe_load(config.read_text())
    data["mqtt"] = {"url": broker.url, "topic_prefix": "cascade-monitor"}
    data["alerts"] = {"stale_after_s": 3600, "rules": [
        {"name": "system-bad-debt", "kind": "system_projected_bad_debt_usd", "scenario": "weth-20", "op": "above",
         "threshold": 1_000, "reset": 500, "severity": "page"},
        {"name": "contagion", "kind": "contagion_bad_debt_usd", "scenario": "weth-20", "op": "above",
         "threshold": 1, "reset": 0, "severity": "ticket"},
    ]}  # fmt: skip
    config.write_text(yaml.safe_dump(data))
    cfg = load_config(config, environ={})
    head = devnet.rpc.block_number()  # nothing moves the chain: the first system result (and alert) is of head
    async with Collector(broker.port) as sub, running_daemon(cfg) as daemon:
        async with asyncio.timeout(180):
            while (system := daemon.store.system()) is None or system.block < head:
                await asyncio.sleep(0.2)
            while len(sub.messages) < 2 or not all(sub.on(f"cascade-monitor/system/alerts/{r}") for r in
                                                    ("system-bad-debt", "contagion")):  # fmt: skip
                await asyncio.sleep(0.2)
    (scenario,) = [s for s in system.scenarios if s.name == "weth-20"]
    (bad,) = [m.json() for m in sub.on("cascade-monitor/system/alerts/system-bad-debt")]
    (extra,) = [m.json() for m in sub.on("cascade-monitor/system/alerts/contagion")]
    assert bad["market"] == "system" and bad["state"] == "firing" and bad["severity"] == "page"
    assert bad["value"] == pytest.approx(scenario.bad_debt_usd, rel=1e-12) and bad["block"] == system.block
    assert extra["value"] == pytest.approx(max(c.bad_debt_usd for c in scenario.contagion.values()), rel=1e-12)
    assert extra["market"] == "system" and extra["state"] == "firing"
