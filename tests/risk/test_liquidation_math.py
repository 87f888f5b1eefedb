"""The vectorised liquidation amounts against the contracts' integer formulas (LiquidationLogic v3.0.2 and v3.3),
written out here on Python ints; and hand cases of the close factor and the v3.3 rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.protocols.aave_v3.liquidation_model import Terms, amounts, liquidate, max_cover


def pmul(v: int, p: int) -> int:
    return (v * p + 5000) // 10_000


def pdiv(v: int, p: int) -> int:
    return (v * 10_000 + p // 2) // p


def exact_v30(bal: int, debt: int, pc: int, pd: int, dc: int, dd: int, bonus: int, fee: int, hf_wad: int):  # type: ignore[no-untyped-def]
    """_calculateDebt + _calculateAvailableCollateralToLiquidate with debtToCover = uint max."""
    cover = pmul(debt, 5000 if hf_wad > 95 * 10**16 else 10_000)
    base = pd * cover * 10**dc // (pc * 10**dd)
    wanted = pmul(base, bonus)
    if wanted > bal:
        coll, need = bal, pdiv(pc * bal * 10**dd // (pd * 10**dc), bonus)
    else:
        coll, need = wanted, cover
    protocol = pmul(coll - pdiv(coll, bonus), fee) if fee else 0
    return coll, need, protocol, coll - protocol


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def exact_v36(bal: int, debt: int, pc: int, pd: int, dc: int, dd: int, bonus: int, fee: int, hf_wad: int,
              total_debt: int) -> tuple[int, int, int, int, bool]:  # fmt: skip
    """LiquidationLogic of aave-v3-origin 3.6.0 with debtToCover = uint max: amounts and whether it reverts."""
    debt_base = ceil_div(debt * pd, 10**dd)
    coll_base = bal * pc // 10**dc
    cover = debt
    if coll_base >= 2000 * 10**8 and debt_base >= 2000 * 10**8 and hf_wad > 95 * 10**16:
        allowed = pmul(total_debt, 5000)
        if debt_base > allowed:
            cover = allowed * 10**dd // pd
    base = pd * cover * 10**dc // (pc * 10**dd)
    wanted = pmul(base, bonus)
    if wanted > bal:
        coll, need = bal, ceil_div(pc * bal * 10**dd // (pd * 10**dc) * 10_000, bonus)
    else:
        coll, need = wanted, cover
    protocol = pmul(coll - pdiv(coll, bonus), fee) if fee else 0
    ok = True
    if need < debt and coll < bal:
        ok = ceil_div((debt - need) * pd, 10**dd) >= 1000 * 10**8 and (bal - coll) * pc // 10**dc >= 1000 * 10**8
    return coll, need, protocol, coll - protocol, ok


@settings(max_examples=300, deadline=None)
@given(
    bal=st.integers(1, 10**12),
    debt=st.integers(1, 10**12),
    pc=st.integers(10**6, 10**12),
    pd=st.integers(10**6, 10**12),
    dc=st.sampled_from([2, 6, 8]),
    dd=st.sampled_from([2, 6, 8]),
    bonus=st.integers(10_001, 11_500),
    fee=st.sampled_from([0, 1000]),
    hf_bps=st.integers(1, 9999),
    share=st.floats(0.3, 1.0),
)
def test_v36_amounts_equal_the_integer_formulas(
    bal: int, debt: int, pc: int, pd: int, dc: int, dd: int, bonus: int, fee: int, hf_bps: int, share: float
) -> None:
    total = ceil_div(ceil_div(debt * pd, 10**dd), 1) * 10_000 // max(int(share * 10_000), 1)
    coll, need, protocol, received, ok = exact_v36(bal, debt, pc, pd, dc, dd, bonus, fee, hf_bps * 10**14, total)
    tr = terms(bal, debt, pc, pd, dc, dd, bonus, fee, hf_bps / 10_000, t=float(bal * pc // 10**dc), d=float(total))
    got = liquidate(tr, np.array([np.inf]), "v3.3", "v3.6")
    ours = (got.collateral[0], got.debt[0], got.fee[0], got.received[0])
    for x, y in zip(ours, (coll, need, protocol, received), strict=True):
        assert abs(x - y) <= max(1.0, 1e-12 * y), (ours, (coll, need, protocol, received))
    assert bool(got.ok[0]) == (ok and need >= 1 and received >= 1)


def test_v36_capped_debt_rounds_up() -> None:
    # all of $900 of collateral against $1,000 of debt: debt needed = ceil(900 / 1.05), v3.0 rounds half up
    tr = terms(9 * 10**8, 1000 * 10**6, 10**8, 10**8, 6, 6, 10_500, 0, 0.7, t=900e8, d=1000e8)
    want = ceil_div(9 * 10**8 * 10_000, 10_500)
    assert amounts(tr, max_cover(tr, "v3.3", "v3.6"), "v3.3", "v3.6").debt[0] == want
    assert amounts(tr, max_cover(tr, "v3.0"), "v3.0").debt[0] == pdiv(9 * 10**8, 10_500) == want - 1


def terms(bal: int, debt: int, pc: int, pd: int, dc: int, dd: int, bonus: int, fee: int, hf: float,
          t: float = 0.0, d: float = 0.0) -> Terms:  # fmt: skip
    def a(x: float) -> np.ndarray:
        return np.array([float(x)])

    return Terms(a(bal), a(debt), a(pc), a(pd), a(10.0**dc), a(10.0**dd), a(bonus), a(fee), a(hf), a(t), a(d))


@settings(max_examples=300, deadline=None)
@given(
    bal=st.integers(1, 10**7),
    debt=st.integers(1, 10**7),
    pc=st.integers(10**6, 10**12),
    pd=st.integers(10**6, 10**12),
    dc=st.sampled_from([0, 2, 6]),
    dd=st.sampled_from([0, 2, 6]),
    bonus=st.integers(10_001, 11_500),
    fee=st.sampled_from([0, 500, 1000, 2000]),
    hf_bps=st.integers(1, 9999),
)
def test_amounts_equal_the_integer_formulas(
    bal: int, debt: int, pc: int, pd: int, dc: int, dd: int, bonus: int, fee: int, hf_bps: int
) -> None:
    hf = hf_bps / 10_000
    want = exact_v30(bal, debt, pc, pd, dc, dd, bonus, fee, hf_bps * 10**14)
    tr = terms(bal, debt, pc, pd, dc, dd, bonus, fee, hf)
    got = amounts(tr, max_cover(tr, "v3.0"), "v3.0")
    ours = (got.collateral[0], got.debt[0], got.fee[0], got.received[0])
    # float64 with the contracts' floors: equal, or one unit apart where a quotient lands within an ulp of an
    # integer
    for x, y in zip(ours, want, strict=True):
        assert abs(x - y) <= max(1.0, 1e-12 * y), (ours, want)


def test_close_factor_v30_is_half_above_095_and_all_below() -> None:
    # 1,000 USDC debt, 2 WETH collateral at $1000, bonus 5%
    above = terms(2 * 10**18, 1000 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 0, 0.96)
    below = terms(2 * 10**18, 1000 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 0, 0.94)
    assert max_cover(above, "v3.0")[0] == 500 * 10**6
    assert max_cover(below, "v3.0")[0] == 1000 * 10**6
    out = amounts(below, max_cover(below, "v3.0"), "v3.0")
    assert out.collateral[0] == pytest.approx(1.05 * 10**18, rel=1e-15)  # 1,000 USD x 1.05 of WETH at $1000
    assert not out.capped[0] and out.ok[0]


def test_capped_collateral_scales_the_debt_down() -> None:
    # $1,000 debt against $900 of collateral: all collateral, debt repaid = 900 / 1.05
    tr = terms(9 * 10**17, 1000 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 1000, 0.7)
    out = amounts(tr, max_cover(tr, "v3.0"), "v3.0")
    assert out.capped[0] and out.collateral[0] == 9 * 10**17
    assert out.debt[0] == pytest.approx(900 / 1.05 * 10**6, abs=1)
    bonus_part = 9 * 10**17 - 9 * 10**17 / 1.05
    assert out.fee[0] == pytest.approx(bonus_part * 0.1, rel=1e-12)
    assert out.received[0] == pytest.approx(9 * 10**17 - out.fee[0])


def test_zero_amounts_revert() -> None:
    tr = terms(1, 1, 10**8, 10**8, 6, 6, 10_500, 0, 0.5)  # one unit of each: half of 1 rounds to 1, bonus to 1
    out = amounts(tr, np.array([0.0]), "v3.0")
    assert not out.ok[0]


def test_v33_position_level_close_factor() -> None:
    # HF 0.97, $10,000 collateral WETH, debt: $3,000 USDC in this reserve out of $8,000 total
    tr = terms(10 * 10**18, 3000 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 0, 0.97, t=10_000e8, d=8_000e8)
    # 50% of the *total* debt is $4,000 > $3,000: the whole reserve debt may go at once
    assert max_cover(tr, "v3.3")[0] == 3000 * 10**6
    assert max_cover(tr, "v3.0")[0] == 1500 * 10**6
    big = terms(10 * 10**18, 6000 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 0, 0.97, t=10_000e8, d=8_000e8)
    assert max_cover(big, "v3.3")[0] == 4000 * 10**6  # capped at half the total debt
    # below $2,000 on one side: 100% even with HF > 0.95
    small = terms(10**18, 1500 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 0, 0.97, t=1_000e8, d=1_500e8)
    assert max_cover(small, "v3.3")[0] == 1500 * 10**6


def test_v33_dust_rule_reverts_the_maximum_and_makes_a_capped_liquidator_cover_less() -> None:
    # $4,100 debt in the reserve, $8,000 total, HF 0.97: 50% of total = $4,000 leaves $100 < $1,000 of debt
    tr = terms(10 * 10**18, 4100 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 0, 0.97, t=10_000e8, d=8_000e8)
    for maths in ("v3.0", "v3.6"):
        first = amounts(tr, max_cover(tr, "v3.3", maths), "v3.3", maths)
        assert not first.ok[0]  # MustNotLeaveDust
        # debtToCover = uint max: the pool reverts; the account waits for the next round
        assert not liquidate(tr, np.array([np.inf]), "v3.3", maths).ok[0]
        # a liquidator with less capital than the maximum covers what leaves no dust
        out = liquidate(tr, np.array([3500 * 10**6]), "v3.3", maths)
        assert out.ok[0]
        assert out.debt[0] == pytest.approx(3100 * 10**6, abs=1)  # leaves exactly $1,000
        assert not out.no_collateral_left[0]


def test_v33_no_collateral_left_flags_a_deficit() -> None:
    tr = terms(10**18, 2000 * 10**6, 1000 * 10**8, 10**8, 18, 6, 10_500, 0, 0.4, t=1000e8, d=2000e8)
    out = liquidate(tr, np.array([np.inf]), "v3.3")
    assert out.ok[0] and out.capped[0] and out.no_collateral_left[0]
