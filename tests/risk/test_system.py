"""The system projection (monitor.risk.system): one market equals today's projection bit for bit; two markets
selling the same collateral into the same pool show the contagion that single-market projections miss."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.errors import DataError
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import (
    AssetParams,
    CascadeBook,
    CascadeResult,
    ModelParams,
    Projector,
    RiskClass,
    RiskInput,
    RiskMarket,
    SweepSpec,
    sweep,
)
from monitor.risk import synthetic as syn
from monitor.risk.oracles import OracleModel
from monitor.risk.system import Contagion, SystemMember, SystemProjector, SystemTable
from tests.risk import markets as mk
from tests.risk.test_another_model import IsolatedMarkets

RM = risk_market(mk.market())
PROPS = settings(max_examples=25, deadline=None)


def _same(a: CascadeResult, b: CascadeResult) -> None:
    """Every field of the batch-1 result equal, floats bit for bit."""
    for f in dataclasses.fields(CascadeResult):
        assert getattr(a, f.name) == getattr(b, f.name), f.name


def _alone(name: str, book: CascadeBook, model: object, protocol: str = "aave-v3") -> SystemMember:
    assert isinstance(model, AaveV3Liquidation | IsolatedMarkets)
    return SystemMember(name, protocol, RiskInput(book, model))


# -- one market: today's projection -------------------------------------------------------------------------------


@PROPS
@given(mk.accounts_strategy, st.floats(0.01, 0.8), st.sampled_from(["v3.0", "v3.3"]), st.sampled_from([20e6, 100e6]))
def test_one_market_is_todays_projection_bit_for_bit(
    accounts: list[tuple[int, float, int, float]], drop: float, rules: str, tvl: float
) -> None:
    book = mk.build(accounts, RM)
    model = AaveV3Liquidation(rules)  # type: ignore[arg-type]
    venues = mk.venues(RM, tvl)
    today = Projector(book, venues, model=model).project({"WETH": -drop})
    system = SystemProjector([_alone("a", book, model)], venues)
    result = system.project({"WETH": -drop})
    _same(result.system, today)
    _same(result.alone[0], today)
    (fig,) = result.markets
    assert fig.accounts_liquidated == today.accounts_liquidated
    assert fig.bad_debt_accounts == today.bad_debt_accounts
    assert fig.debt_repaid_usd == today.debt_repaid_usd and fig.bad_debt_usd == today.bad_debt_usd
    assert result.contagion["a"] == Contagion(0, 0.0, 0.0)

    # beside a market with no accounts: the same cascade, and the split over markets gives the same figures
    empty = CascadeBook(ISOLATED, np.zeros((2, 0)), np.zeros((2, 0)), np.zeros(0, dtype=np.int64))
    pair = SystemProjector([_alone("a", book, model), _alone("e", empty, IsolatedMarkets(), "isolated")], venues)
    both = pair.project({"WETH": -drop})
    _same(dataclasses.replace(both.system, rules=today.rules), today)
    a, e = both.markets
    assert (a.accounts_liquidated, a.bad_debt_accounts) == (today.accounts_liquidated, today.bad_debt_accounts)
    assert a.debt_repaid_usd == pytest.approx(today.debt_repaid_usd, rel=1e-12, abs=1e-9)
    assert a.bad_debt_usd == pytest.approx(today.bad_debt_usd, rel=1e-12, abs=1e-9)
    assert (e.accounts_liquidated, e.debt_repaid_usd, e.bad_debt_usd, e.bad_debt_accounts) == (0, 0.0, 0.0, 0)


@pytest.mark.parametrize("rules", ["v3.0", "v3.3"])
def test_one_market_with_risk_classes_and_options_is_todays_projection(rules: str) -> None:
    """The synthetic market with a stablecoin class, several shocks at once and every model option."""
    market = syn.risk_market()
    book = syn.book(syn.Population(3000, seed=5), market=market)
    venues = syn.venues(market)
    params = ModelParams(liquidator_capital_usd=3e6, gas_cost_usd=5.0, latency_rounds=1, oracle_deviation=0.002)
    model = AaveV3Liquidation(rules)  # type: ignore[arg-type]
    system = SystemProjector([_alone("a", book, model)], venues, params)
    today = Projector(book, venues, params, model=model)
    for shock in ({"WETH": -0.25}, {"WETH": -0.2, "WBTC": -0.15, "USDC": 0.02}):
        result = system.project(shock)
        _same(result.system, today.project(shock))
        assert result.system.accounts_liquidated > 50
    # the sweep over the system's projector: the same curves and critical shocks
    spec = SweepSpec(drops=(0.1, 0.2, 0.3, 0.4))
    assert sweep(system.projector, ["WETH"], spec) == sweep(today, ["WETH"], spec)


# -- two markets: contagion -------------------------------------------------------------------------------------

LLTV, LIF = 8600, 10500
#: An isolated-markets protocol (tests/risk/test_another_model.py) listing the same WETH and USDC.
ISOLATED = RiskMarket(
    [AssetParams(mk.WETH, "WETH", 18, 0, 0), AssetParams(mk.USDC, "USDC", 6, 0, 0)],
    {mk.WETH: 2000e8, mk.USDC: 1e8},
    1e8,
    [RiskClass("WETH/USDC", {mk.WETH: LLTV}, {mk.WETH: LIF})],
)


def _aave_book(n: int, hf: tuple[float, float], usd: float = 500_000.0) -> CascadeBook:
    """``n`` WETH-collateral USDC borrowers of ``usd`` collateral, HF spread over ``hf``."""
    return mk.build([(0, usd, 1, h) for h in np.linspace(*hf, n)], RM)


def _isolated_book(hfs: list[float], market: RiskMarket = ISOLATED, usd: float = 100_000.0) -> CascadeBook:
    """WETH/USDC borrowers of ``usd`` of WETH collateral at health factors ``hfs``."""
    n = len(hfs)
    c, d = np.zeros((2, n)), np.zeros((2, n))
    for i, hf in enumerate(hfs):
        c[0, i] = np.floor(usd / 2000 * 1e18)
        d[1, i] = np.floor(usd * LLTV / 1e4 / hf * 1e6)
    return CascadeBook(market, c, d, np.ones(n, dtype=np.int64))


def _pair(isolated: RiskMarket = ISOLATED) -> SystemProjector:
    aave = _alone("aave", _aave_book(20, (1.03, 1.10)), mk.V30)
    morpho = _alone("isolated", _isolated_book([1.14, 1.16, 1.18, 1.2, 2.0], isolated), IsolatedMarkets(), "isolated")
    return SystemProjector([aave, morpho], mk.venues(RM, 100e6))


def test_one_markets_sales_push_another_under() -> None:
    """A 10% WETH drop: the Aave accounts (HF 1.03-1.10) are liquidated and their WETH sales take the price
    further down; the isolated market's accounts (HF >= 1.14) survive 10% alone but not in the system."""
    result = _pair().project({"WETH": -0.1})
    aave, iso = result.markets
    alone_aave, alone_iso = result.alone
    assert alone_iso.accounts_liquidated == 0 and alone_iso.rounds == ()
    assert iso.accounts_liquidated >= 2 and iso.debt_repaid_usd > 100_000
    assert result.contagion["isolated"].accounts_liquidated == iso.accounts_liquidated
    assert result.contagion["isolated"].debt_repaid_usd == pytest.approx(iso.debt_repaid_usd)
    # the isolated market's sales add to the Aave cascade: never less than alone
    assert aave.accounts_liquidated >= alone_aave.accounts_liquidated == 20
    assert result.contagion["aave"].debt_repaid_usd >= 0.0
    assert result.contagion["aave"].debt_repaid_usd == pytest.approx(aave.debt_repaid_usd - alone_aave.debt_repaid_usd)
    # the system's totals are the markets' sums; its price ends below either market's alone
    sys = result.system
    assert sys.accounts_liquidated == aave.accounts_liquidated + iso.accounts_liquidated
    assert sys.debt_repaid_usd == pytest.approx(aave.debt_repaid_usd + iso.debt_repaid_usd, rel=1e-12)
    assert sum(r.accounts_liquidated for r in sys.rounds) == sys.liquidations
    weth = sys.final_prices_usd[mk.WETH]
    assert weth < alone_aave.final_prices_usd[mk.WETH] < alone_iso.final_prices_usd[mk.WETH] == 1800.0
    assert sys.rules == "v3.0+isolated"


