"""Alerts end to end on the devnet with a real mosquitto: a scripted crash makes the page-level alert arrive on
MQTT within a few blocks and resolve once after recovery; with the broker down while alerts fire and resolve,
every event arrives after the restart, in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from monitor.config import MonitorConfig, default_alert_rules, parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.anvil import free_port
from monitor.devnet.liquidator import crash
from monitor.devnet.market import oracle_price, set_oracle_price
from monitor.devnet.monitor_config import devnet_config
from tests.alerts.broker import Mosquitto
from tests.alerts.collector import Collector
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon
from tests.daemon.test_daemon import _get, _one, _samples

MARKET = "devnet-aave"
RULE = "liquidatable-debt"
TOPIC = f"cascade-monitor/{MARKET}/alerts/{RULE}"


def _cfg(devnet: Devnet, tmp_path: Path, broker: Mosquitto) -> MonitorConfig:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["mqtt"] = {"url": broker.url, "topic_prefix": "cascade-monitor"}
    data["alerts"] = {
        "stale_after_s": 3600,
        "rules": [
            {"name": RULE, "kind": "liquidatable_debt_usd", "op": "above", "threshold": 50_000, "reset": 1_000,
             "reset_blocks": 2, "severity": "page"},
            {"name": "hf-mass", "kind": "hf_mass_below_usd", "level": 1.02, "op": "above", "threshold": 5e7,
             "reset": 4e7, "severity": "ticket"},
        ],
    }  # fmt: skip
    return parse_config(data, environ={})


@asynccontextmanager
async def _daemon(cfg: MonitorConfig) -> AsyncIterator[Daemon]:
    async with running_daemon(cfg) as daemon:
        yield daemon


async def _blocks_until(devnet: Devnet, check: Any, what: str, max_blocks: int = 40) -> int:
    """Mine a block every 0.5 s until ``check()``; returns how many blocks it took."""
    for n in range(max_blocks):
        if check():
            return n
        await asyncio.to_thread(devnet.rpc.mine, 1)
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: not within {max_blocks} blocks")


def _alerts(c: Collector) -> list[dict[str, Any]]:
    return [m.json() for m in c.messages if m.topic == TOPIC]


async def test_crash_pages_on_mqtt_and_resolves_once_after_recovery(
    devnet: Devnet, tmp_path: Path, broker: Mosquitto
) -> None:
    cfg = _cfg(devnet, tmp_path, broker)
    async with Collector(broker.port) as sub, _daemon(cfg) as daemon:
        await _blocks_until(devnet, lambda: MARKET in daemon.alerting.latest, "first result")
        assert _alerts(sub) == []
        weth = oracle_price(devnet.rpc, devnet.dep, "WETH")
        await asyncio.to_thread(crash, devnet.rpc, devnet.dep, "WETH", 0.25)  # no liquidator: debt stays liquidatable
        blocks = await _blocks_until(devnet, lambda: len(_alerts(sub)) >= 1, "page alert on MQTT")
        assert blocks <= 5, "within a few blocks"
        (fired,) = _alerts(sub)
        assert fired["state"] == "firing" and fired["severity"] == "page" and fired["market"] == MARKET
        assert fired["rule"] == RULE and fired["value"] > fired["threshold"] == 50_000
        assert {"id", "block", "timestamp"} <= set(fired)
        _, body = await _get(f"http://127.0.0.1:{cfg.metrics.port}/metrics")
        m = _samples(body)
        assert _one(m, "cascade_monitor_alerts_active", market=MARKET, rule=RULE, severity="page") == 1
        assert _one(m, "cascade_monitor_mqtt_connected") == 1
        # recovery: the oracle back where it was; the alert resolves after reset_blocks, once
        await asyncio.to_thread(set_oracle_price, devnet.rpc, devnet.dep, "WETH", weth)
        await _blocks_until(devnet, lambda: len(_alerts(sub)) >= 2, "resolution on MQTT")
        for _ in range(6):  # more quiet blocks: nothing more on the topic
            await asyncio.to_thread(devnet.rpc.mine, 1)
            await asyncio.sleep(0.4)
        again, resolved = _alerts(sub)
        assert again == fired
        assert resolved["state"] == "resolved" and resolved["id"] == fired["id"]
        assert resolved["block"] >= fired["block"] + 2
        states = [x.json() for x in sub.messages if x.topic == f"cascade-monitor/{MARKET}/state"]
        assert states and all(s["market"] == MARKET for s in states)
        assert any(x.payload == b"online" for x in sub.messages if x.topic == "cascade-monitor/status")


async def test_broker_down_while_alerts_fire_delivers_everything_after_restart(
    devnet: Devnet, tmp_path: Path, broker: Mosquitto
) -> None:
    cfg = _cfg(devnet, tmp_path, broker)
    async with _daemon(cfg) as daemon:
        await _blocks_until(devnet, lambda: MARKET in daemon.alerting.latest, "first result")
        broker.kill()
        weth = oracle_price(devnet.rpc, devnet.dep, "WETH")
        events_before = daemon.alerting.events_total
        # fire, resolve, fire again while the broker is down
        await asyncio.to_thread(crash, devnet.rpc, devnet.dep, "WETH", 0.25)
        await _blocks_until(devnet, lambda: daemon.alerting.events_total >= events_before + 1, "fired")
        await asyncio.to_thread(set_oracle_price, devnet.rpc, devnet.dep, "WETH", weth)
        await _blocks_until(devnet, lambda: daemon.alerting.events_total >= events_before + 2, "resolved")
        await asyncio.to_thread(set_oracle_price, devnet.rpc, devnet.dep, "WETH", int(weth * 0.7))
        await _blocks_until(devnet, lambda: daemon.alerting.events_total >= events_before + 3, "fired again")
        assert daemon.publisher is not None and daemon.publisher.stats().queued >= 3
        broker.start()
        async with Collector(broker.port) as sub:
            deadline = time.monotonic() + 60
            while len({a["id"] + a["state"] for a in _alerts(sub)}) < 3:
                assert time.monotonic() < deadline, f"only {_alerts(sub)} arrived"
                await asyncio.sleep(0.2)
        got = _alerts(sub)
        unique = list(dict.fromkeys((a["id"], a["state"]) for a in got))  # QoS 1 may repeat one, same id
        assert [s for _, s in unique] == ["firing", "resolved", "firing"]
        assert unique[0][0] == unique[1][0] != unique[2][0]
        assert [a["block"] for a in got] == sorted(a["block"] for a in got), "in order"
        assert daemon.publisher.stats().dropped == 0


DEFAULT_RULES = [r.name for r in default_alert_rules()]


def _default_cfg(devnet: Devnet, tmp_path: Path, broker: Mosquitto, **more: Any) -> MonitorConfig:
    """The devnet config with no ``alerts``, ``scenarios`` or ``sweep`` key (every default applies), plus ``more``."""
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    for key in ("alerts", "scenarios", "sweep"):
        del data[key]
    data["mqtt"] = {"url": broker.url, "topic_prefix": "cascade-monitor"}
    return parse_config({**data, **more}, environ={})


def _all_alerts(c: Collector) -> list[dict[str, Any]]:
    return [m.json() for m in c.messages if m.topic.startswith(f"cascade-monitor/{MARKET}/alerts/")]


async def test_a_config_without_alerts_pages_a_crash_with_the_default_rules(
    devnet: Devnet, tmp_path: Path, broker: Mosquitto
) -> None:
    cfg = _default_cfg(devnet, tmp_path, broker)
    assert cfg.alerts.rules_are_default and cfg.scenarios_are_default and cfg.sweep.enabled
    await asyncio.to_thread(devnet.rpc.mine, 1)  # a head stamped now: data-stale has no reason to fire
    async with Collector(broker.port) as sub, _daemon(cfg) as daemon:
        await _blocks_until(devnet, lambda: MARKET in daemon.alerting.latest, "first result")
        first = daemon.alerting.latest[MARKET]
        collateral = {"WETH", "WBTC", "LINK"}  # collateral assets the devnet's borrowers hold
        names = {s.name for s in first.scenarios}
        assert {f"each-collateral-{p}-{a}" for p in (10, 20, 30) for a in collateral} <= names
        assert all(n.startswith("each-collateral-") for n in names) and len(names) % 3 == 0
        await _blocks_until(devnet, lambda: bool(daemon.alerting.latest[MARKET].critical_shocks), "first sweep")
        assert _all_alerts(sub) == [], "nothing fires on the calm devnet"
        await asyncio.to_thread(crash, devnet.rpc, devnet.dep, "WETH", 0.30)  # no liquidator: debt stays
        want = {"liquidatable-debt", "projected-bad-debt"}
        await _blocks_until(devnet, lambda: want <= {a["rule"] for a in _all_alerts(sub)}, "default alerts on MQTT")
        got = _all_alerts(sub)
        print("default alerts after a -30% WETH crash:", [(a["rule"], a["severity"], a["value"]) for a in got])
        assert {a["rule"] for a in got} <= set(DEFAULT_RULES)
        assert all(a["state"] == "firing" and a["market"] == MARKET for a in got)
        page = next(a for a in got if a["rule"] == "liquidatable-debt")
        assert page["severity"] == "page" and page["value"] > page["threshold"] == 1_000_000
        bad = next(a for a in got if a["rule"] == "projected-bad-debt")
        worst = max(s.bad_debt_usd for s in daemon.alerting.latest[MARKET].scenarios)
        assert bad["value"] > bad["threshold"] == 1_000_000 and worst > 1_000_000

        def state_messages() -> list[dict[str, Any]]:
            return [x.json() for x in sub.messages if x.topic == f"cascade-monitor/{MARKET}/state"]

        # the market's state goes out after the block's alert events, as a message of its own: it may arrive a
        # moment after them
        await _blocks_until(devnet, lambda: want <= set(state_messages()[-1]["active"]), "the state on MQTT")
        states = state_messages()
        assert list(states[-1]["rules"]) == DEFAULT_RULES
        assert {"liquidatable-debt", "projected-bad-debt"} <= set(states[-1]["active"])


async def test_explicit_empty_rules_publish_nothing_on_a_crash(
    devnet: Devnet, tmp_path: Path, broker: Mosquitto
) -> None:
    cfg = _default_cfg(devnet, tmp_path, broker, alerts={"rules": []})
    assert cfg.alerts.rules == [] and not cfg.alerts.rules_are_default
    await asyncio.to_thread(devnet.rpc.mine, 1)
    async with Collector(broker.port) as sub, _daemon(cfg) as daemon:
        await _blocks_until(devnet, lambda: MARKET in daemon.alerting.latest, "first result")
        await asyncio.to_thread(crash, devnet.rpc, devnet.dep, "WETH", 0.30)
        head = devnet.rpc.block_number()
        await _blocks_until(devnet, lambda: daemon.alerting.latest[MARKET].block > head + 3, "results after the crash")
        result = daemon.alerting.latest[MARKET]
        assert result.liquidatable_debt_usd > 1_000_000, "the default rule would have fired"
        assert daemon.alerting.events_total == 0
        assert [m.topic for m in sub.messages if "/alerts/" in m.topic or m.topic.endswith("/state")] == []
        assert any(m.payload == b"online" for m in sub.messages if m.topic == "cascade-monitor/status")
