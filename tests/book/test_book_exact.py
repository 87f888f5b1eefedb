"""Exact getUserAccountData (v3.0.2) against hand-computed cases; the book, the reference and floats agree."""

from __future__ import annotations

import math

import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import (
    ZERO_ADDRESS,
    AccountData,
    AccountInput,
    Book,
    EModeCategoryInput,
    MarketInputs,
    PositionInput,
    encode_user_configuration,
    user_account_data,
)
from monitor.protocols.aave_v3.book.wadray import RAY, UINT256_MAX, WAD, percent_mul, ray_mul, wad_div
from tests.book.builders import DAI, STABLE_SOURCE, USDC, WBTC, WETH, account, addr, reserve, simple_market


def check(market: MarketInputs, acc: AccountInput, expected: AccountData) -> Book:
    """Reference, book exact path and book float path all give ``expected``."""
    assert user_account_data(market, acc) == expected
    book = Book.build(market, [acc])
    assert book.account_data(acc.address) == expected
    assert book.health_factors_wad() == [expected.health_factor]
    hf = float(book.health_factors()[0])
    if expected.health_factor == UINT256_MAX:
        assert hf == math.inf
    else:
        assert hf == pytest.approx(expected.health_factor / WAD, rel=1e-12, abs=1e-18)
    assert float(book.collateral_base()[0]) == pytest.approx(expected.total_collateral_base, rel=1e-15)
    assert float(book.debt_base()[0]) == pytest.approx(expected.total_debt_base, rel=1e-15)
    assert bool(book.liquidatable()[0]) == (expected.health_factor < WAD)
    return book


