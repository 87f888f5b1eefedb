"""Aave v3.6 maths of the book without a chain: liquid e-mode bitmaps (a reserve in several categories, a
reserve of LT 0 counted by its category, the ltvzero bitmap) and v3.5 rounding, exact path == scalar reference,
float path within tolerance."""

from __future__ import annotations

import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.book.inputs import (
    AccountInput,
    EModeCategoryInput,
    MarketInputs,
    PositionInput,
    ReserveInput,
)
from monitor.protocols.aave_v3.book.reference import user_account_data
from tests.book.test_book_float import float_tolerance

RAY = 10**27
WAD = 10**18
A, B, C = ("0x" + c * 40 for c in "abc")


def _market(maths: str = "v3.6") -> MarketInputs:
    reserves = (
        # A: no LT of its own, collateral only inside category 1
        ReserveInput(asset=A, symbol="A", reserve_id=0, decimals=18, ltv=0, liquidation_threshold=0,
                     liquidation_bonus=0, price=10**8, normalized_income=RAY * 11 // 10),
        ReserveInput(asset=B, symbol="B", reserve_id=1, decimals=18, ltv=7_500, liquidation_threshold=8_000,
                     liquidation_bonus=10_500, price=2_000 * 10**8),
        ReserveInput(asset=C, symbol="C", reserve_id=2, decimals=6, ltv=6_500, liquidation_threshold=7_000,
                     liquidation_bonus=10_500, price=150_000_007, normalized_variable_debt=RAY + 1),
    )  # fmt: skip
    categories = (
        EModeCategoryInput(category_id=1, ltv=8_500, liquidation_threshold=9_000, liquidation_bonus=10_100,
                           collateral_bitmap=0b011, borrowable_bitmap=0b100),
        EModeCategoryInput(category_id=2, ltv=9_000, liquidation_threshold=9_500, liquidation_bonus=10_200,
                           collateral_bitmap=0b110, borrowable_bitmap=0b001, ltvzero_bitmap=0b100),
    )  # fmt: skip
    return MarketInputs(reserves, categories, maths=maths)


def _config(collateral: tuple[int, ...], debt: tuple[int, ...]) -> int:
    return sum(2 << (2 * i) for i in collateral) | sum(1 << (2 * i) for i in debt)


ACCOUNTS = [
    # category 1: A (LT 0 on its own) and B at the category's LT; C borrowed (its balance and value round up)
    AccountInput(address="0x" + "01" * 20, user_configuration=_config((0, 1), (2,)), emode_category=1,
                 positions={A: PositionInput(scaled_atoken=1_000 * WAD), B: PositionInput(scaled_atoken=WAD),
                            C: PositionInput(scaled_variable_debt=1_500 * 10**6)}),
    # category 2: B and C at its LT (B is in both categories), C with LTV 0 (ltvzero bitmap); A borrowed
    AccountInput(address="0x" + "02" * 20, user_configuration=_config((1, 2), (0,)), emode_category=2,
                 positions={B: PositionInput(scaled_atoken=WAD), C: PositionInput(scaled_atoken=3_000 * 10**6),
                            A: PositionInput(scaled_variable_debt=2_500 * WAD)}),
    # no e-mode: A counts in the collateral total with LT 0 and LTV 0
    AccountInput(address="0x" + "03" * 20, user_configuration=_config((0, 1), (2,)), emode_category=0,
                 positions={A: PositionInput(scaled_atoken=500 * WAD), B: PositionInput(scaled_atoken=WAD // 2),
                            C: PositionInput(scaled_variable_debt=700 * 10**6 + 1)}),
]  # fmt: skip


def test_liquid_emode_and_v35_rounding_by_hand() -> None:
    book = Book.build(_market(), ACCOUNTS)
    first = book.account_data(ACCOUNTS[0].address)
    # A: 1,000 scaled x 1.1 = $1,100 counted at the category's 90%; B: $2,000 at 90%
    assert first.total_collateral_base == 3_100 * 10**8
    # C: 1,500 tokens of 6 decimals owed at index RAY + 1: the balance rounds up to 1,500e6 + 1, and its value
    # (x $1.50000007) up as well: 225,000,010,500 + 150.000007 -> 225,000,010,651
    assert first.total_debt_base == 225_000_010_651
    assert (first.current_liquidation_threshold, first.ltv) == (9_000, 8_500)
    weighted = 3_100 * 10**8 * 9_000
    assert first.health_factor == (weighted * WAD + first.total_debt_base // 2) // first.total_debt_base // 10_000
    assert first.available_borrows_base == 3_100 * 10**8 * 8_500 // 10_000 - first.total_debt_base

    second = book.account_data(ACCOUNTS[1].address)
    c_value = 3_000 * 150_000_007  # 3,000 tokens of C at $1.50000007
    assert second.total_collateral_base == 2_000 * 10**8 + c_value
    assert second.current_liquidation_threshold == 9_500
    assert second.ltv == 2_000 * 10**8 * 9_000 // (2_000 * 10**8 + c_value)  # C is in the ltvzero bitmap

    third = book.account_data(ACCOUNTS[2].address)
    assert third.total_collateral_base == (550 + 1_000) * 10**8  # A counts in the total with LT 0
    assert third.current_liquidation_threshold == 1_000 * 8_000 // 1_550


def test_exact_equals_reference_and_float_within_tolerance() -> None:
    book = Book.build(_market(), ACCOUNTS)
    market = book.market
    hfs = book.health_factors()
    for i, acc in enumerate(ACCOUNTS):
        data = book.account_data(acc.address)
        assert user_account_data(market, acc) == data
        exact = data.health_factor / WAD
        tol = float_tolerance(data.total_collateral_base, data.total_debt_base, len(acc.positions))
        assert abs(hfs[i] - exact) <= tol * exact, (acc.address, hfs[i], exact)


def test_v30_maths_differ_on_the_same_positions() -> None:
    v30 = Book.build(_market("v3.0"), ACCOUNTS)
    v36 = Book.build(_market(), ACCOUNTS)
    assert [v30.account_data(a.address) for a in ACCOUNTS] != [v36.account_data(a.address) for a in ACCOUNTS]
    # v3.0 drops a collateral whose reserve LT is 0
    assert v30.account_data(ACCOUNTS[2].address).total_collateral_base == 1_000 * 10**8


def test_bad_maths_name_is_refused() -> None:
    with pytest.raises(DataError, match="maths must be"):
        MarketInputs(_market().reserves, maths="v3.4")
