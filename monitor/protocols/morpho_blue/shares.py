"""Morpho Blue's integer arithmetic (MathLib) and shares <-> assets conversion (SharesMathLib), exactly.

Shares are converted with a virtual offset (1e6 virtual shares, 1 virtual asset) so that an empty market has a
well-defined share price and inflation attacks are costly. Every function floors or ceils as the contract does.
"""

from __future__ import annotations

from monitor.errors import DataError

WAD = 10**18
VIRTUAL_SHARES = 10**6
VIRTUAL_ASSETS = 1


def _non_negative(**values: int) -> None:
    for name, v in values.items():
        if v < 0:
            raise DataError(f"{name} must be >= 0, got {v}")


def mul_div_down(x: int, y: int, d: int) -> int:
    """floor(x * y / d)."""
    if d <= 0:
        raise DataError(f"division by {d}")
    _non_negative(x=x, y=y)
    return x * y // d


def mul_div_up(x: int, y: int, d: int) -> int:
    """ceil(x * y / d), as ``(x * y + (d - 1)) / d``."""
    if d <= 0:
        raise DataError(f"division by {d}")
    _non_negative(x=x, y=y)
    return (x * y + d - 1) // d


def w_mul_down(x: int, y: int) -> int:
    """floor(x * y / 1e18)."""
    return mul_div_down(x, y, WAD)


def w_div_down(x: int, y: int) -> int:
    """floor(x * 1e18 / y)."""
    return mul_div_down(x, WAD, y)


def w_div_up(x: int, y: int) -> int:
    """ceil(x * 1e18 / y)."""
    return mul_div_up(x, WAD, y)


def to_shares_down(assets: int, total_assets: int, total_shares: int) -> int:
    """Shares worth ``assets``, rounded down."""
    return mul_div_down(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_shares_up(assets: int, total_assets: int, total_shares: int) -> int:
    """Shares worth ``assets``, rounded up."""
    return mul_div_up(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_assets_down(shares: int, total_assets: int, total_shares: int) -> int:
    """Assets worth ``shares``, rounded down."""
    return mul_div_down(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    """Assets worth ``shares``, rounded up (what a borrower owes)."""
    return mul_div_up(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)
