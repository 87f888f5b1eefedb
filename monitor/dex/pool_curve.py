"""Depth curve of one pool in one direction, built from a :class:`~monitor.dex.pool.PoolState`.

The segments run from the current price through each initialized tick in the swap direction (crossing
applies ``liquidityNet``, negated going down) to the end: the default price limit of QuoterV2, a caller's
limit, or the edge of the state's ``tick_window``. Segment amounts are computed from the exact integers
(one correctly rounded division each), so the float curve agrees with the integer simulator to about
1e-12 relative plus a few wei of the contract's per-step rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from monitor.dex.constants import FEE_DENOMINATOR, Q96
from monitor.dex.curve import BoolArray, DepthCurve, FloatArray
from monitor.dex.pool import PoolState
from monitor.dex.swap import default_sqrt_price_limit
from monitor.dex.tick_math import MAX_SQRT_RATIO, MIN_SQRT_RATIO, get_sqrt_ratio_at_tick
from monitor.errors import DataError


@dataclass(frozen=True, eq=False)
class PoolQuote:
    """Vectorized quote of one pool: amounts (raw), pool sqrt price after (Q64.96 as float), fill flag."""

    amount_in: FloatArray
    amount_out: FloatArray
    sqrt_price_x96_after: FloatArray
    filled: BoolArray


@dataclass(frozen=True, eq=False)
class PoolCurve:
    """A pool's :class:`DepthCurve` for one direction, plus what is needed to map rates back to pool prices."""

    state: PoolState
    zero_for_one: bool
    curve: DepthCurve

    @property
    def _sqrt_keep(self) -> float:
        return math.sqrt((FEE_DENOMINATOR - self.state.fee) / FEE_DENOMINATOR)

    def sqrt_price_x96_at(self, sqrt_rate: npt.ArrayLike) -> FloatArray:
        """The pool's sqrt price (Q64.96, float) at a marginal sqrt rate of this curve."""
        r = np.asarray(sqrt_rate, dtype=np.float64)
        if self.zero_for_one:
            # r = sqrt(P) * sqrt(1 - fee)
            return np.asarray(r / self._sqrt_keep * Q96, dtype=np.float64)
        # r = sqrt(1 - fee) / sqrt(P)
        return np.asarray(self._sqrt_keep / r * Q96, dtype=np.float64)

    def sqrt_rate_at(self, sqrt_price_x96: npt.ArrayLike) -> FloatArray:
        """The marginal sqrt rate of this curve at a pool sqrt price (Q64.96)."""
        s = np.asarray(sqrt_price_x96, dtype=np.float64) / Q96
        if self.zero_for_one:
            return np.asarray(s * self._sqrt_keep, dtype=np.float64)
        return np.asarray(self._sqrt_keep / s, dtype=np.float64)

    def quote(self, amount_in: npt.ArrayLike) -> PoolQuote:
        """Sell ``amount_in`` (raw, fee included) into the pool."""
        q = self.curve.quote(amount_in)
        return PoolQuote(q.amount_in, q.amount_out, self.sqrt_price_x96_at(q.sqrt_rate), q.filled)

    def quote_output(self, amount_out: npt.ArrayLike) -> PoolQuote:
        """Buy ``amount_out`` (raw) from the pool."""
        q = self.curve.quote_output(amount_out)
        return PoolQuote(q.amount_in, q.amount_out, self.sqrt_price_x96_at(q.sqrt_rate), q.filled)

    def quote_to_sqrt_price(self, sqrt_price_x96: npt.ArrayLike) -> PoolQuote:
        """Amounts that move the pool's sqrt price to ``sqrt_price_x96`` (in this curve's direction)."""
        q = self.curve.quote_to_sqrt_rate(self.sqrt_rate_at(sqrt_price_x96))
        return PoolQuote(q.amount_in, q.amount_out, self.sqrt_price_x96_at(q.sqrt_rate), q.filled)


