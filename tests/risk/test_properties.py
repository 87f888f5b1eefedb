"""Properties of the default model on small synthetic markets (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import ModelParams, Projector
from tests.risk import markets as mk

RM = risk_market(mk.market())
PROPS = settings(max_examples=30, deadline=None)


@PROPS
@given(mk.accounts_strategy, st.floats(0.01, 0.85), st.floats(0.01, 0.5), st.sampled_from([20e6, 100e6]))
# a $1M position at HF 2.125 in a $20M pool: the smaller shock leaves it at HF 0.996 (50% per call, two calls
# at falling prices), the bigger at 0.946 (all at once); the bigger shock's final price is 1.0001x the smaller's
@example([(0, 1057472.0, 1, 2.125)], 0.53125, 0.0234375, 20e6)
def test_a_bigger_shock_never_cascades_less(
    accounts: list[tuple[int, float, int, float]], small: float, more: float, tvl: float
) -> None:
    """The shocked asset ends at least as low and at least as many accounts are liquidated.

    Not exactly: an account just above HF 0.95 after the smaller shock is liquidated 50% at a time over several
    rounds, at falling prices, so it can give up slightly more collateral (hence lower the price slightly more,
    and end in dust bad debt) than after a shock that closes it at once (HF < 0.95: 100%). Hypothesis finds
    such cases up to ~1e-4 of the price (the example: one large position in a small pool); the final price is
    compared within 1e-3.
    """
    book = mk.build(accounts, RM)
    proj = Projector(book, mk.venues(RM, tvl), model=mk.V30)
    big = min(small + more, 0.95)
    a, b = proj.project({"WETH": -small}), proj.project({"WETH": -big})
    assert b.final_prices_usd[mk.WETH] <= a.final_prices_usd[mk.WETH] * (1 + 1e-3)
    assert b.accounts_liquidated >= a.accounts_liquidated
    assert b.liquidations >= 1 or a.liquidations == 0
    assert a.converged and b.converged


@PROPS
@given(mk.accounts_strategy, st.floats(0.01, 0.9))
def test_no_liquidity_means_no_amplification_from_sales(
    accounts: list[tuple[int, float, int, float]], drop: float
) -> None:
    book = mk.build(accounts, RM)
    result = Projector(book, mk.venues(RM, weth_pool="empty"), model=mk.V30).project({"WETH": -drop})
    # the outside seller still moves the empty pool to the shocked price; the liquidators' sales cannot move it
    assert result.final_prices_usd[mk.WETH] == result.shocked_prices_usd[mk.WETH]
    assert abs(result.amplification[mk.WETH] - 1.0) < 1e-6
    assert all(mk.WETH not in r.collateral_sold for r in result.rounds)


@PROPS
@given(mk.accounts_strategy, st.floats(0.01, 0.9))
def test_with_an_infinitely_deep_pool_the_final_price_is_the_shock(
    accounts: list[tuple[int, float, int, float]], drop: float
) -> None:
    book = mk.build(accounts, RM)
    result = Projector(book, mk.venues(RM, weth_pool="deep"), model=mk.V30).project({"WETH": -drop})
    shocked = result.shocked_prices_usd[mk.WETH]
    assert shocked == pytest.approx(2000 * (1 - drop), rel=1e-8)
    assert result.final_prices_usd[mk.WETH] == pytest.approx(shocked, rel=1e-7)
    assert abs(result.amplification[mk.WETH] - 1.0) < 1e-6


@PROPS
@given(mk.accounts_strategy, st.floats(0.02, 0.6), st.sampled_from(["v3.0", "v3.3"]))
def test_accounting_balances(accounts: list[tuple[int, float, int, float]], drop: float, rules: str) -> None:
    book = mk.build(accounts, RM)
    model = AaveV3Liquidation(rules)  # type: ignore[arg-type]
    result = Projector(book, mk.venues(RM, 50e6), ModelParams(), model=model).project({"WETH": -drop})
    # the liquidators receive at least what they repay (bonus >= 0, fee only on the bonus), per round
    for r in result.rounds:
        assert r.collateral_seized_usd >= r.debt_repaid_usd * (1 - 1e-9)
        assert r.accounts_liquidated > 0
    assert result.accounts_liquidated <= len(accounts)
    assert result.debt_repaid_usd <= sum(usd for _, usd, _, _ in accounts)
    if rules == "v3.3":
        assert result.bad_debt_usd == result.deficit_usd  # debt left without collateral is burned at once