def test_bad_debt_is_attributed_to_its_market() -> None:
    """A 40% drop: the isolated market's accounts are seized whole and leave debt written off; the Aave market
    (v3.3) leaves deficits too. Per market figures add up to the system's."""
    aave = _alone("aave", _aave_book(15, (1.0, 1.3), 60_000.0), mk.V33)
    iso = _alone("iso", _isolated_book([1.01, 1.05, 1.1, 1.3, 1.5]), IsolatedMarkets(), "isolated")
    system = SystemProjector([aave, iso], mk.venues(RM, 5e6))
    result = system.project({"WETH": -0.4})
    a, b = result.markets
    sys = result.system
    assert b.bad_debt_accounts >= 3 and b.bad_debt_usd > 10_000
    assert a.bad_debt_usd > 0 and a.bad_debt_accounts > 0
    assert a.bad_debt_accounts + b.bad_debt_accounts == sys.bad_debt_accounts
    assert a.bad_debt_usd + b.bad_debt_usd == pytest.approx(sys.bad_debt_usd, rel=1e-9)
    assert a.accounts_liquidated + b.accounts_liquidated == sys.accounts_liquidated
    # each alone: the same figures as a one-market system of it
    for i, member in enumerate((aave, iso)):
        one = SystemProjector([member], {k: v for k, v in mk.venues(RM, 5e6).items() if k == mk.WETH})
        _same(one.project({"WETH": -0.4}).system, result.alone[i])


