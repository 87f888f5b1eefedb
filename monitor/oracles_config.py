"""The ``oracles:`` section of a config: how each asset's oracle updates in the projections.

::

    oracles:
      defaults: {market: {deviation: 0.0, heartbeat_seconds: 3600}}   # per feed kind
      assets:
        wstETH: {kind: rate, base: WETH}   # exchange-rate adapter: WETH's price times a rate, blind to its own pool
        USDC: {kind: fixed}                # priced at a constant
        WETH: {deviation: 0.005}           # its own deviation threshold

An asset not listed follows its own pool with the ``market`` defaults. Without the section every oracle follows
every pool move (deviation 0), the conservative choice: a projection never waits for an update that real feeds
might delay. The asset symbols are checked against the markets when they are read (an unknown one is an error
naming it and the symbols the markets list).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from monitor.configbase import FrozenModel

FeedKind = Literal["market", "rate", "fixed"]


class FeedDefaults(FrozenModel):
    """The update rule of a feed kind: moves within ``deviation`` (share) are ignored until the heartbeat."""

    deviation: float = Field(default=0.0, ge=0.0, lt=1.0)
    heartbeat_seconds: float = Field(default=3600.0, gt=0)


class OracleDefaults(FrozenModel):
    """Per feed kind, the update rule of assets that do not set their own."""

    market: FeedDefaults = Field(default_factory=FeedDefaults)
    rate: FeedDefaults = Field(default_factory=FeedDefaults)
    fixed: FeedDefaults = Field(default_factory=FeedDefaults)

    def of(self, kind: FeedKind) -> FeedDefaults:
        """The defaults of ``kind``."""
        defaults: FeedDefaults = getattr(self, kind)
        return defaults


class AssetOracle(FrozenModel):
    """One asset's oracle: its kind (default ``market``: its own pool), the base asset of a ``rate`` oracle, and
    its own deviation threshold and heartbeat (default: its kind's)."""

    kind: FeedKind = "market"
    base: str | None = Field(default=None, min_length=1)
    deviation: float | None = Field(default=None, ge=0.0, lt=1.0)
    heartbeat_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _base(self) -> AssetOracle:
        if self.kind == "rate" and self.base is None:
            raise ValueError("an oracle of kind 'rate' needs a base asset (base: SYMBOL)")
        if self.kind != "rate" and self.base is not None:
            raise ValueError(f"only an oracle of kind 'rate' has a base asset (this one is {self.kind!r})")
        return self


class OraclesConfig(FrozenModel):
    """The ``oracles:`` section (module docstring)."""

    defaults: OracleDefaults = Field(default_factory=OracleDefaults)
    assets: dict[str, AssetOracle] = Field(default_factory=dict)
