"""TickMath of Uniswap v3: sqrt prices (Q64.96) from ticks and back, bit for bit.

A tick ``t`` stands for the price ``1.0001**t`` (token1 per token0, raw units); its sqrt price is
``sqrt(1.0001**t) * 2**96`` rounded the way the contract rounds. :func:`get_sqrt_ratio_at_tick` multiplies
Q128.128 factors ``sqrt(1.0001)**(-2**i)`` for the set bits of ``|tick|``, inverts for positive ticks and
rounds up from Q128.128 to Q64.96. The factors are derived here from their definition (each is the nearest
integer to ``2**128 / sqrt(1.0001)**(2**i)``); the test suite checks them against the contract's outputs.

:func:`get_tick_at_sqrt_ratio` returns the greatest tick whose sqrt price is ``<=`` the input, which is the
contract's specification; it is computed from a float estimate corrected with exact comparisons.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

from monitor.dex.constants import UINT256_MAX
from monitor.dex.revert import RevertError

MIN_TICK = -887272
MAX_TICK = 887272
#: get_sqrt_ratio_at_tick(MIN_TICK)
MIN_SQRT_RATIO = 4295128739
#: get_sqrt_ratio_at_tick(MAX_TICK)
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

_Q128 = 1 << 128
_LOG_SQRT_1_0001 = math.log(1.0001) / 2
_LOG_Q96 = 96 * math.log(2)


def _derive_factors() -> tuple[int, ...]:
    """The 20 Q128.128 factors ``round(2**128 * 1.0001**(-2**i / 2))``, i = 0..19 (|tick| < 2**20)."""
    with localcontext() as ctx:
        ctx.prec = 100
        inv_sqrt_base = 1 / Decimal("1.0001").sqrt()
        factors = []
        for i in range(20):
            value = Decimal(_Q128) * inv_sqrt_base ** (1 << i)
            factors.append(int(value + Decimal("0.5")))
    return tuple(factors)


_FACTORS = _derive_factors()


def get_sqrt_ratio_at_tick(tick: int) -> int:
    """``sqrt(1.0001**tick) * 2**96`` as the contract computes it; reverts 'T' if ``|tick| > MAX_TICK``."""
    abs_tick = -tick if tick < 0 else tick
    if abs_tick > MAX_TICK:
        raise RevertError("T", f"tick {tick} is outside [{MIN_TICK}, {MAX_TICK}]")

    # Q128.128 product of the factors for the set bits of |tick|; bit 0 seeds the product
    ratio = _FACTORS[0] if abs_tick & 1 else _Q128
    bit = 1
    while (1 << bit) <= abs_tick:
        if abs_tick & (1 << bit):
            ratio = (ratio * _FACTORS[bit]) >> 128
        bit += 1

    # the factors are < 1, i.e. the product is the price for -|tick|: invert for positive ticks
    if tick > 0:
        ratio = UINT256_MAX // ratio

    # Q128.128 -> Q64.96, rounding up so that get_tick_at_sqrt_ratio of the result is the tick again
    return (ratio >> 32) + (1 if ratio & 0xFFFFFFFF else 0)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """Greatest tick with ``get_sqrt_ratio_at_tick(tick) <= sqrt_price_x96``; reverts 'R' out of range."""
    if not MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO:
        raise RevertError("R", f"sqrt price {sqrt_price_x96} is outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
    # float estimate (off by far less than one tick), then exact correction in both directions
    estimate = math.floor((math.log(sqrt_price_x96) - _LOG_Q96) / _LOG_SQRT_1_0001)
    tick = min(max(estimate, MIN_TICK), MAX_TICK - 1)
    while tick > MIN_TICK and get_sqrt_ratio_at_tick(tick) > sqrt_price_x96:
        tick -= 1
    while tick < MAX_TICK - 1 and get_sqrt_ratio_at_tick(tick + 1) <= sqrt_price_x96:
        tick += 1
    return tick
