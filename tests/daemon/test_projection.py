"""The daemon's projector: pools far off the oracle price are not used as venues; scenarios and critical
shocks come out of the cascade engine on a real devnet book; the daemon's scenario results equal
``cascade-monitor simulate --json`` at the same block."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.chain.rpc import RpcClient
from monitor.config import load_config, parse_config
from monitor.daemon.projection import CascadeProjector, aligned_pools
from monitor.devnet.anvil import free_port
from monitor.devnet.liquidator import crash
from monitor.devnet.monitor_config import devnet_config
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet
from tests.daemon.harness import metrics_at_block, simulate_json


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
    first = projector(snap.block, snap.view.risk_input(), snap.pools)
    assert first.critical_shocks == {}, "the first sweep runs in the background"
    projector.wait_for_sweep(120)
    assert projector.critical_block == snap.block and projector.last_sweep_s > 0
    out = projector(snap.block + 1, snap.view.risk_input(), snap.pools)
    names = {s.name for s in out.scenarios}
    assert names == {s.name for s in cfg.scenarios}
    weth = next(s for s in out.scenarios if s.name == "weth-20")
    assert weth.final_drop >= 0.2 - 1e-9 and weth.amplification >= 1.0
    assert out.critical_shocks is not None and set(out.critical_shocks) >= {"WETH", "WBTC", "LINK"}


async def test_daemon_scenarios_equal_simulate_at_the_same_block(devnet: Devnet, tmp_path: Path) -> None:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["scenarios"].append({"name": "each-30", "shocks": {"*": -0.3}})
    data["sweep"] = {"enabled": False}
    # liquidators with a per-block limit and gas: the daemon and simulate read them from the same config
    data["liquidators"] = {"liquidations_per_block": 3, "gas_per_liquidation": 1_500_000, "gas_price_gwei": 30}
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump(data))
    cfg = load_config(config, environ={})
    await asyncio.to_thread(devnet.rpc.mine, 1)
    head = devnet.rpc.block_number()  # nothing else moves the chain from here on: the daemon settles on it
    r, text = await metrics_at_block(cfg, "devnet-aave", head)
    assert r.block == head == devnet.rpc.block_number()
    samples = {(m.name, tuple(sorted(s.labels.items()))): s.value
               for m in text_string_to_metric_families(text) for s in m.samples}  # fmt: skip
    by_name = {s.name: s for s in r.scenarios}
    shocks = {sc.name: dict(sc.shocks) for sc in cfg.scenarios if not sc.each_collateral}
    shocks |= {f"each-30-{a}": {a: -0.3} for a in ("WETH", "WBTC", "LINK")}
    assert set(shocks) <= set(by_name)
    for name, shock in shocks.items():
        got, doc = by_name[name], await simulate_json(config, r.block, shock)
        assert doc["block"] == r.block
        symbol = {t.address.lower(): s for s, t in devnet.dep.tokens.items()}
        final = {symbol[a]: p for a, p in doc["final_prices_usd"].items()}
        drops = [1.0 - final[a] / r.oracle_prices_usd[a] for a in shock]
        assert got.final_drop == pytest.approx(max(drops), rel=1e-12, abs=1e-12), name
        assert got.debt_repaid_usd == pytest.approx(doc["debt_repaid_usd"], rel=1e-12), name
        # the daemon reports bad debt the scenario creates, simulate all of it: equal while none is bad before
        assert got.bad_debt_usd == pytest.approx(doc["bad_debt_usd"], rel=1e-12, abs=1e-6), name
        assert got.bad_debt_accounts == doc["bad_debt_accounts"], name
        assert got.rounds == len(doc["rounds"]), name
        assert got.debt_repaid_usd > 0 and got.rounds >= 1, f"{name}: the shock liquidates something"
        # time and dust: the same figures, and the metrics carry them
        assert all(x["accounts_liquidated"] <= 3 for x in doc["rounds"]), name
        assert got.duration_seconds == doc["duration_seconds"] == doc["rounds"][-1]["seconds"], name
        assert got.liquidated_first_minute_usd == pytest.approx(doc["liquidated_first_minute_usd"], rel=1e-12)
        assert got.liquidated_first_hour_usd == pytest.approx(doc["liquidated_first_hour_usd"], rel=1e-12)
        assert got.dust_debt_usd == pytest.approx(doc["dust_debt_usd"], rel=1e-12, abs=1e-9), name
        labels = (("market", "devnet-aave"), ("scenario", name))
        assert samples[("cascade_monitor_scenario_duration_seconds", labels)] == got.duration_seconds
        assert samples[("cascade_monitor_scenario_liquidated_first_minute_usd", labels)] == pytest.approx(
            got.liquidated_first_minute_usd
        )
        assert samples[("cascade_monitor_scenario_liquidated_first_hour_usd", labels)] == pytest.approx(
            got.liquidated_first_hour_usd
        )
        assert samples[("cascade_monitor_scenario_dust_debt_usd", labels)] == pytest.approx(got.dust_debt_usd)
