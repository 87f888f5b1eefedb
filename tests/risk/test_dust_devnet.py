"""Dust on the devnet: a liquidator that skips every call gaining less than its gas plus minimum profit (measured
on chain: each round's calls sent in a snapshot, their ``LiquidationCall`` amounts read, the snapshot reverted)
leaves liquidatable accounts behind; they are the accounts the projection reports as dust, with their debt."""

from __future__ import annotations

import pytest

from monitor.devnet.liquidator import WAD, crash
from monitor.devnet.population import account_data
from monitor.devnet.spec import FEED_UNIT
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import ModelParams, Projector, choose_venues
from tests.conftest import Devnet
from tests.risk.test_cascade_devnet import _snapshot

MIN_PROFIT_USD = 60.0  # gas plus the minimum profit of one call


async def test_the_accounts_a_real_liquidator_leaves_for_gas_are_the_projected_dust(devnet: Devnet) -> None:
    dep = devnet.dep
    _, cbook, pools = await _snapshot(devnet)
    venues = choose_venues(cbook.market, pools)
    params = ModelParams(gas_cost_usd=MIN_PROFIT_USD / 2, min_profit_usd=MIN_PROFIT_USD / 2)
    projected = Projector(cbook, venues, params, model=AaveV3Liquidation("v3.0")).project({"WETH": -0.2})
    plain = Projector(cbook, venues, model=AaveV3Liquidation("v3.0")).project({"WETH": -0.2})

    chain = crash(devnet.rpc, dep, "WETH", 0.2, liquidate=True, min_profit_usd=MIN_PROFIT_USD)

    rows = account_data(devnet.rpc, dep, dep.borrowers)
    left = [r for r in rows if r[1] > 0 and r[0] > 0 and r[5] < WAD]
    left_debt_usd = sum(r[1] for r in left) / FEED_UNIT
    ours, theirs = [r.accounts_liquidated for r in projected.rounds], [r.accounts_liquidated for r in chain.rounds]
    print(
        f"\nrounds {ours} vs {theirs} (no gas: {[r.accounts_liquidated for r in plain.rounds]}); dust "
        f"{projected.dust_accounts} accounts "
        f"${projected.dust_debt_usd:,.2f} vs {len(left)} ${left_debt_usd:,.2f} on chain"
    )
    assert plain.dust_accounts == 0 and plain.converged
    assert len(left) >= 3, "some liquidatable accounts do not pay for the gas"
    assert projected.accounts_liquidated < plain.accounts_liquidated
    assert ours == theirs
    assert projected.dust_accounts == projected.unliquidated_accounts == len(left)
    # the chain's debt has accrued interest over the cascade's blocks (the projection reads it before the shock)
    assert projected.dust_debt_usd == pytest.approx(left_debt_usd, rel=1e-4)
    assert projected.dust_shortfall_usd <= projected.shortfall_usd
