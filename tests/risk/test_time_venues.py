"""Time (monitor.risk.clock) and split venues (monitor.risk.venue_set) together: heartbeat updates of oracles
read from a venue set's primary pool or off-chain book, a route that moves another asset's pool, per-block limits
and dust. (That one pool per asset with split on keeps the time fields: the property in test_split_sales.py.)"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import CascadeResult, ModelParams, Projector, choose_venues
from monitor.risk.offchain import OffchainCurve
from monitor.risk.oracles import OracleModel
from monitor.risk.synthetic import ladder_pool
from monitor.risk.venue_set import SaleBook, VenueSet, gather_venues
from tests.risk import markets as mk
from tests.risk.test_split_sales import pools

RM = risk_market(mk.market())
ADDRESS = dict(zip(RM.symbols, RM.assets, strict=True))


def _consistent(r: CascadeResult, block_time_seconds: float = 12.0) -> None:
    """Every round has a block and its second, later than the round before, and its sales by venue add up to
    what it sold."""
    assert all(b.block > a.block for a, b in itertools.pairwise(r.rounds))
    for x in r.rounds:
        assert x.seconds == x.block * block_time_seconds
        assert x.sold_by_venue, "split venues: every round says where its sales went"
        by_asset = {ADDRESS[s]: sum(parts.values()) for s, parts in x.sold_by_venue.items()}
        assert by_asset.keys() == x.collateral_sold.keys()
        for asset, tokens in by_asset.items():
            assert tokens == pytest.approx(x.collateral_sold[asset], rel=1e-12)
    if r.rounds:
        assert (r.duration_blocks, r.duration_seconds) == (r.rounds[-1].block, r.rounds[-1].seconds)


@pytest.fixture
def weth_sales(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The raw amounts each projection sells of WETH through its venue set, in order (a spy: the sale runs)."""
    amounts: list[int] = []
    sell = VenueSet.sell

    def spy(self: VenueSet, book: SaleBook, amount: int):  # type: ignore[no-untyped-def]
        if self.asset == mk.WETH:
            amounts.append(amount)
        return sell(self, book, amount)

    monkeypatch.setattr(VenueSet, "sell", spy)
    yield amounts


def test_a_split_market_move_inside_the_band_waits_for_the_heartbeat_at_the_primary_pools_price(
    weth_sales: list[int],
) -> None:
    # two WETH fee tiers; WETH's oracle ignores moves up to 1% and updates at least hourly
    venues = gather_venues(RM, pools(20e6, second_tier_usd=8e6), split=True)
    weth = venues[mk.WETH]
    assert isinstance(weth, VenueSet) and len(weth.legs) == 2
    band = ModelParams(oracles={"WETH": OracleModel(deviation=0.01, heartbeat_seconds=3600.0)})
    # under water at the shocked pool price; under water at the pool price their sales leave; healthy
    accounts = [(0, 600_000.0, 1, 1.003)] * 4 + [(0, 100_000.0, 1, 1.0105)] * 3 + [(0, 100_000.0, 1, 1.05)] * 3
    book = mk.build(accounts, RM)
    r = Projector(book, venues, band, model=mk.V30).project({"WETH": -0.008})
    assert r.shocked_prices_usd[mk.WETH] == 2000.0, "a 0.8% move stays inside the 1% band"
    assert r.liquidated_first_hour_usd == 0.0
    # heartbeat at 3600 s (block 300), liquidators one block later; the next heartbeat an hour after it
    assert [(x.block, x.seconds, x.accounts_liquidated) for x in r.rounds] == [(301, 3612.0, 4), (601, 7212.0, 3)]
    assert r.converged and r.accounts_liquidated == 7
    _consistent(r)
    assert all(len(x.sold_by_venue["WETH"]) == 2 for x in r.rounds), "both fee tiers take part of each sale"
    # replay the venue set from the start: each heartbeat update is the primary pool's price at that time (the
    # round's own sales stay inside the band), the last one the primary's price after every sale
    replay = SaleBook.of([weth])
    weth.shocked(replay, -0.008)
    sold = list(weth_sales)  # (the replay's sales go through the spy too)
    assert len(sold) == 2
    for x, amount in zip(r.rounds, sold, strict=True):
        assert x.oracle_prices_usd[mk.WETH] == weth.spot_price(replay) / RM.price_unit
        weth.sell(replay, amount)
    assert r.final_prices_usd[mk.WETH] == weth.spot_price(replay) / RM.price_unit
    # the same accounts on one pool per asset follow the same clock
    plain = Projector(book, choose_venues(RM, pools(20e6)), band, model=mk.V30).project({"WETH": -0.008})
    assert [(x.block, x.accounts_liquidated) for x in plain.rounds] == [(301, 4), (601, 3)]


