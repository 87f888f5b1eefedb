"""Morpho Blue liquidations, exactly as ``Morpho.liquidate`` computes them.

No close factor: a liquidator of an unhealthy position names either the collateral to seize or the borrow shares
to repay, and the other follows with the liquidation incentive factor (LIF) and Morpho's rounding. When a
liquidation leaves the position with no collateral, its remaining borrow is realised as bad debt: written off
against the market's supply, so lenders lose it pro rata.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.errors import DataError
from monitor.protocols.morpho_blue.health import ORACLE_PRICE_SCALE, is_healthy
from monitor.protocols.morpho_blue.params import MarketState, Position
from monitor.protocols.morpho_blue.shares import (
    WAD,
    mul_div_down,
    mul_div_up,
    to_assets_down,
    to_assets_up,
    to_shares_up,
    w_div_down,
    w_div_up,
    w_mul_down,
)

MAX_LIQUIDATION_INCENTIVE_FACTOR = 115 * 10**16  # 1.15
LIQUIDATION_CURSOR = 3 * 10**17  # 0.3


def liquidation_incentive_factor(lltv: int) -> int:
    """min(1.15, 1 / (1 - 0.3 * (1 - LLTV))) in WAD: wDivDown(WAD, WAD - wMulDown(0.3, WAD - lltv))."""
    if not 0 <= lltv < WAD:
        raise DataError(f"LLTV must be in [0, 1e18), got {lltv}")
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR, w_div_down(WAD, WAD - w_mul_down(LIQUIDATION_CURSOR, WAD - lltv)))


def seized_for_repaid_shares(repaid_shares: int, market: MarketState, price: int, lif: int) -> int:
    """Collateral seized when ``repaid_shares`` are repaid: toAssetsDown, wMulDown(LIF), mulDivDown(1e36, price)."""
    repaid = to_assets_down(repaid_shares, market.total_borrow_assets, market.total_borrow_shares)
    return mul_div_down(w_mul_down(repaid, lif), ORACLE_PRICE_SCALE, price)


def repaid_shares_for_seized(seized_assets: int, market: MarketState, price: int, lif: int) -> int:
    """Borrow shares repaid when ``seized_assets`` are seized: mulDivUp(price, 1e36), wDivUp(LIF), toSharesUp."""
    quoted = mul_div_up(seized_assets, price, ORACLE_PRICE_SCALE)
    return to_shares_up(w_div_up(quoted, lif), market.total_borrow_assets, market.total_borrow_shares)


@dataclass(frozen=True)
class LiquidationResult:
    """What one ``liquidate`` call does (the ``Liquidate`` event's fields) and the state it leaves."""

    repaid_assets: int
    repaid_shares: int
    seized_assets: int
    bad_debt_assets: int
    bad_debt_shares: int
    position: Position  # after
    market: MarketState  # after


def liquidate(
    position: Position,
    market: MarketState,
    price: int,
    lltv: int,
    *,
    seized_assets: int = 0,
    repaid_shares: int = 0,
) -> LiquidationResult:
    """One ``liquidate(seizedAssets, repaidShares)`` on an accrued market; exactly one of the two must be > 0.

    Raises DataError where the contract would revert: healthy position, both or neither amount given, more
    shares repaid than owed or more collateral seized than held.
    """
    if (seized_assets > 0) == (repaid_shares > 0) or min(seized_assets, repaid_shares) < 0:
        raise DataError("give exactly one of seized_assets and repaid_shares (> 0)")
    if price <= 0:
        raise DataError(f"oracle price must be > 0, got {price}")
    if is_healthy(position, market, price, lltv):
        raise DataError("position is healthy: Morpho refuses to liquidate it")
    lif = liquidation_incentive_factor(lltv)
    if seized_assets > 0:
        repaid_shares = repaid_shares_for_seized(seized_assets, market, price, lif)
    else:
        seized_assets = seized_for_repaid_shares(repaid_shares, market, price, lif)
    repaid_assets = to_assets_up(repaid_shares, market.total_borrow_assets, market.total_borrow_shares)
    if repaid_shares > position.borrow_shares:
        raise DataError(f"repays {repaid_shares} borrow shares, the position has {position.borrow_shares}")
    if seized_assets > position.collateral:
        raise DataError(f"seizes {seized_assets} collateral, the position has {position.collateral}")
    borrow_shares = position.borrow_shares - repaid_shares
    total_borrow_shares = market.total_borrow_shares - repaid_shares
    total_borrow_assets = max(market.total_borrow_assets - repaid_assets, 0)
    total_supply_assets = market.total_supply_assets
    collateral = position.collateral - seized_assets
    bad_shares = bad_assets = 0
    if collateral == 0:
        bad_shares = borrow_shares
        bad_assets = min(total_borrow_assets, to_assets_up(bad_shares, total_borrow_assets, total_borrow_shares))
        total_borrow_assets -= bad_assets
        total_supply_assets -= bad_assets
        total_borrow_shares -= bad_shares
        borrow_shares = 0
    return LiquidationResult(
        repaid_assets=repaid_assets,
        repaid_shares=repaid_shares,
        seized_assets=seized_assets,
        bad_debt_assets=bad_assets,
        bad_debt_shares=bad_shares,
        position=Position(position.supply_shares, borrow_shares, collateral),
        market=MarketState(
            total_supply_assets=total_supply_assets,
            total_supply_shares=market.total_supply_shares,
            total_borrow_assets=total_borrow_assets,
            total_borrow_shares=total_borrow_shares,
            last_update=market.last_update,
            fee=market.fee,
        ),
    )


@dataclass(frozen=True)
class FullLiquidation:
    """The arguments of the default model's liquidation: one of them is 0."""

    seized_assets: int
    repaid_shares: int


def full_liquidation(position: Position, market: MarketState, price: int, lltv: int) -> FullLiquidation:
    """Liquidate as far as possible: repay every borrow share when the collateral covers it with the incentive,
    otherwise seize all the collateral (the rest becomes bad debt).

    When rounding makes "seize all" ask for a share more than owed, the seizure steps down until it fits
    (the contract would revert on the underflow otherwise).
    """
    lif = liquidation_incentive_factor(lltv)
    if seized_for_repaid_shares(position.borrow_shares, market, price, lif) <= position.collateral:
        return FullLiquidation(seized_assets=0, repaid_shares=position.borrow_shares)
    seized = position.collateral
    if repaid_shares_for_seized(seized, market, price, lif) > position.borrow_shares:
        # repaid shares grow with the seizure: the largest seizure that fits, by bisection
        low, high = 0, seized  # fits(low), not fits(high)
        while high - low > 1:
            mid = (low + high) // 2
            if repaid_shares_for_seized(mid, market, price, lif) <= position.borrow_shares:
                low = mid
            else:
                high = mid
        if low == 0:
            raise DataError("no liquidation of this position fits its borrow shares")
        seized = low
    return FullLiquidation(seized_assets=seized, repaid_shares=0)
