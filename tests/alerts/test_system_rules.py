"""Alert rules on system figures: ``system_projected_bad_debt_usd`` and ``contagion_bad_debt_usd`` are measured on
each system projection and alert as the market ``system`` with the same hysteresis as the other rules (log +
MQTT payload fields); ``lookahead_liquidatable_debt_usd`` is measured on each market's result. The market rules
never see the system figures and the reverse."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from monitor.config import parse_config
from monitor.daemon.alerting import SYSTEM, Alerting
from monitor.daemon.measure import measure, measure_system
from monitor.daemon.system import SystemProjections, SystemScenario
from monitor.risk.system import Contagion
from tests.deploy.promql import synthetic_result

BASE: dict[str, Any] = {
    "chain": {"rpc_urls": ["http://127.0.0.1:8545"], "chain_id": 31337},
    "markets": [{"name": "m", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "11" * 20}],
}
RULES = [
    {"name": "system-bad-debt", "kind": "system_projected_bad_debt_usd", "op": "above", "threshold": 1e6,
     "reset": 5e5, "reset_blocks": 2, "severity": "page"},
    {"name": "contagion", "kind": "contagion_bad_debt_usd", "scenario": "weth-30", "op": "above", "threshold": 1e5,
     "reset": 1e4},
    {"name": "waiting", "kind": "lookahead_liquidatable_debt_usd", "op": "above", "threshold": 100, "reset": 10},
]  # fmt: skip


def _system(block: int, bad_usd: float, contagion_usd: dict[str, float]) -> SystemProjections:
    def scenario(name: str, factor: float) -> SystemScenario:
        extra = {m: Contagion(1, 0.0, usd * factor) for m, usd in contagion_usd.items()}
        return SystemScenario(name, 0.0, bad_usd * factor, MappingProxyType(extra))

    return SystemProjections(block, ("a", "b"), (scenario("weth-20", 0.5), scenario("weth-30", 1.0)), 1_700_000_000)


def test_measures() -> None:
    cfg = parse_config(BASE | {"alerts": {"rules": RULES}}, environ={})
    system_rule, contagion_rule, waiting_rule = cfg.alerts.rules
    p = _system(10, 2e6, {"a": 3e5, "b": -1e5})
    assert measure_system(system_rule, p) == 2e6  # the worst scenario
    assert measure_system(contagion_rule, p) == 3e5  # the worst market of the rule's scenario
    assert measure_system(waiting_rule, p) is None
    r = synthetic_result("m")
    assert measure(system_rule, r) is None and measure(contagion_rule, r) is None
    assert measure(waiting_rule, r) == r.lookahead_liquidatable_debt_usd


async def test_system_rules_fire_and_resolve_with_hysteresis(tmp_path: Path) -> None:
    data = BASE | {"alerts": {"rules": RULES}, "checkpoint": {"path": str(tmp_path / "cp.sqlite")}}
    alerting = Alerting(parse_config(data, environ={}), publisher=None)
    await alerting.on_system(_system(10, 2e6, {"a": 3e5, "b": 0.0}))
    fired = [(e.market, e.rule, e.state, e.value) for e in alerting.recent]
    assert fired == [(SYSTEM, "system-bad-debt", "firing", 2e6), (SYSTEM, "contagion", "firing", 3e5)]
    # below the threshold, above the reset: still firing; below the reset for reset_blocks evaluations: resolved
    await alerting.on_system(_system(11, 8e5, {"a": 0.0}))
    await alerting.on_system(_system(12, 1e5, {"a": 0.0}))
    assert len(alerting.recent) == 2, "nothing resolves before its reset_blocks evaluations past the reset level"
    await alerting.on_system(_system(13, 1e5, {"a": 0.0}))
    resolved = [(e.market, e.rule, e.state, e.block) for e in list(alerting.recent)[2:]]
    assert resolved == [(SYSTEM, "system-bad-debt", "resolved", 13), (SYSTEM, "contagion", "resolved", 13)]
    # a market's result leaves the system rules alone (no data there) and measures the look-ahead
    await alerting.on_result(synthetic_result("m"))
    states = {(a.market, a.rule): a for a in alerting.alert_states()}
    assert states[(SYSTEM, "system-bad-debt")].value == 1e5 and states[("m", "system-bad-debt")].value is None
    assert states[("m", "waiting")].value == 0.0 and states[(SYSTEM, "waiting")].value is None