def test_another_price_unit_gives_the_same_system() -> None:
    """The isolated market's table in 1e18 price units instead of 1e8: the system sees it scaled, same cascade."""
    scaled = RiskMarket(
        [AssetParams(mk.WETH, "WETH", 18, 0, 0), AssetParams(mk.USDC, "USDC", 6, 0, 0)],
        {mk.WETH: 2000e18, mk.USDC: 1e18},
        1e18,
        [RiskClass("WETH/USDC", {mk.WETH: LLTV}, {mk.WETH: LIF})],
    )
    a, b = _pair().project({"WETH": -0.1}), _pair(scaled).project({"WETH": -0.1})
    assert [m.accounts_liquidated for m in a.markets] == [m.accounts_liquidated for m in b.markets]
    for x, y in zip(a.markets, b.markets, strict=True):
        assert x.debt_repaid_usd == pytest.approx(y.debt_repaid_usd, rel=1e-9)
    assert b.contagion["isolated"].accounts_liquidated == a.contagion["isolated"].accounts_liquidated > 0
    assert b.alone[1].final_prices_usd[mk.WETH] == pytest.approx(1800.0, rel=1e-12)


def test_oracle_models_apply_to_the_markets_that_list_the_asset() -> None:
    """WBTC priced as WETH times a rate: the isolated market (no WBTC) projects alone without that model; in the
    system a WETH drop moves the WBTC oracle of the Aave market."""
    aave = _alone("aave", mk.build([(2, 200_000.0, 1, 1.05)] * 4, RM), mk.V30)
    iso = _alone("isolated", _isolated_book([1.3, 1.5]), IsolatedMarkets(), "isolated")
    params = ModelParams(oracles={"WBTC": OracleModel("rate", base="WETH")})
    result = SystemProjector([aave, iso], mk.venues(RM, 100e6), params).project({"WETH": -0.2})
    assert result.markets[0].accounts_liquidated == result.alone[0].accounts_liquidated == 4
    assert result.system.final_prices_usd[mk.WBTC] < 30_000 * 0.81


def test_a_shock_that_misses_a_market_leaves_it_alone_at_its_prices() -> None:
    """WBTC falls: the isolated market (no WBTC) projected alone does nothing; its prices never move."""
    result = _pair().project({"WBTC": -0.3})
    iso_alone = result.alone[1]
    assert iso_alone.accounts_liquidated == 0 and iso_alone.final_prices_usd == iso_alone.initial_prices_usd
    assert result.markets[1].accounts_liquidated == 0 and result.contagion["isolated"].accounts_liquidated == 0


def test_the_critical_shock_is_a_system_figure() -> None:
    """The sweep over the system's projector: a system figure at most either market's alone (the isolated market
    alone crosses no limit up to 90%); at a 10% drop it liquidates more accounts than both alone."""
    system = _pair()
    spec = SweepSpec(drops=tuple(i / 20 for i in range(1, 19)))
    whole = sweep(system.projector, ["WETH"], spec).assets[0]
    alone = [sweep(system.alone(i), ["WETH"], spec).assets[0] for i in range(2)]
    assert whole.critical_shock is not None and alone[1].critical_shock is None
    assert all(a.critical_shock is None or whole.critical_shock <= a.critical_shock for a in alone)
    assert whole.accounts_liquidated[1] > alone[0].accounts_liquidated[1] + alone[1].accounts_liquidated[1]