def _boundaries(state: PoolState, zero_for_one: bool, end: int) -> tuple[list[int], list[int]]:
    """Sqrt prices from the current one to ``end`` and the liquidity of each segment between them."""
    prices = [state.sqrt_price_x96]
    liquidities: list[int] = []
    level = state.liquidity
    if zero_for_one:
        # ticks at or below the current tick, going down; crossing subtracts liquidityNet
        crossing = [(t, -n) for t, n in reversed(state.ticks) if t <= state.tick]
    else:
        # ticks above the current tick, going up; crossing adds liquidityNet
        crossing = [(t, n) for t, n in state.ticks if t > state.tick]
    for tick, delta in crossing:
        price = get_sqrt_ratio_at_tick(tick)
        if (price <= end) if zero_for_one else (price >= end):
            break
        if price != prices[-1]:
            liquidities.append(level)
            prices.append(price)
        # a tick at the current price is crossed without a segment before it
        level += delta
    if end != prices[-1]:
        liquidities.append(level)
        prices.append(end)
    return prices, liquidities


def pool_curve(state: PoolState, zero_for_one: bool, sqrt_price_limit_x96: int | None = None) -> PoolCurve:
    """Depth curve of selling token0 (``zero_for_one``) or token1 into ``state``, up to the price limit.

    Without a limit the curve runs to QuoterV2's default limit (the pool's price bound); a ``tick_window``
    on the state cuts it at the window's edge (``complete`` is then False).
    """
    end = sqrt_price_limit_x96 if sqrt_price_limit_x96 else default_sqrt_price_limit(zero_for_one)
    if not MIN_SQRT_RATIO < end < MAX_SQRT_RATIO:
        raise DataError(f"sqrt price limit {end} is outside (MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
    complete = not sqrt_price_limit_x96
    if state.tick_window is not None:
        lo, hi = state.tick_window
        edge = get_sqrt_ratio_at_tick(lo if zero_for_one else hi)
        if (edge > end) if zero_for_one else (edge < end):
            end, complete = edge, False
    # no movement possible: a curve without segments
    if (end >= state.sqrt_price_x96) if zero_for_one else (end <= state.sqrt_price_x96):
        end = state.sqrt_price_x96
    prices, liquidities = _boundaries(state, zero_for_one, end)

    keep_num = FEE_DENOMINATOR - state.fee
    sqrt_keep = math.sqrt(keep_num / FEE_DENOMINATOR)
    seg_in = []
    seg_out = []
    for (a, b), liquidity in zip(pairwise(prices), liquidities, strict=True):
        if zero_for_one:
            # token0 in: L (1/b - 1/a) grossed up by the fee; token1 out: L (a - b)
            seg_in.append(liquidity * (a - b) * Q96 * FEE_DENOMINATOR / (a * b * keep_num))
            seg_out.append(liquidity * (a - b) / Q96)
        else:
            # token1 in: L (b - a) grossed up by the fee; token0 out: L (1/a - 1/b)
            seg_in.append(liquidity * (b - a) * FEE_DENOMINATOR / (Q96 * keep_num))
            seg_out.append(liquidity * (b - a) * Q96 / (a * b))
    sqrt_prices = np.array([p / Q96 for p in prices], dtype=np.float64)
    sqrt_rate = sqrt_prices * sqrt_keep if zero_for_one else sqrt_keep / sqrt_prices
    token_in, token_out = (state.token0, state.token1) if zero_for_one else (state.token1, state.token0)
    dec_in, dec_out = (state.decimals0, state.decimals1) if zero_for_one else (state.decimals1, state.decimals0)
    curve = DepthCurve.from_breakpoints(
        token_in=token_in,
        token_out=token_out,
        decimals_in=dec_in,
        decimals_out=dec_out,
        sqrt_rate=sqrt_rate,
        cum_in=np.concatenate(([0.0], np.cumsum(seg_in))),
        cum_out=np.concatenate(([0.0], np.cumsum(seg_out))),
        k_liquidity=np.array([float(liq) for liq in liquidities], dtype=np.float64) / sqrt_keep,
        complete=complete,
    )
    return PoolCurve(state, zero_for_one, curve)
