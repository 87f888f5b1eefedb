"""512-bit ``mulDiv`` (FullMath) and ``divRoundingUp`` (UnsafeMath) of Uniswap v3, on Python integers.

Solidity needs a 512-bit product and a modular inverse to compute ``floor(a*b/d)`` without phantom overflow;
Python integers are unbounded, so the same results follow from plain integer arithmetic. What has to be
mirrored is where the contracts revert: a zero denominator, or a result that does not fit in 256 bits.
"""

from __future__ import annotations

from monitor.dex.constants import UINT256_MAX
from monitor.dex.revert import RevertError


def _check_uint256(name: str, value: int) -> None:
    if not 0 <= value <= UINT256_MAX:
        raise RevertError("uint256", f"{name}={value} is not a uint256")


def mul_div(a: int, b: int, denominator: int) -> int:
    """``floor(a*b/denominator)`` with full precision; reverts on a zero denominator or a 256-bit overflow."""
    _check_uint256("a", a)
    _check_uint256("b", b)
    _check_uint256("denominator", denominator)
    if denominator == 0:
        raise RevertError("mulDiv", "mulDiv by a zero denominator")
    result = (a * b) // denominator
    if result > UINT256_MAX:
        raise RevertError("mulDiv", "mulDiv result does not fit in 256 bits")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """``ceil(a*b/denominator)`` with full precision; reverts like :func:`mul_div` or if the +1 overflows."""
    result = mul_div(a, b, denominator)
    if (a * b) % denominator:
        # a remainder exists: round up, unless that would overflow uint256
        if result >= UINT256_MAX:
            raise RevertError("mulDivRoundingUp", "mulDivRoundingUp result does not fit in 256 bits")
        result += 1
    return result


def div_rounding_up(x: int, y: int) -> int:
    """``ceil(x/y)`` as UnsafeMath computes it: like the EVM, dividing by zero yields 0 (no revert)."""
    if y == 0:
        # EVM DIV and MOD by zero both return 0
        return 0
    quotient, remainder = divmod(x, y)
    return quotient + (1 if remainder else 0)