def test_a_route_that_moves_another_assets_pool_puts_its_oracle_on_the_heartbeat() -> None:
    # WBTC sells mostly through WBTC -> WETH -> USDC: the route moves WETH's own pool by less than WETH's 2% band
    venues = gather_venues(RM, pools(20e6, wbtc_weth_usd=10e6), split=True)
    accounts = [(2, 600_000.0, 1, 1.05)] * 4 + [(0, 200_000.0, 1, 1.004)] * 3
    book = mk.build(accounts, RM)

    def run(heartbeat_seconds: float | None) -> CascadeResult:
        oracles = {}
        if heartbeat_seconds is not None:
            oracles["WETH"] = OracleModel(deviation=0.02, heartbeat_seconds=heartbeat_seconds)
        return Projector(book, venues, ModelParams(oracles=oracles), model=mk.V30).project({"WBTC": -0.1})

    banded = run(600.0)
    first = banded.rounds[0]
    assert first.accounts_liquidated == 4 and first.sold_by_venue["WBTC"]["WBTC>WETH>USDC"] > 0
    assert mk.WETH not in first.collateral_sold and first.oracle_prices_usd[mk.WETH] == 2000.0
    # WETH was never sold nor shocked, yet its pool moved: its heartbeat update lands 600 s after the shock
    # (block 50), at the pool's price, and the WETH accounts go
    second = banded.rounds[1]
    assert (second.block, second.seconds, second.accounts_liquidated) == (51, 612.0, 3)
    _consistent(banded)
    # the price the heartbeat brings is the one an oracle without a band takes at once from the same pool
    at_once = run(None)
    assert [x.block for x in at_once.rounds] == [2, 4]
    assert second.oracle_prices_usd[mk.WETH] == at_once.rounds[0].oracle_prices_usd[mk.WETH] < 2000.0
    assert banded.final_prices_usd == at_once.final_prices_usd and banded.converged
    # no heartbeat within the horizon: the WETH accounts are still waiting for it at the end
    never = run(1e9)
    assert never.accounts_liquidated == 4 and never.final_prices_usd[mk.WETH] == 2000.0
    assert not never.converged


def test_liquidations_per_block_with_split_venues() -> None:
    book = mk.build(mk.population(500, seed=7), RM)
    venues = gather_venues(RM, pools(60e6, second_tier_usd=40e6, wbtc_weth_usd=20e6), split=True)
    free = Projector(book, venues, model=mk.V30).project({"WETH": -0.25})
    n = 10
    assert free.rounds[0].accounts_liquidated > 5 * n
    capped = Projector(book, venues, ModelParams(liquidations_per_block=n, max_rounds=500), model=mk.V30).project(
        {"WETH": -0.25}
    )
    assert all(x.accounts_liquidated <= n for x in capped.rounds) and capped.converged
    assert any(x.skipped > 0 for x in capped.rounds)
    # a round cut short is followed by one at the next block; its sales are split and recorded as any other
    assert any(b.block - a.block == 1 for a, b in itertools.pairwise(capped.rounds))
    _consistent(capped)
    legs = {label for x in capped.rounds for parts in x.sold_by_venue.values() for label in parts}
    assert {"WETH/USDC 0.3%", "WETH/USDC 0.05%"} <= legs
    assert capped.duration_blocks > free.duration_blocks
    assert capped.liquidated_first_minute_usd < free.liquidated_first_minute_usd
    # the same cascade in the end, within the order's effect on prices
    assert capped.accounts_liquidated == pytest.approx(free.accounts_liquidated, rel=0.05)
    assert capped.debt_repaid_usd == pytest.approx(free.debt_repaid_usd, rel=0.05)
    assert capped.final_prices_usd[mk.WETH] == pytest.approx(free.final_prices_usd[mk.WETH], rel=0.02)


