"""The ``liquidators:`` section of a config: how the projections' liquidators behave.

::

    liquidators:
      reaction_blocks: 1            # blocks from an oracle update landing to the liquidations it sets off
      liquidations_per_block: 50    # default: unlimited
      capital_usd_per_block: 50000000
      gas_per_liquidation: 400000
      gas_price_gwei: 20
      native_asset: WETH            # or native_price_usd: 2500
      min_profit_usd: 10
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from monitor.configbase import FrozenModel


class LiquidatorsConfig(FrozenModel):
    """How the projection's liquidators behave (every key optional; the defaults are the on-chain model:
    unlimited capital and calls, no gas, no minimum profit, acting one block after an oracle update lands).

    Gas per liquidation is ``gas_per_liquidation`` x ``gas_price_gwei`` x the native token's USD price: the oracle
    price of ``native_asset`` in the projection (its price falls with a crash), or ``native_price_usd`` if given.

    ``max_rounds`` and ``horizon_seconds`` bound how long the projection follows the liquidators: at most that
    many rounds (blocks with liquidations: a tight ``liquidations_per_block`` needs more of them) and no round
    after that many seconds from the shock.
    """

    reaction_blocks: int = Field(default=1, ge=0, le=10_000)
    liquidations_per_block: int | None = Field(default=None, ge=1, description="None: unlimited")
    capital_usd_per_block: float | None = Field(default=None, ge=0, description="None: unlimited")
    gas_per_liquidation: int = Field(default=0, ge=0, le=100_000_000)
    gas_price_gwei: float = Field(default=0.0, ge=0, le=1_000_000)
    native_asset: str = Field(default="WETH", min_length=1)
    native_price_usd: float | None = Field(default=None, gt=0)
    min_profit_usd: float = Field(default=0.0, ge=0)
    max_rounds: int = Field(default=50, ge=1, le=1_000_000)
    horizon_seconds: float = Field(default=86_400.0, gt=0)

    @field_validator("capital_usd_per_block", "gas_price_gwei", "min_profit_usd", "native_price_usd", "horizon_seconds")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value}")
        return value
