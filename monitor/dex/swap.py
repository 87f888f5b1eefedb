"""Exact simulation of ``UniswapV3Pool.swap`` on a :class:`~monitor.dex.pool.PoolState`.

The loop is the pool's: step to the next initialized tick within one bitmap word (or the word's edge, or
the price limit), run ``computeSwapStep``, and on reaching a tick's price cross it (apply ``liquidityNet``,
negated when moving down) and set ``tick = tickNext - 1`` when moving down, ``tickNext`` when moving up;
otherwise recompute the tick from the price if it moved. Amounts, final sqrt price, tick and liquidity equal
the contract's bit for bit. Protocol fees and oracle writes do not change any of those and are left out.

Stretches with zero liquidity move the price without any amounts; the simulator jumps over whole empty
bitmap words at once there, which yields the same state as the pool's word-by-word steps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from monitor.dex.constants import INT256_MAX, INT256_MIN
from monitor.dex.liquidity_math import add_delta
from monitor.dex.pool import PoolState
from monitor.dex.revert import RevertError
from monitor.dex.swap_math import compute_swap_step
from monitor.dex.tick_bitmap import (
    count_initialized_ticks_crossed,
    next_initialized_tick,
    next_initialized_tick_within_one_word,
)
from monitor.dex.tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)
from monitor.errors import DataError


class StopReason(StrEnum):
    """Why a simulated swap stopped."""

    #: the whole specified amount was swapped
    FILLED = "filled"
    #: the caller's sqrt price limit was reached first
    PRICE_LIMIT = "price_limit"
    #: no limit was given and the price ran to the default limit: the pool's liquidity is used up
    NO_LIQUIDITY = "no_liquidity"
    #: the edge of the state's ``tick_window`` was reached: beyond it the ticks are unknown
    TICK_WINDOW = "tick_window"


@dataclass(frozen=True, slots=True)
class SwapResult:
    """Outcome of one simulated swap, with the pool state before and after it.

    ``amount_in`` is what the trader pays (fee included), ``amount_out`` what the trader receives.
    ``ticks_crossed`` is QuoterV2's ``initializedTicksCrossed``; ``crossings`` is the number of initialized
    ticks the loop actually crossed; ``steps`` the number of iterations of the pool's loop.
    """

    zero_for_one: bool
    amount_specified: int
    amount_in: int
    amount_out: int
    fee_amount: int
    sqrt_price_x96_before: int
    tick_before: int
    liquidity_before: int
    sqrt_price_x96_after: int
    tick_after: int
    liquidity_after: int
    ticks_crossed: int
    crossings: int
    steps: int
    stop: StopReason

    @property
    def exact_input(self) -> bool:
        """True for an exact-input swap (positive amount_specified)."""
        return self.amount_specified > 0

    @property
    def filled(self) -> bool:
        """True when the whole specified amount was swapped (no partial fill)."""
        return self.stop is StopReason.FILLED

    @property
    def amount0(self) -> int:
        """The pool's signed token0 delta as ``swap()`` returns it (positive: into the pool)."""
        return self.amount_in if self.zero_for_one else -self.amount_out

    @property
    def amount1(self) -> int:
        """The pool's signed token1 delta as ``swap()`` returns it (positive: into the pool)."""
        return -self.amount_out if self.zero_for_one else self.amount_in


def default_sqrt_price_limit(zero_for_one: bool) -> int:
    """The limit QuoterV2 passes when given 0: ``MIN_SQRT_RATIO + 1`` or ``MAX_SQRT_RATIO - 1``."""
    return MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1


def swap(
    state: PoolState, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int | None = None
) -> SwapResult:
    """Simulate ``pool.swap(zeroForOne, amountSpecified, sqrtPriceLimitX96)``.

    ``amount_specified`` > 0 is an exact input, < 0 an exact output (the pool's convention). A limit of
    ``None`` or 0 means the default QuoterV2 uses. Raises :class:`~monitor.dex.revert.RevertError` where
    the pool reverts: 'AS' for a zero amount, 'SPL' for a limit on the wrong side of the price.
    """
    if not INT256_MIN <= amount_specified <= INT256_MAX:
        raise RevertError("int256", f"amount_specified {amount_specified} is not an int256")
    if amount_specified == 0:
        raise RevertError("AS", "amount_specified must not be 0")
    user_limit = bool(sqrt_price_limit_x96)
    limit = sqrt_price_limit_x96 if sqrt_price_limit_x96 else default_sqrt_price_limit(zero_for_one)
    price = state.sqrt_price_x96
    valid = MIN_SQRT_RATIO < limit < price if zero_for_one else price < limit < MAX_SQRT_RATIO
    if not valid:
        side = "below" if zero_for_one else "above"
        raise RevertError("SPL", f"sqrt price limit {limit} must be {side} the price {price} and in range")
    return _simulate(state, zero_for_one, amount_specified, limit, user_limit, fast_forward=True)