def test_dust_with_split_venues() -> None:
    from tests.risk.test_time import _small_book

    book = _small_book()
    # two fee tiers as deep together as test_time's one pool (100M USD)
    venues = gather_venues(RM, pools(70e6, second_tier_usd=30e6), split=True)
    base = Projector(book, venues, model=mk.V30).project({"WETH": -0.3})
    assert (base.dust_accounts, base.dust_debt_usd) == (0, 0.0)
    # 400,000 gas at 50 gwei, priced at the WETH oracle, which the split sales move
    gas = ModelParams(gas_per_liquidation=400_000, gas_price_gwei=50.0)
    costly = Projector(book, venues, gas, model=mk.V30).project({"WETH": -0.3})
    assert 100 < costly.dust_accounts <= costly.unliquidated_accounts
    assert 0 < costly.dust_debt_usd <= costly.unliquidated_debt_usd
    assert costly.dust_shortfall_usd <= costly.shortfall_usd
    assert costly.accounts_liquidated < base.accounts_liquidated
    _consistent(costly)
    # the same gas in USD at the final WETH price leaves the same dust
    usd = 400_000 * 50e-9 * costly.final_prices_usd[mk.WETH]
    same = Projector(book, venues, ModelParams(gas_cost_usd=usd), model=mk.V30).project({"WETH": -0.3})
    assert same.dust_accounts == costly.dust_accounts
    # about what one pool of the same depth leaves
    plain = Projector(book, mk.venues(RM, 100e6), gas, model=mk.V30).project({"WETH": -0.3})
    assert costly.dust_accounts == pytest.approx(plain.dust_accounts, rel=0.05)
    assert costly.dust_debt_usd == pytest.approx(plain.dust_debt_usd, rel=0.05)


def test_an_asset_sold_only_off_chain_waits_for_its_heartbeat_at_the_books_price() -> None:
    # WBTC has no pool: its oracle reads the off-chain book's price (mid, walked down by the sales)
    curve = OffchainCurve.from_levels({"0.01": 2e6, "0.02": 5e6, "0.05": 15e6, "0.10": 30e6})
    venues = gather_venues(RM, [ladder_pool(mk.WETH, mk.USDC, 18, 6, 2000.0, 20e6, 3000)], offchain={"WBTC": curve})
    book = mk.build([(2, 500_000.0, 1, 1.005)] * 4 + [(2, 100_000.0, 1, 1.013)] * 3, RM)

    def run(params: ModelParams) -> CascadeResult:
        return Projector(book, venues, params, model=mk.V30).project({"WBTC": -0.01})

    banded = run(ModelParams(oracles={"WBTC": OracleModel(deviation=0.02, heartbeat_seconds=900.0)}))
    at_once = run(ModelParams())
    assert banded.shocked_prices_usd[mk.WBTC] == 30_000.0 and at_once.shocked_prices_usd[mk.WBTC] == 29_700.0
    # heartbeats at 900 s and 1800 s, each bringing the price the book shows then (an oracle without a band
    # has it one update earlier), and the same cascade in the end
    assert [(x.block, x.accounts_liquidated) for x in banded.rounds] == [(76, 4), (151, 3)]
    assert [(x.block, x.accounts_liquidated) for x in at_once.rounds] == [(2, 4), (4, 3)]
    assert banded.rounds[0].oracle_prices_usd[mk.WBTC] == at_once.shocked_prices_usd[mk.WBTC]
    assert banded.rounds[1].oracle_prices_usd[mk.WBTC] == at_once.rounds[0].oracle_prices_usd[mk.WBTC] < 29_700.0
    assert banded.final_prices_usd == at_once.final_prices_usd and banded.converged
    assert [x.sold_by_venue for x in banded.rounds] == [x.sold_by_venue for x in at_once.rounds]
    _consistent(banded)


def test_the_system_projection_on_split_venues_runs_on_the_same_clock() -> None:
    """Two markets share WETH's two fee tiers and an off-chain book (test_split_sales.py): a per-block limit over
    both markets' liquidations spreads the same cascade over consecutive blocks, each block's sale split."""
    from monitor.risk.system import SystemProjector
    from tests.risk import test_system as ts
    from tests.risk.test_split_sales import CURVE, _split_pair

    pair = _split_pair(ts.ISOLATED, {"WETH": CURVE})
    whole = pair.project({"WETH": -0.1}).system
    capped = SystemProjector(pair.table, pair.venues, ModelParams(liquidations_per_block=4)).project({"WETH": -0.1})
    system = capped.system
    assert len(whole.rounds) < len(system.rounds) and system.converged
    assert all(x.accounts_liquidated <= 4 for x in system.rounds)
    assert [x.block for x in system.rounds] == list(range(2, 2 + len(system.rounds)))
    assert system.accounts_liquidated == whole.accounts_liquidated
    assert sum(m.accounts_liquidated for m in capped.markets) == system.accounts_liquidated
    assert system.final_prices_usd[mk.WETH] == pytest.approx(whole.final_prices_usd[mk.WETH], rel=1e-3)
    _consistent(system)
    assert all(len(x.sold_by_venue["WETH"]) == 3 for x in system.rounds), "two fee tiers and the book"
