"""Morpho Blue's pure maths against independent exact-rational formulations and hand-computed values."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from monitor.errors import DataError
from monitor.protocols.morpho_blue.health import health, is_healthy, max_borrow
from monitor.protocols.morpho_blue.interest import accrue, w_taylor_compounded
from monitor.protocols.morpho_blue.liquidation import (
    full_liquidation,
    liquidate,
    liquidation_incentive_factor,
    repaid_shares_for_seized,
    seized_for_repaid_shares,
)
from monitor.protocols.morpho_blue.params import MarketParams, MarketState, Position, market_id
from monitor.protocols.morpho_blue.shares import WAD, to_assets_down, to_assets_up, to_shares_down, to_shares_up


def _floor(q: Fraction) -> int:
    return q.numerator // q.denominator


def _ceil(q: Fraction) -> int:
    return -((-q.numerator) // q.denominator)


@pytest.mark.parametrize(
    ("lltv_pct", "expected"),
    [
        ("0.86", Fraction(1, 1) / (1 - Fraction(3, 10) * (1 - Fraction("0.86")))),
        ("0.77", Fraction(1, 1) / (1 - Fraction(3, 10) * (1 - Fraction("0.77")))),
        ("0.625", Fraction(1, 1) / (1 - Fraction(3, 10) * (1 - Fraction("0.625")))),
        ("0.385", Fraction(115, 100)),  # the cap binds below about 56.5%
    ],
)
def test_liquidation_incentive_factor(lltv_pct: str, expected: Fraction) -> None:
    lltv = _floor(Fraction(lltv_pct) * WAD)
    assert liquidation_incentive_factor(lltv) == min(_floor(expected * WAD), 115 * 10**16)


def test_incentive_cap_threshold() -> None:
    # 1 / (1 - 0.3 (1 - LLTV)) reaches 1.15 at LLTV = 1 - (1 - 1/1.15) / 0.3, about 0.5652
    assert liquidation_incentive_factor(570 * 10**15) < 115 * 10**16
    assert liquidation_incentive_factor(565 * 10**15) == 115 * 10**16
    assert liquidation_incentive_factor(5 * 10**17) == 115 * 10**16
    assert liquidation_incentive_factor(0) == 115 * 10**16
    with pytest.raises(DataError):
        liquidation_incentive_factor(WAD)


def test_shares_conversions_match_exact_rationals() -> None:
    rng = random.Random(5)
    for _ in range(2_000):
        ta, ts = rng.randrange(0, 10**30), rng.randrange(0, 10**36)
        x = rng.randrange(0, 10**30)
        r_assets = Fraction(ta + 1, ts + 10**6)
        assert to_assets_down(x, ta, ts) == _floor(x * r_assets)
        assert to_assets_up(x, ta, ts) == _ceil(x * r_assets)
        assert to_shares_down(x, ta, ts) == _floor(x / r_assets)
        assert to_shares_up(x, ta, ts) == _ceil(x / r_assets)
    # empty market: 1e6 virtual shares per virtual asset
    assert to_shares_down(5, 0, 0) == 5 * 10**6
    assert to_assets_up(1, 0, 0) == 1 and to_assets_down(1, 0, 0) == 0


def test_taylor_compounding_is_close_to_exp_and_below_it() -> None:
    rate = 1585489599  # 5% a year per second in WAD
    for elapsed in (1, 3_600, 86_400, 365 * 86_400):
        got = w_taylor_compounded(rate, elapsed)
        exact = math.expm1(rate * elapsed / WAD) * WAD
        assert got <= exact + 1
        assert got == pytest.approx(exact, rel=1e-4)
    assert w_taylor_compounded(rate, 0) == 0


def test_accrue_with_fee_matches_hand_computation() -> None:
    m = MarketState(1_000_000 * 10**6, 1_000_000 * 10**12, 800_000 * 10**6, 800_000 * 10**12, 1_000, 10**17)
    rate, dt = 3 * 10**9, 86_400
    out = accrue(m, rate, 1_000 + dt)
    first = rate * dt
    compounded = first + first * first // (2 * WAD) + (first * first // (2 * WAD)) * first // (3 * WAD)
    interest = m.total_borrow_assets * compounded // WAD
    fee = interest * 10**17 // WAD
    supply = m.total_supply_assets + interest
    fee_shares = fee * (m.total_supply_shares + 10**6) // (supply - fee + 1)
    assert out == MarketState(supply, m.total_supply_shares + fee_shares, m.total_borrow_assets + interest,
                              m.total_borrow_shares, 1_000 + dt, 10**17)  # fmt: skip
    assert interest > 0 and fee_shares > 0
    assert accrue(m, rate, 1_000) == m  # no time, no interest
    with pytest.raises(DataError):
        accrue(m, rate, 999)


def test_health_factor_agrees_with_the_health_decision() -> None:
    rng = random.Random(7)
    for _ in range(3_000):
        m = MarketState(10**24, 10**30, rng.randrange(1, 10**24), rng.randrange(1, 10**30), 1, 0)
        pos = Position(0, rng.randrange(1, 10**26), rng.randrange(0, 10**22))
        price = rng.randrange(1, 10**40)
        lltv = rng.choice([385, 625, 770, 860, 945]) * 10**15
        h = health(pos, m, price, lltv)
        assert h.healthy == is_healthy(pos, m, price, lltv) == (h.health_factor_wad >= WAD)
        assert h.max_borrow == max_borrow(pos.collateral, price, lltv)
        assert h.headroom == max(h.max_borrow - h.borrow_assets, 0)


def _market() -> MarketState:
    return MarketState(5_000_000 * 10**6, 5_000_000 * 10**12, 4_000_000 * 10**6, 3_900_000 * 10**12, 1, 0)


def test_full_liquidation_repays_everything_when_collateral_covers_it() -> None:
    m, lltv = _market(), 860 * 10**15
    price = 2_500 * 10**24  # 2,500 USDC (6 decimals) per WETH (18 decimals), scaled 1e36
    pos = Position(0, 10_000 * 10**12, 5 * 10**18)  # owes ~10,257 USDC against 12,500 of WETH: LTV 0.82
    assert is_healthy(pos, m, price, lltv)
    low = 2_300 * 10**24
    assert not is_healthy(pos, m, low, lltv)
    plan = full_liquidation(pos, m, low, lltv)
    assert plan.repaid_shares == pos.borrow_shares and plan.seized_assets == 0
    res = liquidate(pos, m, low, lltv, repaid_shares=plan.repaid_shares)
    assert res.position.borrow_shares == 0 and res.bad_debt_assets == 0
    lif = liquidation_incentive_factor(lltv)
    assert res.seized_assets == seized_for_repaid_shares(pos.borrow_shares, m, low, lif)
    repaid = to_assets_down(pos.borrow_shares, m.total_borrow_assets, m.total_borrow_shares)
    assert res.seized_assets == _floor(Fraction(_floor(Fraction(repaid * lif, WAD)) * 10**36, low))
    assert res.market.total_borrow_assets == m.total_borrow_assets - res.repaid_assets


def test_full_liquidation_realises_bad_debt_when_collateral_falls_short() -> None:
    m, lltv = _market(), 860 * 10**15
    pos = Position(0, 10_000 * 10**12, 5 * 10**18)
    low = 1_900 * 10**24  # collateral worth 9,500 USDC against ~10,257 owed
    plan = full_liquidation(pos, m, low, lltv)
    assert plan.seized_assets == pos.collateral and plan.repaid_shares == 0
    res = liquidate(pos, m, low, lltv, seized_assets=plan.seized_assets)
    lif = liquidation_incentive_factor(lltv)
    assert res.repaid_shares == repaid_shares_for_seized(pos.collateral, m, low, lif)
    assert res.position == Position(0, 0, 0)
    assert res.bad_debt_shares == pos.borrow_shares - res.repaid_shares > 0
    owed = to_assets_up(pos.borrow_shares, m.total_borrow_assets, m.total_borrow_shares)
    assert res.repaid_assets + res.bad_debt_assets in (owed, owed + 1)  # each part rounds up
    assert res.market.total_supply_assets == m.total_supply_assets - res.bad_debt_assets
    assert res.market.total_borrow_shares == m.total_borrow_shares - pos.borrow_shares


def test_liquidate_refuses_what_the_contract_refuses() -> None:
    m, lltv = _market(), 860 * 10**15
    pos = Position(0, 10_000 * 10**12, 5 * 10**18)
    with pytest.raises(DataError, match="healthy"):
        liquidate(pos, m, 2_500 * 10**24, lltv, repaid_shares=1)
    with pytest.raises(DataError, match="exactly one"):
        liquidate(pos, m, 1_900 * 10**24, lltv, repaid_shares=1, seized_assets=1)
    with pytest.raises(DataError, match="seizes"):
        liquidate(pos, m, 1_900 * 10**24, lltv, repaid_shares=pos.borrow_shares)


def test_market_id_is_keccak_of_the_abi_encoded_params() -> None:
    p = MarketParams("0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, "0x" + "44" * 20, 860 * 10**15)
    assert market_id(p) == p.id and len(p.id) == 66
    other = MarketParams(p.loan_token, p.collateral_token, p.oracle, p.irm, 770 * 10**15)
    assert other.id != p.id
