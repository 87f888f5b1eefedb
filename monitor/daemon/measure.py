"""What each alert rule measures on a :class:`MarketResult` (pure)."""

from __future__ import annotations

import math

from monitor.config import AlertRuleConfig
from monitor.daemon.result import MarketResult


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
    return None
