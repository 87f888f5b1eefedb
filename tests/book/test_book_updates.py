"""Incremental account updates equal a rebuild; construction paths agree; bad inputs raise DataError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import (
    AccountInput,
    Book,
    EModeCategoryInput,
    MarketInputs,
    PositionInput,
    ReserveInput,
)
from tests.book.builders import USDC, WETH, account, accounts, addr, markets, reserve, simple_market


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_incremental_updates_equal_rebuild(data: st.DataObject) -> None:
    market = data.draw(markets())
    first = data.draw(accounts(market, n_max=6), label="first")
    book = Book.build(market, first)
    live = {a.address: a for a in first}
    for step in range(data.draw(st.integers(1, 4), label="steps")):
        changed = data.draw(accounts(market, n_max=4, start=1 + 3 * step), label="upserts")
        book.upsert_accounts(changed)
        live.update({a.address: a for a in changed})
        if live and data.draw(st.booleans(), label="remove"):
            gone = data.draw(st.sampled_from(sorted(live)), label="removed")
            book.remove_account(gone)
            del live[gone]
    rebuilt = Book.build(market, list(live.values()))
    assert book.diff(rebuilt) == []
    assert book.equals(rebuilt)
    assert sorted(book.addresses) == sorted(live)
    by_addr = dict(zip(book.addresses, book.account_data_all(), strict=True))
    assert all(by_addr[a] == rebuilt.account_data(a) for a in live)


def test_diff_reports_differences() -> None:
    m = simple_market()
    a = Book.build(m, [account(1, collateral={WETH: 10**18}, debt={USDC: 10**9})])
    b = a.copy()
    assert a.diff(b) == []
    b.upsert_account(account(1, collateral={WETH: 10**18}, debt={USDC: 2 * 10**9}))
    assert any("scaled_debt" in line for line in a.diff(b))
    assert not a.equals(b)
    assert a.debt_base()[0] == 1000 * 10**8  # the copy is independent
    b.upsert_account(account(2))
    assert any("only in right" in line for line in a.diff(b))
    c = a.copy()
    c.set_prices({WETH: 10**8})
    assert any("reserve WETH" in line for line in a.diff(c))


def test_remove_moves_last_row() -> None:
    accs = [account(i, collateral={WETH: i * 10**18}, debt={USDC: 10**9}) for i in (1, 2, 3)]
    book = Book.build(simple_market(), accs)
    book.remove_account(addr(1))
    assert book.addresses == (addr(3), addr(2))
    assert book.index_of(addr(3)) == 0 and addr(1) not in book and len(book) == 2
    assert book.collateral_base().tolist() == [6000 * 10**8, 4000 * 10**8]
    with pytest.raises(DataError):
        book.remove_account(addr(1))
    with pytest.raises(DataError):
        book.index_of(addr(1))


def test_many_upserts_grow_capacity() -> None:
    book = Book(simple_market())
    for i in range(1, 60):
        book.upsert_account(account(i, collateral={WETH: 10**18}, debt={USDC: i * 10**7}))
    assert len(book) == 59
    rebuilt = Book.build(simple_market(), book.account_inputs())
    assert book.diff(rebuilt) == []


def test_from_columns_equals_build() -> None:
    m = simple_market()
    accs = [
        account(1, collateral={WETH: 10**18}, debt={USDC: 10**9}),
        account(2, collateral={USDC: 5 * 10**9}, debt={m.reserves[2].asset: 10**21}, emode=1),
        account(3),
    ]
    n, r = len(accs), len(m.reserves)
    sc = np.zeros((n, r), dtype=np.int64)
    sv = np.zeros((n, r), dtype=object)
    for i, a in enumerate(accs):
        for j, res in enumerate(m.reserves):
            sc[i, j] = a.position(res.asset).scaled_atoken
            sv[i, j] = a.position(res.asset).scaled_variable_debt
    book = Book.from_columns(
        m, [a.address for a in accs], [a.user_configuration for a in accs], [a.emode_category for a in accs], sc, sv
    )
    assert book.diff(Book.build(m, accs)) == []
    assert book.account_inputs() == [Book.build(m, accs).account_input(a.address) for a in accs]


def test_from_columns_rejects_bad_columns() -> None:
    m = simple_market()
    ok = np.zeros((1, 4), dtype=np.int64)
    with pytest.raises(DataError, match="shape"):
        Book.from_columns(m, [addr(1)], [0], [0], np.zeros((1, 3), dtype=np.int64), ok)
    with pytest.raises(DataError, match="negative"):
        Book.from_columns(m, [addr(1)], [0], [0], -np.ones((1, 4), dtype=np.int64), ok)
    with pytest.raises(DataError, match="dtype"):
        Book.from_columns(m, [addr(1)], [0], [0], np.zeros((1, 4)), ok)
    with pytest.raises(DataError, match="int"):
        Book.from_columns(m, [addr(1)], [0], [0], np.array([[1.5, 0, 0, 0]], dtype=object), ok)
    with pytest.raises(DataError, match="length"):
        Book.from_columns(m, [addr(1)], [0, 0], [0], ok, ok)
    with pytest.raises(DataError, match="twice"):
        Book.from_columns(
            m, [addr(1), addr(1)], [0, 0], [0, 0], np.zeros((2, 4), dtype=np.int64), np.zeros((2, 4), dtype=np.int64)
        )


def test_account_validation_against_market() -> None:
    book = Book(simple_market())
    with pytest.raises(DataError, match="reserve ids \\[9\\]"):
        book.upsert_account(AccountInput(addr(1), 1 << 18))
    with pytest.raises(DataError, match="e-mode category 3"):
        book.upsert_account(AccountInput(addr(1), 0, emode_category=3))
    with pytest.raises(DataError, match="not a reserve"):
        book.upsert_account(AccountInput(addr(1), 0, positions={"0x" + "12" * 20: PositionInput(1)}))
    with pytest.raises(DataError, match="twice"):
        Book.build(simple_market(), [account(1), account(1)])
    assert len(book) == 0


def test_input_validation() -> None:
    with pytest.raises(DataError, match="address"):
        AccountInput("0x1234", 0)
    with pytest.raises(DataError, match="scaled_atoken"):
        PositionInput(scaled_atoken=-1)
    with pytest.raises(DataError, match="liquidation_threshold"):
        reserve(WETH, "WETH", 0, 18, 1, liquidation_threshold=70_000)
    with pytest.raises(DataError, match="normalized_income"):
        reserve(WETH, "WETH", 0, 18, 1, normalized_income=0)
    with pytest.raises(DataError, match="reserve_id"):
        reserve(WETH, "WETH", 128, 18, 1)
    with pytest.raises(DataError, match="appears twice"):
        MarketInputs([reserve(WETH, "A", 0, 18, 1), reserve(WETH, "B", 1, 18, 1)])
    with pytest.raises(DataError, match="reserve_id 0 appears twice"):
        MarketInputs([reserve(WETH, "A", 0, 18, 1), reserve(USDC, "B", 0, 18, 1)])
    with pytest.raises(DataError, match="no price for its price_source"):
        MarketInputs([reserve(WETH, "A", 0, 18, 1)], [EModeCategoryInput(1, 1, 1, 10_000, "0x" + "44" * 20)])
    with pytest.raises(DataError, match="at least one reserve"):
        MarketInputs([])
    with pytest.raises(DataError, match="MarketInputs"):
        Book("market")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="bool"):
        ReserveInput(WETH, "W", 0, 18, 0, 0, 10_000, 1, active=1)  # type: ignore[arg-type]


def test_price_and_index_update_validation() -> None:
    book = Book.build(simple_market(), [account(1, collateral={WETH: 10**18}, debt={USDC: 10**9})])
    with pytest.raises(DataError, match="not a reserve asset"):
        book.set_prices({"0x" + "99" * 20: 1})
    with pytest.raises(DataError, match="price of"):
        book.set_prices({WETH: -1})
    with pytest.raises(DataError, match="unknown reserves"):
        book.set_indexes({"0x" + "99" * 20: (1, 1)})
    assert book.prices[WETH] == 2000 * 10**8
    book.set_prices({WETH.upper().replace("0X", "0x"): 1000 * 10**8})
    assert book.prices[WETH] == 1000 * 10**8
    assert book.market.reserves[0].price == 1000 * 10**8


def test_index_below_half_ray_can_zero_a_balance() -> None:
    # rayMul(1, 0.4 ray) = 0: the dust collateral disappears, so the account's shared LT must be recomputed.
    m = simple_market()
    acc = account(1, collateral={WETH: 10**18, USDC: 1}, debt={m.reserves[2].asset: 10**20})
    book = Book.build(m, [acc])
    usdc = m.reserves[1]
    book.set_indexes({USDC: (4 * 10**26, usdc.normalized_variable_debt)})
    rebuilt = Book.build(book.market, [acc])
    assert book.diff(rebuilt) == []
    assert book.account_data(acc.address) == rebuilt.account_data(acc.address)
    assert book.account_data(acc.address).current_liquidation_threshold == 8250
