"""The daemon's projector with an off-chain depth file on the devnet: no usable file changes nothing, a new file
is used from the next block on and damps the WETH cascade, a broken version keeps the last good curves."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.chain.rpc import RpcClient
from monitor.config import parse_config
from monitor.daemon.projection import CascadeProjector
from monitor.devnet.monitor_config import devnet_config
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet

DEEP = {"WETH": {"depth_usd": {"0.01": 40e6, "0.02": 100e6, "0.05": 300e6, "0.10": 700e6}}}


async def test_the_projector_follows_the_offchain_file(devnet: Devnet, tmp_path: Path) -> None:
    data = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    data["sweep"] = {"enabled": False}
    plain_cfg = parse_config(data, environ={})
    depth_file = tmp_path / "offchain.json"
    cfg = parse_config({**data, "dex": {**data["dex"], "offchain_file": str(depth_file)}}, environ={})
    async with RpcClient(cfg.chain) as rpc:
        snap = await load_snapshot(rpc, cfg, cfg.markets[0])
    risk = snap.view.risk_input()
    today = CascadeProjector(plain_cfg, plain_cfg.markets[0])(snap.block, risk, snap.pools)
    projector = CascadeProjector(cfg, cfg.markets[0])

    # no file yet: said so, and the projections are today's
    missing = projector(snap.block, risk, snap.pools)
    assert missing.scenarios == today.scenarios
    assert projector.offchain.error is not None and str(depth_file) in projector.offchain.error

    # the file appears: the next block's projections use it
    depth_file.write_text(json.dumps(DEEP))
    deep = projector(snap.block + 1, risk, snap.pools)
    assert projector.offchain.error is None
    before = {s.name: s for s in today.scenarios}
    after = {s.name: s for s in deep.scenarios}
    assert before["weth-20"].accounts_liquidated > 0
    assert after["weth-20"].final_drop < before["weth-20"].final_drop
    assert after["weth-20"].accounts_liquidated < before["weth-20"].accounts_liquidated

    # a broken version: logged, the last good curve stays in use
    depth_file.write_text('{"WETH": {"depth_usd": {"0.01": "lots"}}}')
    kept = projector(snap.block + 2, risk, snap.pools)
    assert projector.offchain.error is not None and "WETH" in projector.offchain.error
    assert kept.scenarios == deep.scenarios
