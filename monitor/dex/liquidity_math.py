"""LiquidityMath of Uniswap v3: add a signed int128 delta to a uint128 liquidity (revert on overflow)."""

from __future__ import annotations

from monitor.dex.constants import INT128_MAX, INT128_MIN, UINT128_MAX
from monitor.dex.revert import RevertError


def add_delta(x: int, y: int) -> int:
    """Return ``x + y`` for liquidity ``x`` (uint128) and delta ``y`` (int128); reverts 'LS' / 'LA'."""
    if not 0 <= x <= UINT128_MAX:
        raise RevertError("uint128", f"liquidity {x} is not a uint128")
    if not INT128_MIN <= y <= INT128_MAX:
        raise RevertError("int128", f"liquidity delta {y} is not an int128")
    if y < 0:
        # removing liquidity: must not go below zero
        if -y > x:
            raise RevertError("LS", f"liquidity {x} minus {-y} underflows")
        return x + y
    # adding liquidity: must stay within uint128
    if x + y > UINT128_MAX:
        raise RevertError("LA", f"liquidity {x} plus {y} overflows uint128")
    return x + y
