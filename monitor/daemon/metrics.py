"""Prometheus exposition: a custom collector over the latest immutable results, and the HTTP endpoints
``/metrics``, ``/healthz`` (the process is alive) and ``/readyz`` (synced, data younger than the limit).

Label cardinality is bounded: markets, assets, scenarios, pools, rules, configured market ids and top-N ranks; no
per-borrower series except the top-N.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.chain.stats import RpcStats
from monitor.daemon.offchain_metrics import offchain_file_families
from monitor.daemon.result import BLOCK_BUCKETS, MarketResult, MarketStatus
from monitor.daemon.store import AlertState, OutboxStats, ResultStore
from monitor.daemon.system_metrics import system_families
from monitor.venues.offchain_file import OffchainFileStatus
from monitor.web import WebSources, add_web_routes

PREFIX = "cascade_monitor_"


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=labels)


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class ExporterSources:
    """What the exporter shows besides the market results, each read at scrape time."""

    rpc_stats: Callable[[], RpcStats] | None = None
    alert_states: Callable[[], list[AlertState]] = list
    outbox_stats: Callable[[], OutboxStats | None] = lambda: None
    checkpoint_resets: Callable[[], Mapping[str, int]] = dict
    offchain_status: Callable[[], OffchainFileStatus | None] = lambda: None  # dex.offchain_file (None: not set)


class ResultCollector(Collector):
    """Turns the store's newest results (and the other sources) into metric families at scrape time."""

    def __init__(self, store: ResultStore, sources: ExporterSources) -> None:
        self.store = store
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        """All families; one pass over the latest results."""
        statuses = self.store.statuses()
        info = _gauge("build_info", "Build of the running monitor (value 1).", ["version", "python"])
        info.add_metric([__version__, platform.python_version()], 1)
        yield info
        up = _gauge(
            "market_status",
            "1 for the market's current cycle status (ok, errored, stale, starting).",
            ["market", "status"],
        )
        errors = CounterMetricFamily(
            PREFIX + "market_cycle_errors", "Failed block cycles of the market.", labels=["market"]
        )
        cycles = CounterMetricFamily(PREFIX + "market_cycles", "Block cycles run for the market.", labels=["market"])
        resets = CounterMetricFamily(
            PREFIX + "checkpoint_resets",
            "Times none of the market's stored blocks was on the chain any more and it was backfilled again.",
            labels=["market"],
        )
        reset_counts = self.sources.checkpoint_resets()
        for name, status in statuses.items():
            resets.add_metric([name], reset_counts.get(name, 0))
            for state in ("ok", "errored", "stale", "starting"):
                up.add_metric([name, state], 1.0 if status.status == state else 0.0)
            errors.add_metric([name], status.errors_total)
            cycles.add_metric([name], status.cycles_total)
        yield up
        yield errors
        yield cycles
        yield resets
        yield self._processing(statuses)
        results = [status.result for status in statuses.values() if status.result is not None]
        yield from self._results(results)
        yield from self._system()
        yield from offchain_file_families(self.sources.offchain_status())
        yield from self._rpc()
        yield from self._alerts()

    @staticmethod
    def _processing(statuses: Mapping[str, MarketStatus]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            PREFIX + "block_processing_seconds", "Block seen -> result ready, per market.", labels=["market"]
        )
        for name, status in statuses.items():
            times = status.processing
            buckets = [(f"{bound:g}", n) for bound, n in zip(BLOCK_BUCKETS, times.bucket_counts, strict=True)]
            family.add_metric([name], [*buckets, ("+Inf", times.count)], times.sum_s)
        return family

    def _results(self, results: list[MarketResult]) -> Iterator[Metric]:
        now = time.time()
        fam: dict[str, GaugeMetricFamily] = {
            "last_block": _gauge("last_block", "Newest processed (safe) block.", ["market"]),
            "age": _gauge("data_age_seconds", "Seconds since the newest processed block was mined.", ["market"]),
            "proc": _gauge("last_block_processing_seconds", "Block seen -> result ready, newest block.", ["market"]),
            "accounts": _gauge("accounts", "Accounts known to the market.", ["market"]),
            "debtors": _gauge("accounts_with_debt", "Accounts with debt.", ["market"]),
            "coll": _gauge("collateral_usd", "Collateral of all accounts, USD.", ["market"]),
            "debt": _gauge("debt_usd", "Debt of all accounts, USD.", ["market"]),
            "hf_acc": _gauge(
                "health_factor_accounts",
                "Accounts with debt and health factor below le.",
                ["market", "protocol", "le"],
            ),
            "hf_debt": _gauge(
                "health_factor_debt_usd",
                "Debt of accounts with health factor below le, USD.",
                ["market", "protocol", "le"],
            ),
            "liq_acc": _gauge("liquidatable_accounts", "Accounts with health factor < 1 now.", ["market"]),
            "liq_debt": _gauge(
                "liquidatable_debt_usd", "Debt of accounts with health factor < 1 now, USD.", ["market"]
            ),
            "la_acc": _gauge(
                "lookahead_liquidatable_accounts",
                "Accounts that turn liquidatable at the next oracle update given the prices the pools already show "
                "(beyond those liquidatable now).",
                ["market"],
            ),
            "la_debt": _gauge(
                "lookahead_liquidatable_debt_usd",
                "Debt of the accounts that turn liquidatable at the next oracle update given the prices the pools "
                "already show, USD.",
                ["market"],
            ),
            "toxic": _gauge("toxic_accounts", "Accounts where LT x bonus > HF (liquidation worsens them).", ["market"]),
            "risk": _gauge(
                "collateral_at_risk_usd",
                "Collateral (current prices) of accounts that turn liquidatable "
                "if the asset alone drops by `drop`, USD.",
                ["market", "asset", "drop"],
            ),
            "price": _gauge("oracle_price_usd", "Oracle price, USD.", ["market", "asset"]),
            "dev": _gauge("oracle_dex_deviation_ratio", "Oracle price / DEX price - 1.", ["market", "asset"]),
            "sc_drop": _gauge(
                "scenario_final_drop_ratio",
                "Projected final price drop of the scenario (share).",
                ["market", "scenario"],
            ),
            "sc_amp": _gauge(
                "scenario_amplification_ratio", "Projected final drop / initial shock.", ["market", "scenario"]
            ),
            "sc_repaid": _gauge(
                "scenario_debt_repaid_usd", "Projected debt repaid by liquidations, USD.", ["market", "scenario"]
            ),
            "sc_bad": _gauge("scenario_bad_debt_usd", "Projected bad debt, USD.", ["market", "scenario"]),
            "sc_deficit": _gauge(
                "scenario_deficit_usd",
                "Projected new reserve deficit (debt burned when collateral runs out, Aave v3.3+), USD.",
                ["market", "scenario", "asset"],
            ),
            "sc_lender_loss": _gauge(
                "scenario_lender_loss_usd",
                "Projected bad debt written off against a lending market's supply (lost by its lenders), USD.",
                ["market", "scenario", "market_id"],
            ),
            "sc_coverage": _gauge(
                "scenario_buffer_coverage_ratio",
                "Projected buffer / loss of a loss-bearing unit (reserve or lending market); +Inf without loss.",
                ["market", "scenario", "asset"],
            ),
            "sc_uncovered": _gauge(
                "scenario_uncovered_loss_usd",
                "Projected loss of a loss-bearing unit (reserve or lending market) beyond its buffer, USD.",
                ["market", "scenario", "asset"],
            ),
            "unpriced": _gauge(
                "morpho_markets_unpriced",
                "Lending markets of the entry left out of its figures at this block: their own oracle or IRM "
                "reverted or priced 0 (Morpho Blue; the entry's other figures cover the priced markets only).",
                ["market"],
            ),
            "deficit": _gauge(
                "reserve_deficit_usd", "Reserve deficit now (getReserveDeficit, Aave v3.3+), USD.", ["market", "asset"]
            ),
            "sc_duration": _gauge(
                "scenario_duration_seconds",
                "Projected time from the shock to the cascade's last round (blocks x block time), seconds.",
                ["market", "scenario"],
            ),
            "sc_first_minute": _gauge(
                "scenario_liquidated_first_minute_usd",
                "Projected debt repaid by liquidations within 60 s of the shock, USD.",
                ["market", "scenario"],
            ),
            "sc_first_hour": _gauge(
                "scenario_liquidated_first_hour_usd",
                "Projected debt repaid by liquidations within 3600 s of the shock, USD.",
                ["market", "scenario"],
            ),
            "sc_dust": _gauge(
                "scenario_dust_debt_usd",
                "Projected debt left liquidatable but not worth liquidating (gas, minimum profit), USD.",
                ["market", "scenario"],
            ),
            "sc_liq": _gauge(
                "scenario_accounts_liquidated", "Projected liquidations (accounts x rounds).", ["market", "scenario"]
            ),
            "crit": _gauge(
                "critical_shock_ratio",
                "Smallest initial price drop of the asset whose projected cascade "
                "crosses the configured limits (share; NaN: none up to the sweep's maximum).",
                ["market", "asset"],
            ),
            "depth": _gauge(
                "dex_depth_usd",
                "USD needed to move the pool's price by `move` in `direction`.",
                ["market", "pool", "pair", "direction", "move"],
            ),
            "dex_price": _gauge(
                "dex_price_usd", "Spot price of the pool's base asset, USD.", ["market", "pool", "pair"]
            ),
            "top": _gauge(
                "top_account_health_factor",
                "Health factor of the riskiest accounts (bounded top-N).",
                ["market", "rank", "account"],
            ),
            "top_debt": _gauge(
                "top_account_debt_usd",
                "Debt of the riskiest accounts (bounded top-N), USD.",
                ["market", "rank", "account"],
            ),
            "top_ltv": _gauge(
                "top_account_ltv_ratio",
                "Debt / collateral value of the riskiest accounts (bounded top-N).",
                ["market", "rank", "account"],
            ),
            "top_lltv": _gauge(
                "top_account_liquidation_ltv_ratio",
                "Debt / collateral value at which each of the riskiest accounts becomes liquidatable (Morpho: the "
                "market's LLTV; Aave: the account's collateral-weighted liquidation threshold).",
                ["market", "rank", "account"],
            ),
        }
        for result in results:
            market = result.market
            fam["last_block"].add_metric([market], result.block)
            fam["age"].add_metric([market], result.data_age_s(now))
            fam["proc"].add_metric([market], result.processing_s)
            fam["accounts"].add_metric([market], result.accounts)
            fam["debtors"].add_metric([market], result.accounts_with_debt)
            fam["coll"].add_metric([market], result.collateral_usd)
            fam["debt"].add_metric([market], result.debt_usd)
            for edge, count, debt in zip(
                result.hf_edges, result.hf_counts_cumulative, result.hf_debt_cumulative_usd, strict=True
            ):
                fam["hf_acc"].add_metric([market, result.protocol, f"{edge:g}"], count)
                fam["hf_debt"].add_metric([market, result.protocol, f"{edge:g}"], debt)
            fam["hf_acc"].add_metric([market, result.protocol, "+Inf"], result.accounts_with_debt)
            fam["hf_debt"].add_metric([market, result.protocol, "+Inf"], result.debt_usd)
            fam["liq_acc"].add_metric([market], result.liquidatable_accounts)
            fam["liq_debt"].add_metric([market], result.liquidatable_debt_usd)
            fam["la_acc"].add_metric([market], result.lookahead_liquidatable_accounts)
            fam["la_debt"].add_metric([market], result.lookahead_liquidatable_debt_usd)
            fam["toxic"].add_metric([market], result.toxic_accounts)
            for asset, curve in result.collateral_at_risk_usd.items():
                for drop, usd in curve.items():
                    fam["risk"].add_metric([market, asset, f"{drop:g}"], usd)
            for asset, price in result.oracle_prices_usd.items():
                fam["price"].add_metric([market, asset], price)
            for asset, dev in result.oracle_dex_deviation.items():
                fam["dev"].add_metric([market, asset], dev)
            for scenario in result.scenarios:
                fam["sc_drop"].add_metric([market, scenario.name], scenario.final_drop)
                fam["sc_amp"].add_metric([market, scenario.name], scenario.amplification)
                fam["sc_repaid"].add_metric([market, scenario.name], scenario.debt_repaid_usd)
                fam["sc_bad"].add_metric([market, scenario.name], scenario.bad_debt_usd)
                fam["sc_liq"].add_metric([market, scenario.name], scenario.accounts_liquidated)
                fam["sc_duration"].add_metric([market, scenario.name], scenario.duration_seconds)
                fam["sc_first_minute"].add_metric([market, scenario.name], scenario.liquidated_first_minute_usd)
                fam["sc_first_hour"].add_metric([market, scenario.name], scenario.liquidated_first_hour_usd)
                fam["sc_dust"].add_metric([market, scenario.name], scenario.dust_debt_usd)
                for asset, usd in scenario.deficit_usd_by_reserve.items():
                    fam["sc_deficit"].add_metric([market, scenario.name, asset], usd)
                for market_id, usd in scenario.lender_loss_usd.items():
                    fam["sc_lender_loss"].add_metric([market, scenario.name, market_id], usd)
                for unit, cover in result.scenario_buffers(scenario).items():
                    ratio = cover.coverage_ratio
                    fam["sc_coverage"].add_metric([market, scenario.name, unit], math.inf if ratio is None else ratio)
                    fam["sc_uncovered"].add_metric([market, scenario.name, unit], cover.uncovered_usd)
            for asset, usd in result.reserve_deficit_usd.items():
                fam["deficit"].add_metric([market, asset], usd)
            if result.unpriced_markets is not None:
                fam["unpriced"].add_metric([market], len(result.unpriced_markets))
            for asset, shock in result.critical_shocks.items():
                fam["crit"].add_metric([market, asset], _num(shock))
            for pool in result.pools:
                fam["dex_price"].add_metric([market, pool.address, pool.pair], pool.price_usd)
                for move, usd in pool.depth_down_usd.items():
                    fam["depth"].add_metric([market, pool.address, pool.pair, "down", f"{move:g}"], usd)
                for move, usd in pool.depth_up_usd.items():
                    fam["depth"].add_metric([market, pool.address, pool.pair, "up", f"{move:g}"], usd)
            for rank, account in enumerate(result.top_accounts, start=1):
                fam["top"].add_metric([market, str(rank), account.address], account.health_factor)
                fam["top_debt"].add_metric([market, str(rank), account.address], account.debt_usd)
                if account.collateral_usd > 0:
                    ltv = account.debt_usd / account.collateral_usd
                    fam["top_ltv"].add_metric([market, str(rank), account.address], ltv)
                    fam["top_lltv"].add_metric([market, str(rank), account.address], account.health_factor * ltv)
        yield from fam.values()

    def _system(self) -> Iterator[Metric]:
        """The system projection of the configured scenarios (configs with several markets; none before the
        first block every market has a result of)."""
        system = self.store.system()
        if system is not None:
            yield from system_families(system)

    def _rpc(self) -> Iterator[Metric]:
        if self.sources.rpc_stats is None:
            return
        stats = self.sources.rpc_stats()
        requests = CounterMetricFamily(
            PREFIX + "rpc_requests", "JSON-RPC requests sent.", labels=["method", "endpoint"]
        )
        errors = CounterMetricFamily(
            PREFIX + "rpc_errors", "JSON-RPC requests failed.", labels=["method", "endpoint", "kind"]
        )
        retries = CounterMetricFamily(
            PREFIX + "rpc_retries", "JSON-RPC requests sent again.", labels=["method", "endpoint"]
        )
        for (method, endpoint), n in stats.requests.items():
            requests.add_metric([method, endpoint], n)
        for (method, endpoint, kind), n in stats.errors.items():
            errors.add_metric([method, endpoint, kind], n)
        for (method, endpoint), n in stats.retries.items():
            retries.add_metric([method, endpoint], n)
        failovers = CounterMetricFamily(PREFIX + "rpc_failovers", "Requests moved to another RPC endpoint.")
        failovers.add_metric([], stats.failovers)
        yield from (requests, errors, retries, failovers)

    def _alerts(self) -> Iterator[Metric]:
        active = _gauge("alerts_active", "1 while the alert rule fires.", ["market", "rule", "severity"])
        for alert in self.sources.alert_states():
            active.add_metric([alert.market, alert.rule, alert.severity], 1.0 if alert.active else 0.0)
        yield active
        outbox = self.sources.outbox_stats()
        if outbox is None:
            return
        connected = _gauge("mqtt_connected", "1 while connected to the MQTT broker.", [])
        connected.add_metric([], 1.0 if outbox.connected else 0.0)
        queued = _gauge("mqtt_outbox_messages", "Alert messages waiting for the broker.", [])
        queued.add_metric([], outbox.queued)
        published = CounterMetricFamily(PREFIX + "mqtt_published", "MQTT messages published.")
        published.add_metric([], outbox.published)
        dropped = CounterMetricFamily(
            PREFIX + "mqtt_dropped", "MQTT messages dropped from a full outbox (oldest first)."
        )
        dropped.add_metric([], outbox.dropped)
        reconnects = CounterMetricFamily(PREFIX + "mqtt_reconnects", "Reconnections to the MQTT broker.")
        reconnects.add_metric([], outbox.reconnects)
        yield from (connected, queued, published, dropped, reconnects)


class Metrics:
    """The registry (one collector over the latest results: nothing is pushed into it) and the HTTP endpoints."""

    def __init__(
        self, store: ResultStore, sources: ExporterSources | None = None, web: WebSources | None = None
    ) -> None:
        self.store = store
        self.web = web
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ResultCollector(store, sources or ExporterSources()))

    def app(self) -> web.Application:
        """The aiohttp application serving /metrics, /healthz, /readyz and the risk page (/, /api/v1/...)."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        add_web_routes(app, self.store, self.web)
        return app

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        ok, why = self.store.ready()
        return web.Response(text=why + "\n", status=200 if ok else 503)