def swap_exact_input(
    state: PoolState, zero_for_one: bool, amount_in: int, sqrt_price_limit_x96: int | None = None
) -> SwapResult:
    """Sell exactly ``amount_in`` (fee included).

    Unlike :func:`swap` this does not revert where nothing can trade: an amount of 0, or a price already at
    (or past) the limit, e.g. a pool drained by earlier sales, give an empty result.
    """
    if amount_in < 0:
        raise DataError(f"amount_in must be >= 0, got {amount_in}")
    if amount_in == 0:
        return _no_op(state, zero_for_one, 0, StopReason.FILLED)
    done = _already_at_limit(state, zero_for_one, amount_in, sqrt_price_limit_x96)
    return done or swap(state, zero_for_one, amount_in, sqrt_price_limit_x96)


def swap_exact_output(
    state: PoolState, zero_for_one: bool, amount_out: int, sqrt_price_limit_x96: int | None = None
) -> SwapResult:
    """Buy exactly ``amount_out``; like :func:`swap_exact_input`, empty results instead of 'AS'/'SPL' reverts."""
    if amount_out < 0:
        raise DataError(f"amount_out must be >= 0, got {amount_out}")
    if amount_out == 0:
        return _no_op(state, zero_for_one, 0, StopReason.FILLED)
    done = _already_at_limit(state, zero_for_one, -amount_out, sqrt_price_limit_x96)
    return done or swap(state, zero_for_one, -amount_out, sqrt_price_limit_x96)


def apply_swap(state: PoolState, result: SwapResult) -> PoolState:
    """The pool state after ``result``, which must have been simulated on ``state``."""
    if (state.sqrt_price_x96, state.tick, state.liquidity) != (
        result.sqrt_price_x96_before,
        result.tick_before,
        result.liquidity_before,
    ):
        raise DataError("apply_swap: the swap result was not simulated on this pool state")
    return dataclasses.replace(
        state,
        sqrt_price_x96=result.sqrt_price_x96_after,
        tick=result.tick_after,
        liquidity=result.liquidity_after,
    )


def _already_at_limit(
    state: PoolState, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int | None
) -> SwapResult | None:
    """An empty result if the price cannot move towards the limit (the pool would revert 'SPL')."""
    limit = sqrt_price_limit_x96 if sqrt_price_limit_x96 else default_sqrt_price_limit(zero_for_one)
    if not MIN_SQRT_RATIO < limit < MAX_SQRT_RATIO:
        return None  # out of range: let swap() raise
    if (limit < state.sqrt_price_x96) if zero_for_one else (limit > state.sqrt_price_x96):
        return None
    stop = StopReason.PRICE_LIMIT if sqrt_price_limit_x96 else StopReason.NO_LIQUIDITY
    return _no_op(state, zero_for_one, amount_specified, stop)


def _no_op(state: PoolState, zero_for_one: bool, amount_specified: int, stop: StopReason) -> SwapResult:
    return SwapResult(
        zero_for_one=zero_for_one,
        amount_specified=amount_specified,
        amount_in=0,
        amount_out=0,
        fee_amount=0,
        sqrt_price_x96_before=state.sqrt_price_x96,
        tick_before=state.tick,
        liquidity_before=state.liquidity,
        sqrt_price_x96_after=state.sqrt_price_x96,
        tick_after=state.tick,
        liquidity_after=state.liquidity,
        ticks_crossed=0,
        crossings=0,
        steps=0,
        stop=stop,
    )


def _window_limit(state: PoolState, zero_for_one: bool, limit: int) -> int | None:
    """The tick window's edge as a price limit, if it is tighter than ``limit``."""
    if state.tick_window is None:
        return None
    lo, hi = state.tick_window
    if zero_for_one:
        edge = get_sqrt_ratio_at_tick(lo)
        return edge if edge > limit else None
    edge = get_sqrt_ratio_at_tick(hi)
    return edge if edge < limit else None