def test_dust_is_split_by_market() -> None:
    """Gas and a minimum profit: each market's small accounts (Aave $400, isolated $300 of collateral) are
    liquidatable after a 15% WETH drop but not worth liquidating; they are that market's dust, with their whole
    USDC debt, the large ones are liquidated, and the markets' dust adds up to the system's."""
    hfs = np.linspace(1.02, 1.12, 8)
    aave_book = mk.build([(0, usd, 1, h) for usd in (400.0, 500_000.0) for h in hfs], RM)
    small, large = _isolated_book([1.12, 1.14, 1.16, 1.18], usd=300.0), _isolated_book([1.12, 1.14, 1.16, 1.18])
    both = (small, large)
    iso_book = CascadeBook(
        ISOLATED,
        np.hstack([b.collateral for b in both]),
        np.hstack([b.debt for b in both]),
        np.concatenate([b.risk_class for b in both]),
    )
    members = [_alone("aave", aave_book, mk.V30), _alone("iso", iso_book, IsolatedMarkets(), "isolated")]
    gas = ModelParams(gas_cost_usd=20.0, min_profit_usd=5.0)
    result = SystemProjector(members, mk.venues(RM, 100e6), gas).project({"WETH": -0.15})
    aave, iso = result.markets
    sys = result.system
    usdc = RM.column[mk.USDC]
    assert (aave.dust_accounts, iso.dust_accounts) == (8, 4)
    assert (aave.accounts_liquidated, iso.accounts_liquidated) == (8, 4)  # the large ones
    assert aave.dust_debt_usd == pytest.approx(aave_book.debt[usdc, :8].sum() / 1e6, rel=1e-12)
    assert iso.dust_debt_usd == pytest.approx(small.debt[1].sum() / 1e6, rel=1e-12)
    assert aave.dust_accounts + iso.dust_accounts == sys.dust_accounts
    assert aave.dust_debt_usd + iso.dust_debt_usd == pytest.approx(sys.dust_debt_usd, rel=1e-12)
    # alone, each market leaves the same accounts as dust
    assert [(a.dust_accounts, a.dust_debt_usd) for a in result.alone] == [
        (f.dust_accounts, pytest.approx(f.dust_debt_usd, rel=1e-12)) for f in result.markets
    ]
    # without gas nothing is dust and every account is liquidated
    plain = SystemProjector(members, mk.venues(RM, 100e6)).project({"WETH": -0.15})
    assert [(f.dust_accounts, f.dust_debt_usd, f.accounts_liquidated) for f in plain.markets] == [
        (0, 0.0, 16),
        (0, 0.0, 8),
    ]
    # one market: its dust is the system's
    (only,) = SystemProjector(members[:1], mk.venues(RM, 100e6), gas).project({"WETH": -0.15}).markets
    assert (only.dust_accounts, only.dust_debt_usd) == (8, result.alone[0].dust_debt_usd)


# -- the table ---------------------------------------------------------------------------------------------------


def test_the_table_joins_assets_by_address_and_keeps_classes_apart() -> None:
    aave = _alone("aave", _aave_book(3, (1.2, 1.3)), mk.V30)
    iso = _alone("iso", _isolated_book([1.5, 2.0]), IsolatedMarkets(), "isolated")
    t = SystemTable([aave, iso])
    m = t.market
    assert m.assets == RM.assets and m.size == 3  # WETH, USDC, WBTC once each
    assert m.class_names == ("default", "iso:default", "iso:WETH/USDC")
    assert t.book.risk_class.tolist() == [0, 0, 0, 2, 2]
    assert m.lt_table[2].tolist() == [LLTV, 0.0, 0.0] and m.lt_table[1].tolist() == [0.0, 0.0, 0.0]
    assert (
        t.book.collateral[0, 3] == iso.risk.book.collateral[0, 0]
        and t.book.collateral[:, 3].sum() == t.book.collateral[0, 3]
    )


def test_bad_tables_are_refused() -> None:
    a = _alone("a", _aave_book(2, (1.2, 1.3)), mk.V30)
    with pytest.raises(DataError, match="unique"):
        SystemTable([a, a])
    with pytest.raises(DataError, match="at least one market"):
        SystemTable([])
    six = RiskMarket([AssetParams(mk.WETH, "WETH", 6, 8000, 10500)], {mk.WETH: 2000e8}, 1e8)
    odd = _alone("b", CascadeBook(six, np.ones((1, 1)), np.zeros((1, 1)), np.zeros(1, dtype=np.int64)), mk.V30)
    with pytest.raises(DataError, match="decimals"):
        SystemTable([a, odd])
