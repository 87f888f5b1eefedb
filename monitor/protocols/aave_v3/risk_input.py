"""An Aave v3 book as the cascade engine's neutral risk table, with its liquidation model (:func:`risk_input`).

Reserves become the table's assets (threshold, bonus, protocol fee, oracle price in the base currency's 8
decimals); every e-mode category becomes a risk class (class ``k`` for the ``k``-th category by id, 0 = no
e-mode) whose member reserves get the category's threshold and bonus and, when it has one, its price source.
Members are the reserves whose configuration names the category (v3.0) or the category's own collateral bitmap
(v3.2+ liquid e-mode).
"""

from __future__ import annotations

import numpy as np

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import Book, MarketInputs
from monitor.protocols.aave_v3.book.wadray import BASE_CURRENCY_UNIT
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation, Maths, Rules, as_rules
from monitor.risk.market import AssetParams, CascadeBook, RiskClass, RiskMarket
from monitor.risk.model import RiskInput


def class_index(market: MarketInputs) -> dict[int, int]:
    """``{e-mode category id: risk class}`` (0 -> 0; the categories by id from 1)."""
    ids = sorted(c.category_id for c in market.emode_categories)
    return {0: 0, **{cid: k for k, cid in enumerate(ids, start=1)}}


def risk_market(market: MarketInputs) -> RiskMarket:
    """The reserves, e-mode categories and oracle prices of ``market`` as a neutral table."""
    res = market.reserves
    assets = [
        AssetParams(r.asset, r.symbol, r.decimals, r.liquidation_threshold, r.liquidation_bonus,
                    r.liquidation_protocol_fee)
        for r in res
    ]  # fmt: skip
    classes = []
    for c in sorted(market.emode_categories, key=lambda c: c.category_id):
        members = [r.asset for r in res if c.counts_as_collateral(r.reserve_id, r.emode_category)]
        classes.append(
            RiskClass(
                name=f"e-mode {c.category_id}",
                liquidation_threshold=dict.fromkeys(members, c.liquidation_threshold),
                liquidation_bonus=dict.fromkeys(members, c.liquidation_bonus),
                price_source=dict.fromkeys(members, c.price_source) if c.has_price_source else {},
            )
        )
    prices = {a: float(p) for a, p in market.prices().items()}
    return RiskMarket(assets, prices, float(BASE_CURRENCY_UNIT), classes)


def risk_classes(market: MarketInputs, emode: np.ndarray | list[int]) -> np.ndarray:
    """Each account's risk class from its e-mode category id."""
    index = class_index(market)
    ids = np.asarray(emode, dtype=np.int64)
    # the ids present: a count per id (category ids are uint8) costs less than sorting every account's
    small = ids.size and ids.min() >= 0 and ids.max() < 256
    present = np.flatnonzero(np.bincount(ids)) if small else np.unique(ids)
    unknown = sorted(set(present.tolist()) - set(index))
    if unknown:
        raise DataError(f"accounts in e-mode categories {unknown} unknown to the market")
    table = np.zeros(max(index) + 1, dtype=np.int64)
    for cid, k in index.items():
        table[cid] = k
    out: np.ndarray = table[ids]
    return out


def cascade_book(book: Book, market: RiskMarket | None = None) -> CascadeBook:
    """The balances of every account of a health-factor book (token units, at its indexes) as a risk table."""
    arr = book.arrays()
    return CascadeBook(
        market=market or risk_market(book.market),
        collateral=np.array(arr.fc, dtype=np.float64),
        debt=np.array(arr.fd, dtype=np.float64),
        risk_class=risk_classes(book.market, arr.emode),
        addresses=tuple(arr.addresses),
    )


#: The liquidation rules of the code whose maths the book was read with (the pool's detected revision).
RULES_OF_MATHS: dict[str, Rules] = {"v3.0": "v3.0", "v3.6": "v3.3"}


def detected_rules(book: Book) -> Rules:
    """The liquidation rules of the pool the book was read from (its maths follow the detected revision)."""
    return RULES_OF_MATHS[book.market.maths]


def risk_input(book: Book, rules: str | None = None) -> RiskInput:
    """The engine's input for an Aave v3 market: its risk table and its liquidation model, with the maths the
    book was read with and the rules ``rules`` (default: those of the pool's detected version)."""
    maths: Maths = "v3.6" if book.market.maths == "v3.6" else "v3.0"
    return RiskInput(cascade_book(book), AaveV3Liquidation(as_rules(rules) if rules else detected_rules(book), maths))
