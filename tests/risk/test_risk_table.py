"""The neutral risk table: its checks, risk classes (thresholds, bonuses and price slots per class and asset),
and the Aave v3 builder that maps reserves and e-mode categories onto it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import EModeCategoryInput, MarketInputs
from monitor.protocols.aave_v3.risk_input import risk_classes, risk_market
from monitor.risk import AssetParams, CascadeBook, Projector, RiskClass, RiskMarket
from tests.risk import markets as mk

ASSETS = [
    AssetParams(mk.WETH, "WETH", 18, 8250, 10500, 1000),
    AssetParams(mk.USDC, "USDC", 6, 8000, 10450, 1000),
    AssetParams(mk.WBTC, "WBTC", 8, 7500, 11000, 1000),
]
PRICES = {mk.WETH: 2000e8, mk.USDC: 1e8, mk.WBTC: 30_000e8}
SOURCE = "0x" + "5a" * 20


def test_bad_tables_are_data_errors() -> None:
    with pytest.raises(DataError, match="no price for WBTC"):
        RiskMarket(ASSETS, {mk.WETH: 1.0, mk.USDC: 1.0}, 1e8)
    with pytest.raises(DataError, match="listed twice"):
        RiskMarket([*ASSETS, ASSETS[0]], PRICES, 1e8)
    with pytest.raises(DataError, match="price_unit"):
        RiskMarket(ASSETS, PRICES, 0.0)
    with pytest.raises(DataError, match="not an asset of the market"):
        RiskMarket(ASSETS, PRICES, 1e8, [RiskClass("x", {"0x" + "11" * 20: 9000})])
    with pytest.raises(DataError, match="no price for its price source"):
        RiskMarket(ASSETS, PRICES, 1e8, [RiskClass("x", price_source={mk.WETH: SOURCE})])
    with pytest.raises(DataError, match="asset address"):
        RiskMarket([dataclasses.replace(ASSETS[0], asset="WETH")], PRICES, 1e8)


def test_a_class_departs_from_the_default_only_where_it_says() -> None:
    # a liquid e-mode style class: its threshold and bonus for WETH only, WBTC priced through another source
    cls = RiskClass("liquid", {mk.WETH: 9300}, {mk.WETH: 10200}, {mk.WBTC: SOURCE})
    plain = RiskClass("same as default")
    m = RiskMarket(ASSETS, {**PRICES, SOURCE: 29_000e8}, 1e8, [cls, plain])
    assert m.slots == (mk.WETH, mk.USDC, mk.WBTC, SOURCE) and m.n_classes == 3
    assert m.lt_of[1].tolist() == [9300, 8000, 7500] and m.bonus_of[1].tolist() == [10200, 10450, 11000]
    assert m.slot_of[1].tolist() == [0, 1, 3] and m.slot_of[2].tolist() == [0, 1, 2]
    assert m.differing == (1,)  # the class that changes nothing is priced as the default
    assert m.lt_table.shape == (3, 3) and m.slot_flat[1 * 3 + 2] == 3
    assert m.usd(m.prices) == {mk.WETH: 2000.0, mk.USDC: 1.0, mk.WBTC: 30_000.0}
    with pytest.raises(DataError, match=r"risk classes \[3\]"):
        CascadeBook.from_arrays(m, np.zeros((3, 1)), np.zeros((3, 1)), [3])


def test_a_class_price_source_moves_only_that_class() -> None:
    """Two identical accounts, one in a class that prices WETH through its own source: a shock of the source
    liquidates only that one (the source has no pool, so its oracle moves directly)."""
    m = RiskMarket(ASSETS, {**PRICES, SOURCE: 2000e8}, 1e8, [RiskClass("sourced", price_source={mk.WETH: SOURCE})])
    c = np.zeros((3, 2))
    d = np.zeros((3, 2))
    c[0] = 10e18  # $20,000 of WETH each
    d[1] = 15_000e6  # HF 1.1 at LT 82.5%
    book = CascadeBook.from_arrays(m, c, d, [0, 1])
    r = Projector(book, {}, model=mk.V30).project({SOURCE: -0.2})
    assert r.accounts_liquidated == 1 and len(r.rounds) == 1
    assert r.final_prices_usd[mk.WETH] == 2000.0  # the asset's own oracle did not move
    moved = Projector(book, {}, model=mk.V30).project({"WETH": -0.2})
    assert moved.accounts_liquidated == 1  # and the other way round: only the default-class account


def test_aave_categories_become_classes_in_id_order() -> None:
    base = mk.market().reserves
    reserves = [
        dataclasses.replace(base[0], emode_category=3),
        dataclasses.replace(base[1], emode_category=1),
        base[2],
    ]
    cats = [
        EModeCategoryInput(3, ltv=9000, liquidation_threshold=9300, liquidation_bonus=10100, price_source=SOURCE),
        EModeCategoryInput(1, ltv=9500, liquidation_threshold=9700, liquidation_bonus=10100),
    ]
    inputs = MarketInputs(reserves, cats, {SOURCE: 1999 * 10**8})
    m = risk_market(inputs)
    assert m.class_names == ("default", "e-mode 1", "e-mode 3")
    assert m.lt_of[1].tolist() == [8250, 9700, 7500]  # category 1: USDC only
    assert m.lt_of[2].tolist() == [9300, 8000, 7500]  # category 3: WETH only, through its price source
    assert m.slot_of[2].tolist() == [3, 1, 2] and m.slots[3] == SOURCE and m.prices[3] == 1999e8
    assert m.protocol_fee.tolist() == [1000, 1000, 1000] and m.price_unit == 1e8
    assert risk_classes(inputs, [0, 3, 1, 3]).tolist() == [0, 2, 1, 2]
    with pytest.raises(DataError, match=r"e-mode categories \[2\]"):
        risk_classes(inputs, [0, 2])
