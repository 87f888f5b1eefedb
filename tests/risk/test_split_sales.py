"""Split sales across every venue of an asset: fee tiers, two-hop routes and an off-chain depth curve."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.commands.cascade_json import rounds_json
from monitor.dex import pool_curve, quote_exact_input_single
from monitor.errors import DataError
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import Limits, ModelParams, Projector, RiskMarket, SweepSpec, choose_venues, sweep
from monitor.risk.market import AssetParams, RiskClass
from monitor.risk.offchain import OffchainCurve
from monitor.risk.oracles import OracleModel
from monitor.risk.synthetic import ladder_pool
from monitor.risk.system import SystemProjector
from monitor.risk.venue_set import OFFCHAIN, SaleBook, VenueSet, gather_venues, pool_key
from tests.risk import markets as mk
from tests.risk import test_system as ts
from tests.risk.test_another_model import IsolatedMarkets

RM = risk_market(mk.market())
PROPS = settings(max_examples=25, deadline=None)


def pools(tvl_usd: float = 20e6, *, second_tier_usd: float = 0.0, wbtc_weth_usd: float = 0.0) -> list:  # type: ignore[type-arg]
    """Ladder pools of WETH and WBTC against USDC, optionally a second WETH/USDC fee tier and a WBTC/WETH pool."""
    out = [
        ladder_pool(mk.WETH, mk.USDC, 18, 6, 2000.0, tvl_usd, 3000),
        ladder_pool(mk.WBTC, mk.USDC, 8, 6, 30_000.0, tvl_usd, 3000),
    ]
    if second_tier_usd:
        out.append(ladder_pool(mk.WETH, mk.USDC, 18, 6, 2000.0, second_tier_usd, 500))
    if wbtc_weth_usd:
        out.append(ladder_pool(mk.WBTC, mk.WETH, 8, 18, 15.0, wbtc_weth_usd, 3000))
    return out


CURVE = OffchainCurve.from_levels({"0.01": 2e6, "0.02": 5e6, "0.05": 15e6, "0.10": 30e6})


# -- the off-chain curve ------------------------------------------------------------------------------------


def test_offchain_curve_is_linear_in_the_drop_and_its_token_maths_inverts() -> None:
    assert CURVE.usd_at(0.015) == pytest.approx(3.5e6)
    assert CURVE.usd_at(0.5) == 30e6  # past the deepest level the book is empty
    mid = 2000.0
    for drop in (0.003, 0.01, 0.04, 0.099):
        tokens = CURVE.tokens_at(drop, mid)
        assert CURVE.drop_at(tokens, mid) == pytest.approx(drop, rel=1e-12)
        # every token sells between the mid and the price reached: the average price lies in between
        average = CURVE.usd_at(drop) / tokens
        assert mid * (1 - drop) < average < mid
    assert CURVE.drop_at(CURVE.capacity_tokens(mid) * 2, mid) == 0.10


@pytest.mark.parametrize(
    ("levels", "problem"),
    [({"0.02": 1e6, "0.01": 2e6}, "not decrease"), ({"1.5": 1e6}, "(0, 1)"), ({"x": 1.0}, "drops to USD")],
)
def test_bad_offchain_curves_are_refused_naming_the_problem(levels: dict[str, float], problem: str) -> None:
    with pytest.raises(DataError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        OffchainCurve.from_levels(levels)


# -- one pool per asset: unchanged ---------------------------------------------------------------------------


#: The time model's options (monitor.risk.clock): none; a deviation band with heartbeats (the default one and
#: WETH's own); slower oracle updates and instant reaction with a per-block limit; gas in gas units.
TIME_OPTIONS = [
    {},
    {"oracle_deviation": 0.01, "oracle_heartbeat_seconds": 900.0,
     "oracles": {"WETH": OracleModel(deviation=0.03, heartbeat_seconds=1800.0)}},
    {"oracle_update_blocks": 3, "reaction_blocks": 0, "liquidations_per_block": 2, "max_rounds": 200},
    {"gas_per_liquidation": 300_000, "gas_price_gwei": 30.0, "horizon_seconds": 100.0},
]  # fmt: skip


@PROPS
@given(
    mk.accounts_strategy,
    st.floats(0.01, 0.8),
    st.sampled_from([20e6, 100e6]),
    st.sampled_from([0.5, 1.0]),
    st.sampled_from(TIME_OPTIONS),
)
def test_split_mode_with_one_pool_per_asset_equals_single_venues_bit_for_bit(
    accounts: list[tuple[int, float, int, float]], drop: float, tvl: float, share: float, time: dict[str, Any]
) -> None:
    """Also with the time options: every round's block and second, the heartbeat updates (only of oracles whose
    pool moved: an untouched pool a hair off its oracle price stays out) and the per-block limit are the same."""
    book = mk.build(accounts, RM)
    states = pools(tvl)
    params = ModelParams(dex_sell_share=share, **time)
    single = Projector(book, choose_venues(RM, states), params, model=mk.V30)
    sets = gather_venues(RM, states, split=True)
    assert all(isinstance(v, VenueSet) for v in sets.values())
    split = Projector(book, sets, params, model=mk.V30)
    address = dict(zip(RM.symbols, RM.assets, strict=True))
    for scenario in ({"WETH": -drop}, {"WBTC": -drop}, {"WBTC": -drop, "WETH": -drop / 2}):
        ours, today = split.project(scenario), single.project(scenario)
        # the only addition: each round's sales by venue, here all in the asset's one pool
        for r in ours.rounds:
            assert {address[s]: sum(v.values()) for s, v in r.sold_by_venue.items()} == dict(r.collateral_sold)
        plain = replace(ours, rounds=tuple(replace(r, sold_by_venue={}) for r in ours.rounds))
        assert asdict(plain) == asdict(today)


def test_without_split_or_offchain_the_venues_are_choose_venues() -> None:
    states = pools(second_tier_usd=5e6)
    assert gather_venues(RM, states) == choose_venues(RM, states)


# -- fee tiers ------------------------------------------------------------------------------------------------


def test_a_split_sale_over_two_fee_tiers_is_exact_per_leg_and_equalises_marginal_prices() -> None:
    states = pools(20e6, second_tier_usd=8e6)
    weth = gather_venues(RM, states, split=True)[mk.WETH]
    assert isinstance(weth, VenueSet) and len(weth.legs) == 2
    book = SaleBook.of([weth])
    before = dict(book.pools)
    amount = 3_000 * 10**18
    sale = weth.sell(book, amount)
    assert sale is not None and sale.amount == amount and sum(sale.legs.values()) == amount
    assert len(sale.legs) == 2 and min(sale.legs.values()) > amount // 10
    rates = []
    for leg in weth.legs:
        key = pool_key(leg.venue.pool)  # type: ignore[union-attr]
        part = sale.legs[leg.label]
        quote = quote_exact_input_single(before[key], leg.venue.asset_is_token0, part)  # type: ignore[union-attr]
        assert sale.proceeds[leg.label] == quote.amount  # each leg equals QuoterV2 for its amount
        assert book.pools[key].sqrt_price_x96 == quote.sqrt_price_x96_after
        rates.append(pool_curve(book.pools[key], leg.venue.asset_is_token0).curve.spot_rate)  # type: ignore[union-attr]
    # arbitrage: the marginal rates (fee included) end equal, to the last tick's rounding
    assert rates[0] == pytest.approx(rates[1], rel=2e-4)
    # the split moves the primary pool's price less than the whole amount sold into it alone
    primary = weth.primary
    assert primary is not None
    alone = primary.sell(before[pool_key(primary.pool)], amount)
    assert alone is not None
    assert weth.spot_price(book) > primary.spot_price(alone[0])


# -- routes ---------------------------------------------------------------------------------------------------


def test_a_route_leg_equals_the_two_hops_quoted_one_after_the_other() -> None:
    states = pools(20e6, wbtc_weth_usd=10e6)
    venues = gather_venues(RM, states, split=True)
    wbtc = venues[mk.WBTC]
    assert isinstance(wbtc, VenueSet)
    labels = [leg.label for leg in wbtc.legs]
    assert labels == ["WBTC/USDC 0.3%", "WBTC>WETH>USDC"]
    weth = venues[mk.WETH]
    assert isinstance(weth, VenueSet)
    book = SaleBook.of([wbtc, weth])
    before = dict(book.pools)
    weth_price = weth.spot_price(book)
    sale = wbtc.sell(book, 200 * 10**8)
    assert sale is not None and sale.legs["WBTC>WETH>USDC"] > 0
    route = wbtc.legs[1]
    hop1 = quote_exact_input_single(before[pool_key(route.first.pool)], route.first.asset_is_token0,  # type: ignore[union-attr]
                                    sale.legs["WBTC>WETH>USDC"])  # fmt: skip
    hop2 = quote_exact_input_single(before[pool_key(route.second.pool)], route.second.asset_is_token0, hop1.amount)  # type: ignore[union-attr]
    assert sale.proceeds["WBTC>WETH>USDC"] == hop2.amount
    # the route sold WETH into WETH's own pool: its price moved
    assert weth.spot_price(book) < weth_price


def test_a_route_moves_the_mid_assets_oracle_in_a_projection() -> None:
    accounts = [(2, 3_000_000.0, 1, 1.05)] * 4
    book = mk.build(accounts, RM)
    states = pools(20e6, wbtc_weth_usd=10e6)
    result = Projector(book, gather_venues(RM, states, split=True), model=mk.V30).project({"WBTC": -0.1})
    assert result.accounts_liquidated == 4
    assert result.final_prices_usd[mk.WETH] < 2000.0 * 0.999


# -- off-chain depth --------------------------------------------------------------------------------------------


def test_an_offchain_curve_reduces_the_price_drop_and_the_liquidations() -> None:
    book = mk.build(mk.population(400, 7), RM)
    states = pools(20e6)
    plain = Projector(book, choose_venues(RM, states), model=mk.V30).project({"WETH": -0.15})
    deep = OffchainCurve.from_levels({"0.01": 10e6, "0.02": 25e6, "0.05": 70e6, "0.10": 150e6})
    venues = gather_venues(RM, states, offchain={"WETH": deep})
    with_book = Projector(book, venues, model=mk.V30).project({"WETH": -0.15})
    assert plain.accounts_liquidated > 0
    assert with_book.shocked_prices_usd[mk.WETH] == plain.shocked_prices_usd[mk.WETH]
    assert with_book.final_prices_usd[mk.WETH] > plain.final_prices_usd[mk.WETH]
    assert with_book.accounts_liquidated < plain.accounts_liquidated
    # simulate --json: each round's split by venue, only where sales are split
    rows = rounds_json(with_book)
    assert any(row["sold_by_venue"]["WETH"].get(OFFCHAIN, 0.0) > 0 for row in rows)
    assert all("sold_by_venue" not in row for row in rounds_json(plain))


def test_offchain_proceeds_are_its_depth_walked_and_its_price_meets_the_pool() -> None:
    states = pools(20e6)
    weth = gather_venues(RM, states, offchain={"WETH": CURVE})[mk.WETH]
    assert isinstance(weth, VenueSet)
    book = SaleBook.of([weth])
    sale = weth.sell(book, 1_000 * 10**18)
    assert sale is not None and sale.legs[OFFCHAIN] > 0
    mid = book.offchain_mid[mk.WETH] / RM.price_unit
    sold = book.offchain_sold[mk.WETH]
    assert sold == pytest.approx(sale.legs[OFFCHAIN] / 1e18)
    assert sale.proceeds[OFFCHAIN] == pytest.approx(CURVE.usd_at(CURVE.drop_at(sold, mid)))
    offchain_price = mid * (1 - CURVE.drop_at(sold, mid))
    (leg,) = weth.legs
    pool_rate = pool_curve(book.pools[pool_key(leg.venue.pool)], leg.venue.asset_is_token0).curve  # type: ignore[union-attr]
    pool_price = pool_rate.spot_rate * 10 ** (18 - 6)
    assert offchain_price == pytest.approx(pool_price, rel=1e-6)
    assert math.isclose(sum(sale.legs.values()), 1_000 * 10**18)


# -- the system projection ----------------------------------------------------------------------------------------


def _split_pair(isolated: RiskMarket, offchain: dict[str, OffchainCurve] | None) -> SystemProjector:
    aave = ts._alone("aave", ts._aave_book(20, (1.03, 1.10)), mk.V30)
    iso = ts._alone("isolated", ts._isolated_book([1.14, 1.16, 1.18, 1.2, 2.0], isolated), IsolatedMarkets(),
                    "isolated")  # fmt: skip
    return SystemProjector.from_pools([aave, iso], pools(60e6, second_tier_usd=40e6), offchain=offchain, split=True)


def test_split_venues_in_the_system_projection_across_price_units() -> None:
    """Two markets share WETH's two fee tiers and an off-chain book; the second market in 1e18 price units sees
    the same venues rescaled (alone too); the off-chain book damps the system's cascade."""
    scaled = RiskMarket(
        [AssetParams(mk.WETH, "WETH", 18, 0, 0), AssetParams(mk.USDC, "USDC", 6, 0, 0)],
        {mk.WETH: 2000e18, mk.USDC: 1e18},
        1e18,
        [RiskClass("WETH/USDC", {mk.WETH: ts.LLTV}, {mk.WETH: ts.LIF})],
    )
    a = _split_pair(ts.ISOLATED, {"WETH": CURVE}).project({"WETH": -0.1})
    b = _split_pair(scaled, {"WETH": CURVE}).project({"WETH": -0.1})
    assert [m.accounts_liquidated for m in a.markets] == [m.accounts_liquidated for m in b.markets]
    for x, y in zip(a.markets, b.markets, strict=True):
        assert x.debt_repaid_usd == pytest.approx(y.debt_repaid_usd, rel=1e-9)
    assert b.alone[0].final_prices_usd[mk.WETH] == pytest.approx(a.alone[0].final_prices_usd[mk.WETH], rel=1e-9)
    sold = {label for r in a.system.rounds for parts in r.sold_by_venue.values() for label in parts}
    assert sold == {"WETH/USDC 0.3%", "WETH/USDC 0.05%", OFFCHAIN}
    none = _split_pair(ts.ISOLATED, None).project({"WETH": -0.1})
    assert a.system.accounts_liquidated < none.system.accounts_liquidated
    assert a.system.final_prices_usd[mk.WETH] > none.system.final_prices_usd[mk.WETH]


