"""Sweeps: curves over 1..90% drops and the critical shock by bisection."""

from __future__ import annotations

import pytest

from monitor.errors import DataError
from monitor.protocols.aave_v3.risk_input import risk_market
from monitor.risk import Limits, Projector, SweepSpec, collateral_assets, critical_shock, crossing, sweep
from tests.risk import markets as mk

RM = risk_market(mk.market())
PROJ = Projector(mk.build(mk.population(400, seed=2), RM), mk.venues(RM, 60e6), model=mk.V30)


def test_sweep_curves_and_critical_shock() -> None:
    limits = Limits(amplification=1.2, bad_debt_usd=250_000)
    result = sweep(PROJ, ["WETH"], SweepSpec(), limits)
    (weth,) = result.assets
    assert weth.asset == mk.WETH and weth.symbol == "WETH"
    assert len(weth.drops) == 90 and weth.drops[0] == 0.01 and weth.drops[-1] == 0.9
    for field in ("final_drop", "amplification", "debt_repaid_usd", "accounts_liquidated", "new_bad_debt_usd"):
        assert len(getattr(weth, field)) == 90
    assert all(f >= d - 1e-6 for f, d in zip(weth.final_drop, weth.drops, strict=True))
    assert weth.accounts_liquidated[-1] > weth.accounts_liquidated[0]
    crit = weth.critical_shock
    assert crit is not None and weth.critical_reason in ("amplification", "bad_debt")
    first = next(i for i, d in enumerate(weth.drops) if crossing(PROJ.project({"WETH": -d}), mk.WETH, limits))
    lo = weth.drops[first - 1] if first else 0.0
    assert lo < crit <= weth.drops[first]
    assert crossing(PROJ.project({"WETH": -crit}), mk.WETH, limits) == weth.critical_reason
    assert not crossing(PROJ.project({"WETH": -(crit - 0.0011)}), mk.WETH, limits)


def test_no_critical_shock_below_unreachable_limits() -> None:
    result = sweep(PROJ, ["WBTC"], SweepSpec(drops=(0.1, 0.5, 0.9)), Limits(amplification=1e9, bad_debt_usd=1e15))
    assert result.assets[0].critical_shock is None and result.assets[0].critical_reason is None


def test_bisection_narrows_to_the_tolerance() -> None:
    limits = Limits(amplification=1.2, bad_debt_usd=1e15)
    crit, reason = critical_shock(PROJ, "WETH", limits, 0.0, 0.9, tolerance=0.0005)
    assert reason == "amplification"
    assert crossing(PROJ.project({"WETH": -crit}), mk.WETH, limits)
    assert not crossing(PROJ.project({"WETH": -(crit - 0.0005)}), mk.WETH, limits)


def test_default_assets_are_the_held_collateral() -> None:
    assert collateral_assets(PROJ) == [mk.WETH, mk.WBTC]


def test_sweep_spec_is_checked() -> None:
    for bad in ((), (0.2, 0.1), (0.0, 0.5), (0.5, 1.0)):
        with pytest.raises(DataError):
            SweepSpec(drops=bad)
    with pytest.raises(DataError):
        Limits(amplification=0.5)
