"""Venues (shock sale to the target price, exact sales, oracle price from the pool), the choice of pools, and
the engine's inputs (books, scenarios, asset names)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.dex import swap_exact_input
from monitor.errors import DataError
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import CascadeBook, Projector, Scenario, Venue, choose_venues
from monitor.risk.synthetic import ladder_pool
from tests.risk import markets as mk

RM = risk_market(mk.market())


def _pool_spot_price(pool, asset: str) -> int:  # type: ignore[no-untyped-def]
    """The devnet's formula (quote at $1), written out independently."""
    sq = pool.sqrt_price_x96**2
    if pool.token0 == asset:
        return int(sq * 10**pool.decimals0 * 10**8 // (2**192 * 10**pool.decimals1))
    return int(2**192 * 10**pool.decimals1 * 10**8 // (sq * 10**pool.decimals0))


@pytest.mark.parametrize("asset", [mk.WETH, mk.WBTC])  # token1 and token0 of their pools
@pytest.mark.parametrize("change", [-0.01, -0.2, -0.9, 0.3])
def test_a_shock_moves_the_pool_exactly_to_its_target(asset: str, change: float) -> None:
    v = mk.venues(RM, 30e6)[asset]
    before = v.spot_price(v.pool)
    after = v.shocked(v.pool, change)
    limit = v.shock_limit(v.pool, change)
    assert after.sqrt_price_x96 == limit
    factor = math.sqrt(1 + change)
    expected = int(v.pool.sqrt_price_x96 * factor) if v.asset_is_token0 else int(v.pool.sqrt_price_x96 / factor)
    assert limit == expected  # the devnet crash's target_sqrt_price
    assert v.spot_price(after) == _pool_spot_price(after, asset)
    assert v.spot_price(after) / before == pytest.approx(1 + change, rel=1e-6)


def test_a_sale_is_the_exact_swap_and_lowers_the_price() -> None:
    v = mk.venues(RM, 30e6)[mk.WETH]
    amount = 1000 * 10**18
    state, res = v.sell(v.pool, amount)  # type: ignore[misc]
    ref = swap_exact_input(v.pool, v.asset_is_token0, amount)
    assert (res.amount_out, state.sqrt_price_x96, state.tick, state.liquidity) == (
        ref.amount_out, ref.sqrt_price_x96_after, ref.tick_after, ref.liquidity_after
    )  # fmt: skip
    assert v.spot_price(state) < v.spot_price(v.pool)
    assert v.sell(v.pool, 0) is None


def test_an_empty_pool_sells_nothing() -> None:
    v = mk.venues(RM, weth_pool="empty")[mk.WETH]
    assert v.sell(v.pool, 10**18) is None
    assert v.shocked(v.pool, -0.5).sqrt_price_x96 == v.shock_limit(v.pool, -0.5)


def test_choose_venues_takes_the_deepest_pool_against_the_quote() -> None:
    shallow = ladder_pool(mk.WETH, mk.USDC, 18, 6, 2000.0, 5e6, 500)
    deep = ladder_pool(mk.WETH, mk.USDC, 18, 6, 2000.0, 50e6, 3000)
    wbtc = ladder_pool(mk.WBTC, mk.USDC, 8, 6, 30_000.0, 10e6, 3000)
    other = ladder_pool(mk.WBTC, mk.WETH, 8, 18, 15.0, 500e6, 3000)  # deeper, but not against the quote
    got = choose_venues(RM, {"a": shallow, "b": deep, "c": wbtc, "d": other})
    assert set(got) == {mk.WETH, mk.WBTC}  # the quote (in most pools) gets no venue
    assert got[mk.WETH].pool is deep and got[mk.WETH].quote == mk.USDC
    assert got[mk.WBTC].pool is wbtc and got[mk.WBTC].quote_price == 10**8
    assert choose_venues(RM, {"d": other}, quote="WETH")[mk.WBTC].pool is other


def test_a_venue_must_pair_its_asset() -> None:
    pool = ladder_pool(mk.WETH, mk.USDC, 18, 6, 2000.0, 5e6, 500)
    with pytest.raises(DataError):
        Venue(mk.WBTC, mk.USDC, pool, 10**8)


def test_assets_by_symbol_or_address() -> None:
    assert RM.resolve("weth") == mk.WETH and RM.resolve(mk.WBTC.upper().replace("0X", "0x")) == mk.WBTC
    with pytest.raises(DataError, match="unknown asset 'FOO'"):
        RM.resolve("FOO")
    book = mk.build([(0, 10_000.0, 1, 1.05)], RM)
    with pytest.raises(DataError, match="twice"):
        Projector(book, model=mk.V30).project({"WETH": -0.1, mk.WETH: -0.2})


@pytest.mark.parametrize("shock", [-1.0, -1.5, math.nan, math.inf, 11.0])
def test_bad_shocks_are_data_errors(shock: float) -> None:
    with pytest.raises(DataError):
        Scenario({"WETH": shock})
    with pytest.raises(DataError):
        Scenario({})


def test_book_shapes_are_checked() -> None:
    with pytest.raises(DataError, match="assets=3, accounts=2"):
        CascadeBook.from_arrays(RM, np.zeros((2, 3)), np.zeros((2, 3)), [0, 0])
    with pytest.raises(DataError, match="non-negative"):
        CascadeBook.from_arrays(RM, -np.ones((3, 1)), np.zeros((3, 1)))
    with pytest.raises(DataError, match=r"risk classes \[4\]"):
        CascadeBook.from_arrays(RM, np.zeros((3, 1)), np.zeros((3, 1)), [4])


def test_a_shock_without_a_pool_moves_the_oracle_itself() -> None:
    book = mk.build([(0, 10_000.0, 1, 1.5)], RM)
    r = Projector(book, mk.venues(RM), model=mk.V30).project({"USDC": -0.1})
    assert r.shocked_prices_usd[mk.USDC] == pytest.approx(0.9)
    assert r.final_prices_usd[mk.USDC] == pytest.approx(0.9)
    assert r.rounds == ()  # cheaper debt: nobody becomes liquidatable


def test_an_empty_book_and_a_single_account() -> None:
    empty = CascadeBook.from_arrays(RM, np.zeros((3, 0)), np.zeros((3, 0)))
    r = Projector(empty, mk.venues(RM), model=mk.V30).project({"WETH": -0.3})
    assert r.rounds == () and r.converged and r.final_prices_usd[mk.WETH] == pytest.approx(1400.0)
    one = mk.build([(0, 1_000_000.0, 1, 1.01)], RM)
    r = Projector(one, mk.venues(RM), model=mk.V30).project({"WETH": -0.3})
    assert r.accounts_liquidated == 1 and r.bad_debt_accounts == 1 and r.toxic_after_shock.accounts == 1
