"""The Prometheus families of the daemon's system result (configs with several markets): per scenario the
system's debt repaid, bad debt, duration, first minute's and hour's liquidations and dust, per market the
contagion and the buffers against its part of the losses."""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from monitor.daemon.system import SystemProjections

PREFIX = "cascade_monitor_"


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=labels)


def system_families(system: SystemProjections) -> Iterator[Metric]:
    """Every family of ``system``."""
    repaid = _gauge(
        "system_scenario_debt_repaid_usd",
        "Projected debt repaid by liquidations in every market together, as one cascade into the shared venues, USD.",
        ["scenario"],
    )
    bad = _gauge(
        "system_scenario_bad_debt_usd",
        "Projected bad debt of every market together after the cascade across markets, USD.",
        ["scenario"],
    )
    c_repaid = _gauge(
        "contagion_debt_repaid_usd",
        "The market's projected debt repaid in the system minus projected alone (liquidations the other "
        "markets' sales cause), USD.",
        ["market", "scenario"],
    )
    c_bad = _gauge(
        "contagion_bad_debt_usd",
        "The market's projected bad debt in the system minus projected alone, USD.",
        ["market", "scenario"],
    )
    coverage = _gauge(
        "system_scenario_buffer_coverage_ratio",
        "Buffer / loss of a loss-bearing unit (reserve or lending market) of the market after the cascade across "
        "markets; +Inf without loss.",
        ["market", "scenario", "asset"],
    )
    uncovered = _gauge(
        "system_scenario_uncovered_loss_usd",
        "Loss of a loss-bearing unit (reserve or lending market) of the market beyond its buffer after the "
        "cascade across markets, USD.",
        ["market", "scenario", "asset"],
    )
    duration = _gauge(
        "system_scenario_duration_seconds",
        "Projected time from the shock to the last liquidation round of the cascade across markets, seconds.",
        ["scenario"],
    )
    first_minute = _gauge(
        "system_scenario_liquidated_first_minute_usd",
        "Projected debt repaid by liquidations in every market together in the cascade's first minute, USD.",
        ["scenario"],
    )
    first_hour = _gauge(
        "system_scenario_liquidated_first_hour_usd",
        "Projected debt repaid by liquidations in every market together in the cascade's first hour, USD.",
        ["scenario"],
    )
    dust = _gauge(
        "system_scenario_dust_debt_usd",
        "Debt of the accounts left liquidatable after the cascade across markets because liquidating them does "
        "not pay (gas, minimum profit), USD.",
        ["scenario"],
    )
    for scenario in system.scenarios:
        repaid.add_metric([scenario.name], scenario.debt_repaid_usd)
        bad.add_metric([scenario.name], scenario.bad_debt_usd)
        duration.add_metric([scenario.name], scenario.duration_seconds)
        first_minute.add_metric([scenario.name], scenario.liquidated_first_minute_usd)
        first_hour.add_metric([scenario.name], scenario.liquidated_first_hour_usd)
        dust.add_metric([scenario.name], scenario.dust_debt_usd)
        for market, units in scenario.buffers.items():
            for unit, cover in units.items():
                ratio = cover.coverage_ratio
                coverage.add_metric([market, scenario.name, unit], math.inf if ratio is None else ratio)
                uncovered.add_metric([market, scenario.name, unit], cover.uncovered_usd)
        for market, extra in scenario.contagion.items():
            c_repaid.add_metric([market, scenario.name], extra.debt_repaid_usd)
            c_bad.add_metric([market, scenario.name], extra.bad_debt_usd)
    block = _gauge("system_last_block", "Block of the newest system projection.", [])
    block.add_metric([], system.block)
    yield from (block, repaid, bad, duration, first_minute, first_hour, dust, c_repaid, c_bad, coverage, uncovered)
