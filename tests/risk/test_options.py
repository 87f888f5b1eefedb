"""Each model option, against the default model on the same book: what it must change, and what it must not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import CascadeBook, CascadeResult, LiquidationModel, ModelParams, Projector
from tests.risk import markets as mk

RM = risk_market(mk.market())
BOOK = mk.build(mk.population(500, seed=7), RM)
VENUES = mk.venues(RM, 100e6)


def _run(
    params: ModelParams, shock: float = -0.25, book: CascadeBook = BOOK, model: LiquidationModel = mk.V30
) -> CascadeResult:
    return Projector(book, VENUES, params, model=model).project({"WETH": shock})


DEFAULT = _run(ModelParams())


def test_the_default_book_cascades() -> None:
    assert len(DEFAULT.rounds) >= 2 and DEFAULT.accounts_liquidated > 50 and DEFAULT.converged
    assert DEFAULT.amplification[mk.WETH] > 1.01


def test_liquidator_capital_caps_each_round_and_stretches_the_cascade() -> None:
    cap = DEFAULT.rounds[0].debt_repaid_usd / 4
    r = _run(ModelParams(liquidator_capital_usd=cap))
    assert all(x.debt_repaid_usd <= cap * (1 + 1e-9) for x in r.rounds)
    assert r.rounds[0].debt_repaid_usd == pytest.approx(cap, rel=1e-3)  # the marginal call is partial
    assert r.rounds[0].skipped > 0
    assert len(r.rounds) > len(DEFAULT.rounds)
    # no capital at all: nothing is liquidated and the liquidatable accounts stay
    none = _run(ModelParams(liquidator_capital_usd=0.0))
    assert none.rounds == () and none.unliquidated_accounts > 0 and not none.converged


def test_dex_sell_share_scales_the_price_impact() -> None:
    drops = [_run(ModelParams(dex_sell_share=s)).drop(mk.WETH) for s in (0.0, 0.5, 1.0)]
    assert drops[0] == pytest.approx(0.25, abs=1e-6)  # nothing sold on the DEX: the price stays at the shock
    assert drops[0] < drops[1] < drops[2] == pytest.approx(DEFAULT.drop(mk.WETH))
    half = _run(ModelParams(dex_sell_share=0.5))
    first = half.rounds[0]
    assert first.collateral_sold[mk.WETH] == pytest.approx(first.collateral_seized[mk.WETH] * 0.5, rel=1e-9)


def test_gas_and_minimum_profit_leave_small_positions_to_drift_into_bad_debt() -> None:
    rng = np.random.default_rng(3)
    small = [(0, float(rng.uniform(50, 400)), 1, float(rng.uniform(1.01, 1.2))) for _ in range(200)]
    book = mk.build(mk.population(300, seed=11) + small, RM)
    base = _run(ModelParams(), -0.3, book)
    costly = _run(ModelParams(gas_cost_usd=20.0, min_profit_usd=5.0), -0.3, book)
    assert costly.unliquidated_accounts > 100  # the small ones are never worth it
    assert costly.accounts_liquidated < base.accounts_liquidated
    assert costly.shortfall_usd > base.shortfall_usd  # left to the falling price, more of them end under water
    assert not costly.converged
    gas_only = _run(ModelParams(gas_cost_usd=20.0), -0.3, book)
    assert base.accounts_liquidated > gas_only.accounts_liquidated >= costly.accounts_liquidated


def test_oracle_deviation_threshold_holds_the_oracle_until_the_pool_moves_enough() -> None:
    small = _run(ModelParams(oracle_deviation=0.05), -0.04)
    assert small.shocked_prices_usd[mk.WETH] == 2000.0  # a 4% move stays under the 5% threshold
    assert small.final_prices_usd[mk.WETH] == 2000.0
    # only the accounts already liquidatable before the shock are liquidated
    assert small.accounts_liquidated == _run(ModelParams(), -1e-9).accounts_liquidated
    assert small.accounts_liquidated < _run(ModelParams(), -0.04).accounts_liquidated
    big = _run(ModelParams(oracle_deviation=0.02))
    assert big.shocked_prices_usd[mk.WETH] == pytest.approx(1500.0, rel=1e-8)
    # later rounds' sales move the pool by less than 2% each: the oracle waits, so the cascade stops earlier
    assert len(big.rounds) < len(DEFAULT.rounds)
    assert big.final_prices_usd[mk.WETH] >= DEFAULT.final_prices_usd[mk.WETH]
    for r in big.rounds:
        price = r.oracle_prices_usd[mk.WETH]
        assert price == 1500.0 or abs(price / 1500.0 - 1) > 0.02


def test_latency_delays_every_liquidation_by_that_many_rounds() -> None:
    lag = _run(ModelParams(latency_rounds=2))
    assert [r.accounts_liquidated for r in lag.rounds[:2]] == [0, 0]
    assert lag.rounds[2].accounts_liquidated == DEFAULT.rounds[0].accounts_liquidated
    assert lag.rounds[0].skipped == DEFAULT.rounds[0].accounts_liquidated
    assert len(lag.rounds) > len(DEFAULT.rounds)
    # the same accounts, in a different order (partly liquidated accounts go again before newly liquidatable
    # ones have waited): a similar end
    assert lag.accounts_liquidated == pytest.approx(DEFAULT.accounts_liquidated, rel=0.05)
    assert lag.final_prices_usd[mk.WETH] == pytest.approx(DEFAULT.final_prices_usd[mk.WETH], rel=0.02)


def test_v33_rules_burn_the_debt_left_without_collateral_into_deficits() -> None:
    v33 = _run(ModelParams(), -0.4, model=mk.V33)
    v30 = _run(ModelParams(), -0.4, model=mk.V30)
    assert v30.bad_debt_usd > 0 and v30.deficit_usd == 0
    assert v33.deficit_usd > 0 and v33.bad_debt_usd == pytest.approx(v33.deficit_usd)
    # position-level close factor and full closes below $2,000: fewer calls for as many accounts
    assert v33.liquidations < v30.liquidations


def test_max_rounds_stops_early() -> None:
    r = _run(ModelParams(max_rounds=1))
    assert len(r.rounds) == 1 and not r.converged and r.unliquidated_accounts > 0


@pytest.mark.parametrize(
    "kw",
    [
        {"liquidator_capital_usd": -1.0},
        {"dex_sell_share": 1.5},
        {"gas_cost_usd": math.inf},
        {"oracle_deviation": 1.0},
        {"latency_rounds": -1},
        {"max_rounds": 0},
    ],
)
def test_bad_parameters_are_data_errors(kw: dict[str, object]) -> None:
    with pytest.raises(DataError):
        ModelParams(**kw)  # type: ignore[arg-type]
