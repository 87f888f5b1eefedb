"""Buffers on the devnet. Aave v3.6: a buffer smaller than a scenario's projected deficit leaves part of it
uncovered (``simulate --json``), and the buffer-exhausting shock of ``sweep --json`` is the edge: just below it
every reserve's loss stays within its buffer, at it one exceeds its buffer; the daemon exports the coverage and
the uncovered loss of each scenario as ``simulate`` projects them. Morpho Blue: no buffer, the lenders of each
market absorb its loss."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.chain.rpc import RpcClient
from monitor.cli import main
from monitor.config import load_config
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config, morpho_entry
from monitor.risk import Projector, choose_venues
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet
from tests.daemon.harness import metrics_at_block

SHOCK = 0.35  # a WETH drop that burns deficits on the v3.6 devnet


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(list(argv)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def _write(path: Path, cfg: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_buffer_coverage_and_the_buffer_exhausting_shock(
    devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = devnet_config(devnet_v36.url, devnet_v36.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    cfg["sweep"] = {"step": 0.05, "max_shock": 0.9, "amplification_limit": 1.1, "bad_debt_limit_usd": 50_000}
    bare = _write(tmp_path / "bare.yaml", cfg)
    free = _json(capsys, "simulate", "--config", bare, "--shock", f"WETH=-{SHOCK}", "--json")
    assert free["rules"] == "v3.3" and free["deficit_usd_by_reserve"], "v3.6: the drop burns deficits"
    # no buffer configured: every reserve with a loss is uncovered in full; the loss is the projected deficit
    # (the fresh devnet has none yet)
    losses = {k: v["loss_usd"] for k, v in free["buffers"].items()}
    assert losses == pytest.approx(free["deficit_usd_by_reserve"], rel=1e-12)
    for unit in free["buffers"].values():
        assert unit["buffer_usd"] == 0.0 and unit["coverage_ratio"] == 0.0
        assert unit["uncovered_usd"] == unit["loss_usd"] > 0
    # the largest loss gets half of it as a buffer, every other reserve ten times its own
    worst = max(losses, key=lambda k: losses[k])
    buffers = {k: (0.5 if k == worst else 10.0) * v for k, v in losses.items()}
    cfg["markets"][0]["buffers_usd"] = buffers
    buffered = _write(tmp_path / "buffered.yaml", cfg)
    doc = _json(capsys, "simulate", "--config", buffered, "--shock", f"WETH=-{SHOCK}", "--json")
    short = doc["buffers"][worst]
    assert short["buffer_usd"] == pytest.approx(buffers[worst], rel=1e-12)
    assert short["loss_usd"] == pytest.approx(losses[worst], rel=1e-12)
    assert short["uncovered_usd"] == pytest.approx(losses[worst] / 2, rel=1e-9) and short["uncovered_usd"] > 0
    assert short["coverage_ratio"] == pytest.approx(0.5, rel=1e-9) and short["coverage_ratio"] < 1
    for key, unit in doc["buffers"].items():
        if key != worst:
            assert unit["uncovered_usd"] == 0.0 and unit["coverage_ratio"] == pytest.approx(10.0, rel=1e-9)
    # the buffer-exhausting shock of WETH: within (0, SHOCK], since SHOCK exhausts the worst reserve's buffer
    swept = _json(capsys, "sweep", "--config", buffered, "--asset", "WETH", "--json")
    (weth,) = swept["assets"]
    shock = weth["buffer_exhausting_shock"]
    assert shock is not None and 0 < shock <= SHOCK
    below = _json(capsys, "simulate", "--config", buffered, "--shock", f"WETH=-{shock - 0.001}", "--json")
    assert all(u["loss_usd"] <= u["buffer_usd"] for u in below["buffers"].values()), below["buffers"]
    at = _json(capsys, "simulate", "--config", buffered, "--shock", f"WETH=-{shock}", "--json")
    assert any(u["loss_usd"] > u["buffer_usd"] for u in at["buffers"].values()), at["buffers"]
    # without any buffer the first deficit exhausts one: the shock can only come earlier
    unbuffered = _json(capsys, "sweep", "--config", bare, "--asset", "WETH", "--json")
    assert unbuffered["assets"][0]["buffer_exhausting_shock"] <= shock


def test_a_buffer_naming_no_reserve_is_a_clear_error(
    devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = devnet_config(devnet_v36.url, devnet_v36.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    cfg["markets"][0]["buffers_usd"] = {"NOPE": 1.0}
    path = _write(tmp_path / "bad.yaml", cfg)
    assert main(["simulate", "--config", path, "--shock", "WETH=-0.1", "--json"]) == 2
    assert "buffers_usd names 'NOPE', not a reserve of the market" in capsys.readouterr().err


async def test_daemon_exports_coverage_and_uncovered_loss_per_scenario(devnet_v36: Devnet, tmp_path: Path) -> None:
    dep = devnet_v36.dep
    data = devnet_config(devnet_v36.url, dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["scenarios"] = [{"name": "weth-35", "shocks": {"WETH": -SHOCK}}]
    data["sweep"] = {"enabled": False}
    data["markets"][0]["buffers_usd"] = {"WETH": 1.0, "DAI": 1e12}
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_config(path, environ={})
    r, text = await metrics_at_block(cfg, "devnet-aave", devnet_v36.rpc.block_number())
    samples = {
        (s.name, s.labels["asset"]): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name.endswith(("scenario_buffer_coverage_ratio", "scenario_uncovered_loss_usd"))
        and s.labels.get("scenario") == "weth-35"
    }
    # what simulate --json reports for the same block and shock, unit by unit
    async with RpcClient(cfg.chain) as rpc:
        snap = await load_snapshot(rpc, cfg, cfg.markets[0], r.block)
    risk = snap.view.risk_input()
    projected = Projector(risk.book, choose_venues(risk.book.market, snap.pools), model=risk.model).project(
        {"WETH": -SHOCK}
    )
    want = snap.view.buffer_coverage(projected)
    assert want and any(c.uncovered_usd > 0 for c in want.values()), "the scenario burns deficits beyond buffers"
    assert want["DAI"].coverage_ratio is None or want["DAI"].uncovered_usd == 0.0
    assert {asset for _, asset in samples} == set(want)
    for unit, c in want.items():
        ratio = samples[("cascade_monitor_scenario_buffer_coverage_ratio", unit)]
        assert ratio == (math.inf if c.coverage_ratio is None else pytest.approx(c.coverage_ratio, rel=1e-9))
        uncovered = samples[("cascade_monitor_scenario_uncovered_loss_usd", unit)]
        assert uncovered == pytest.approx(c.uncovered_usd, rel=1e-9, abs=1e-9)


def test_morpho_lenders_absorb_with_no_buffer(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    cfg["markets"] = [morpho_entry(devnet.dep)]
    cfg["sweep"] = {"step": 0.1, "max_shock": 0.5, "amplification_limit": 1.1, "bad_debt_limit_usd": 50_000}
    config = _write(tmp_path / "morpho.yaml", cfg)
    doc = _json(capsys, "simulate", "--config", config, "--shock", f"WETH=-{SHOCK}", "--json")
    lost = {mid: v["usd"] for mid, v in doc["lender_loss_by_market"].items() if v["usd"] > 0}
    assert lost and set(doc["buffers"]) == set(lost), "every market whose lenders lose, and only those"
    for mid, unit in doc["buffers"].items():
        assert unit == {"buffer_usd": 0.0, "loss_usd": lost[mid], "uncovered_usd": lost[mid], "coverage_ratio": 0.0}
    # no buffer: the buffer-exhausting shock is the first drop that costs lenders anything, no later than the
    # critical shock (a bad-debt limit above 0)
    (weth,) = _json(capsys, "sweep", "--config", config, "--asset", "WETH", "--json")["assets"]
    shock = weth["buffer_exhausting_shock"]
    assert shock is not None and 0 < shock <= weth["critical_shock"]
    below = _json(capsys, "simulate", "--config", config, "--shock", f"WETH=-{shock - 0.001}", "--json")
    assert below["buffers"] == {} and all(v["usd"] == 0 for v in below["lender_loss_by_market"].values())
    at = _json(capsys, "simulate", "--config", config, "--shock", f"WETH=-{shock}", "--json")
    assert at["buffers"] and all(u["uncovered_usd"] > 0 for u in at["buffers"].values())
