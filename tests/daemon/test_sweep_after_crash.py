"""Regression: after a crash the daemon's critical shocks come from a sweep of the crashed book, and every
published result says which block its critical shocks were swept at.

Seen on the devnet daemon: the critical shocks exported right after a 25% WETH crash equalled the calm ones
although a sweep of the crashed book had finished. Not a stale book nor a cache: the sweep runs behind the
block path, so the results published until the next cycle still carried the previous sweep's shocks, and
nothing in a result said so (the check watched the projector's own block, which runs ahead of what is
published). Results now carry ``critical_shocks_block``."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.chain.rpc import RpcClient
from monitor.config import parse_config
from monitor.daemon.projection import CascadeProjector, aligned_pools
from monitor.devnet.liquidator import crash
from monitor.devnet.monitor_config import devnet_config
from monitor.risk import Projector, choose_venues, sweep
from monitor.snapshot import MarketSnapshot, load_snapshot
from tests.conftest import Devnet


def exhaustive_sweep(snap: MarketSnapshot, projector: CascadeProjector) -> dict[str, float | None]:
    """The critical shocks of ``snap`` by the reference sweep (every step projected), the daemon's way."""
    risk = snap.view.risk_input()
    m = risk.book.market
    venues = choose_venues(m, aligned_pools(snap.pools, m.usd(m.prices)))
    result = sweep(Projector(risk.book, venues, projector.params, model=risk.model), None, projector.spec,
                   projector.limits, exhaustive=True)  # fmt: skip
    return {a.symbol: a.critical_shock for a in result.assets}


async def test_the_sweep_after_a_crash_is_of_the_crashed_book(devnet: Devnet, tmp_path: Path) -> None:
    cfg = parse_config(devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite")), environ={})
    projector = CascadeProjector(cfg, cfg.markets[0])
    async with RpcClient(cfg.chain) as rpc:
        calm = await load_snapshot(rpc, cfg, cfg.markets[0])
        assert projector(calm.block, calm.view.risk_input(), calm.pools).critical_block is None, (
            "no sweep has finished yet"
        )
        projector.wait_for_sweep(120)
        before = projector(calm.block, calm.view.risk_input(), calm.pools)
        assert before.critical_block == calm.block

        crash(devnet.rpc, devnet.dep, "WETH", 0.25)
        crashed = await load_snapshot(rpc, cfg, cfg.markets[0])
    assert crashed.block > calm.block
    first = projector(crashed.block, crashed.view.risk_input(), crashed.pools)  # starts the sweep of the crashed book
    assert first.critical_block == calm.block, "until it lands, results say their shocks are the calm book's"
    assert first.critical_shocks == before.critical_shocks
    projector.wait_for_sweep(120)
    after = projector(crashed.block, crashed.view.risk_input(), crashed.pools)
    assert after.critical_block == crashed.block
    assert before.critical_shocks is not None and after.critical_shocks is not None
    print(f"\ncritical shocks calm {before.critical_shocks}\ncritical shocks after the crash {after.critical_shocks}")
    weth_before, weth_after = before.critical_shocks["WETH"], after.critical_shocks["WETH"]
    assert weth_before is not None and weth_after is not None
    assert weth_after < weth_before - 0.05, "a 25% crash brings WETH's critical shock closer"

    # the daemon's (refined, critical-only) sweep against the reference on both devnet books
    for snap, got in ((calm, before.critical_shocks), (crashed, after.critical_shocks)):
        want = exhaustive_sweep(snap, projector)
        assert set(got) == set(want)
        for symbol, shock in want.items():
            assert got[symbol] == (None if shock is None else pytest.approx(shock, abs=projector.spec.tolerance))
