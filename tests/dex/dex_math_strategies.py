"""Hypothesis strategies and builders of synthetic pools shared by the dex tests."""

from __future__ import annotations

from hypothesis import strategies as st

from monitor.dex.pool import PoolState, pool_from_positions
from monitor.dex.tick_math import MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick

TOKEN_A = "0x" + "11" * 20
TOKEN_B = "0x" + "22" * 20
TOKEN_C = "0x" + "33" * 20
#: (fee, tick spacing) of the factory's fee tiers
FEE_TIERS = ((100, 1), (500, 10), (3000, 60), (10000, 200))


def full_range(tick_spacing: int) -> tuple[int, int]:
    """The widest position a pool with this spacing accepts."""
    return -(MAX_TICK // tick_spacing) * tick_spacing, (MAX_TICK // tick_spacing) * tick_spacing


def make_pool(
    fee: int,
    tick_spacing: int,
    sqrt_price_x96: int,
    positions: list[tuple[int, int, int]],
    token0: str = TOKEN_A,
    token1: str = TOKEN_B,
    decimals: tuple[int, int] = (18, 18),
) -> PoolState:
    """A pool with the given positions (lower, upper, liquidity)."""
    return pool_from_positions(token0, token1, *decimals, fee, tick_spacing, sqrt_price_x96, positions)


@st.composite
def sqrt_prices_near(draw: st.DrawFn, tick: int) -> int:
    """A sqrt price inside tick ``tick`` (at its lower edge or anywhere up to the next tick)."""
    low = get_sqrt_ratio_at_tick(tick)
    high = get_sqrt_ratio_at_tick(tick + 1)
    return low + draw(st.integers(0, high - low - 1))


@st.composite
def pools(
    draw: st.DrawFn,
    tiers: tuple[tuple[int, int], ...] = FEE_TIERS,
    center: int | None = None,
    max_positions: int = 6,
    min_positions: int = 1,
) -> PoolState:
    """A pool near ``center`` (random if None) with a few concentrated positions and maybe a full-range one."""
    fee, spacing = draw(st.sampled_from(tiers))
    mid = draw(st.integers(-200_000, 200_000)) if center is None else center
    price_tick = mid + draw(st.integers(-3 * spacing, 3 * spacing))
    price = draw(sqrt_prices_near(price_tick))
    positions = []
    for _ in range(draw(st.integers(min_positions, max_positions))):
        lower = (mid // spacing + draw(st.integers(-400, 300))) * spacing
        width = draw(st.integers(1, 400)) * spacing
        upper = min(lower + width, (MAX_TICK // spacing) * spacing)
        lower = max(lower, -(MAX_TICK // spacing) * spacing)
        if lower >= upper:
            continue
        positions.append((lower, upper, draw(st.integers(10**8, 10**24))))
    if draw(st.booleans()):
        positions.append((*full_range(spacing), draw(st.integers(10**6, 10**22))))
    assert MIN_TICK <= price_tick <= MAX_TICK
    return make_pool(fee, spacing, price, positions)


def amounts(low: int = 1, high: int = 10**26) -> st.SearchStrategy[int]:
    """Raw token amounts spread over many orders of magnitude."""
    return st.integers(0, 26).flatmap(lambda e: st.integers(max(low, 10**e), max(low, min(high, 10 ** (e + 1)))))
