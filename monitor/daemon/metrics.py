"""Prometheus exposition: a custom collector over the latest immutable results, and the HTTP endpoints
``/metrics``, ``/healthz`` (the process is alive) and ``/readyz`` (synced, data younger than the limit).

Label cardinality is bounded: markets, assets, scenarios, pools, rules and the configured top-N ranks; no
per-borrower series except the top-N.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.daemon.result import MarketResult
from monitor.daemon.store import ResultStore

P = "cascade_monitor_"
BLOCK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def _g(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(P + name, doc, labels=labels)


def _num(x: float | None) -> float:
    return math.nan if x is None else float(x)


class ResultCollector(Collector):
    """Turns the store's newest results into metric families at scrape time."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        """All families; one pass over the latest results."""
        statuses = self.store.statuses()
        info = _g("build_info", "Build of the running monitor (value 1).", ["version", "python"])
        info.add_metric([__version__, platform.python_version()], 1)
        yield info
        up = _g(
            "market_status",
            "1 for the market's current cycle status (ok, errored, stale, starting).",
            ["market", "status"],
        )
        errors = CounterMetricFamily(P + "market_cycle_errors", "Failed block cycles of the market.", labels=["market"])
        cycles = CounterMetricFamily(P + "market_cycles", "Block cycles run for the market.", labels=["market"])
        for name, st in statuses.items():
            for s in ("ok", "errored", "stale", "starting"):
                up.add_metric([name, s], 1.0 if st.status == s else 0.0)
            errors.add_metric([name], st.errors_total)
            cycles.add_metric([name], st.cycles_total)
        yield up
        yield errors
        yield cycles
        results = [st.result for st in statuses.values() if st.result is not None]
        yield from self._results(results)
        yield from self._rpc()
        yield from self._alerts()

    def _results(self, results: list[MarketResult]) -> Iterator[Metric]:
        now = time.time()
        f: dict[str, GaugeMetricFamily] = {
            "last_block": _g("last_block", "Newest processed (safe) block.", ["market"]),
            "age": _g("data_age_seconds", "Seconds since the newest processed block was mined.", ["market"]),
            "proc": _g("last_block_processing_seconds", "Block seen -> result ready, newest block.", ["market"]),
            "accounts": _g("accounts", "Accounts known to the market.", ["market"]),
            "debtors": _g("accounts_with_debt", "Accounts with debt.", ["market"]),
            "coll": _g("collateral_usd", "Collateral of all accounts, USD.", ["market"]),
            "debt": _g("debt_usd", "Debt of all accounts, USD.", ["market"]),
            "hf_acc": _g("health_factor_accounts", "Accounts with debt and health factor below le.", ["market", "le"]),
            "hf_debt": _g(
                "health_factor_debt_usd", "Debt of accounts with health factor below le, USD.", ["market", "le"]
            ),
            "liq_acc": _g("liquidatable_accounts", "Accounts with health factor < 1 now.", ["market"]),
            "liq_debt": _g("liquidatable_debt_usd", "Debt of accounts with health factor < 1 now, USD.", ["market"]),
            "toxic": _g("toxic_accounts", "Accounts where LT x bonus > HF (liquidation worsens them).", ["market"]),
            "risk": _g(
                "collateral_at_risk_usd",
                "Collateral (current prices) of accounts that turn liquidatable "
                "if the asset alone drops by `drop`, USD.",
                ["market", "asset", "drop"],
            ),
            "price": _g("oracle_price_usd", "Oracle price, USD.", ["market", "asset"]),
            "dev": _g("oracle_dex_deviation_ratio", "Oracle price / DEX price - 1.", ["market", "asset"]),
            "sc_drop": _g(
                "scenario_final_drop_ratio",
                "Projected final price drop of the scenario (share).",
                ["market", "scenario"],
            ),
            "sc_amp": _g(
                "scenario_amplification_ratio", "Projected final drop / initial shock.", ["market", "scenario"]
            ),
            "sc_repaid": _g(
                "scenario_debt_repaid_usd", "Projected debt repaid by liquidations, USD.", ["market", "scenario"]
            ),
            "sc_bad": _g("scenario_bad_debt_usd", "Projected bad debt, USD.", ["market", "scenario"]),
            "sc_deficit": _g(
                "scenario_deficit_usd",
                "Projected new reserve deficit (debt burned when collateral runs out, Aave v3.3+), USD.",
                ["market", "scenario", "asset"],
            ),
            "deficit": _g(
                "reserve_deficit_usd", "Reserve deficit now (getReserveDeficit, Aave v3.3+), USD.", ["market", "asset"]
            ),
            "sc_liq": _g(
                "scenario_accounts_liquidated", "Projected liquidations (accounts x rounds).", ["market", "scenario"]
            ),
            "crit": _g(
                "critical_shock_ratio",
                "Smallest initial price drop of the asset whose projected cascade "
                "crosses the configured limits (share; NaN: none up to the sweep's maximum).",
                ["market", "asset"],
            ),
            "depth": _g(
                "dex_depth_usd",
                "USD needed to move the pool's price by `move` in `direction`.",
                ["market", "pool", "pair", "direction", "move"],
            ),
            "dex_price": _g("dex_price_usd", "Spot price of the pool's base asset, USD.", ["market", "pool", "pair"]),
            "top": _g(
                "top_account_health_factor",
                "Health factor of the riskiest accounts (bounded top-N).",
                ["market", "rank", "account"],
            ),
            "top_debt": _g(
                "top_account_debt_usd",
                "Debt of the riskiest accounts (bounded top-N), USD.",
                ["market", "rank", "account"],
            ),
        }
        for r in results:
            m = r.market
            f["last_block"].add_metric([m], r.block)
            f["age"].add_metric([m], r.data_age_s(now))
            f["proc"].add_metric([m], r.processing_s)
            f["accounts"].add_metric([m], r.accounts)
            f["debtors"].add_metric([m], r.accounts_with_debt)
            f["coll"].add_metric([m], r.collateral_usd)
            f["debt"].add_metric([m], r.debt_usd)
            for edge, n, d in zip(r.hf_edges, r.hf_counts_cumulative, r.hf_debt_cumulative_usd, strict=True):
                f["hf_acc"].add_metric([m, f"{edge:g}"], n)
                f["hf_debt"].add_metric([m, f"{edge:g}"], d)
            f["hf_acc"].add_metric([m, "+Inf"], r.accounts_with_debt)
            f["hf_debt"].add_metric([m, "+Inf"], r.debt_usd)
            f["liq_acc"].add_metric([m], r.liquidatable_accounts)
            f["liq_debt"].add_metric([m], r.liquidatable_debt_usd)
            f["toxic"].add_metric([m], r.toxic_accounts)
            for asset, curve in r.collateral_at_risk_usd.items():
                for drop, usd in curve.items():
                    f["risk"].add_metric([m, asset, f"{drop:g}"], usd)
            for asset, price in r.oracle_prices_usd.items():
                f["price"].add_metric([m, asset], price)
            for asset, dev in r.oracle_dex_deviation.items():
                f["dev"].add_metric([m, asset], dev)
            for s in r.scenarios:
                f["sc_drop"].add_metric([m, s.name], s.final_drop)
                f["sc_amp"].add_metric([m, s.name], s.amplification)
                f["sc_repaid"].add_metric([m, s.name], s.debt_repaid_usd)
                f["sc_bad"].add_metric([m, s.name], s.bad_debt_usd)
                f["sc_liq"].add_metric([m, s.name], s.accounts_liquidated)
                for asset, usd in s.deficit_usd_by_reserve.items():
                    f["sc_deficit"].add_metric([m, s.name, asset], usd)
            for asset, usd in r.reserve_deficit_usd.items():
                f["deficit"].add_metric([m, asset], usd)
            for asset, shock in r.critical_shocks.items():
                f["crit"].add_metric([m, asset], _num(shock))
            for p in r.pools:
                f["dex_price"].add_metric([m, p.address, p.pair], p.price_usd)
                for move, usd in p.depth_down_usd.items():
                    f["depth"].add_metric([m, p.address, p.pair, "down", f"{move:g}"], usd)
                for move, usd in p.depth_up_usd.items():
                    f["depth"].add_metric([m, p.address, p.pair, "up", f"{move:g}"], usd)
            for rank, a in enumerate(r.top_accounts, start=1):
                f["top"].add_metric([m, str(rank), a.address], a.health_factor)
                f["top_debt"].add_metric([m, str(rank), a.address], a.debt_usd)
        yield from f.values()

    def _rpc(self) -> Iterator[Metric]:
        if self.store.rpc_stats is None:
            return
        stats = self.store.rpc_stats()
        req = CounterMetricFamily(P + "rpc_requests", "JSON-RPC requests sent.", labels=["method", "endpoint"])
        err = CounterMetricFamily(P + "rpc_errors", "JSON-RPC requests failed.", labels=["method", "endpoint", "kind"])
        ret = CounterMetricFamily(P + "rpc_retries", "JSON-RPC requests sent again.", labels=["method", "endpoint"])
        for (method, ep), n in stats.requests.items():
            req.add_metric([method, ep], n)
        for (method, ep, kind), n in stats.errors.items():
            err.add_metric([method, ep, kind], n)
        for (method, ep), n in stats.retries.items():
            ret.add_metric([method, ep], n)
        fo = CounterMetricFamily(P + "rpc_failovers", "Requests moved to another RPC endpoint.")
        fo.add_metric([], stats.failovers)
        yield from (req, err, ret, fo)

    def _alerts(self) -> Iterator[Metric]:
        active = _g("alerts_active", "1 while the alert rule fires.", ["market", "rule", "severity"])
        for a in self.store.alert_states():
            active.add_metric([a.market, a.rule, a.severity], 1.0 if a.active else 0.0)
        yield active
        ob = self.store.outbox_stats()
        if ob is None:
            return
        conn = _g("mqtt_connected", "1 while connected to the MQTT broker.", [])
        conn.add_metric([], 1.0 if ob.connected else 0.0)
        queued = _g("mqtt_outbox_messages", "Alert messages waiting for the broker.", [])
        queued.add_metric([], ob.queued)
        pub = CounterMetricFamily(P + "mqtt_published", "MQTT messages published.")
        pub.add_metric([], ob.published)
        drop = CounterMetricFamily(P + "mqtt_dropped", "MQTT messages dropped from a full outbox (oldest first).")
        drop.add_metric([], ob.dropped)
        rec = CounterMetricFamily(P + "mqtt_reconnects", "Reconnections to the MQTT broker.")
        rec.add_metric([], ob.reconnects)
        yield from (conn, queued, pub, drop, rec)


class Metrics:
    """The registry: the result collector plus the block-processing histogram."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ResultCollector(store))
        self.block_seconds = Histogram(
            P + "block_processing_seconds",
            "Block seen -> metrics updated, per market.",
            ["market"],
            buckets=BLOCK_BUCKETS,
            registry=self.registry,
        )

    def app(self) -> web.Application:
        """The aiohttp application serving /metrics, /healthz and /readyz."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        ok, why = self.store.ready()
        return web.Response(text=why + "\n", status=200 if ok else 503)
