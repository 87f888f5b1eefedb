"""Property tests: book exact == reference; float path within 1e-12 of exact; recomputes equal rebuilds."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.protocols.aave_v3.book import Book, MarketInputs, user_account_data
from monitor.protocols.aave_v3.book.wadray import UINT256_MAX, WAD
from tests.book.builders import accounts, markets

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UPDATES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def books(draw: st.DrawFn) -> tuple[MarketInputs, list]:  # type: ignore[type-arg]
    market = draw(markets())
    return market, draw(accounts(market))


def float_tolerance(collateral: int, debt: int, n_positions: int) -> float:
    """Relative bound on |float HF / exact HF - 1|: 1e-12, plus one base unit per position on dust totals."""
    bound = 1e-12
    if collateral:
        bound += (n_positions + 1) / collateral
    if debt:
        bound += (n_positions + 1) / debt
    return bound


@FAST
@given(books())
def test_book_exact_equals_reference(case: tuple[MarketInputs, list]) -> None:  # type: ignore[type-arg]
    market, accs = case
    book = Book.build(market, accs)
    got = book.account_data_all()
    assert got == [user_account_data(market, a) for a in book.account_inputs()]
    assert [book.account_data(a.address) for a in accs] == [user_account_data(market, a) for a in accs]


@FAST
@given(books())
def test_float_agrees_with_exact(case: tuple[MarketInputs, list]) -> None:  # type: ignore[type-arg]
    market, accs = case
    book = Book.build(market, accs)
    hf = book.health_factors()
    coll, debt = book.collateral_base(), book.debt_base()
    liq = book.liquidatable()
    for i, data in enumerate(book.account_data_all()):
        n_pos = 2 * len(market.reserves)
        if data.health_factor == UINT256_MAX:
            assert hf[i] == math.inf
            assert debt[i] == 0
            continue
        exact = data.health_factor / WAD
        tol = float_tolerance(data.total_collateral_base, data.total_debt_base, n_pos)
        assert abs(hf[i] - exact) <= tol * exact + 1e-18, (hf[i], exact, data)
        # Each position value is off by at most one base unit, or a few ulps once past 2**52.
        assert abs(coll[i] - data.total_collateral_base) <= n_pos * (1 + 4e-15 * data.total_collateral_base)
        assert abs(debt[i] - data.total_debt_base) <= n_pos * (1 + 4e-15 * data.total_debt_base)
        # Totals far from dust: the float path lands within 1e-12, and the liquidatable flag is exact.
        if data.total_collateral_base >= 10**13 and data.total_debt_base >= 10**13:
            assert abs(hf[i] - exact) <= 1e-12 * exact + 5e-19  # wadDiv rounds to half a wei
        if min(data.total_collateral_base, data.total_debt_base) >= 10**10:
            assert bool(liq[i]) == (data.health_factor < WAD)


@UPDATES
@given(books(), st.data())
def test_price_update_equals_rebuild(case: tuple[MarketInputs, list], data: st.DataObject) -> None:  # type: ignore[type-arg]
    market, accs = case
    book = Book.build(market, accs)
    new_prices = {
        addr: data.draw(st.one_of(st.just(price), st.integers(0, 10**13)), label=addr)
        for addr, price in market.prices().items()
    }
    before = book.health_factors()
    what_if = book.health_factors_at(new_prices)
    np.testing.assert_array_equal(book.health_factors(), before)  # what-if leaves the book alone
    book.set_prices(new_prices)
    rebuilt = Book.build(
        MarketInputs(
            [dataclasses.replace(r, price=new_prices[r.asset]) for r in market.reserves],
            market.emode_categories,
            {a: new_prices[a] for a in market.source_prices},
        ),
        accs,
    )
    assert book.diff(rebuilt) == []
    np.testing.assert_array_equal(what_if, rebuilt.health_factors())
    assert book.account_data_all() == [user_account_data(market, a, new_prices) for a in accs]


@UPDATES
@given(books(), st.data())
def test_index_update_equals_rebuild(case: tuple[MarketInputs, list], data: st.DataObject) -> None:  # type: ignore[type-arg]
    market, accs = case
    book = Book.build(market, accs)
    changed = data.draw(st.lists(st.sampled_from(market.reserves), unique_by=lambda r: r.asset), label="reserves")
    indexes = {
        r.asset: (
            r.normalized_income + data.draw(st.integers(0, 10**26)),
            r.normalized_variable_debt + data.draw(st.integers(0, 10**26)),
        )
        for r in changed
    }
    book.set_indexes(indexes)
    reserves = [
        dataclasses.replace(r, normalized_income=indexes[r.asset][0], normalized_variable_debt=indexes[r.asset][1])
        if r.asset in indexes
        else r
        for r in market.reserves
    ]
    rebuilt = Book.build(MarketInputs(reserves, market.emode_categories, market.source_prices), accs)
    assert book.diff(rebuilt) == []


def test_average_lt_floor_near_integers_uses_exact_path() -> None:
    """Mixed-LT ratios that are exactly integral, or a hair below one, floor as the integers do."""
    from monitor.protocols.aave_v3.book import AccountInput, PositionInput, encode_user_configuration
    from tests.book.builders import DAI, USDC, WETH, addr, reserve

    market = MarketInputs(
        [
            reserve(WETH, "A", 0, 0, 1, liquidation_threshold=8250),
            reserve(USDC, "B", 1, 0, 1, liquidation_threshold=8050),
            reserve(DAI, "C", 2, 0, 1),
        ]
    )
    cfg = encode_user_configuration([0, 1], [2])

    def acc(i: int, a: int, b: int) -> AccountInput:
        return AccountInput(
            addr(i),
            cfg,
            positions={
                WETH: PositionInput(scaled_atoken=a),
                USDC: PositionInput(scaled_atoken=b),
                DAI: PositionInput(scaled_variable_debt=(a + b) * 8 // 10),
            },
        )

    cases = [
        acc(1, 10**15, 10**15),  # avg exactly 8150
        acc(2, 10**17, 1),  # 8250 - 2e-15: floors to 8249
        acc(3, 3 * 10**16 + 7, 3 * 10**16 - 7),  # a hair above 8150
        acc(4, 10**15 - 1, 10**15 + 1),  # a hair below 8150
    ]
    book = Book.build(market, cases)
    exact = book.account_data_all()
    assert [d.current_liquidation_threshold for d in exact] == [8150, 8249, 8150, 8149]
    np.testing.assert_array_equal(book.arrays().avg_lt, [d.current_liquidation_threshold for d in exact])
    for hf, d in zip(book.health_factors(), exact, strict=True):
        assert abs(hf - d.health_factor / WAD) <= 1e-15


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(case=books())
def test_chunked_threaded_pass_equals_single_chunk(
    case: tuple[MarketInputs, list],  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.protocols.aave_v3.book import floatpath

    market, accs = case
    single = Book.build(market, accs)
    with monkeypatch.context() as mp:
        mp.setattr(floatpath, "CHUNK", 2)
        mp.setattr(floatpath, "WORKERS", 2)
        chunked = Book.build(market, accs)
        chunked.set_prices(market.prices())
    assert chunked.diff(single) == []
