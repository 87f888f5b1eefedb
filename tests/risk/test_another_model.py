"""The engine is protocol-neutral: a liquidation model written here, for isolated markets (one risk class per
market with its collateral's LLTV and incentive; no close factor: the whole borrow is repaid when the collateral
covers it, else all collateral is seized and the rest written off), runs through the unchanged engine and gives
the cascade computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.risk import (
    AssetParams,
    Batch,
    CascadeBook,
    Floors,
    Health,
    LiquidationModel,
    Liquidations,
    ModelParams,
    Projector,
    RiskClass,
    RiskMarket,
    SweepSpec,
    collateral_assets,
    sweep,
)
from tests.risk import markets as mk

F64 = np.ndarray


class IsolatedMarkets(LiquidationModel):
    """Health ``collateral value x LLTV / debt value`` without floors; liquidation as the module docstring says."""

    rules = "isolated"

    def health(self, market: RiskMarket, c: F64, d: F64, risk_class: F64, prices: F64) -> Health:
        up = prices[market.slot_table[risk_class].T] / market.units[:, None]
        t = (c * up).sum(axis=0)
        w = (c * up * market.lt_table[risk_class].T).sum(axis=0)
        debt = (d * up).sum(axis=0)
        hf = np.where(debt > 0, w / 1e4 / np.where(debt > 0, debt, 1.0), np.inf)
        return Health(t, w, debt, hf, (debt > 0) & (t > 0) & (hf < 1.0))

    def floors(self, market: RiskMarket) -> Floors:
        return Floors(relative=0.0, slack=1.0, debt_slack=1.0)

    def liquidate(self, market: RiskMarket, batch: Batch, cover_cap: F64) -> Liquidations:
        r, cols = market.size, np.arange(batch.c.shape[1])
        own = batch.prices[: market.size] / market.units
        jc, jd = np.argmax(batch.c * own[:, None], axis=0), np.argmax(batch.d * own[:, None], axis=0)
        at_c, at_d = batch.risk_class * r + jc, batch.risk_class * r + jd
        pc, pd = (
            batch.prices[market.slot_flat[at_c]] / market.units[jc],
            batch.prices[market.slot_flat[at_d]] / market.units[jd],
        )
        lif = market.bonus_flat[at_c] / 1e4
        bal, debt = batch.c[jc, cols], batch.d[jd, cols]
        cover = np.minimum(debt, cover_cap)
        need = cover * pd * lif / pc
        capped = need >= bal
        seized = np.where(capped, bal, np.floor(need))
        repaid = np.where(capped, np.floor(bal * pc / lif / pd), cover)
        ok = (repaid >= 1) & (seized >= 1)
        zero = np.zeros(cols.size)
        return Liquidations(jc, jd, seized, repaid, zero, seized, capped, ok, capped & (repaid < debt))


LLTV, LIF = 8600, 10500
MARKET = RiskMarket(
    [
        AssetParams(mk.WETH, "WETH", 18, 0, 0),
        AssetParams(mk.USDC, "USDC", 6, 0, 0),
        AssetParams(mk.WBTC, "WBTC", 8, 0, 0),
    ],
    {mk.WETH: 2000e8, mk.USDC: 1e8, mk.WBTC: 30_000e8},
    1e8,
    [RiskClass("WETH/USDC", {mk.WETH: LLTV}, {mk.WETH: LIF}), RiskClass("WBTC/USDC", {mk.WBTC: LLTV}, {mk.WBTC: LIF})],
)


def _book(hfs: list[float]) -> CascadeBook:
    """One WETH/USDC borrower per health factor ($10,000 of WETH each), and as many WBTC/USDC borrowers at HF
    1.5."""
    n = len(hfs)
    c, d = np.zeros((3, 2 * n)), np.zeros((3, 2 * n))
    for i, hf in enumerate(hfs):
        c[0, i] = 5e18
        c[2, n + i] = np.floor(10_000 / 30_000 * 1e8)
        d[1, i] = np.floor(10_000 * LLTV / 1e4 / hf * 1e6)
        d[1, n + i] = np.floor(10_000 * LLTV / 1e4 / 1.5 * 1e6)
    return CascadeBook(MARKET, c, d, np.array([1] * n + [2] * n))


def test_the_engine_runs_another_protocols_model() -> None:
    hfs = [0.5, 0.7, 0.9, 1.05, 1.1, 1.2, 1.3, 1.6, 2.0]
    book = _book(hfs)
    venues = mk.venues(MARKET, weth_pool="deep")  # sales barely move the price: one round
    r = Projector(book, venues, model=IsolatedMarkets()).project({"WETH": -0.2})
    price = r.shocked_prices_usd[mk.WETH]
    assert price == pytest.approx(1600.0, rel=1e-6)
    coll_usd, debts = 5.0 * price, [float(book.debt[1, i]) / 1e6 for i in range(len(hfs))]
    hit = [i for i in range(len(hfs)) if coll_usd * LLTV / 1e4 < debts[i]]
    assert len(hit) == 6  # HF 0.5 .. 1.2 (times 0.8 is below 1); no WBTC borrower
    repaid = sum(min(debts[i], coll_usd / (LIF / 1e4)) for i in hit)
    written_off = sum(max(debts[i] - coll_usd / (LIF / 1e4), 0.0) for i in hit)
    assert r.rules == "isolated"
    assert [x.accounts_liquidated for x in r.rounds] == [6] and r.converged
    assert r.debt_repaid_usd == pytest.approx(repaid, rel=1e-6)
    assert r.bad_debt_usd == pytest.approx(written_off, rel=1e-6) and written_off > 1000
    short = [i for i in hit if debts[i] > coll_usd / (LIF / 1e4)]
    assert r.deficit_usd == r.bad_debt_usd and r.bad_debt_accounts == len(short) == 5  # HF 0.5 .. 1.1
    assert r.protocol_fee_usd == 0.0
    assert r.final_prices_usd[mk.WBTC] == 30_000.0


def test_its_rules_hold_under_a_capital_limit() -> None:
    book = _book([0.9, 1.0, 1.1])
    venues = mk.venues(MARKET, weth_pool="deep")
    full = Projector(book, venues, model=IsolatedMarkets()).project({"WETH": -0.2})
    capped = Projector(book, venues, ModelParams(liquidator_capital_usd=5000.0), model=IsolatedMarkets()).project(
        {"WETH": -0.2}
    )
    assert full.rounds[0].debt_repaid_usd > 5000.0
    assert capped.rounds[0].debt_repaid_usd == pytest.approx(5000.0, abs=1e-3)  # the marginal call repays the rest


def test_a_sweep_finds_collateral_that_counts_only_in_a_class() -> None:
    """Every asset's default threshold is 0 here: the classes make WETH and WBTC collateral."""
    projector = Projector(_book([1.3, 1.6]), mk.venues(MARKET, 50e6), model=IsolatedMarkets())
    assert collateral_assets(projector) == [mk.WETH, mk.WBTC]
    result = sweep(projector, ["WETH"], SweepSpec(drops=(0.1, 0.3, 0.5)))
    assert result.assets[0].accounts_liquidated == (0, 1, 2)  # HF 1.3 and 1.6 times 0.9, 0.7, 0.5
