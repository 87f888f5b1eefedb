"""The look-ahead metric on the devnet: WETH's pool moves inside its feed's deviation band and the feed does not
update. Nothing is liquidatable yet, and the daemon's ``cascade_monitor_lookahead_liquidatable_*`` show the debt
waiting for the update; once the feed takes the pool's price, exactly those accounts are liquidatable (the
protocol's own health factors) and the look-ahead is back to 0."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config import load_config, parse_config
from monitor.daemon.result import MarketResult
from monitor.daemon.run import Daemon
from monitor.devnet.anvil import free_port
from monitor.devnet.market import fund, set_oracle_to_pool, slot0, swap_exact_in, target_sqrt_price
from monitor.devnet.monitor_config import devnet_config
from monitor.errors import ConfigError
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon
from tests.web.helpers import get_json

MARKET = "devnet-aave"
DROP = 0.04  # inside the 5% band the daemon keeps a pool as a venue (aligned with its oracle)


def _metric(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels.get("market") == MARKET:
                return float(s.value)
    raise AssertionError(f"{name} not exported")


async def _result_at(daemon: object, block: int) -> tuple[MarketResult, str]:
    async with asyncio.timeout(180):
        while (r := daemon.alerting.latest.get(MARKET)) is None or r.block < block:  # type: ignore[attr-defined]
            await asyncio.sleep(0.2)
    return r, generate_latest(daemon.metrics.registry).decode()  # type: ignore[attr-defined]


async def test_debt_waiting_for_the_oracle_update_is_shown_then_liquidatable(
    devnet_v36: Devnet, tmp_path: Path
) -> None:
    devnet = devnet_v36
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["sweep"] = {"enabled": False}
    data["oracles"] = {"assets": {"WETH": {"deviation": 0.05, "heartbeat_seconds": 3600}}}
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump(data))
    cfg = load_config(config, environ={})
    rpc, dep = devnet.rpc, devnet.dep
    async with running_daemon(cfg) as daemon:
        await asyncio.to_thread(rpc.mine, 1)
        before, _ = await _result_at(daemon, rpc.block_number())
        assert before.liquidatable_accounts == 0 and before.lookahead_liquidatable_accounts == 0

        # WETH's pools down 4% (every fee tier: arbitrage keeps them together), the feed left where it is (a move
        # inside its band)
        pools = [p for p in dep.pools if p.symbol == "WETH"]
        amount = 10 ** (dep.token("WETH").decimals + 15)

        def move() -> None:
            for pool in pools:
                fund(rpc, dep, dep.seller, "WETH", amount, dep.swap_router)
                limit = target_sqrt_price(dep, pool, slot0(rpc, pool)[0], DROP)
                swap_exact_in(rpc, dep, dep.seller, pool, "WETH", amount, limit)

        await asyncio.to_thread(move)
        waiting, text = await _result_at(daemon, rpc.block_number())
        assert waiting.liquidatable_accounts == 0 and waiting.liquidatable_debt_usd == 0.0
        assert waiting.lookahead_liquidatable_accounts > 0 and waiting.lookahead_liquidatable_debt_usd > 0
        assert (
            _metric(text, "cascade_monitor_lookahead_liquidatable_accounts") == waiting.lookahead_liquidatable_accounts
        )
        assert _metric(text, "cascade_monitor_lookahead_liquidatable_debt_usd") == pytest.approx(
            waiting.lookahead_liquidatable_debt_usd, rel=1e-12
        )
        status, st = await get_json(f"http://127.0.0.1:{daemon.listen_port}/api/v1/status")
        (market,) = st["markets"]
        assert status == 200 and market["block"] == waiting.block
        assert market["lookahead_liquidatable_accounts"] == waiting.lookahead_liquidatable_accounts
        assert market["lookahead_liquidatable_debt_usd"] == waiting.lookahead_liquidatable_debt_usd
        assert st["totals"]["lookahead_liquidatable_debt_usd"] == waiting.lookahead_liquidatable_debt_usd

        # the feed update lands (the heartbeat): the waiting debt is liquidatable, per the protocol's health
        await asyncio.to_thread(set_oracle_to_pool, rpc, dep, "WETH")
        landed, text = await _result_at(daemon, rpc.block_number())
    assert landed.lookahead_liquidatable_accounts == 0 and landed.lookahead_liquidatable_debt_usd == 0.0
    assert _metric(text, "cascade_monitor_lookahead_liquidatable_debt_usd") == 0.0
    assert landed.liquidatable_accounts == waiting.lookahead_liquidatable_accounts
    assert landed.liquidatable_debt_usd == pytest.approx(waiting.lookahead_liquidatable_debt_usd, rel=1e-6)
    print(
        f"\nWETH pool -{DROP:.0%}, feed unchanged: {waiting.lookahead_liquidatable_accounts} accounts, "
        f"${waiting.lookahead_liquidatable_debt_usd:,.0f} waiting; after the update: {landed.liquidatable_accounts} "
        f"liquidatable, ${landed.liquidatable_debt_usd:,.0f}"
    )


async def test_an_oracle_asset_no_market_lists_stops_the_daemon_with_a_clear_error(
    devnet_v36: Devnet, tmp_path: Path
) -> None:
    data = devnet_config(devnet_v36.url, devnet_v36.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "c.db"))
    data["oracles"] = {"assets": {"wstETH": {"kind": "rate", "base": "WETH"}}}
    cfg = parse_config(data, environ={})
    daemon = Daemon(cfg)
    with pytest.raises(ConfigError, match=r"oracles.assets: unknown asset 'wstETH': no market lists it \(symbols: "):
        await asyncio.wait_for(daemon.run(), 120)
