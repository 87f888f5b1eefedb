"""SwapMath.computeSwapStep of Uniswap v3: one swap step inside a range of constant liquidity."""

from __future__ import annotations

from typing import NamedTuple

from monitor.dex.constants import FEE_DENOMINATOR, INT256_MAX, INT256_MIN
from monitor.dex.full_math import mul_div, mul_div_rounding_up
from monitor.dex.revert import RevertError
from monitor.dex.sqrt_price_math import (
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
)


class SwapStep(NamedTuple):
    """Result of :func:`compute_swap_step` (the four return values of the Solidity function)."""

    sqrt_ratio_next_x96: int
    amount_in: int
    amount_out: int
    fee_amount: int


def compute_swap_step(
    sqrt_ratio_current_x96: int,
    sqrt_ratio_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> SwapStep:
    """Swap from the current towards the target sqrt price with constant ``liquidity``.

    ``amount_remaining`` > 0 is an exact input still to spend (fee included), < 0 an exact output still to
    receive. The direction follows from the two prices. ``fee_pips`` is in hundredths of a bip.
    """
    if not INT256_MIN <= amount_remaining <= INT256_MAX:
        raise RevertError("int256", f"amount_remaining {amount_remaining} is not an int256")
    if not 0 <= fee_pips < FEE_DENOMINATOR:
        raise RevertError("fee", f"fee {fee_pips} must be in [0, 1e6)")
    zero_for_one = sqrt_ratio_current_x96 >= sqrt_ratio_target_x96
    exact_in = amount_remaining >= 0

    amount_in = 0
    amount_out = 0
    if exact_in:
        # exact input: the fee comes off the remaining amount first
        remaining_less_fee = mul_div(amount_remaining, FEE_DENOMINATOR - fee_pips, FEE_DENOMINATOR)
        if zero_for_one:
            amount_in = get_amount0_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, True)
        else:
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, True)
        if remaining_less_fee >= amount_in:
            # enough to reach the target
            sqrt_ratio_next = sqrt_ratio_target_x96
        else:
            # the input runs out before the target
            sqrt_ratio_next = get_next_sqrt_price_from_input(
                sqrt_ratio_current_x96, liquidity, remaining_less_fee, zero_for_one
            )
    else:
        # exact output: how much can come out before the target
        if zero_for_one:
            amount_out = get_amount1_delta(sqrt_ratio_target_x96, sqrt_ratio_current_x96, liquidity, False)
        else:
            amount_out = get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_target_x96, liquidity, False)
        if -amount_remaining >= amount_out:
            # the whole range is wanted: go to the target
            sqrt_ratio_next = sqrt_ratio_target_x96
        else:
            # the wanted output is reached before the target
            sqrt_ratio_next = get_next_sqrt_price_from_output(
                sqrt_ratio_current_x96, liquidity, -amount_remaining, zero_for_one
            )

    reached_target = sqrt_ratio_target_x96 == sqrt_ratio_next

    # amounts for the distance actually travelled (reuse the ones computed for the target when it was reached)
    if zero_for_one:
        if not (reached_target and exact_in):
            amount_in = get_amount0_delta(sqrt_ratio_next, sqrt_ratio_current_x96, liquidity, True)
        if not (reached_target and not exact_in):
            amount_out = get_amount1_delta(sqrt_ratio_next, sqrt_ratio_current_x96, liquidity, False)
    else:
        if not (reached_target and exact_in):
            amount_in = get_amount1_delta(sqrt_ratio_current_x96, sqrt_ratio_next, liquidity, True)
        if not (reached_target and not exact_in):
            amount_out = get_amount0_delta(sqrt_ratio_current_x96, sqrt_ratio_next, liquidity, False)

    # exact output: never hand out more than asked for
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining

    if exact_in and sqrt_ratio_next != sqrt_ratio_target_x96:
        # exact input stopped short of the target: everything not swapped is the fee
        fee_amount = amount_remaining - amount_in
    else:
        # fee on top of the net input, rounded up
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, FEE_DENOMINATOR - fee_pips)
    return SwapStep(sqrt_ratio_next, amount_in, amount_out, fee_amount)
