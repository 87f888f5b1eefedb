"""The config's ``scenarios`` and ``sweep`` sections: the price shocks projected every block and the shock sweep."""

from __future__ import annotations

from pydantic import Field, field_validator

from monitor.configbase import FrozenModel as _Frozen

EACH_COLLATERAL = "*"
"""The scenario asset that stands for each collateral asset in turn (see :class:`ScenarioConfig`)."""


class ScenarioConfig(_Frozen):
    """A named price-shock scenario projected every block: asset (symbol or address) -> signed price change.

    The asset ``"*"`` (alone) means each collateral asset some account holds, one at a time: the scenario
    becomes one projection per such asset, reported as ``<name>-<SYMBOL>``.
    """

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    shocks: dict[str, float] = Field(min_length=1)

    @field_validator("shocks")
    @classmethod
    def _shocks(cls, shocks: dict[str, float]) -> dict[str, float]:
        for asset, change in shocks.items():
            if not -1.0 < change < 0.0:
                raise ValueError(f"shock of {asset} must be a price drop between -1 and 0 (e.g. -0.2), got {change}")
        if EACH_COLLATERAL in shocks and len(shocks) > 1:
            raise ValueError(
                f"{EACH_COLLATERAL!r} (each collateral asset in turn) cannot be combined with other assets"
            )
        return shocks

    @property
    def each_collateral(self) -> bool:
        """Whether the scenario shocks each collateral asset in turn (asset ``"*"``)."""
        return EACH_COLLATERAL in self.shocks


def default_scenarios() -> list[ScenarioConfig]:
    """The scenarios of a config without a ``scenarios`` key: each collateral asset on its own at -10%, -20%
    and -30% (three projections per collateral asset and block; a large market should list its own)."""
    return [ScenarioConfig(name=f"each-collateral-{pct}", shocks={EACH_COLLATERAL: -pct / 100}) for pct in (10, 20, 30)]


class SweepConfig(_Frozen):
    """The shock sweep and critical-shock search run every block (or every ``every_blocks``)."""

    enabled: bool = True
    every_blocks: int = Field(default=1, ge=1)
    assets: list[str] = Field(default_factory=list, description="symbols or addresses; empty = every collateral")
    max_shock: float = Field(default=0.9, gt=0, lt=1)
    step: float = Field(default=0.01, gt=0, lt=1)
    amplification_limit: float = Field(default=1.5, gt=1.0, description="final drop / initial shock")
    bad_debt_limit_usd: float = Field(default=1_000_000.0, ge=0)
