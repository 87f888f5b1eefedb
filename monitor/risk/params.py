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

    - ``liquidator_capital_usd``: debt liquidators can repay per round, i.e. per block in which liquidations
      happen (most profitable liquidations first; the marginal one partially); what it leaves waits for the
      next round.
    - ``dex_sell_share``: share of the seized collateral sold into the pool; the rest is sold elsewhere with no
      price impact, or held.
    - ``gas_cost_usd`` / ``min_profit_usd``: a liquidation happens only when its profit at oracle prices
      (collateral received - debt repaid - gas) reaches the minimum. Gas may also be given as
      ``gas_per_liquidation`` x ``gas_price_gwei`` x the native token's price (``native_price_usd``, else the
      oracle price of the ``native_asset`` at the round's prices); both parts add up.
    - ``oracle_deviation``: the oracle follows the pool only once the pool price is more than this share away
      from it (0: every move).
    - ``latency_rounds``: an account is liquidated only once it has been liquidatable for this many rounds.
    - ``max_rounds``: stop after this many rounds even if accounts remain liquidatable (each block with
      liquidations is a round: with ``liquidations_per_block`` a cascade needs more of them).
    - time (:mod:`monitor.risk.clock`): ``block_time_seconds``; ``oracle_update_blocks`` (an update triggered
      by a pool move lands this many blocks after it); ``reaction_blocks`` (liquidations follow an update this
      many blocks after it lands); ``oracle_heartbeat_seconds`` (an oracle without its own
      :class:`~monitor.risk.oracles.OracleModel` takes its pool's price this long after its last update even
      inside the deviation band; inf: never); ``horizon_seconds`` (no round after this many seconds).
    - ``liquidations_per_block``: at most this many liquidations per block (None: unlimited), the most
      profitable first; the rest wait for the next block, at the prices the liquidators saw.
    - ``oracles``: per asset (address or symbol) how its oracle updates
      (:class:`~monitor.risk.oracles.OracleModel`: its own pool, another asset times an exchange rate, fixed;
      its own deviation threshold and heartbeat); the others follow their pools with ``oracle_deviation`` and
      ``oracle_heartbeat_seconds``.
    """

    liquidator_capital_usd: float = math.inf
    dex_sell_share: float = 1.0
    gas_cost_usd: float = 0.0
    min_profit_usd: float = 0.0
    oracle_deviation: float = 0.0
    latency_rounds: int = 0
    max_rounds: int = 50
    oracles: Mapping[str, OracleModel] = field(default_factory=dict, hash=False)
    block_time_seconds: float = 12.0
    oracle_update_blocks: int = 1
    reaction_blocks: int = 1
    oracle_heartbeat_seconds: float = math.inf
    horizon_seconds: float = 86_400.0
    liquidations_per_block: int | None = None
    gas_per_liquidation: int = 0
    gas_price_gwei: float = 0.0
    native_asset: str = "WETH"
    native_price_usd: float | None = None

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
        if not (math.isfinite(self.block_time_seconds) and self.block_time_seconds > 0):
            raise DataError(f"block_time_seconds must be a positive number, got {self.block_time_seconds}")
        for name in ("oracle_update_blocks", "reaction_blocks", "gas_per_liquidation"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DataError(f"{name} must be an int >= 0, got {value!r}")
        if not self.oracle_heartbeat_seconds > 0:
            raise DataError(
                f"oracle_heartbeat_seconds must be > 0 (inf: no heartbeat), got {self.oracle_heartbeat_seconds}"
            )
        if not self.horizon_seconds > 0:
            raise DataError(f"horizon_seconds must be > 0, got {self.horizon_seconds}")
        n = self.liquidations_per_block
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise DataError(f"liquidations_per_block must be an int >= 1 (None: unlimited), got {n!r}")
        if not (math.isfinite(self.gas_price_gwei) and self.gas_price_gwei >= 0):
            raise DataError(f"gas_price_gwei must be finite and >= 0, got {self.gas_price_gwei}")
        if self.native_price_usd is not None and not (
            math.isfinite(self.native_price_usd) and self.native_price_usd > 0
        ):
            raise DataError(f"native_price_usd must be a positive number, got {self.native_price_usd}")
        if any(not isinstance(o, OracleModel) for o in self.oracles.values()):
            raise DataError("oracles must map assets to OracleModel")
        object.__setattr__(self, "oracles", MappingProxyType(dict(self.oracles)))

    @property
    def gas_units_cost(self) -> bool:
        """True when gas is also given in gas units x gwei (priced at the native token's price)."""
        return self.gas_per_liquidation > 0 and self.gas_price_gwei > 0

    @property
    def profit_filter(self) -> bool:
        """True when gas or a minimum profit can stop a liquidation."""
        return self.gas_cost_usd > 0 or self.min_profit_usd > 0 or self.gas_units_cost


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
