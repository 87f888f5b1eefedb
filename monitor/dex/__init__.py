"""Pure Uniswap v3 maths: exact integer ports, an exact swap simulator, and float depth curves (no I/O: pools
are read from the chain by :mod:`monitor.venues.uniswap_v3`).

Pool state (:mod:`monitor.dex.pool`), read at one block::

    PoolState(token0: str, token1: str, decimals0: int, decimals1: int, fee: int, tick_spacing: int,
              sqrt_price_x96: int, tick: int, liquidity: int,
              ticks: Sequence[tuple[int, int]],            # every initialized tick: (tick, liquidityNet)
              tick_window: tuple[int, int] | None = None)   # set if only ticks in [lo, hi] were read
    pool_from_positions(token0, token1, decimals0, decimals1, fee, tick_spacing, sqrt_price_x96,
                        positions: Iterable[tuple[int, int, int]]) -> PoolState   # scenarios, tests
    # addresses lower-case; fee in hundredths of a bip (3000 = 0.3 %); sqrt_price_x96/tick from slot0();
    # liquidity from liquidity(); raises monitor.errors.DataError on inconsistent input.

Exact swaps (:mod:`monitor.dex.swap`), bit for bit equal to ``UniswapV3Pool.swap``::

    swap(state, zero_for_one, amount_specified, sqrt_price_limit_x96=None) -> SwapResult
        # amount_specified > 0: exact input, < 0: exact output; limit None/0 -> MIN_SQRT_RATIO+1 / MAX-1
    swap_exact_input(state, zero_for_one, amount_in, sqrt_price_limit_x96=None) -> SwapResult
    swap_exact_output(state, zero_for_one, amount_out, sqrt_price_limit_x96=None) -> SwapResult
        # same maths; an amount of 0 or a price already at the limit give an empty result, not a revert
    apply_swap(state, result) -> PoolState          # the state after the swap (sell again and again)
    SwapResult: amount_in, amount_out, fee_amount, sqrt_price_x96_after, tick_after, liquidity_after,
                ticks_crossed (QuoterV2 initializedTicksCrossed), crossings, steps,
                stop: StopReason (FILLED | PRICE_LIMIT | NO_LIQUIDITY | TICK_WINDOW), filled, amount0, amount1

QuoterV2 equivalents (:mod:`monitor.dex.quoter`)::

    quote_exact_input_single(state, zero_for_one, amount_in, sqrt_price_limit_x96=0) -> Quote
    quote_exact_output_single(state, zero_for_one, amount_out, sqrt_price_limit_x96=0) -> Quote
    Quote: amount, sqrt_price_x96_after, initialized_ticks_crossed

Depth curves (float64, numpy, vectorized; :mod:`monitor.dex.curve`, ``pool_curve``, ``combine``, ``depth``)::

    pool_curve(state, zero_for_one, sqrt_price_limit_x96=None) -> PoolCurve
        PoolCurve.quote(amount_in) / .quote_output(amount_out) / .quote_to_sqrt_price(sqrt_price_x96)
            -> PoolQuote(amount_in, amount_out, sqrt_price_x96_after, filled)
        PoolCurve.curve -> DepthCurve; PoolCurve.sqrt_price_x96_at(r) / .sqrt_rate_at(sqrt_price_x96)
    DepthCurve.quote(amount_in) / .quote_output(amount_out) / .quote_to_sqrt_rate(r)
              / .quote_to_rate_factor(f) / .depth(pcts) -> CurveQuote(amount_in, amount_out, sqrt_rate, filled)
        # raw units; r = sqrt(marginal rate out/in, fee included); .spot_rate, .capacity_in, .capacity_out
    aggregate(curves) -> DepthCurve; split(curves, amount_in) -> ndarray   # fee tiers of one pair
    compose_route(first, second) -> DepthCurve                              # e.g. WBTC->WETH->USDC
    curve_depth(curve, pcts=DEFAULT_PCTS, usd_price_in=None) -> DepthLevels
    pair_depth(states, pcts=DEFAULT_PCTS, usd_price0=None, usd_price1=None) -> PairDepth(bid, ask)

Integer ports of the v3-core libraries live in :mod:`~monitor.dex.tick_math`, :mod:`~monitor.dex.full_math`,
:mod:`~monitor.dex.sqrt_price_math`, :mod:`~monitor.dex.swap_math`, :mod:`~monitor.dex.liquidity_math` and
:mod:`~monitor.dex.tick_bitmap`; where the contracts revert they raise :class:`RevertError` (a DataError).
"""

from __future__ import annotations

from monitor.dex.combine import aggregate, compose_route, split
from monitor.dex.curve import CurveQuote, DepthCurve
from monitor.dex.depth import DEFAULT_PCTS, DepthLevels, PairDepth, curve_depth, pair_depth
from monitor.dex.pool import PoolState, pool_from_positions
from monitor.dex.pool_curve import PoolCurve, PoolQuote, pool_curve
from monitor.dex.quoter import Quote, quote_exact_input_single, quote_exact_output_single
from monitor.dex.revert import RevertError
from monitor.dex.swap import (
    StopReason,
    SwapResult,
    apply_swap,
    default_sqrt_price_limit,
    swap,
    swap_exact_input,
    swap_exact_output,
)
from monitor.dex.tick_math import MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK

__all__ = [
    "DEFAULT_PCTS",
    "MAX_SQRT_RATIO",
    "MAX_TICK",
    "MIN_SQRT_RATIO",
    "MIN_TICK",
    "CurveQuote",
    "DepthCurve",
    "DepthLevels",
    "PairDepth",
    "PoolCurve",
    "PoolQuote",
    "PoolState",
    "Quote",
    "RevertError",
    "StopReason",
    "SwapResult",
    "aggregate",
    "apply_swap",
    "compose_route",
    "curve_depth",
    "default_sqrt_price_limit",
    "pair_depth",
    "pool_curve",
    "pool_from_positions",
    "quote_exact_input_single",
    "quote_exact_output_single",
    "split",
    "swap",
    "swap_exact_input",
    "swap_exact_output",
]
