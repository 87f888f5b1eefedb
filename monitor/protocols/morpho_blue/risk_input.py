"""A group of Morpho Blue markets as the cascade engine's neutral risk table (:func:`risk_input`).

Assets are every token the markets list (collateral and loan, once each), priced in USD with 8 decimals (the
price unit 1e8): a loan token at its USD price (:mod:`~.prices`), a collateral token through the oracle of the
first market that takes it (so that one pool and one price move it for every market). Each market is a risk
class named by its id, in which only its collateral counts, with threshold LLTV and bonus LIF (basis points);
each (market, borrower) position is one account of the table. The exact rules are :mod:`~.liquidation_model`'s.
A market's bad debt is written off against its own supply: each market is a class whose lenders bear its losses.
"""

from __future__ import annotations

import numpy as np

from monitor.protocols.morpho_blue.book import MorphoBook, Token
from monitor.protocols.morpho_blue.liquidation_model import MarketTerms, MorphoBlueLiquidation
from monitor.protocols.morpho_blue.shares import WAD
from monitor.risk.market import BPS, AssetParams, CascadeBook, RiskClass, RiskMarket
from monitor.risk.model import RiskInput

PRICE_UNIT = 1e8  # price units per USD


def risk_market(book: MorphoBook) -> RiskMarket:
    """The markets' tokens, USD prices and one risk class per market."""
    tokens: dict[str, Token] = {}
    usd: dict[str, float] = {}
    for m in book.markets.values():  # loan tokens at their own USD price first
        tokens.setdefault(m.collateral.address, m.collateral)
        tokens.setdefault(m.loan.address, m.loan)
        usd.setdefault(m.loan.address, m.loan_usd)
    for m in book.markets.values():
        usd.setdefault(m.collateral.address, m.collateral_usd)
    assets = [AssetParams(t.address, t.symbol, t.decimals, 0.0, 0.0) for t in tokens.values()]
    classes = [
        RiskClass(
            name=m.market_id,
            liquidation_threshold={m.collateral.address: m.lltv / WAD * BPS},
            liquidation_bonus={m.collateral.address: m.lif / WAD * BPS},
        )
        for m in book.markets.values()
    ]
    return RiskMarket(assets, {a: p * PRICE_UNIT for a, p in usd.items()}, PRICE_UNIT, classes)


def risk_input(book: MorphoBook) -> RiskInput:
    """The book's positions as a risk table (one account per position with debt), Morpho's model and each
    market's supply (USD)."""
    market = risk_market(book)
    ids = list(book.markets)
    klass = {mid: k for k, mid in enumerate(ids, start=1)}
    rows = book.rows()
    c, d = np.zeros((market.size, len(rows))), np.zeros((market.size, len(rows)))
    for i, r in enumerate(rows):
        m = book.markets[r.market_id]
        c[market.column[m.collateral.address], i] = float(r.position.collateral)
        d[market.column[m.loan.address], i] = float(r.health.borrow_assets)
    terms = []
    for mid in ids:
        m = book.markets[mid]
        jc, jl = market.column[m.collateral.address], market.column[m.loan.address]
        terms.append(MarketTerms(jc, jl, m.lltv / WAD, m.lif / WAD, float(m.price), float(market.prices[jc]),
                                 float(market.prices[jl])))  # fmt: skip
    cascade = CascadeBook(market, c, d, np.array([klass[r.market_id] for r in rows], dtype=np.int64),
                          tuple(r.address for r in rows))  # fmt: skip
    supply = {mid: m.loan_units_usd(m.accrued.total_supply_assets) for mid, m in book.markets.items()}
    return RiskInput(cascade, MorphoBlueLiquidation(terms), supply)
