"""Regression: a book holding accounts with debt and no collateral (bad debt already there, as after an
on-chain cascade) projects without error and counts them as bad debt from the start."""

from __future__ import annotations

import numpy as np

from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import CascadeBook, Limits, ModelParams, Projector, crossing
from monitor.risk.sweep import BASELINE_SHOCK
from tests.risk.markets import build, market, population, venues


def test_accounts_with_only_debt_are_bad_debt_before_the_shock() -> None:
    rm = risk_market(market())
    book = build(population(40, seed=3), rm)
    # make more accounts than reserves "dead": no collateral, debt left (indices past the reserve count)
    dead = np.array([4, 9, 17, 33])
    c = book.collateral.copy()
    c[:, dead] = 0.0
    dead_book = CascadeBook(rm, c, book.debt.copy(), book.risk_class.copy())
    result = Projector(dead_book, venues(rm), ModelParams(), model=AaveV3Liquidation()).project({"WETH": -0.1})
    assert result.bad_debt_accounts >= dead.size
    assert result.bad_debt_before_usd > 0


def test_critical_shock_limits_apply_to_what_the_shock_adds() -> None:
    """Accounts already liquidatable cascade on their own; a tiny shock must not read as a runaway."""
    rm = risk_market(market())
    book = build(population(300, seed=5), rm)  # health factors 0.9 .. 2: some are liquidatable already
    projector = Projector(book, venues(rm, tvl_usd=2e6), ModelParams(), model=AaveV3Liquidation())
    key = rm.resolve("WETH")
    tiny = projector.project({key: -0.001})
    base = projector.project({key: -BASELINE_SHOCK})
    limits = Limits(amplification=1.5, bad_debt_usd=1e12)
    assert tiny.accounts_liquidated > 0 and base.accounts_liquidated > 0
    assert crossing(tiny, key, limits) == "amplification", "without the baseline the drift reads as a runaway"
    assert crossing(tiny, key, limits, base) is None
    big = projector.project({key: -0.5})
    assert crossing(big, key, Limits(amplification=1.01, bad_debt_usd=1e12), base) == "amplification"
