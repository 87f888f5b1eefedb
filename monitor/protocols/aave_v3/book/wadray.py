"""Aave's fixed-point arithmetic on exact Python integers (WadRayMath and PercentageMath semantics).

Every operation rounds half up, as the protocol's assembly does: ``(a * b + half) // unit``. The functions
accept any non-negative ints; the protocol's overflow reverts are not reproduced (values in a lending market are
far from 2**256).
"""

from __future__ import annotations

WAD = 10**18
HALF_WAD = WAD // 2
RAY = 10**27
HALF_RAY = RAY // 2
PERCENTAGE_FACTOR = 10_000
HALF_PERCENTAGE_FACTOR = PERCENTAGE_FACTOR // 2
UINT256_MAX = 2**256 - 1
#: ``getUserAccountData`` health factor at which liquidation is allowed (strictly below).
HEALTH_FACTOR_LIQUIDATION_THRESHOLD = WAD
#: Below this health factor the close factor is 100% (v3.0: 0.95).
CLOSE_FACTOR_HF_THRESHOLD = 95 * 10**16
#: Base currency (USD on the usual markets) has 8 decimals.
BASE_CURRENCY_UNIT = 10**8


def ray_mul(a: int, b: int) -> int:
    """``a * b / RAY`` rounded half up."""
    return (a * b + HALF_RAY) // RAY


def ray_div(a: int, b: int) -> int:
    """``a * RAY / b`` rounded half up."""
    return (a * RAY + b // 2) // b


def wad_mul(a: int, b: int) -> int:
    """``a * b / WAD`` rounded half up."""
    return (a * b + HALF_WAD) // WAD


def wad_div(a: int, b: int) -> int:
    """``a * WAD / b`` rounded half up."""
    return (a * WAD + b // 2) // b


def percent_mul(value: int, percentage: int) -> int:
    """``value * percentage / 1e4`` rounded half up (percentage in basis points)."""
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def percent_div(value: int, percentage: int) -> int:
    """``value * 1e4 / percentage`` rounded half up."""
    return (value * PERCENTAGE_FACTOR + percentage // 2) // percentage
