"""Reserve deficits on Aave v3.6: read each block (``getReserveDeficit``), exported by the daemon, and projected
per reserve for each scenario (the daemon's scenario summary and ``simulate --json`` agree)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig, load_config
from monitor.devnet.anvil import free_port
from monitor.devnet.liquidator import crash, reserve_deficits
from monitor.devnet.monitor_config import devnet_config
from monitor.protocols.aave_v3.discovery import resolve_market
from monitor.protocols.aave_v3.reader import read_market
from monitor.protocols.aave_v3.risk_input import risk_input
from monitor.risk import Projector, choose_venues
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet
from tests.daemon.harness import metrics_at_block


async def test_read_market_reads_every_reserves_deficit(devnet_v36: Devnet) -> None:
    dep = devnet_v36.dep
    chain = crash(devnet_v36.rpc, dep, "WETH", 0.35, liquidate=True)
    on_pool = reserve_deficits(devnet_v36.rpc, dep)
    assert chain.deficit_usd > 0 and any(on_pool.values()), "the cascade left deficits"
    async with RpcClient(ChainConfig(rpc_urls=[devnet_v36.url], chain_id=dep.chain_id)) as rpc:
        block = devnet_v36.rpc.block_number()
        read = await read_market(rpc, await resolve_market(rpc, dep.addresses_provider, block), block)
    assert read.version.name == "v3.6"
    assert read.deficits == {dep.token(s).address: v for s, v in on_pool.items()}


async def test_daemon_exports_deficits_and_projects_them_per_reserve(devnet_v36: Devnet, tmp_path: Path) -> None:
    dep = devnet_v36.dep
    crash(devnet_v36.rpc, dep, "LINK", 0.40, liquidate=True)  # deficits on the pool before the daemon starts
    on_pool = reserve_deficits(devnet_v36.rpc, dep)
    assert any(on_pool.values())
    data = devnet_config(devnet_v36.url, dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["scenarios"] = [{"name": "weth-35", "shocks": {"WETH": -0.35}}]
    data["sweep"] = {"enabled": False}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_config(path, environ={})
    r, text = await metrics_at_block(cfg, "devnet-aave", devnet_v36.rpc.block_number())
    # the deficit now, every reserve (0 where none), in USD at the oracle price
    prices = r.oracle_prices_usd
    want = {s: v * prices[s] / 10 ** dep.tokens[s].decimals for s, v in on_pool.items()}
    assert dict(r.reserve_deficit_usd) == pytest.approx(want, rel=1e-12)
    samples = {
        (s.name, s.labels.get("asset"), s.labels.get("scenario")): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if "deficit" in s.name
    }
    for sym, usd in want.items():
        assert samples[("cascade_monitor_reserve_deficit_usd", sym, None)] == pytest.approx(usd, rel=1e-9)
    # the projected new deficit per reserve equals the engine's on the same book
    (scenario,) = r.scenarios
    assert scenario.deficit_usd_by_reserve and all(v > 0 for v in scenario.deficit_usd_by_reserve.values())
    async with RpcClient(cfg.chain) as rpc:
        snap = await load_snapshot(rpc, cfg, cfg.markets[0], r.block)
    risk = risk_input(snap.book)
    projected = Projector(risk.book, choose_venues(risk.book.market, snap.pools), model=risk.model).project(
        {"WETH": -0.35}
    )
    symbol = dict(zip(risk.book.market.assets, risk.book.market.symbols, strict=True))
    assert dict(scenario.deficit_usd_by_reserve) == pytest.approx(
        {symbol[a]: v for a, v in projected.deficit_usd_by_reserve.items()}, rel=1e-9
    )
    for sym, usd in scenario.deficit_usd_by_reserve.items():
        assert samples[("cascade_monitor_scenario_deficit_usd", sym, "weth-35")] == pytest.approx(usd, rel=1e-9)
