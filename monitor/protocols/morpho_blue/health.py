"""A Morpho Blue position's health, exactly as ``Morpho._isHealthy`` decides it.

maxBorrow = mulDivDown(mulDivDown(collateral, price, 1e36), lltv, 1e18); borrowed = toAssetsUp(borrowShares);
healthy iff maxBorrow >= borrowed. The price is one collateral unit in loan-token units scaled by 1e36.
The market totals passed in must already have interest accrued to the block in question (``interest.accrue``).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.errors import DataError
from monitor.protocols.morpho_blue.params import MarketState, Position
from monitor.protocols.morpho_blue.shares import WAD, mul_div_down, to_assets_up, w_mul_down

ORACLE_PRICE_SCALE = 10**36


def collateral_value(collateral: int, price: int) -> int:
    """Collateral quoted in loan-token units: mulDivDown(collateral, price, 1e36)."""
    return mul_div_down(collateral, price, ORACLE_PRICE_SCALE)


def max_borrow(collateral: int, price: int, lltv: int) -> int:
    """The most loan-token units the collateral backs: wMulDown(collateralValue, lltv)."""
    return w_mul_down(collateral_value(collateral, price), lltv)


def borrow_assets(position: Position, market: MarketState) -> int:
    """What the position owes: its borrow shares in assets, rounded up."""
    return to_assets_up(position.borrow_shares, market.total_borrow_assets, market.total_borrow_shares)


def is_healthy(position: Position, market: MarketState, price: int, lltv: int) -> bool:
    """Morpho's health check: no borrow shares is healthy; otherwise maxBorrow >= borrowed."""
    if position.borrow_shares == 0:
        return True
    return max_borrow(position.collateral, price, lltv) >= borrow_assets(position, market)


@dataclass(frozen=True)
class Health:
    """One borrowing position's health at a block."""

    borrow_assets: int  # loan-token units, rounded up
    max_borrow: int  # loan-token units the collateral backs at the LLTV
    collateral_value: int  # collateral quoted in loan-token units
    health_factor_wad: int  # floor(maxBorrow * 1e18 / borrowAssets)
    ltv_wad: int | None  # floor(borrowAssets * 1e18 / collateralValue); None when the collateral is worth 0

    @property
    def healthy(self) -> bool:
        """Morpho's own decision (equivalent to health_factor_wad >= 1e18)."""
        return self.max_borrow >= self.borrow_assets

    @property
    def headroom(self) -> int:
        """More loan-token units the position could borrow now (0 when unhealthy)."""
        return max(self.max_borrow - self.borrow_assets, 0)


def health(position: Position, market: MarketState, price: int, lltv: int) -> Health:
    """Health of a position with borrow shares > 0 (accrued market totals, oracle price, LLTV)."""
    if position.borrow_shares <= 0:
        raise DataError("health is defined for positions with borrow shares > 0")
    if not 0 < lltv < WAD:
        raise DataError(f"LLTV must be in (0, 1e18), got {lltv}")
    owed = borrow_assets(position, market)
    value = collateral_value(position.collateral, price)
    cap = w_mul_down(value, lltv)
    return Health(
        borrow_assets=owed,
        max_borrow=cap,
        collateral_value=value,
        health_factor_wad=cap * WAD // owed,
        ltv_wad=owed * WAD // value if value else None,
    )
