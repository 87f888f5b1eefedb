"""SqrtPriceMath of Uniswap v3: next sqrt price from an amount, and amount deltas between two sqrt prices.

All values are Python integers standing for the Solidity types in the signatures (uint160 sqrt prices in
Q64.96, uint128 liquidity, uint256 amounts). Results equal the contract's bit for bit, including which
formula is used when an intermediate product would overflow 256 bits, and the cases where it reverts
(:class:`~monitor.dex.revert.RevertError`).
"""

from __future__ import annotations

from monitor.dex.constants import (
    INT128_MAX,
    INT128_MIN,
    INT256_MAX,
    Q96,
    RESOLUTION,
    UINT160_MAX,
    UINT256_MAX,
)
from monitor.dex.full_math import div_rounding_up, mul_div, mul_div_rounding_up
from monitor.dex.revert import RevertError


def _check(name: str, value: int, bits: int) -> None:
    if not 0 <= value < (1 << bits):
        raise RevertError(f"uint{bits}", f"{name}={value} is not a uint{bits}")


def _to_uint160(value: int) -> int:
    # SafeCast.toUint160
    if value > UINT160_MAX:
        raise RevertError("toUint160", f"{value} does not fit in uint160")
    return value


def get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96: int, liquidity: int, amount: int, add: bool) -> int:
    """Sqrt price after adding (``add``) or removing ``amount`` of token0 to/from the reserves; rounds up."""
    _check("sqrt_price_x96", sqrt_price_x96, 160)
    _check("liquidity", liquidity, 128)
    _check("amount", amount, 256)
    # zero amount: the formula would not be guaranteed to return the input price
    if amount == 0:
        return sqrt_price_x96
    numerator1 = liquidity << RESOLUTION
    product = amount * sqrt_price_x96
    if add:
        # precise form L*P / (L + amount*P), usable when neither the product nor the sum overflows uint256
        if product <= UINT256_MAX:
            denominator = numerator1 + product
            if denominator <= UINT256_MAX:
                # the result is <= sqrt_price_x96; the contract's uint160() cast is a no-op
                return mul_div_rounding_up(numerator1, sqrt_price_x96, denominator) & UINT160_MAX
        # overflow fallback: L / (L/P + amount), with a checked addition
        divisor = numerator1 // sqrt_price_x96 + amount
        if divisor > UINT256_MAX:
            raise RevertError("add", "L/P + amount overflows uint256")
        return div_rounding_up(numerator1, divisor) & UINT160_MAX
    # removing token0: the product must not overflow and must stay below L (else the price would be infinite)
    if product > UINT256_MAX or numerator1 <= product:
        raise RevertError("amount0", f"cannot remove {amount} token0: not enough virtual reserves")
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_price_x96, numerator1 - product))


def get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96: int, liquidity: int, amount: int, add: bool) -> int:
    """Sqrt price after adding (``add``) or removing ``amount`` of token1 to/from reserves; rounds down."""
    _check("sqrt_price_x96", sqrt_price_x96, 160)
    _check("liquidity", liquidity, 128)
    _check("amount", amount, 256)
    if add:
        # quotient rounded down: the price moves up by at most amount/L
        if liquidity == 0:
            raise RevertError("div0", "division by zero liquidity")
        quotient = (amount << RESOLUTION) // liquidity if amount <= UINT160_MAX else mul_div(amount, Q96, liquidity)
        new_price = sqrt_price_x96 + quotient
        if new_price > UINT256_MAX:
            raise RevertError("add", "sqrt price + quotient overflows uint256")
        return _to_uint160(new_price)
    # quotient rounded up: the price moves down by at least amount/L (UnsafeMath: x/0 is 0, mulDiv reverts)
    if amount <= UINT160_MAX:
        quotient = div_rounding_up(amount << RESOLUTION, liquidity)
    else:
        quotient = mul_div_rounding_up(amount, Q96, liquidity)
    if sqrt_price_x96 <= quotient:
        raise RevertError("amount1", f"cannot remove {amount} token1: not enough virtual reserves")
    return sqrt_price_x96 - quotient


def get_next_sqrt_price_from_input(sqrt_price_x96: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    """Sqrt price after ``amount_in`` (fee already deducted) comes in; rounds so as not to overshoot."""
    if sqrt_price_x96 == 0 or liquidity == 0:
        raise RevertError("input", "sqrt price and liquidity must be positive")
    if zero_for_one:
        # token0 in: price goes down
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_in, True)
    # token1 in: price goes up
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(sqrt_price_x96: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    """Sqrt price after taking ``amount_out`` out; rounds so as to reach at least the amount."""
    if sqrt_price_x96 == 0 or liquidity == 0:
        raise RevertError("output", "sqrt price and liquidity must be positive")
    if zero_for_one:
        # token1 out: price goes down
        return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_out, False)
    # token0 out: price goes up
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_out, False)


def get_amount0_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two sqrt prices for ``liquidity``: ``L * (1/sqrt_lower - 1/sqrt_upper)``."""
    _check("sqrt_ratio_a_x96", sqrt_ratio_a_x96, 160)
    _check("sqrt_ratio_b_x96", sqrt_ratio_b_x96, 160)
    _check("liquidity", liquidity, 128)
    lower, upper = sorted((sqrt_ratio_a_x96, sqrt_ratio_b_x96))
    if lower == 0:
        raise RevertError("amount0", "sqrt price must be positive")
    numerator1 = liquidity << RESOLUTION
    numerator2 = upper - lower
    if round_up:
        # both divisions rounded up
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, upper), lower)
    return mul_div(numerator1, numerator2, upper) // lower


def get_amount1_delta(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two sqrt prices for ``liquidity``: ``L * (sqrt_upper - sqrt_lower)``."""
    _check("sqrt_ratio_a_x96", sqrt_ratio_a_x96, 160)
    _check("sqrt_ratio_b_x96", sqrt_ratio_b_x96, 160)
    _check("liquidity", liquidity, 128)
    lower, upper = sorted((sqrt_ratio_a_x96, sqrt_ratio_b_x96))
    if round_up:
        return mul_div_rounding_up(liquidity, upper - lower, Q96)
    return mul_div(liquidity, upper - lower, Q96)


def _to_int256(value: int) -> int:
    # SafeCast.toInt256
    if value > INT256_MAX:
        raise RevertError("toInt256", f"{value} does not fit in int256")
    return value


def _check_int128(liquidity: int) -> None:
    if not INT128_MIN <= liquidity <= INT128_MAX:
        raise RevertError("int128", f"liquidity delta {liquidity} is not an int128")


def get_amount0_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int) -> int:
    """Signed token0 delta of a liquidity change: rounded up when adding, down (negated) when removing."""
    _check_int128(liquidity)
    if liquidity < 0:
        return -_to_int256(get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity, False))
    return _to_int256(get_amount0_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity, True))


def get_amount1_delta_signed(sqrt_ratio_a_x96: int, sqrt_ratio_b_x96: int, liquidity: int) -> int:
    """Signed token1 delta of a liquidity change: rounded up when adding, down (negated) when removing."""
    _check_int128(liquidity)
    if liquidity < 0:
        return -_to_int256(get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, -liquidity, False))
    return _to_int256(get_amount1_delta(sqrt_ratio_a_x96, sqrt_ratio_b_x96, liquidity, True))
