"""A real Prometheus (Debian's server) scraping the daemon on the devnet, evaluating the shipped rules and sending
to a real Alertmanager running the example config.

The daemon runs its real projection engine (the config's scenarios every block, the critical-shock sweep in the
background), and the risk rules are fed by it: before the crash exactly the alerts that the engine's scenario bad
debt and critical shocks cross fire (the exported values equal the daemon's own result); after a scripted WETH
crash (no liquidator: accounts stay liquidatable) the page alert fires in Prometheus's /api/v1/alerts and reaches
the PagerDuty receiver, and the projected-bad-debt and critical-shock alerts follow the engine's new numbers
(a sweep of the crashed book included). Then every PromQL expression of the
rules and of the dashboard runs against the live server: it parses, and returns data whenever the metrics it
names are exported by the running daemon (only the metrics in MAY_BE_ABSENT may be missing, with the reason).

Only the rules' `for:` durations are shortened (to 1 s, so the test takes seconds); thresholds, labels and
expressions are the shipped ones. Everything runs on 127.0.0.1, every wait has a deadline, and every process is
stopped in `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import MonitorConfig, parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.anvil import free_port
from monitor.devnet.liquidator import crash
from monitor.devnet.rpc import DevRpc
from tests.alerts.broker import Mosquitto, mosquitto_binary
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon
from tests.deploy.promql import PROMETHEUS_OWN, dashboard_queries, selectors, substitute
from tests.deploy.servers import (
    DEPLOY,
    PROMETHEUS_CONFIG,
    RULES,
    Server,
    alert_rules,
    alertmanager,
    alertmanager_to_sink,
    load_yaml,
    prometheus,
    sink,
)

MARKET = "devnet-aave"
DEVNET_CONFIG = DEPLOY / "compose" / "monitor-devnet.yaml"
PAGE_ALERT = "CascadeLiquidatableDebt"
# Metrics the rules or the dashboard use that a healthy daemon on the devnet does not export, and why.
MAY_BE_ABSENT = {
    "cascade_monitor_rpc_errors_total": "exported after the first failed RPC request",
    "cascade_monitor_rpc_retries_total": "exported after the first retried RPC request",
    "cascade_monitor_reserve_deficit_usd": "Aave v3.3+ pools only (v3.0 has no reserve deficits)",
    "cascade_monitor_scenario_deficit_usd": "only for scenarios whose projected cascade burns debt into deficits",
    "cascade_monitor_system_scenario_bad_debt_usd": "configs with several markets only (this one has one)",
    "cascade_monitor_contagion_bad_debt_usd": "configs with several markets only (this one has one)",
    "cascade_monitor_morpho_markets_unpriced": "Morpho Blue entries only (this config's market is Aave's)",
}
RATE_INTERVAL = "15s"  # 15 scrapes at 1 s
BAD_DEBT_ALERT, CRITICAL_ALERT = "CascadeProjectedBadDebt", "CascadeCriticalShock"
BAD_DEBT = f'cascade_monitor_scenario_bad_debt_usd{{market="{MARKET}"}}'
CRITICAL = f'cascade_monitor_critical_shock_ratio{{market="{MARKET}"}}'
CRITICAL_WETH = f'cascade_monitor_critical_shock_ratio{{market="{MARKET}",asset="WETH"}}'


def _config(devnet: Devnet, tmp_path: Path, broker: Mosquitto) -> MonitorConfig:
    """The compose devnet profile's monitor config (deploy/compose/monitor-devnet.yaml), pointed at this test's
    devnet, broker, port and checkpoint; its market, pools and alert rules are used as shipped."""
    data = load_yaml(DEVNET_CONFIG)
    assert data["markets"][0]["pool_addresses_provider"] == devnet.dep.addresses_provider.lower()
    assert data["dex"]["pools"] == [p.address.lower() for p in devnet.dep.pools]
    data["chain"]["rpc_urls"] = [devnet.url]
    data["metrics"]["listen"] = f"127.0.0.1:{free_port()}"
    data["mqtt"]["url"] = broker.url
    data["checkpoint"]["path"] = str(tmp_path / "cp.sqlite")
    data["alerts"]["stale_after_s"] = 3600  # readiness must not depend on the cached chain's age
    return parse_config(data, source=str(DEVNET_CONFIG), environ={})


def _live_rules(directory: Path) -> Path:
    """The shipped rule files with every `for:` shortened to 1 s; nothing else changed."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted(RULES.glob("*.yml")):
        doc = load_yaml(path)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "1s"
        (directory / path.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return directory


def _live_prometheus_config(rules: Path, monitor_port: int, am: Server) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml pointed at the test's monitor and Alertmanager, scraping every second."""
    cfg: dict[str, Any] = load_yaml(PROMETHEUS_CONFIG)
    cfg["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    cfg["rule_files"] = [str(rules / "*.yml")]
    cfg["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [am.url.removeprefix("http://")]}]}]
    jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == "cascade-monitor"]
    assert len(jobs) == 1
    jobs[0]["static_configs"] = [{"targets": [f"127.0.0.1:{monitor_port}"]}]
    cfg["scrape_configs"] = jobs
    return cfg


@contextlib.asynccontextmanager
async def _daemon(cfg: MonitorConfig) -> AsyncIterator[Daemon]:
    async with running_daemon(cfg) as daemon:  # the real projector: scenarios every block, the sweep behind
        yield daemon


async def _mine_every_second(url: str, stop: asyncio.Event) -> None:
    """A block per second (the chain keeps moving: fresh data, non-zero rates)."""
    with DevRpc(url, timeout_s=10) as rpc:
        while not stop.is_set():
            await asyncio.to_thread(rpc.mine, 1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


async def _query(c: httpx.AsyncClient, prom: Server, expr: str) -> list[dict[str, Any]]:
    r = await c.get(f"{prom.url}/api/v1/query", params={"query": expr})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", f"{expr!r}: {body.get('error', body)}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


async def _alerts(c: httpx.AsyncClient, prom: Server) -> list[dict[str, Any]]:
    r = await c.get(f"{prom.url}/api/v1/alerts")
    alerts: list[dict[str, Any]] = r.json()["data"]["alerts"]
    return alerts


async def _until(what: str, timeout: float, check: Any) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.25)


async def test_crash_pages_through_prometheus_and_every_query_returns_data(devnet: Devnet, tmp_path: Path) -> None:
    assert mosquitto_binary() is not None, "mosquitto is not installed (apt-get install mosquitto)"
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    cfg = _config(devnet, tmp_path, broker)
    stop_mining = asyncio.Event()
    miner: asyncio.Task[None] | None = None
    stack = contextlib.ExitStack()
    try:
        async with asyncio.timeout(150):
            notifications = stack.enter_context(sink())
            am = stack.enter_context(alertmanager(tmp_path / "am", alertmanager_to_sink(tmp_path, notifications.url)))
            await asyncio.to_thread(devnet.rpc.mine, 1)  # a head stamped now
            async with _daemon(cfg) as daemon, httpx.AsyncClient(timeout=10) as c:
                miner = asyncio.create_task(_mine_every_second(devnet.url, stop_mining), name="miner")
                monitor = f"http://127.0.0.1:{cfg.metrics.port}"
                await _until("monitor ready", 60, lambda: _ok(c, f"{monitor}/readyz"))
                timings["monitor ready"] = time.monotonic() - t0
                prom_cfg = _live_prometheus_config(_live_rules(tmp_path / "rules"), cfg.metrics.port, am)
                prom = await asyncio.to_thread(stack.enter_context, prometheus(tmp_path / "prom", prom_cfg))
                await _until(
                    "first scrape", 30, lambda: _query(c, prom, f'cascade_monitor_last_block{{market="{MARKET}"}}')
                )
                await _check_rules_loaded(c, prom)
                await _until("first sweep exported", 60, lambda: _query(c, prom, CRITICAL_WETH))
                timings["first sweep exported"] = time.monotonic() - t0
                calm = await _engine_values(c, prom, daemon)
                print("engine output before the crash:", calm)

                # before the crash: a few evaluations; what fires is exactly what the engine's numbers cross
                await asyncio.sleep(4)
                before = await _alerts(c, prom)
                got = sorted(_key(a) for a in before)
                assert got == _expected_risk_alerts(calm), f"alerts before the crash: {got}"
                assert all(a["state"] == "firing" for a in before)

                t_crash = time.monotonic()
                await asyncio.to_thread(crash, devnet.rpc, devnet.dep, "WETH", 0.25, liquidate=False)

                async def page_firing() -> list[dict[str, Any]]:
                    return [a for a in await _alerts(c, prom) if a["labels"]["alertname"] == PAGE_ALERT
                            and a["labels"]["severity"] == "page" and a["state"] == "firing"]  # fmt: skip

                (page,) = await _until("page alert firing", 45, page_firing)
                timings["crash -> page firing in Prometheus"] = time.monotonic() - t_crash
                assert page["labels"]["market"] == MARKET and page["labels"]["job"] == "cascade-monitor"
                assert page["annotations"]["summary"].startswith(f"{MARKET}: $")
                assert page["annotations"]["runbook_url"].endswith(f"/deploy/runbooks/{PAGE_ALERT}.md")
                assert float(page["value"]) > 1e6

                event = await asyncio.to_thread(
                    notifications.wait_for, "/pagerduty", lambda b: PAGE_ALERT in str(b) and MARKET in str(b), 30
                )
                timings["crash -> PagerDuty notification"] = time.monotonic() - t_crash
                assert event["routing_key"] == "test-routing-key" and event["event_action"] == "trigger"

                # the risk rules fed by the real engine: scenario bad debt and the sweep's critical shock
                crash_block = devnet.rpc.block_number()

                async def swept_after_crash() -> bool:
                    # a published result whose critical shocks were swept at or after the crash (the sweep runs
                    # behind the block path: the projector's own newest sweep is ahead of what is published),
                    # and Prometheus has scraped it
                    r = daemon.alerting.latest.get(MARKET)
                    if r is None or (r.critical_shocks_block or -1) < crash_block:
                        return False
                    exported = await _query(c, prom, CRITICAL_WETH)
                    return bool(exported) and float(exported[0]["value"][1]) == pytest.approx(r.critical_shocks["WETH"])

                await _until("a sweep of the crashed book", 60, swept_after_crash)
                bad = await _until("projected bad debt firing", 45, lambda: _firing(c, prom, BAD_DEBT_ALERT))
                timings["crash -> projected bad debt firing"] = time.monotonic() - t_crash
                crashed = await _engine_values(c, prom, daemon)
                print("engine output after the crash:", crashed)
                scenario = {a["labels"]["scenario"]: float(a["value"]) for a in bad}
                for name, value in scenario.items():
                    assert value == pytest.approx(crashed["bad_debt"][name], rel=1e-3), name
                assert max(crashed["bad_debt"].values()) > 1e6 > max(calm["bad_debt"].values())
                want = set(_expected_risk_alerts(crashed))

                async def risk_alerts_match() -> bool:
                    names = {BAD_DEBT_ALERT, CRITICAL_ALERT}
                    firing = {_key(a) for a in await _alerts(c, prom) if a["labels"]["alertname"] in names
                              and a["state"] == "firing"}  # fmt: skip
                    return firing == want

                await _until(f"risk alerts {sorted(want)} firing", 45, risk_alerts_match)

                t_q = time.monotonic()
                checked = await _check_every_query(c, prom, monitor)
                timings[f"{checked} queries"] = time.monotonic() - t_q
    finally:
        stop_mining.set()
        if miner is not None:
            await asyncio.wait_for(miner, 15)
        await asyncio.to_thread(stack.close)
        broker.kill()
    timings["total"] = time.monotonic() - t0
    print("live Prometheus timings:", {k: round(v, 1) for k, v in timings.items()})
    assert timings["total"] < 120


def _key(alert: dict[str, Any]) -> tuple[str, str, str]:
    labels = alert["labels"]
    return labels["alertname"], labels.get("asset", labels.get("scenario", "")), labels["severity"]


def _expected_risk_alerts(values: dict[str, dict[str, float]]) -> list[tuple[str, str, str]]:
    """The alerts the shipped levels raise on these engine values (critical shock < 30% ticket, < 15% page;
    scenario bad debt > $1M ticket, > $10M page); NaN (no critical shock) never fires."""
    out = [(CRITICAL_ALERT, a, sev) for a, v in values["critical"].items() for lim, sev in ((0.3, "ticket"),
           (0.15, "page")) if v < lim]  # fmt: skip
    out += [(BAD_DEBT_ALERT, n, sev) for n, v in values["bad_debt"].items() for lim, sev in ((1e6, "ticket"),
            (1e7, "page")) if v > lim]  # fmt: skip
    return sorted(out)


async def _firing(c: httpx.AsyncClient, prom: Server, name: str) -> list[dict[str, Any]]:
    return [a for a in await _alerts(c, prom) if a["labels"]["alertname"] == name and a["state"] == "firing"]


async def _engine_values(c: httpx.AsyncClient, prom: Server, daemon: Daemon) -> dict[str, dict[str, float]]:
    """Scenario bad debt and critical shocks as Prometheus holds them; each equals the daemon's newest result
    (the chain only mines empty blocks: interest moves values by far less than the tolerance)."""
    r = daemon.alerting.latest[MARKET]
    bad = {x["metric"]["scenario"]: float(x["value"][1]) for x in await _query(c, prom, BAD_DEBT)}
    critical = {x["metric"]["asset"]: float(x["value"][1]) for x in await _query(c, prom, CRITICAL)}
    own_bad = {s.name: s.bad_debt_usd for s in r.scenarios}
    assert set(bad) == set(own_bad) == {"weth-30", "link-50"}
    for name, value in bad.items():
        assert value == pytest.approx(own_bad[name], rel=1e-3, abs=1.0), name
    own_critical = {a: math.nan if v is None else v for a, v in r.critical_shocks.items()}
    assert set(critical) == set(own_critical) >= {"WETH", "WBTC", "LINK"}
    for asset, value in critical.items():
        assert value == pytest.approx(own_critical[asset], nan_ok=True), asset
    return {"bad_debt": bad, "critical": critical}


async def _ok(c: httpx.AsyncClient, url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return (await c.get(url)).status_code == 200
    return False


async def _check_rules_loaded(c: httpx.AsyncClient, prom: Server) -> None:
    """Prometheus loaded every rule of deploy/prometheus/rules and evaluates each without error."""

    async def loaded() -> list[dict[str, Any]]:
        groups = (await c.get(f"{prom.url}/api/v1/rules")).json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules) else []

    rules = await _until("rules evaluated", 20, loaded)
    assert len(rules) == len(alert_rules())
    bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert not bad, bad


async def _check_every_query(c: httpx.AsyncClient, prom: Server, monitor: str) -> int:
    """Every rule and dashboard expression parses on the live server; each returns data when the metrics it
    names are exported by the daemon right now, and so does each of its selectors alone."""
    text = (await c.get(f"{monitor}/metrics")).text
    present = {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}
    values = {"$__rate_interval": RATE_INTERVAL, "$market": MARKET, "$asset": "WETH", "${datasource}": "prometheus"}
    exprs = [(f"rule {r['alert']}/{r['labels']['severity']}", r["expr"], False) for r in alert_rules()]
    exprs += [(where, substitute(e, values), True) for where, e in dashboard_queries()]
    absent_used: set[str] = set()
    n = 0
    for where, expr, must_return in exprs:
        result = await _query(c, prom, expr)  # parses and evaluates, or fails with Prometheus's error
        n += 1
        sels = selectors(expr)
        missing = {s.name for s in sels if s.name not in present and s.name not in PROMETHEUS_OWN}
        assert missing <= set(MAY_BE_ABSENT), f"{where}: the live daemon exports none of {sorted(missing)}"
        absent_used |= missing
        if must_return and not missing:
            assert result, f"{where}: {expr!r} returned no data"
        for sel in sels:
            if sel.name in missing:
                continue
            assert await _query(c, prom, sel.promql()), f"{where}: selector {sel.promql()} returned no data"
            n += 1
    page_rule = next(r for r in alert_rules() if r["alert"] == PAGE_ALERT and r["labels"]["severity"] == "page")
    assert await _query(c, prom, page_rule["expr"]), "the page rule's expression is true after the crash"
    print("absent in this run (allowed):", {m: MAY_BE_ABSENT[m] for m in sorted(absent_used)})
    return n
