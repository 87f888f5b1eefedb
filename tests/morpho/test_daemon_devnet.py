"""The daemon on a config holding only the devnet's Morpho Blue markets publishes its health metrics, equal to a
snapshot of the same block; an entry following every USDC market keeps its cycle with a junk market whose oracle
reverts, and reports that market unpriced."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
import yaml

from monitor.chain.rpc import RpcClient
from monitor.cli import main
from monitor.config import parse_config
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config, morpho_entry
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet
from tests.daemon.test_daemon import _get, _one, _running, _samples, _wait_ready
from tests.morpho.chain import morpho_of
from tests.morpho.junk_market import REVERTS, create_junk_market


async def test_the_daemon_publishes_a_morpho_market(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["markets"] = [morpho_entry(devnet.dep)]
    data["alerts"] = {"stale_after_s": 3600.0}
    data["scenarios"] = [*data["scenarios"], {"name": "weth-35", "shocks": {"WETH": -0.35}}]
    cfg = parse_config(data, environ={})
    async with _running(cfg):
        await _wait_ready(cfg.metrics.port, timeout=120)
        status, body = await _get(f"http://127.0.0.1:{cfg.metrics.port}/metrics")
    assert status == 200
    m = _samples(body)
    market = "devnet-morpho"
    block = int(_one(m, "cascade_monitor_last_block", market=market))
    snap_cfg = cfg.model_copy(update={"checkpoint": cfg.checkpoint.model_copy(
        update={"path": str(tmp_path / "snap.sqlite")})})  # fmt: skip
    async with RpcClient(cfg.chain) as rpc:
        snap = await load_snapshot(rpc, snap_cfg, cfg.markets[0], block)
    rows = snap.view.book.rows()
    assert len(rows) >= 5 * 150
    assert _one(m, "cascade_monitor_accounts_with_debt", market=market) == len(rows)
    debt = sum(r.debt_usd for r in rows)
    assert math.isclose(_one(m, "cascade_monitor_debt_usd", market=market), debt, rel_tol=1e-9)
    bad = sum(1 for r in rows if not r.health.healthy)
    assert _one(m, "cascade_monitor_liquidatable_accounts", market=market) == bad
    assert _one(m, "cascade_monitor_scenario_bad_debt_usd", market=market, scenario="weth-20") >= 0.0
    with_debt = _one(m, "cascade_monitor_health_factor_accounts", market=market, protocol="morpho-blue", le="+Inf")
    assert with_debt == len(rows)
    # the riskiest accounts' LTV against their market's LLTV, both as the contract defines them
    ltvs = {dict(labels)["account"]: v for (name, labels), v in m.items()
            if name == "cascade_monitor_top_account_ltv_ratio" and dict(labels)["market"] == market}  # fmt: skip
    assert ltvs
    for account, ltv in ltvs.items():
        rank = next(dict(lb)["rank"] for (n, lb) in m if n == "cascade_monitor_top_account_ltv_ratio"
                    and dict(lb)["account"] == account)  # fmt: skip
        liq = _one(m, "cascade_monitor_top_account_liquidation_ltv_ratio", market=market, rank=rank, account=account)
        mine = [r for r in rows if r.address == account and math.isclose(ltv, r.debt_usd / r.collateral_usd)]
        assert mine, account
        lltv = snap.view.book.markets[mine[0].market_id].lltv / 1e18
        assert math.isclose(liq, lltv, rel_tol=1e-4), (account, liq, lltv)
    # the lenders' loss per market of a scenario: every configured market id, as simulate projects it at that block
    family = "cascade_monitor_scenario_lender_loss_usd"
    losses = {dict(labels)["market_id"]: v for (name, labels), v in m.items()
              if name == family and dict(labels)["scenario"] == "weth-35"}  # fmt: skip
    assert set(losses) == set(snap.view.book.markets)
    assert sum(losses.values()) > 0
    assert sum(losses.values()) == pytest.approx(_one(m, "cascade_monitor_scenario_bad_debt_usd", market=market,
                                                      scenario="weth-35"))  # fmt: skip
    config = tmp_path / "simulate.yaml"
    data["checkpoint"] = {"path": str(tmp_path / "simulate.sqlite")}
    config.write_text(yaml.safe_dump(data))
    argv = ["simulate", "--config", str(config), "--block", str(block), "--shock", "WETH=-0.35", "--json"]
    assert await asyncio.to_thread(main, argv) == 0  # the command runs its own event loop
    projected = json.loads(capsys.readouterr().out)["lender_loss_by_market"]
    assert losses == pytest.approx({mid: v["usd"] for mid, v in projected.items()}, rel=1e-9)


async def test_a_junk_market_leaves_the_cycle_ok(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usdc_ids = [m.market_id for m in morpho_of(devnet.dep).markets if m.loan == "USDC"]
    junk = create_junk_market(devnet)
    junk.set_oracle(devnet, REVERTS)
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    usdc = {"market_ids": [], "loan_tokens": [devnet.dep.token("USDC").address], "start_block": 0}
    data["markets"] = [{**morpho_entry(devnet.dep), **usdc}]
    data["alerts"] = {"stale_after_s": 3600.0}
    cfg = parse_config(data, environ={})
    port = cfg.metrics.port
    async with _running(cfg):
        await _wait_ready(port, timeout=120)
        _, body = await _get(f"http://127.0.0.1:{port}/metrics")
        _, status_body = await _get(f"http://127.0.0.1:{port}/api/v1/status")
    m = _samples(body)
    market = "devnet-morpho"
    assert _one(m, "cascade_monitor_morpho_markets_unpriced", market=market) == 1
    (entry,) = json.loads(status_body)["markets"]
    assert entry["status"] == "ok" and entry["errors_total"] == 0 and entry["unpriced_markets_total"] == 1
    (unpriced,) = entry["unpriced_markets"]
    assert unpriced["market_id"] == junk.market_id and "price() reverted" in unpriced["reason"]
    # the figures are those of the priced USDC markets: a snapshot listing only them, at the same block
    block = int(_one(m, "cascade_monitor_last_block", market=market))
    listed = cfg.markets[0].model_copy(update={"market_ids": usdc_ids, "loan_tokens": []})
    snap_cfg = cfg.model_copy(update={"checkpoint": cfg.checkpoint.model_copy(
        update={"path": str(tmp_path / "snap.sqlite")})})  # fmt: skip
    async with RpcClient(cfg.chain) as rpc:
        snap = await load_snapshot(rpc, snap_cfg, listed, block)
    rows = snap.view.book.rows()
    assert len(rows) > 0 and list(snap.view.book.markets) == usdc_ids
    assert _one(m, "cascade_monitor_accounts_with_debt", market=market) == len(rows)
    assert math.isclose(_one(m, "cascade_monitor_debt_usd", market=market), sum(r.debt_usd for r in rows))
    bad = sum(1 for r in rows if not r.health.healthy)
    assert _one(m, "cascade_monitor_liquidatable_accounts", market=market) == bad
    # simulate on the same entry and block projects the priced markets and names the one left out
    config = tmp_path / "simulate.yaml"
    data["checkpoint"] = {"path": str(tmp_path / "simulate.sqlite")}
    config.write_text(yaml.safe_dump(data))
    argv = ["simulate", "--config", str(config), "--block", str(block), "--shock", "WETH=-0.35", "--json"]
    assert await asyncio.to_thread(main, argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["unpriced_markets"]) == [junk.market_id] and set(doc["lender_loss_by_market"]) == set(usdc_ids)
