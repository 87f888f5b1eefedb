"""Scenario, model parameters and the limits that define a critical shock."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.errors import DataError
from monitor.risk.oracles import OracleModel


@dataclass(frozen=True)
class Scenario:
    """Initial price changes: ``{asset address or reserve symbol: change}``, ``-0.2`` = a 20% drop."""

    shocks: Mapping[str, float]

    def __post_init__(self) -> None:
        clean: dict[str, float] = {}
        for asset, change in self.shocks.items():
            if not isinstance(asset, str) or not asset.strip():
                raise DataError(f"a shock needs an asset name or address, got {asset!r}")
            if isinstance(change, bool) or not isinstance(change, int | float):
                raise DataError(f"shock of {asset}: the change must be a number, got {change!r}")
            value = float(change)
            if not math.isfinite(value) or value <= -1.0 or value > 10.0:
                raise DataError(f"shock of {asset}: the change must be in (-1, 10] (-0.2 = a 20% drop), got {change}")
            clean[asset] = value
        if not clean:
            raise DataError("a scenario needs at least one shock")
        object.__setattr__(self, "shocks", MappingProxyType(clean))


@dataclass(frozen=True)
class ModelParams:
    """How liquidators, the DEX and the oracle behave. The defaults are the on-chain model (see the package
    docstring); every option departs from it in one way. (The protocol's own rules come with its
    :class:`~monitor.risk.model.LiquidationModel`.)

    - ``liquidator_capital_usd``: debt liquidators can repay per round (most profitable liquidations first;
      the marginal one partially).
    - ``dex_sell_share``: share of the seized collateral sold into the pool; the rest is sold elsewhere with no
      price impact, or held.
    - ``gas_cost_usd`` / ``min_profit_usd``: a liquidation happens only when its profit at oracle prices
      (collateral received - debt repaid - gas) reaches the minimum.
    - ``oracle_deviation``: the oracle follows the pool only once the pool price is more than this share away
      from it (0: every move).
    - ``latency_rounds``: an account is liquidated only once it has been liquidatable for this many rounds.
    - ``max_rounds``: stop after this many rounds even if accounts remain liquidatable.
    - ``oracles``: per asset (address or symbol) how its oracle updates
      (:class:`~monitor.risk.oracles.OracleModel`: its own pool, another asset times an exchange rate, fixed;
      its own deviation threshold); the others follow their pools with ``oracle_deviation``.
    """

    liquidator_capital_usd: float = math.inf
    dex_sell_share: float = 1.0
    gas_cost_usd: float = 0.0
    min_profit_usd: float = 0.0
    oracle_deviation: float = 0.0
    latency_rounds: int = 0
    max_rounds: int = 50
    oracles: Mapping[str, OracleModel] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.liquidator_capital_usd >= 0:
            raise DataError("liquidator_capital_usd must be >= 0")
        if not 0.0 <= self.dex_sell_share <= 1.0:
            raise DataError("dex_sell_share must be within [0, 1]")
        if not (math.isfinite(self.gas_cost_usd) and self.gas_cost_usd >= 0):
            raise DataError("gas_cost_usd must be finite and >= 0")
        if not math.isfinite(self.min_profit_usd):
            raise DataError("min_profit_usd must be finite")
        if not 0.0 <= self.oracle_deviation < 1.0:
            raise DataError("oracle_deviation must be within [0, 1)")
        if isinstance(self.latency_rounds, bool) or not isinstance(self.latency_rounds, int) or self.latency_rounds < 0:
            raise DataError("latency_rounds must be an int >= 0")
        if isinstance(self.max_rounds, bool) or not isinstance(self.max_rounds, int) or self.max_rounds < 1:
            raise DataError("max_rounds must be an int >= 1")
        if any(not isinstance(o, OracleModel) for o in self.oracles.values()):
            raise DataError("oracles must map assets to OracleModel")
        object.__setattr__(self, "oracles", MappingProxyType(dict(self.oracles)))

    @property
    def profit_filter(self) -> bool:
        """True when gas or a minimum profit can stop a liquidation."""
        return self.gas_cost_usd > 0 or self.min_profit_usd > 0


@dataclass(frozen=True)
class Limits:
    """A cascade crosses the limits when its amplification (final drop / initial shock) exceeds
    ``amplification`` or its new bad debt exceeds ``bad_debt_usd``."""

    amplification: float = 1.5
    bad_debt_usd: float = 1_000_000.0

    def __post_init__(self) -> None:
        if not self.amplification >= 1.0:
            raise DataError("the amplification limit must be >= 1")
        if not self.bad_debt_usd >= 0:
            raise DataError("the bad debt limit must be >= 0")


@dataclass(frozen=True)
class SweepSpec:
    """Which drops to project per asset, and the critical-shock search tolerance (share of price)."""

    drops: tuple[float, ...] = field(default=tuple(i / 100 for i in range(1, 91)))
    tolerance: float = 0.001

    def __post_init__(self) -> None:
        d = tuple(float(x) for x in self.drops)
        if not d or any(not 0 < x < 1 for x in d) or any(b <= a for a, b in itertools.pairwise(d)):
            raise DataError("sweep drops must be strictly increasing shares in (0, 1)")
        if not 0 < self.tolerance < 0.1:
            raise DataError("the critical-shock tolerance must be in (0, 0.1)")
        object.__setattr__(self, "drops", d)
