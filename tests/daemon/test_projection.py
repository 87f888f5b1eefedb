"""The daemon's projector: pools far off the oracle price are not used as venues; scenarios and critical
shocks come out of the cascade engine on a real devnet book."""

from __future__ import annotations

from pathlib import Path

from monitor.chain.rpc import RpcClient
from monitor.config import parse_config
from monitor.daemon.projection import CascadeProjector, aligned_pools
from monitor.devnet.liquidator import crash
from monitor.devnet.monitor_config import devnet_config
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet


async def test_projector_on_the_devnet_and_pool_alignment(devnet: Devnet, tmp_path: Path) -> None:
    cfg = parse_config(devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite")), environ={})
    crash(devnet.rpc, devnet.dep, "WETH", 0.2)  # the 0.05% pool moves, the 0.3% pool stays at the old price
    async with RpcClient(cfg.chain) as rpc:
        snap = await load_snapshot(rpc, cfg, cfg.markets[0])
    usd = {r.asset: r.price / 1e8 for r in snap.book.market.reserves}
    usable = aligned_pools(snap.pools, usd)
    stale = next(p.address for p in devnet.dep.pools if p.symbol == "WETH" and not p.main)
    assert stale in snap.pools and stale not in usable, "the un-arbitraged WETH pool is left out"
    assert devnet.dep.main_pool("WETH").address in usable
    projector = CascadeProjector(cfg, cfg.markets[0])
    first = projector(snap.block, snap.book, snap.pools)
    assert first.critical_shocks == {}, "the first sweep runs in the background"
    projector.wait_for_sweep(120)
    assert projector.critical_block == snap.block and projector.last_sweep_s > 0
    out = projector(snap.block + 1, snap.book, snap.pools)
    names = {s.name for s in out.scenarios}
    assert names == {s.name for s in cfg.scenarios}
    weth = next(s for s in out.scenarios if s.name == "weth-20")
    assert weth.final_drop >= 0.2 - 1e-9 and weth.amplification >= 1.0
    assert out.critical_shocks is not None and set(out.critical_shocks) >= {"WETH", "WBTC", "LINK"}
