"""The Prometheus families of the daemon's system result (configs with several markets): per scenario the
system's debt repaid and bad debt, per market the contagion and the buffers against its part of the losses."""

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
    for scenario in system.scenarios:
        repaid.add_metric([scenario.name], scenario.debt_repaid_usd)
        bad.add_metric([scenario.name], scenario.bad_debt_usd)
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
    yield from (block, repaid, bad, c_repaid, c_bad, coverage, uncovered)
