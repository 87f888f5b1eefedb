"""The vectorised engine against the per-account Python loop of the same model
(monitor.protocols.aave_v3.cascade_loop), on synthetic markets with a stablecoin class, several collaterals and
debts, every option and both rule sets."""

from __future__ import annotations

import pytest

from monitor.protocols.aave_v3.cascade_loop import run_loop
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import CascadeBook, ModelParams, Projector
from monitor.risk import synthetic as syn

BOOK = syn.book(syn.Population(400, seed=5, stable_class_share=0.15, multi_collateral=0.4, multi_debt=0.4))
VENUES = syn.venues(BOOK.market, tvl_scale=0.5)
V30, V33 = AaveV3Liquidation("v3.0"), AaveV3Liquidation("v3.3")
PARAMS = [
    (ModelParams(), V30),
    (ModelParams(), V33),
    (ModelParams(liquidator_capital_usd=300_000.0), V30),
    (ModelParams(dex_sell_share=0.3), V30),
    (ModelParams(gas_cost_usd=30.0, min_profit_usd=10.0), V30),
    (ModelParams(oracle_deviation=0.02), V30),
    (ModelParams(latency_rounds=1), V30),
    (ModelParams(liquidator_capital_usd=500_000.0, latency_rounds=1), V33),
]
SCENARIOS = [{"WETH": -0.2}, {"LINK": -0.45}, {"WBTC": -0.3, "WSTETH": -0.15}, {"USDC": -0.1}]


@pytest.mark.parametrize(
    ("params", "model"), PARAMS, ids=lambda p: repr(p)[12:60] if isinstance(p, ModelParams) else p.rules
)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_engine_equals_the_loop(params: ModelParams, model: AaveV3Liquidation, scenario: dict[str, float]) -> None:
    ours = Projector(BOOK, VENUES, params, model=model).project(scenario)
    loop = run_loop(BOOK, VENUES, scenario, params, model)
    assert [r.accounts_liquidated for r in ours.rounds] == [r.accounts_liquidated for r in loop.rounds]
    for a, b in zip(ours.rounds, loop.rounds, strict=True):
        assert a.debt_repaid_usd == pytest.approx(b.debt_repaid_usd, rel=1e-9, abs=1e-6)
        assert a.oracle_prices_usd == pytest.approx(b.oracle_prices_usd, rel=1e-12)
    assert ours.final_prices_usd == pytest.approx(loop.final_prices_usd, rel=1e-12)
    assert ours.accounts_liquidated == loop.accounts_liquidated
    assert ours.bad_debt_accounts == loop.bad_debt_accounts
    assert ours.bad_debt_usd == pytest.approx(loop.bad_debt_usd, rel=1e-9, abs=1e-6)
    assert set(ours.deficit_usd_by_reserve) == set(loop.deficit_usd_by_reserve)
    assert dict(ours.deficit_usd_by_reserve) == pytest.approx(loop.deficit_usd_by_reserve, rel=1e-9, abs=1e-6)


def test_the_cases_are_not_trivial() -> None:
    results = [Projector(BOOK, VENUES, model=V30).project(s) for s in SCENARIOS]
    assert all(r.accounts_liquidated > 10 for r in results)
    assert any(r.bad_debt_usd > 0 for r in results)
    assert len(BOOK) == 400 and int((BOOK.risk_class == 1).sum()) > 20
    v33 = [Projector(BOOK, VENUES, model=V33).project(s) for s in SCENARIOS]
    assert V33.maths == "v3.6" and any(r.deficit_usd_by_reserve for r in v33), "v3.3 rules write debt off"
    assert any(r.skipped for res in v33 for r in res.rounds), "some maximal calls leave dust and wait"


def test_engine_equals_the_loop_with_bad_debt_already_there() -> None:
    c = BOOK.collateral.copy()
    c[:, [0, 3, 11, 57, 230]] = 0.0  # debt and no collateral before the shock (some indexes below R)
    book = CascadeBook(BOOK.market, c, BOOK.debt.copy(), BOOK.risk_class.copy())
    for model in (V30, V33):
        ours = Projector(book, VENUES, model=model).project({"WETH": -0.25})
        loop = run_loop(book, VENUES, {"WETH": -0.25}, None, model)
        assert [r.accounts_liquidated for r in ours.rounds] == [r.accounts_liquidated for r in loop.rounds]
        assert ours.bad_debt_accounts == loop.bad_debt_accounts >= 5
        assert ours.bad_debt_usd == pytest.approx(loop.bad_debt_usd, rel=1e-9)
        assert ours.bad_debt_before_usd > 0