def test_fixed_point_helpers_round_half_up() -> None:
    assert ray_mul(1, RAY * 3 // 2) == 2  # 1.5 -> 2
    assert ray_mul(1, RAY * 3 // 2 - 1) == 1  # just below 1.5 -> 1
    assert wad_div(2, 3) == 666_666_666_666_666_667  # .67 rounds up
    assert wad_div(1, 3) == 333_333_333_333_333_333
    assert percent_mul(3, 5000) == 2  # 1.5 -> 2
    assert percent_mul(1, 4999) == 0  # 0.4999 -> 0


def test_single_collateral_single_debt() -> None:
    # 1 WETH at $2000 (LT 82.5%, LTV 80%) against 1500 USDC: HF = 2000 * 0.825 / 1500 = 1.1.
    acc = account(1, collateral={WETH: 10**18}, debt={USDC: 1500 * 10**6})
    check(
        simple_market(),
        acc,
        AccountData(
            total_collateral_base=2000 * 10**8,
            total_debt_base=1500 * 10**8,
            available_borrows_base=100 * 10**8,  # 80% of 2000 - 1500
            current_liquidation_threshold=8250,
            ltv=8000,
            health_factor=11 * 10**17,
        ),
    )


def test_indexes_and_ray_mul_rounding() -> None:
    # A 0-decimal token at price 1: base value = balance, so rayMul's half-up rounding shows directly.
    m = MarketInputs(
        [
            reserve(WETH, "A", 0, 0, 1, liquidation_threshold=10_000, ltv=5000, normalized_income=RAY * 3 // 2),
            reserve(USDC, "B", 1, 0, 1, normalized_variable_debt=RAY * 3 // 2 - 1),
        ]
    )
    acc = AccountInput(
        addr(7),
        encode_user_configuration([0], [1]),
        positions={WETH: PositionInput(scaled_atoken=1), USDC: PositionInput(scaled_variable_debt=1)},
    )
    # collateral = rayMul(1, 1.5 ray) = 2; debt = rayMul(1, 1.5 ray - 1) = 1; HF = percentMul(2, 1e4) / 1 = 2.
    check(m, acc, AccountData(2, 1, 0, 10_000, 5000, 2 * WAD))


def test_value_truncates_and_wad_div_rounds() -> None:
    # USDC balance 1 wei at price 0.99999999: 1 * 99_999_999 / 1e6 = 99 base units (truncated).
    # Debt: DAI 3 base units worth. HF = percentMul(99, 8000) = 79 (79.2 -> 79), wadDiv(79, 3) = 26.333.. wad.
    m = MarketInputs(
        [
            reserve(USDC, "USDC", 0, 6, 99_999_999, liquidation_threshold=8000),
            reserve(DAI, "DAI", 1, 18, 10**8),
        ]
    )
    acc = AccountInput(
        addr(2),
        encode_user_configuration([0], [1]),
        positions={USDC: PositionInput(scaled_atoken=1), DAI: PositionInput(scaled_variable_debt=3 * 10**10)},
    )
    hf = (79 * WAD + 1) // 3
    check(m, acc, AccountData(99, 3, 76, 8000, 8000, hf))  # available = 79 - 3


def test_average_lt_is_floored_and_percent_mul_half_up() -> None:
    # Values 1 (LT 8000) and 2 (LT 8001): avgLT = (8000 + 16002) // 3 = 8000 (8000.67 floored).
    # percentMul(3, 8000) = 2 (2.4); debt 2 -> HF exactly 1.0 (not liquidatable).
    m = MarketInputs(
        [
            reserve(WETH, "A", 0, 0, 1, liquidation_threshold=8000, ltv=1),
            reserve(WBTC, "B", 1, 0, 1, liquidation_threshold=8001, ltv=3),
            reserve(DAI, "C", 2, 0, 1),
        ]
    )
    acc = AccountInput(
        addr(3),
        encode_user_configuration([0, 1], [2]),
        positions={
            WETH: PositionInput(scaled_atoken=1),
            WBTC: PositionInput(scaled_atoken=2),
            DAI: PositionInput(scaled_variable_debt=2),
        },
    )
    # avgLtv = (1*1 + 2*3) // 3 = 2; available = percentMul(3, 2) = 0.
    check(m, acc, AccountData(3, 2, 0, 8000, 2, WAD))
    # One more unit of debt: HF = wadDiv(2, 3) = 0.667 (rounded up in the last digit).
    acc2 = AccountInput(acc.address, acc.user_configuration, 0, {**acc.positions, DAI: PositionInput(0, 3)})
    check(m, acc2, AccountData(3, 3, 0, 8000, 2, 666_666_666_666_666_667))


def test_emode_with_price_source() -> None:
    # Category 1 (USDC, DAI) LT 97% LTV 93%, priced by a source at $1.00 while USDC trades at 0.99 and DAI 1.01.
    m = MarketInputs(
        [
            reserve(WETH, "WETH", 0, 18, 2000 * 10**8, ltv=8000, liquidation_threshold=8250),
            reserve(USDC, "USDC", 1, 6, 99_000_000, ltv=7700, liquidation_threshold=8000, emode_category=1),
            reserve(DAI, "DAI", 2, 18, 101_000_000, ltv=7500, liquidation_threshold=8000, emode_category=1),
        ],
        [
            EModeCategoryInput(
                1, ltv=9300, liquidation_threshold=9700, liquidation_bonus=10100, price_source=STABLE_SOURCE
            )
        ],
        {STABLE_SOURCE: 10**8},
    )
    acc = AccountInput(
        addr(4),
        encode_user_configuration([0, 1], [2]),
        emode_category=1,
        positions={
            WETH: PositionInput(scaled_atoken=10**17),  # 0.1 WETH = $200, outside the category
            USDC: PositionInput(scaled_atoken=10_000 * 10**6),  # $10,000 at the source price
            DAI: PositionInput(scaled_variable_debt=9_000 * 10**18),  # $9,000 at the source price
        },
    )
    coll = 200 * 10**8 + 10_000 * 10**8
    avg_lt = (200 * 10**8 * 8250 + 10_000 * 10**8 * 9700) // coll  # 9671 (9671.56)
    avg_ltv = (200 * 10**8 * 8000 + 10_000 * 10**8 * 9300) // coll  # 9274
    debt = 9_000 * 10**8
    hf = wad_div(percent_mul(coll, avg_lt), debt)
    expected = AccountData(coll, debt, percent_mul(coll, avg_ltv) - debt, avg_lt, avg_ltv, hf)
    assert (avg_lt, avg_ltv) == (9671, 9274)
    book = check(m, acc, expected)
    # The same account outside e-mode uses oracle prices and the reserves' own LTs.
    plain = AccountInput(acc.address, acc.user_configuration, 0, acc.positions)
    coll0 = 200 * 10**8 + 9_900 * 10**8
    lt0 = (200 * 10**8 * 8250 + 9_900 * 10**8 * 8000) // coll0
    debt0 = 9_090 * 10**8
    assert user_account_data(m, plain) == AccountData(
        coll0,
        debt0,
        0,
        lt0,
        (200 * 10**8 * 8000 + 9_900 * 10**8 * 7700) // coll0,
        wad_div(percent_mul(coll0, lt0), debt0),
    )
    # Moving the source price moves both sides of the e-mode account; the USDC oracle price does not.
    book.set_prices({USDC: 50_000_000})
    assert book.account_data(acc.address) == expected
    book.set_prices({STABLE_SOURCE: 90_000_000})
    assert book.account_data(acc.address) == user_account_data(m, acc, {USDC: 50_000_000, STABLE_SOURCE: 90_000_000})
    assert book.account_data(acc.address).total_debt_base == 8_100 * 10**8


def test_emode_source_price_zero_falls_back_to_oracle() -> None:
    m = simple_market()
    m = MarketInputs(
        m.reserves,
        [EModeCategoryInput(1, 9300, 9500, 10100, price_source=STABLE_SOURCE)],
        {STABLE_SOURCE: 0},
    )
    acc = account(5, collateral={USDC: 1000 * 10**6}, debt={DAI: 900 * 10**18}, emode=1, market=m)
    # Oracle prices ($1), e-mode LT 95%: HF = 1000 * 0.95 / 900.
    hf = wad_div(percent_mul(1000 * 10**8, 9500), 900 * 10**8)
    check(m, acc, AccountData(1000 * 10**8, 900 * 10**8, percent_mul(1000 * 10**8, 9300) - 900 * 10**8, 9500, 9300, hf))


def test_emode_without_source_uses_category_lt_only_in_category() -> None:
    acc = account(6, collateral={USDC: 1000 * 10**6, WETH: 10**18}, debt={DAI: 2000 * 10**18}, emode=1)
    coll = 1000 * 10**8 + 2000 * 10**8
    lt = (1000 * 10**8 * 9500 + 2000 * 10**8 * 8250) // coll
    ltv = (1000 * 10**8 * 9300 + 2000 * 10**8 * 8000) // coll
    check(
        simple_market(),
        acc,
        AccountData(
            coll,
            2000 * 10**8,
            percent_mul(coll, ltv) - 2000 * 10**8,
            lt,
            ltv,
            wad_div(percent_mul(coll, lt), 2000 * 10**8),
        ),
    )


def test_collateral_flag_off_and_debt_flag_off_do_not_count() -> None:
    # WBTC supplied but not enabled as collateral; a USDC debt balance without the borrowing flag.
    acc = AccountInput(
        addr(8),
        encode_user_configuration([0], [2]),
        positions={
            WETH: PositionInput(scaled_atoken=10**18),
            WBTC: PositionInput(scaled_atoken=10**8),
            USDC: PositionInput(scaled_variable_debt=10**12),
            DAI: PositionInput(scaled_variable_debt=1000 * 10**18),
        },
    )
    check(simple_market(), acc, AccountData(2000 * 10**8, 1000 * 10**8, 600 * 10**8, 8250, 8000, 165 * 10**16))


def test_zero_lt_reserve_is_not_collateral_and_zero_ltv_skips_average() -> None:
    m = MarketInputs(
        [
            reserve(WETH, "WETH", 0, 18, 2000 * 10**8, ltv=0, liquidation_threshold=0),  # LT 0: ignored
            reserve(WBTC, "WBTC", 1, 8, 30_000 * 10**8, ltv=0, liquidation_threshold=7500),  # LTV 0 only
            reserve(USDC, "USDC", 2, 6, 10**8, ltv=8000, liquidation_threshold=8500),
            reserve(DAI, "DAI", 3, 18, 10**8),
        ]
    )
    acc = account(
        9, collateral={WETH: 10**18, WBTC: 10**8, USDC: 10_000 * 10**6}, debt={DAI: 20_000 * 10**18}, market=m
    )
    coll = 30_000 * 10**8 + 10_000 * 10**8
    lt = (30_000 * 10**8 * 7500 + 10_000 * 10**8 * 8500) // coll  # 7750
    ltv = (10_000 * 10**8 * 8000) // coll  # WBTC's value is in the divisor but adds no LTV: 2000
    check(m, acc, AccountData(coll, 20_000 * 10**8, 0, lt, ltv, wad_div(percent_mul(coll, lt), 20_000 * 10**8)))


def test_stable_debt_adds_to_variable_debt() -> None:
    acc = AccountInput(
        addr(10),
        encode_user_configuration([0], [1]),
        positions={
            WETH: PositionInput(scaled_atoken=10**18),
            USDC: PositionInput(scaled_variable_debt=500 * 10**6, stable_debt=250 * 10**6),
        },
    )
    check(simple_market(), acc, AccountData(2000 * 10**8, 750 * 10**8, 850 * 10**8, 8250, 8000, 22 * 10**17))


def test_no_debt_and_empty_configuration() -> None:
    acc = account(11, collateral={WETH: 10**18})
    check(simple_market(), acc, AccountData(2000 * 10**8, 0, 1600 * 10**8, 8250, 8000, UINT256_MAX))
    empty = AccountInput(addr(12), 0, positions={WETH: PositionInput(scaled_atoken=10**18)})
    check(simple_market(), empty, AccountData(0, 0, 0, 0, 0, UINT256_MAX))


def test_debt_without_collateral_has_zero_hf() -> None:
    acc = account(13, debt={USDC: 10 * 10**6})
    check(simple_market(), acc, AccountData(0, 10 * 10**8, 0, 0, 0, 0))


def test_liquidation_boundary_is_exact() -> None:
    # HF exactly 1e18 is not liquidatable; one more base unit of debt makes it so.
    m = MarketInputs([reserve(WETH, "A", 0, 0, 1, liquidation_threshold=10_000), reserve(DAI, "B", 1, 0, 1)])
    for debt, liquidatable in ((10**12, False), (10**12 + 1, True)):
        acc = AccountInput(
            addr(14),
            encode_user_configuration([0], [1]),
            positions={WETH: PositionInput(scaled_atoken=10**12), DAI: PositionInput(scaled_variable_debt=debt)},
        )
        book = Book.build(m, [acc])
        assert bool(book.liquidatable()[0]) is liquidatable
        assert (book.health_factors_wad()[0] < WAD) is liquidatable


def test_reference_rejects_unknown_reserve_bits_and_category() -> None:
    m = simple_market()
    with pytest.raises(DataError, match="reserve id 9"):
        user_account_data(m, AccountInput(addr(1), 1 << 18))
    with pytest.raises(DataError, match="e-mode category 4"):
        user_account_data(m, AccountInput(addr(1), 1, emode_category=4))
    with pytest.raises(DataError, match="unknown reserves"):
        user_account_data(m, AccountInput(addr(1), 1, positions={"0x" + "99" * 20: PositionInput(1)}))
    assert ZERO_ADDRESS == "0x" + "0" * 40
