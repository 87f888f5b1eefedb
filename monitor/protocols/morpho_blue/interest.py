"""Interest accrual off chain, exactly as ``MorphoBalancesLib.expectedMarketBalances`` computes it.

Given the IRM's ``borrowRateView`` (per second, WAD) for the market's stored state, the interest since
``lastUpdate`` is ``totalBorrowAssets * wTaylorCompounded(rate, elapsed)`` (WAD, down); it is added to both
borrow and supply totals, and the fee part is minted to the fee recipient as supply shares.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.errors import DataError
from monitor.protocols.morpho_blue.params import MarketState
from monitor.protocols.morpho_blue.shares import WAD, mul_div_down, to_shares_down, w_mul_down


def w_taylor_compounded(rate: int, elapsed: int) -> int:
    """e^(rate * elapsed) - 1 in WAD by its first three Taylor terms (MathLib.wTaylorCompounded)."""
    if rate < 0 or elapsed < 0:
        raise DataError(f"rate and elapsed time must be >= 0, got {rate}, {elapsed}")
    first = rate * elapsed
    second = mul_div_down(first, first, 2 * WAD)
    third = mul_div_down(second, first, 3 * WAD)
    return first + second + third


def accrue(market: MarketState, borrow_rate: int, timestamp: int, *, has_irm: bool = True) -> MarketState:
    """The market's totals with interest accrued to ``timestamp`` at ``borrow_rate`` (the IRM's view rate).

    ``lastUpdate`` becomes ``timestamp``; with no IRM (``has_irm=False``), nothing accrues.
    """
    elapsed = timestamp - market.last_update
    if elapsed < 0:
        raise DataError(f"timestamp {timestamp} is before the market's last update {market.last_update}")
    if elapsed == 0 or market.total_borrow_assets == 0 or not has_irm:
        return replace(market, last_update=timestamp)
    interest = w_mul_down(market.total_borrow_assets, w_taylor_compounded(borrow_rate, elapsed))
    supply_assets = market.total_supply_assets + interest
    supply_shares = market.total_supply_shares
    if market.fee:
        fee_amount = w_mul_down(interest, market.fee)
        supply_shares += to_shares_down(fee_amount, supply_assets - fee_amount, supply_shares)
    return MarketState(
        total_supply_assets=supply_assets,
        total_supply_shares=supply_shares,
        total_borrow_assets=market.total_borrow_assets + interest,
        total_borrow_shares=market.total_borrow_shares,
        last_update=timestamp,
        fee=market.fee,
    )