def _skip_empty_words(state: PoolState, tick: int, zero_for_one: bool, limit: int) -> tuple[int, int]:
    """With zero liquidity: (number of whole-word steps the pool would take, tick boundary they end on).

    Those steps move the price to each word edge with no amounts and no crossings; skipping them leaves the
    same state. Only words strictly before the next initialized tick's word and not past the limit count.
    """
    span = 256 * state.tick_spacing
    compressed = tick // state.tick_spacing
    nearest = next_initialized_tick(state.tick_indices, tick, zero_for_one)
    limit_tick = get_tick_at_sqrt_ratio(limit)
    if zero_for_one:
        # word edges b = W*span for W = current word, current-1, ...; need ratio(b) >= limit
        first = compressed >> 8
        lowest_ok = limit_tick if get_sqrt_ratio_at_tick(limit_tick) == limit else limit_tick + 1
        last = max(-(-lowest_ok // span), -(-MIN_TICK // span))
        if nearest is not None:
            last = max(last, ((nearest // state.tick_spacing) >> 8) + 1)
        if last > first:
            return 0, tick
        return first - last + 1, last * span
    # word edges e = W*span + 255*spacing, W from the next compressed tick's word up; need e <= limit_tick
    first = (compressed + 1) >> 8
    last = min((limit_tick // state.tick_spacing - 255) // 256, (MAX_TICK // state.tick_spacing - 255) // 256)
    if nearest is not None:
        last = min(last, ((nearest // state.tick_spacing) >> 8) - 1)
    if last < first:
        return 0, tick
    return last - first + 1, last * span + 255 * state.tick_spacing


def _simulate(
    state: PoolState,
    zero_for_one: bool,
    amount_specified: int,
    limit: int,
    user_limit: bool,
    fast_forward: bool,
) -> SwapResult:
    window_limit = _window_limit(state, zero_for_one, limit)
    if window_limit is not None:
        if (window_limit >= state.sqrt_price_x96) if zero_for_one else (window_limit <= state.sqrt_price_x96):
            # already at the edge of the known ticks: nothing can be simulated
            return _no_op(state, zero_for_one, amount_specified, StopReason.TICK_WINDOW)
        limit = window_limit

    exact_input = amount_specified > 0
    remaining = amount_specified
    calculated = 0
    fee_total = 0
    sqrt_price = state.sqrt_price_x96
    tick = state.tick
    liquidity = state.liquidity
    crossings = 0
    steps = 0
    ticks = state.tick_indices

    while remaining != 0 and sqrt_price != limit:
        if fast_forward and liquidity == 0:
            skipped, boundary = _skip_empty_words(state, tick, zero_for_one, limit)
            if skipped:
                # the pool's steps over empty words: price to the last edge, tick just past it
                steps += skipped
                sqrt_price = get_sqrt_ratio_at_tick(boundary)
                tick = boundary - 1 if zero_for_one else boundary
                continue
        steps += 1
        start_price = sqrt_price
        tick_next, initialized = next_initialized_tick_within_one_word(ticks, tick, state.tick_spacing, zero_for_one)
        # the bitmap knows nothing of the tick range: clamp to it
        tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
        next_price = get_sqrt_ratio_at_tick(tick_next)
        # step towards the next tick, or the limit if that comes first
        beyond_limit = next_price < limit if zero_for_one else next_price > limit
        step = compute_swap_step(sqrt_price, limit if beyond_limit else next_price, liquidity, remaining, state.fee)
        sqrt_price = step.sqrt_ratio_next_x96
        spent = step.amount_in + step.fee_amount
        if spent > INT256_MAX:
            raise RevertError("toInt256", "step input does not fit in int256")
        if exact_input:
            # exact input: remaining input shrinks, output accumulates negatively
            remaining -= spent
            calculated -= step.amount_out
        else:
            # exact output: remaining (negative) output shrinks, input accumulates
            remaining += step.amount_out
            calculated += spent
        if not INT256_MIN <= calculated <= INT256_MAX:
            raise RevertError("int256", "swap amount overflows int256")
        fee_total += step.fee_amount

        if sqrt_price == next_price:
            # reached the next tick: cross it if initialized
            if initialized:
                net = state.liquidity_nets[tick_next]
                # moving down, liquidityNet applies with the opposite sign
                liquidity = add_delta(liquidity, -net if zero_for_one else net)
                crossings += 1
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_price != start_price:
            # moved inside the range: the tick follows the price
            tick = get_tick_at_sqrt_ratio(sqrt_price)

    if remaining == 0:
        stop = StopReason.FILLED
    elif window_limit is not None:
        stop = StopReason.TICK_WINDOW
    elif user_limit:
        stop = StopReason.PRICE_LIMIT
    else:
        stop = StopReason.NO_LIQUIDITY

    swapped = amount_specified - remaining
    return SwapResult(
        zero_for_one=zero_for_one,
        amount_specified=amount_specified,
        amount_in=swapped if exact_input else calculated,
        amount_out=-calculated if exact_input else -swapped,
        fee_amount=fee_total,
        sqrt_price_x96_before=state.sqrt_price_x96,
        tick_before=state.tick,
        liquidity_before=state.liquidity,
        sqrt_price_x96_after=sqrt_price,
        tick_after=tick,
        liquidity_after=liquidity,
        ticks_crossed=count_initialized_ticks_crossed(ticks, state.tick_spacing, state.tick, tick),
        crossings=crossings,
        steps=steps,
        stop=stop,
    )
