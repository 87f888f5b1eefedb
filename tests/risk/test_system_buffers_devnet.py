"""Buffers of the system projection on the v3.6 devnet holding Aave and Morpho Blue markets that share the pools:
each market's own part of the cascade's write-offs (recorded per asset as accounts are written off) adds up to the
system's per asset, and equals per market the write-offs the engine counts per risk class; ``simulate --json`` on
the system reports ``buffers`` per market from those losses (Aave: each reserve's deficit now plus its new one
against its buffer; Morpho: the lenders' loss per market id)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.commands import system
from monitor.commands.simulate import liquidation_rules, model_params
from monitor.config import load_config
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet

SHOCK = {"WETH": -0.35}


def _args(config: str, block: int) -> argparse.Namespace:
    args = argparse.Namespace(config=config, block=block, rules=None, shock=list(SHOCK.items()), market=None)
    for key, default in (("capital_usd", float("inf")), ("dex_share", 1.0), ("gas_usd", 0.0), ("min_profit_usd", 0.0),
                         ("oracle_deviation", None), ("latency_rounds", 0), ("max_rounds", 50)):  # fmt: skip
        setattr(args, key, default)
    return args


def test_system_buffers_from_each_markets_losses(
    devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = devnet_config(devnet_v36.url, devnet_v36.dep, checkpoint=str(tmp_path / "cp.sqlite"), morpho=True)
    data["markets"][0]["buffers_usd"] = {"USDC": 50_000.0, "DAI": 1e9}
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump(data))
    block = devnet_v36.rpc.block_number()
    cfg = load_config(config)
    args = _args(str(config), block)
    snaps, whole = system.system_projector(cfg, args, liquidation_rules, model_params(args, cfg))
    projected = whole.project(SHOCK)
    s = projected.system
    assert [f.name for f in projected.markets] == ["devnet-aave", "devnet-morpho"]
    members = [s.member_result(i) for i in range(2)]
    # per asset, the markets' write-offs add up to the system's
    for asset, usd in s.deficit_usd_by_reserve.items():
        assert sum(r.deficit_usd_by_reserve.get(asset, 0.0) for r in members) == pytest.approx(usd, rel=1e-9)
    assert set().union(*(r.deficit_usd_by_reserve for r in members)) == set(s.deficit_usd_by_reserve)
    # per market, the same total as the engine's split by risk class (two independent tallies)
    for r in members:
        assert sum(r.deficit_usd_by_reserve.values()) == pytest.approx(sum(r.deficit_usd_by_class.values()), rel=1e-9)
    aave, morpho = members
    assert aave.deficit_usd_by_reserve and morpho.deficit_usd_by_class, "both markets write debt off at -35%"

    assert main(["simulate", "--config", str(config), "--block", str(block), "--json", "--shock=WETH=-0.35"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert doc["debt_repaid_usd"] == s.debt_repaid_usd
    buffers = doc["buffers"]
    assert set(buffers) == {"devnet-aave", "devnet-morpho"}
    view = snaps[0].view
    now = view.reserve_deficits_usd()
    symbol = {p.asset: p.symbol for p in view.price_sources().values()}
    new = {symbol[a]: usd for a, usd in aave.deficit_usd_by_reserve.items()}
    for unit, cover in buffers["devnet-aave"].items():
        loss = now.get(unit, 0.0) + new.get(unit, 0.0)
        assert cover["loss_usd"] == pytest.approx(loss, rel=1e-12), unit
        assert cover["buffer_usd"] == data["markets"][0]["buffers_usd"].get(unit, 0.0)
        assert cover["uncovered_usd"] == pytest.approx(max(loss - cover["buffer_usd"], 0.0), rel=1e-12, abs=1e-9)
    assert {u for u, v in new.items() if v > 0} <= set(buffers["devnet-aave"])
    lost = {mid: usd for mid, usd in morpho.deficit_usd_by_class.items() if usd > 0}
    assert lost and set(buffers["devnet-morpho"]) == set(lost), "each Morpho market whose lenders lose, and only those"
    for mid, cover in buffers["devnet-morpho"].items():
        assert cover["buffer_usd"] == 0.0 and cover["loss_usd"] == pytest.approx(lost[mid], rel=1e-12)
    print(f"\nsystem at WETH -35%: buffers {json.dumps(buffers, indent=1)}")


def test_the_systems_buffer_exhausting_shock(
    devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sweep --json`` on the system: per asset the smallest drop whose system projection leaves a loss beyond
    some market's buffer; just below it every unit of every market is covered, at it one is not."""
    data = devnet_config(devnet_v36.url, devnet_v36.dep, checkpoint=str(tmp_path / "cp.sqlite"), morpho=True)
    data["markets"][0]["buffers_usd"] = {"USDC": 1e12, "DAI": 1e12, "WETH": 1e12, "WBTC": 1e12, "LINK": 1e12}
    data["sweep"] = {"step": 0.05, "max_shock": 0.6}
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump(data))
    block = devnet_v36.rpc.block_number()
    argv = ["sweep", "--config", str(config), "--block", str(block), "--asset", "WETH", "--json"]
    assert main(argv) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    (weth,) = doc["assets"]
    shock = weth["buffer_exhausting_shock"]
    assert shock is not None and 0 < shock < 0.6
    cfg = load_config(config)
    args = _args(str(config), block)
    snaps, whole = system.system_projector(cfg, args, liquidation_rules, model_params(args, cfg))
    judge = system.system_coverage(snaps)
    below = judge(whole.projector.project({"WETH": -(shock - 0.002)}))
    at = judge(whole.projector.project({"WETH": -shock}))
    assert all(not c.exhausted for c in below.values()), below
    exhausted = sorted(k for k, c in at.items() if c.exhausted)
    assert exhausted and all(k.startswith("devnet-morpho:") for k in exhausted), "Aave's buffers are ample"
    print(f"\nsystem buffer-exhausting shock of WETH: {shock:.2%} ({exhausted})")
