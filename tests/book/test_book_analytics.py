"""Analytics: HF distribution, liquidatable debt, liquidation prices, collateral at risk, riskiest, toxic."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import DataError
from monitor.protocols.aave_v3.book import Book, EModeCategoryInput, MarketInputs
from tests.book.builders import DAI, USDC, WBTC, WETH, account, accounts, markets, simple_market

WETH_PRICE = 2000 * 10**8


def weth_book(debts_usd: list[float], extra: list | None = None) -> Book:  # type: ignore[type-arg]
    """One account per debt: 1 WETH collateral (LT 82.5%) against ``debt`` USDC, HF = 1650 / debt."""
    accs = [account(i + 1, collateral={WETH: 10**18}, debt={USDC: round(d * 10**6)}) for i, d in enumerate(debts_usd)]
    return Book.build(simple_market(), accs + (extra or []))


def test_distribution_buckets() -> None:
    hfs = [0.9, 1.0, 1.005, 1.05, 2.0, 10.0]
    book = weth_book([1650 / h for h in hfs], extra=[account(99, collateral={WETH: 10**18})])
    dist = book.distribution([1.0, 1.01, 1.1, 1.5, 5.0])
    assert dist.counts == (1, 2, 1, 0, 1, 1)
    assert dist.accounts_without_debt == 1
    debts = [round(1650 / h * 10**6) / 10**6 for h in hfs]
    assert dist.debt_usd == pytest.approx((debts[0], debts[1] + debts[2], debts[3], 0.0, debts[4], debts[5]))
    assert dist.collateral_usd == pytest.approx((2000.0, 4000.0, 2000.0, 0.0, 2000.0, 2000.0))
    assert dist.labels() == ["<1", "[1,1.01)", "[1.01,1.1)", "[1.1,1.5)", "[1.5,5)", ">=5"]
    # Another first edge: plain float bucketing.
    assert book.distribution([0.95, 3.0]).counts == (1, 4, 1)


@pytest.mark.parametrize("edges", [[], [1.0, 1.0], [2.0, 1.0], [0.0, 1.0], [1.0, math.inf]])
def test_distribution_rejects_bad_edges(edges: list[float]) -> None:
    with pytest.raises(DataError):
        weth_book([1000.0]).distribution(edges)


def test_liquidatable_debt_close_factor() -> None:
    book = weth_book([1650 / 0.9, 1650 / 0.97, 1650 / 1.2])
    liq = book.liquidatable_debt()
    d1, d2 = round(1650 / 0.9 * 10**6) / 10**6, round(1650 / 0.97 * 10**6) / 10**6
    assert liq.accounts == 2
    assert liq.debt_usd == pytest.approx(d1 + d2)
    assert liq.collateral_usd == pytest.approx(4000.0)
    # HF 0.9 <= 0.95: the whole debt may be repaid; HF 0.97: half of it.
    assert liq.close_factor_debt_usd == pytest.approx(d1 + d2 / 2)


def test_liquidation_prices_hand_cases() -> None:
    m = simple_market()
    accs = [
        account(1, collateral={WETH: 10**18}, debt={USDC: 1500 * 10**6}),  # HF 1 at WETH = 1500 / 0.825
        account(2, collateral={WETH: 10**18}),  # no debt: n/a
        account(3, collateral={WBTC: 10**8}, debt={USDC: 1000 * 10**6}),  # no WETH: n/a
        account(4, collateral={USDC: 10_000 * 10**6}, debt={WETH: 2 * 10**18}),  # short WETH
        account(5, collateral={WETH: 10**18, WBTC: 10**8}, debt={USDC: 1000 * 10**6}),  # WBTC alone covers
    ]
    book = Book.build(m, accs)
    lp = book.liquidation_prices(WETH)
    assert lp.current_price == WETH_PRICE
    assert lp.prices[0] == pytest.approx(1500 / 0.825 * 10**8, rel=1e-12)
    assert bool(lp.net_long[0])
    assert math.isnan(lp.prices[1]) and math.isnan(lp.prices[2])
    # Short: 10,000 * 0.8 = 2 * p -> p = $4000, liquidated on a rise.
    assert lp.prices[3] == pytest.approx(4000 * 10**8, rel=1e-12)
    assert not lp.net_long[3]
    assert lp.prices[4] == 0.0
    # Around the computed prices the HF crosses 1 on the expected side.
    for i, up_is_safe in ((0, True), (3, False)):
        p = lp.prices[i]
        below = book.health_factors_at({WETH: int(p * (1 - 1e-6))})[i]
        above = book.health_factors_at({WETH: int(p * (1 + 1e-6))})[i]
        assert (below < 1 < above) if up_is_safe else (above < 1 < below)
    with pytest.raises(DataError):
        book.liquidation_prices("0x" + "77" * 20)


def test_liquidation_price_through_emode_source() -> None:
    # Category 1 priced by WETH's own feed: shocking WETH moves the members' USDC and DAI positions too.
    base = simple_market()
    m = MarketInputs(base.reserves, [EModeCategoryInput(1, 9300, 9500, 10100, price_source=WETH)])
    acc = account(1, collateral={USDC: 10**6}, debt={DAI: 9 * 10**17}, emode=1, market=m)
    book = Book.build(m, [acc])
    lp = book.liquidation_prices(WETH)
    # Both legs scale with the WETH price: HF = 0.95 / 0.9 whatever the price, so no fall reaches 1.
    assert lp.prices[0] == 0.0 and bool(lp.net_long[0])
    assert book.health_factors_at({WETH: 10**8})[0] == pytest.approx(0.95 / 0.9)
    assert math.isnan(book.liquidation_prices(USDC).prices[0])  # USDC's own price is not used


def test_collateral_at_risk_matches_recomputed_hfs() -> None:
    rng = np.random.default_rng(7)
    debts = list(rng.uniform(900, 1700, size=300))
    book = weth_book(debts)
    car = book.collateral_at_risk(WETH)
    assert len(car.drops) == 90 and car.drops[0] == 0.01 and car.drops[-1] == 0.9
    healthy_now = ~book.liquidatable()
    for k, drop in enumerate(car.drops):
        shocked = book.health_factors_at({WETH: round(WETH_PRICE * (1 - drop))})
        newly = healthy_now & (shocked < 1)
        assert car.accounts[k] == int(newly.sum()), drop
        assert car.collateral_usd[k] == pytest.approx(2000 * (1 - drop) * newly.sum(), rel=1e-9)
        assert car.asset_collateral_usd[k] == pytest.approx(car.collateral_usd[k], rel=1e-9)
        assert car.collateral_now_usd[k] == pytest.approx(2000 * newly.sum(), rel=1e-12)
        assert car.debt_usd[k] == pytest.approx(float(book.debt_usd()[newly].sum()), rel=1e-9)
    assert car.accounts[-1] == int(healthy_now.sum())  # every debt here is above 10% of the collateral value
    # Debt-only exposure (USDC is the debt): a USDC drop never makes anyone liquidatable.
    assert set(book.collateral_at_risk(USDC).accounts) == {0}


def test_collateral_at_risk_rejects_bad_drops() -> None:
    book = weth_book([1000.0])
    for drops in ([0.0], [1.0], [0.5, 0.2], []):
        with pytest.raises(DataError):
            book.collateral_at_risk(WETH, drops)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_collateral_at_risk_is_monotone(data: st.DataObject) -> None:
    market = data.draw(markets())
    book = Book.build(market, data.draw(accounts(market, n_max=8)))
    for r in market.reserves:
        car = book.collateral_at_risk(r.asset)
        for series in (car.accounts, car.collateral_now_usd, car.debt_now_usd):
            assert all(b >= a for a, b in itertools.pairwise(series)), series
        assert all(x >= -1e-6 for x in car.collateral_usd + car.debt_usd + car.asset_collateral_usd)
        assert car.accounts[-1] <= int(((book.debt_base() > 0) & ~book.liquidatable()).sum())


def test_riskiest_orders_by_hf_then_debt() -> None:
    book = weth_book([1650 / 1.3, 1650 / 0.8, 1650 / 1.1], extra=[account(50, collateral={WETH: 10**18})])
    top = book.riskiest(2)
    assert [round(r.health_factor, 6) for r in top] == [0.8, 1.1]
    assert top[0].liquidatable and not top[1].liquidatable
    assert top[0].debt_usd == pytest.approx(1650 / 0.8, rel=1e-9) and top[0].collateral_usd == 2000.0
    assert len(book.riskiest(10)) == 3  # the debt-free account is never listed
    assert book.riskiest(0) == []
    with pytest.raises(DataError):
        book.riskiest(-1)
    # Equal HFs: larger debt first.
    twin = Book.build(
        simple_market(),
        [
            account(1, collateral={WETH: 10**18}, debt={USDC: 1500 * 10**6}),
            account(2, collateral={WETH: 2 * 10**18}, debt={USDC: 3000 * 10**6}),
        ],
    )
    assert [r.address for r in twin.riskiest(2)] == [account(2).address, account(1).address]


def test_toxic_accounts() -> None:
    m = simple_market()  # e-mode 1: LT 95%, bonus 101% -> LT x bonus = 0.9595
    accs = [
        account(1, collateral={USDC: 1000 * 10**6}, debt={DAI: round(950 / 0.93 * 10**18)}, emode=1),  # HF .93
        account(2, collateral={WETH: 10**18}, debt={USDC: round(1650 / 0.93 * 10**6)}),  # .93 > .866
        account(3, collateral={WETH: 10**18}, debt={USDC: round(1650 / 0.8 * 10**6)}),  # .8 < .866
        account(4, collateral={WETH: 10**18}, debt={USDC: 1000 * 10**6}),  # healthy
    ]
    book = Book.build(m, accs)
    assert book.toxic_accounts() == [accs[0].address, accs[2].address]
