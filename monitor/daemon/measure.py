"""What each alert rule measures on a :class:`MarketResult`, or on the system projection for the system kinds
(pure)."""

from __future__ import annotations

import math

from monitor.config import AlertRuleConfig
from monitor.daemon.result import MarketResult
from monitor.daemon.system import SystemProjections


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def measure(rule: AlertRuleConfig, result: MarketResult, now: float | None = None) -> float | None:
    """The rule's value on ``result``; None when the result holds no such data (never fires, never resolves)."""
    match rule.kind:
        case "critical_shock":  # smallest shock crossing the limits; none found counts as the sweep's maximum
            shocks = result.critical_shocks
            if rule.asset is not None:
                shocks = {k: v for k, v in shocks.items() if k.lower() == rule.asset.lower()}
            if not shocks:
                return None
            found = [v for v in shocks.values() if v is not None]
            return min(found) if found else math.inf
        case "projected_bad_debt_usd":
            scen = [s for s in result.scenarios if rule.scenario is None or s.name == rule.scenario]
            vals = _finite([s.bad_debt_usd for s in scen])
            return max(vals) if vals else None
        case "liquidatable_debt_usd":
            return result.liquidatable_debt_usd
        case "hf_mass_below_usd":
            assert rule.level is not None  # the config validator requires it
            return result.debt_below.get(rule.level)
        case "oracle_deviation":
            devs = result.oracle_dex_deviation
            if rule.asset is not None:
                devs = {k: v for k, v in devs.items() if k.lower() == rule.asset.lower()}
            vals = _finite([abs(v) for v in devs.values()])
            return max(vals) if vals else None
        case "data_age_s":
            return result.data_age_s(now)
        case "lookahead_liquidatable_debt_usd":
            return result.lookahead_liquidatable_debt_usd
    return None  # the system kinds: measured on the system projection (measure_system)


def measure_system(rule: AlertRuleConfig, system: SystemProjections) -> float | None:
    """A system kind's value on the system projection (the worst scenario, or ``scenario``; contagion: the worst
    market); None for the other kinds or without a matching scenario."""
    scen = [s for s in system.scenarios if rule.scenario is None or s.name == rule.scenario]
    match rule.kind:
        case "system_projected_bad_debt_usd":
            vals = _finite([s.bad_debt_usd for s in scen])
        case "contagion_bad_debt_usd":
            vals = _finite([c.bad_debt_usd for s in scen for c in s.contagion.values()])
        case _:
            return None
    return max(vals) if vals else None
