"""Default alert rules and scenarios: applied when the config says nothing, off with an explicit empty list,
replaced by an explicit list; the shipped example configs; what check-config prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import ScenarioConfig, default_alert_rules, default_scenarios, load_config, parse_config
from monitor.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "config"
MINIMAL: dict[str, Any] = {
    "chain": {"rpc_urls": ["http://127.0.0.1:8545"], "chain_id": 31337},
    "markets": [{"name": "m", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "11" * 20}],
}
DEFAULT_RULES = ["data-stale", "liquidatable-debt", "critical-shock", "projected-bad-debt", "oracle-deviation"]


def test_a_config_without_alerts_gets_the_default_rules_and_scenarios() -> None:
    cfg = parse_config(MINIMAL, environ={})
    assert [r.name for r in cfg.alerts.rules] == DEFAULT_RULES and cfg.alerts.rules_are_default
    assert {r.kind for r in cfg.alerts.rules} == {"data_age_s", "liquidatable_debt_usd", "critical_shock",
                                                  "projected_bad_debt_usd", "oracle_deviation"}  # fmt: skip
    assert cfg.scenarios == default_scenarios() and cfg.scenarios_are_default
    assert [(s.name, s.shocks) for s in cfg.scenarios] == [
        ("each-collateral-10", {"*": -0.1}), ("each-collateral-20", {"*": -0.2}), ("each-collateral-30", {"*": -0.3})
    ]  # fmt: skip
    assert all(s.each_collateral for s in cfg.scenarios)
    assert cfg.sweep.enabled
    pages = {r.name for r in cfg.alerts.rules if r.severity == "page"}
    assert pages == {"data-stale", "liquidatable-debt", "critical-shock"}


def test_an_alerts_section_without_rules_keeps_the_defaults() -> None:
    cfg = parse_config({**MINIMAL, "alerts": {"stale_after_s": 30}}, environ={})
    assert cfg.alerts.stale_after_s == 30 and cfg.alerts.rules == default_alert_rules()


def test_explicit_empty_lists_turn_the_defaults_off() -> None:
    cfg = parse_config({**MINIMAL, "alerts": {"rules": []}, "scenarios": []}, environ={})
    assert cfg.alerts.rules == [] and not cfg.alerts.rules_are_default
    assert cfg.scenarios == [] and not cfg.scenarios_are_default
    env = {"CASCADE_MONITOR__ALERTS__RULES": "[]"}  # the same from the environment
    assert parse_config(MINIMAL, environ=env).alerts.rules == []


def test_explicit_rules_and_scenarios_replace_the_defaults() -> None:
    rule = {"name": "mine", "kind": "liquidatable_debt_usd", "op": "above", "threshold": 5, "reset": 1}
    cfg = parse_config({**MINIMAL, "alerts": {"rules": [rule]}, "scenarios": [{"name": "w", "shocks": {"WETH": -0.2}}]},
                       environ={})  # fmt: skip
    assert [r.name for r in cfg.alerts.rules] == ["mine"] and [s.name for s in cfg.scenarios] == ["w"]


def test_each_collateral_cannot_be_combined_with_an_asset() -> None:
    with pytest.raises(ConfigError, match=r"scenarios\[0\]\.shocks: '\*' .* cannot be combined"):
        parse_config({**MINIMAL, "scenarios": [{"name": "x", "shocks": {"*": -0.2, "WETH": -0.1}}]}, environ={})
    assert ScenarioConfig(name="y", shocks={"*": -0.25}).each_collateral
    assert not ScenarioConfig(name="y", shocks={"WETH": -0.25}).each_collateral


def test_shipped_examples() -> None:
    devnet = load_config(CONFIGS / "devnet.example.yaml", environ={})
    assert devnet.alerts.rules_are_default and devnet.scenarios_are_default  # it relies on the defaults
    mainnet = load_config(CONFIGS / "mainnet.example.yaml", environ={})
    assert not mainnet.alerts.rules_are_default and not mainnet.scenarios_are_default
    kinds = {r.kind for r in mainnet.alerts.rules}
    assert kinds >= {"data_age_s", "liquidatable_debt_usd", "critical_shock", "projected_bad_debt_usd",
                     "oracle_deviation"}  # fmt: skip
    scenarios = {s.name for s in mainnet.scenarios}
    assert all(r.scenario in scenarios for r in mainnet.alerts.rules if r.scenario is not None)
    shocked = {a for s in mainnet.scenarios for a in s.shocks}
    assert {"WETH", "wstETH", "WBTC"} <= shocked
    liquidatable = next(r for r in mainnet.alerts.rules if r.kind == "liquidatable_debt_usd")
    assert (
        liquidatable.threshold >= 10 * next(r for r in default_alert_rules() if r.kind == liquidatable.kind).threshold
    )


def test_check_config_names_the_rules_in_effect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(CONFIGS / "devnet.example.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"alert rules (defaults: no alerts.rules in the config): {', '.join(DEFAULT_RULES)}" in out
    assert "scenarios (defaults: no scenarios in the config): each-collateral-10, each-collateral-20" in out
    assert '"name": "liquidatable-debt"' in out, "the JSON dump shows the default rules with their levels"
    off = tmp_path / "off.yaml"
    off.write_text((CONFIGS / "devnet.example.yaml").read_text() + "alerts: {rules: []}\nscenarios: []\n")
    assert main(["check-config", str(off)]) == 0
    out = capsys.readouterr().out
    assert "alert rules: none" in out and "scenarios: none" in out