def test_an_asset_with_only_an_offchain_book_sells_what_the_book_takes() -> None:
    states = [ladder_pool(mk.WETH, mk.USDC, 18, 6, 2000.0, 20e6, 3000)]  # no WBTC pool at all
    wbtc = gather_venues(RM, states, offchain={"WBTC": CURVE})[mk.WBTC]
    assert isinstance(wbtc, VenueSet) and wbtc.primary is None and wbtc.legs == ()
    book = SaleBook.of([wbtc])
    assert wbtc.spot_price(book) == 30_000 * 10**8
    capacity = CURVE.capacity_tokens(30_000.0)
    sale = wbtc.sell(book, round(capacity * 2 * 1e8))  # twice what the book holds
    assert sale is not None and sale.legs[OFFCHAIN] == pytest.approx(capacity * 1e8, abs=1)
    assert sale.proceeds[OFFCHAIN] == pytest.approx(30e6)
    assert wbtc.spot_price(book) == pytest.approx(30_000 * 10**8 * 0.9, rel=1e-9)  # at the deepest level
    assert wbtc.sell(book, 10**8) is None  # the book is empty now


def test_the_sweep_runs_on_split_venues_and_an_offchain_book_raises_the_critical_shock() -> None:
    book = mk.build(mk.population(300, 11), RM)
    states = pools(20e6, second_tier_usd=5e6)
    spec = SweepSpec(drops=tuple(i / 20 for i in range(1, 18)))
    limits = Limits(amplification=1.05, bad_debt_usd=1e6)
    one = sweep(Projector(book, choose_venues(RM, states), model=mk.V30), ["WETH"], spec, limits)
    deep = OffchainCurve.from_levels({"0.01": 10e6, "0.02": 25e6, "0.05": 70e6, "0.10": 150e6})
    venues = gather_venues(RM, states, offchain={"WETH": deep})
    more = sweep(Projector(book, venues, model=mk.V30), ["WETH"], spec, limits)
    (a,), (b,) = one.assets, more.assets
    assert a.critical_shock is not None
    assert b.critical_shock is None or b.critical_shock > a.critical_shock
    assert all(x <= y + 1e-12 for x, y in zip(b.final_drop, a.final_drop, strict=True))
