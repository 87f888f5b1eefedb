"""Regression: a book holding accounts with debt and no collateral (bad debt already there, as after an
on-chain cascade) projects without error and counts them as bad debt from the start."""

from __future__ import annotations

import numpy as np

from monitor.risk import CascadeBook, ModelParams, Projector, RiskMarket
from tests.risk.markets import build, market, population, venues


def test_accounts_with_only_debt_are_bad_debt_before_the_shock() -> None:
    rm = RiskMarket(market())
    book = build(population(40, seed=3), rm)
    # make more accounts than reserves "dead": no collateral, debt left (indices past the reserve count)
    dead = np.array([4, 9, 17, 33])
    c = book.collateral.copy()
    c[:, dead] = 0.0
    dead_book = CascadeBook(rm, c, book.debt.copy(), book.emode.copy())
    result = Projector(dead_book, venues(rm), ModelParams()).project({"WETH": -0.1})
    assert result.bad_debt_accounts >= dead.size
    assert result.bad_debt_before_usd > 0
