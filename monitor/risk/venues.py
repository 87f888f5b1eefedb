"""Where collateral is sold: one Uniswap v3 pool per asset, driven with the exact swap simulator.

A :class:`Venue` sells ``asset`` for ``quote``. The asset's price read from the pool is
``floor(pool price in quote units x quote_price)`` in the market's price units (``quote_price``: the quote's
oracle price, an integer), exact integer maths; for an Aave market with USDC at $1 (``1e8``) this is the
devnet's ``pool_price_8dec``. ``quote_price`` is fixed for a scenario.

The initial shock is an outside sale (or purchase, for a rise) down to the target price with an unlimited
amount, as the devnet crash does: ``sqrtPriceLimitX96 = int(sqrtP * sqrt(1 + change))`` for an asset that is
token0, ``int(sqrtP / sqrt(1 + change))`` when it is token1, clamped into the valid range.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.dex import MAX_SQRT_RATIO, MIN_SQRT_RATIO, PoolState, SwapResult, apply_swap, swap_exact_input
from monitor.errors import DataError
from monitor.risk.market import RiskMarket

#: The outside seller of a shock brings an unlimited amount; the price limit stops the swap.
UNLIMITED = 1 << 200
_Q192 = 1 << 192


@dataclass(frozen=True)
class Venue:
    """The pool ``asset`` is sold into for ``quote`` (``quote_price``: one whole quote token in the market's
    price units, an integer)."""

    asset: str
    quote: str
    pool: PoolState
    quote_price: int

    def __post_init__(self) -> None:
        pair = {self.pool.token0, self.pool.token1}
        if pair != {self.asset, self.quote}:
            raise DataError(f"pool {self.pool.token0}/{self.pool.token1} does not pair {self.asset} with {self.quote}")
        if self.quote_price <= 0:
            raise DataError(f"quote price of {self.quote} must be positive")

    @property
    def asset_is_token0(self) -> bool:
        """True when the asset is the pool's token0 (selling it moves the sqrt price down)."""
        return self.pool.token0 == self.asset

    def spot_price(self, state: PoolState) -> int:
        """Price of the asset at ``state``'s spot price in the market's price units, floor (at least 1)."""
        p = state
        sq = p.sqrt_price_x96 * p.sqrt_price_x96
        # Branch: asset = token0 -> price = sqrt^2 / 2^192 (token1 per token0); token1 -> its inverse.
        if self.asset_is_token0:
            num, den = sq * 10**p.decimals0 * self.quote_price, _Q192 * 10**p.decimals1
        else:
            num, den = _Q192 * 10**p.decimals1 * self.quote_price, sq * 10**p.decimals0
        price: int = max(num // den, 1)
        return price

    def shock_limit(self, state: PoolState, change: float) -> int:
        """The sqrt price at which the asset is worth ``1 + change`` of its price at ``state``."""
        if not (math.isfinite(change) and change > -1.0):
            raise DataError(f"a price change must be finite and above -100%, got {change}")
        factor = math.sqrt(1.0 + change)
        now = state.sqrt_price_x96
        target = int(now * factor) if self.asset_is_token0 else int(now / factor)
        return min(max(target, MIN_SQRT_RATIO + 1), MAX_SQRT_RATIO - 1)

    def shocked(self, state: PoolState, change: float) -> PoolState:
        """The pool after an outside trade moved the asset's price by ``change`` (drop < 0, rise > 0)."""
        limit = self.shock_limit(state, change)
        # Branch: a drop sells the asset into the pool, a rise buys it out with the quote.
        zero_for_one = self.asset_is_token0 == (change < 0)
        if limit == state.sqrt_price_x96 or change == 0:
            return state
        res = swap_exact_input(state, zero_for_one, UNLIMITED, limit)
        return moved(state, res)

    def sell(self, state: PoolState, amount: int) -> tuple[PoolState, SwapResult] | None:
        """Sell ``amount`` of the asset with no price limit (SwapRouter ``exactInputSingle``).

        None when nothing can be sold for anything (no liquidity on that side): the seller keeps the asset.
        """
        if amount <= 0:
            return None
        res = swap_exact_input(state, self.asset_is_token0, amount)
        if res.amount_out == 0:
            return None
        return moved(state, res), res


def moved(state: PoolState, res: SwapResult) -> PoolState:
    """``apply_swap`` without re-validating the unchanged tick list (O(1) instead of O(ticks)): the swap was
    simulated on ``state``, so its price, tick and liquidity are consistent."""
    if (state.sqrt_price_x96, state.tick, state.liquidity) != (
        res.sqrt_price_x96_before,
        res.tick_before,
        res.liquidity_before,
    ):
        return apply_swap(state, res)  # raises: not simulated on this state
    out = copy.copy(state)
    object.__setattr__(out, "sqrt_price_x96", res.sqrt_price_x96_after)
    object.__setattr__(out, "tick", res.tick_after)
    object.__setattr__(out, "liquidity", res.liquidity_after)
    return out


def depth_to(state: PoolState, asset_is_token0: bool, drop: float = 0.02) -> int:
    """Amount of the asset a seller can put into the pool before its price is down by ``drop``."""
    factor = math.sqrt(1.0 - drop)
    now = state.sqrt_price_x96
    limit = int(now * factor) if asset_is_token0 else int(now / factor)
    limit = min(max(limit, MIN_SQRT_RATIO + 1), MAX_SQRT_RATIO - 1)
    return swap_exact_input(state, asset_is_token0, UNLIMITED, limit).amount_in


def choose_venues(
    market: RiskMarket, pools: Mapping[str, PoolState] | Iterable[PoolState], quote: str | None = None
) -> dict[str, Venue]:
    """One venue per asset of the market: its deepest pool (most asset absorbed within a 2% drop) against ``quote``.

    ``quote`` (default: the reserve found in the most pools; a tie goes to the one priced closest to $1) is not
    sold. An asset with no pool against the
    quote uses its deepest pool against any other reserve. Pools pairing no two reserves are ignored.
    """
    states = list(pools.values()) if isinstance(pools, Mapping) else list(pools)
    reserves = set(market.assets)
    usable = [p for p in states if p.token0 in reserves and p.token1 in reserves]
    quote = quote_of(market, usable, quote)
    out: dict[str, Venue] = {}
    for asset in market.assets:
        if asset == quote:
            continue
        mine = [p for p in usable if asset in (p.token0, p.token1)]
        preferred = [p for p in mine if quote in (p.token0, p.token1)] or mine
        if not preferred:
            continue
        best = max(preferred, key=lambda p: depth_to(p, p.token0 == asset))
        other = best.token1 if best.token0 == asset else best.token0
        price = int(market.prices[market.column[other]])
        out[asset] = Venue(asset, other, best, price)
    return out


def quote_of(market: RiskMarket, usable: list[PoolState], quote: str | None) -> str:
    """The quote :func:`choose_venues` sells for: ``quote`` resolved, or the reserve found in the most of the
    ``usable`` pools (a tie goes to the one priced closest to $1); "" without pools."""
    if quote is not None:
        return market.resolve(quote)
    counts = {a: sum(a in (p.token0, p.token1) for p in usable) for a in market.assets}

    # ties go to the reserve priced closest to $1 (a stablecoin is the usual quote)
    def rank(a: str) -> tuple[int, float, int]:
        j = market.column[a]
        return counts[a], -abs(math.log(max(float(market.prices[j]), 1.0) / market.price_unit)), -j

    return max(market.assets, key=rank) if usable else ""
