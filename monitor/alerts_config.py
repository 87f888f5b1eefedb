"""The config's ``alerts`` section: rules with hysteresis, their kinds, and the rules a config without any gets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from monitor.configbase import FrozenModel as _Frozen

AlertKind = Literal[
    "critical_shock",  # smallest shock crossing the sweep's limits (share, e.g. 0.15); asset optional
    "projected_bad_debt_usd",  # bad debt of a scenario (scenario required) or the worst scenario
    "liquidatable_debt_usd",  # debt of accounts with HF < 1 now
    "hf_mass_below_usd",  # debt of accounts with HF below `level`
    "oracle_deviation",  # |oracle / DEX price - 1|, worst asset or `asset`
    "data_age_s",  # seconds since the newest processed block was mined
    "lookahead_liquidatable_debt_usd",  # debt turning liquidatable at the next oracle update (pools already moved)
    "system_projected_bad_debt_usd",  # bad debt of a scenario (or the worst) projected on every market as one
    "contagion_bad_debt_usd",  # a market's bad debt in the system minus alone, worst market (and scenario)
]
SYSTEM_MARKET = "system"
"""The market name of the alerts on system figures (no configured market may take it)."""
SYSTEM_KINDS = frozenset({"system_projected_bad_debt_usd", "contagion_bad_debt_usd"})
"""Kinds measured on the system projection (configs with several markets), reported as the market ``system``."""


class AlertRuleConfig(_Frozen):
    """One alert rule with hysteresis: fires when the value crosses ``threshold`` in direction ``op``; resolves
    only after it has stayed past ``reset`` for ``reset_blocks`` consecutive evaluations."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9_-]+$")
    kind: AlertKind
    op: Literal["above", "below"]
    threshold: float
    reset: float
    reset_blocks: int = Field(default=3, ge=1)
    severity: Literal["page", "ticket"] = "ticket"
    asset: str | None = None
    scenario: str | None = None
    level: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> AlertRuleConfig:
        if self.op == "above" and self.reset > self.threshold:
            raise ValueError(f"rule {self.name}: with op 'above' the reset level must be <= threshold")
        if self.op == "below" and self.reset < self.threshold:
            raise ValueError(f"rule {self.name}: with op 'below' the reset level must be >= threshold")
        if self.kind == "hf_mass_below_usd" and self.level is None:
            raise ValueError(f"rule {self.name}: kind hf_mass_below_usd needs a level (a health factor, e.g. 1.05)")
        return self


def default_alert_rules() -> list[AlertRuleConfig]:
    """The rules of a config without ``alerts.rules`` (``rules: []`` turns alerting off; a list replaces these).
    Levels are in USD and shares, starting points for a market of a few hundred million dollars of debt."""
    rules: list[dict[str, Any]] = [
        {"name": "data-stale", "kind": "data_age_s", "op": "above", "threshold": 300, "reset": 120,
         "severity": "page"},
        {"name": "liquidatable-debt", "kind": "liquidatable_debt_usd", "op": "above", "threshold": 1_000_000,
         "reset": 100_000, "severity": "page"},
        {"name": "critical-shock", "kind": "critical_shock", "op": "below", "threshold": 0.15, "reset": 0.2,
         "severity": "page"},
        {"name": "projected-bad-debt", "kind": "projected_bad_debt_usd", "op": "above", "threshold": 1_000_000,
         "reset": 500_000, "severity": "ticket"},
        {"name": "oracle-deviation", "kind": "oracle_deviation", "op": "above", "threshold": 0.05, "reset": 0.02,
         "severity": "ticket"},
    ]  # fmt: skip
    return [AlertRuleConfig.model_validate(r) for r in rules]


class AlertsConfig(_Frozen):
    """Alert rules and freshness limits. Without a ``rules`` key the defaults of :func:`default_alert_rules`
    apply; ``rules: []`` means no alert rules at all."""

    stale_after_s: float = Field(default=120.0, gt=0, description="/readyz and staleness: data older is stale")
    rules: list[AlertRuleConfig] = Field(default_factory=default_alert_rules)

    @property
    def rules_are_default(self) -> bool:
        """True when the config gave no ``rules`` key (the default rules apply)."""
        return "rules" not in self.model_fields_set

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[AlertRuleConfig]) -> list[AlertRuleConfig]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"alert rule names must be unique; repeated: {', '.join(dupes)}")
        return rules
