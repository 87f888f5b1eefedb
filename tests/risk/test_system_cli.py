"""``simulate`` / ``sweep`` and the system projection on the devnet: a one-market config prints what it printed
before; the system projection of the devnet's markets equals each market's own projection where it is alone;
two entries of one market are refused with a clear error."""

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


def _write(cfg: dict[str, Any], path: Path) -> str:
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.fixture(scope="module")
def base(session_devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("system-cli")
    cfg = devnet_config(session_devnet.url, session_devnet.dep, checkpoint=str(tmp / "cp.sqlite"))
    cfg["sweep"] = {"step": 0.1, "max_shock": 0.5, "amplification_limit": 1.1, "bad_debt_limit_usd": 50_000}
    return cfg


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(list(argv)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def test_a_one_market_config_prints_what_it_printed(
    base: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ``--market`` on a one-market config: the batch-1 document, equal to the one ``--market`` prints, and
    the system projection of that config gives the same figures."""
    assert len(base["markets"]) == 1
    config = _write(base, tmp_path / "one.yaml")
    name = base["markets"][0]["name"]
    doc = _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.25", "--json")
    assert "markets" not in doc and "contagion" not in doc and doc["market"] == name
    assert _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.25", "--market", name, "--json") == doc
    # the system path on the same config (what several markets take): the same cascade, bit for bit
    args = argparse.Namespace(config=config, block=doc["block"], rules=None, shock=[("WETH", -0.25)], market=None)
    for key, default in (("capital_usd", float("inf")), ("dex_share", 1.0), ("gas_usd", 0.0), ("min_profit_usd", 0.0),
                         ("oracle_deviation", 0.0), ("latency_rounds", 0), ("max_rounds", 50)):  # fmt: skip
        setattr(args, key, default)
    cfg = load_config(config)
    snaps, whole = system.system_projector(cfg, args, liquidation_rules, model_params(args, cfg))
    projected = whole.project({"WETH": -0.25})
    sys_doc = system.simulate_document(snaps[0].block, whole, projected)
    # the cascade's fields bit for bit; `buffers` (loss against each reserve's buffer) is per market only so far
    assert {k: v for k, v in sys_doc.items() if k not in ("markets", "contagion")} == {
        k: v for k, v in doc.items() if k not in ("market", "buffers")
    }
    (fig,) = sys_doc["markets"]
    assert fig["name"] == name and fig["protocol"] == "aave-v3"
    calls = sum(r["accounts_liquidated"] for r in doc["rounds"])  # per round: accounts liquidated (calls)
    assert 0 < fig["accounts_liquidated"] == projected.system.accounts_liquidated <= calls
    assert fig["bad_debt_accounts"] == doc["bad_debt_accounts"]
    assert fig["debt_repaid_usd"] == pytest.approx(doc["debt_repaid_usd"], rel=1e-12)
    assert sys_doc["contagion"] == {name: {"accounts_liquidated": 0, "debt_repaid_usd": 0.0, "bad_debt_usd": 0.0}}
    # sweep: the same document with or without --market
    sw = _json(capsys, "sweep", "--config", config, "--asset", "WETH", "--json")
    again = _json(capsys, "sweep", "--config", config, "--asset", "WETH", "--market", name, "--json")
    assert {k: v for k, v in sw.items() if k != "seconds"} == {k: v for k, v in again.items() if k != "seconds"}
    assert set(sw) == {"block", "market", "limits", "seconds", "assets"}


def test_two_entries_of_one_market_are_refused(
    base: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = dict(base)
    twin = dict(base["markets"][0], name="twin", start_block=1, liquidation_rules="v3.3")
    cfg["markets"] = [*base["markets"], twin]
    config = _write(cfg, tmp_path / "twins.yaml")
    name = base["markets"][0]["name"]
    for argv in (["simulate", "--shock", "WETH=-0.2"], ["sweep", "--asset", "WETH"]):
        assert main([*argv, "--config", config, "--json"]) == 2
        err = capsys.readouterr().err
        assert f"markets '{name}' and 'twin' are the same aave-v3 market" in err, err
        assert "pool_addresses_provider" in err and "count its accounts twice" in err and "Traceback" not in err
    # one of them alone is fine (the batch-1 document)
    doc = _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.2", "--market", "twin", "--json")
    assert doc["market"] == "twin" and doc["rules"] == "v3.3" and doc["rounds"]


def test_aave_and_morpho_project_as_one_system_and_contagion_is_the_difference_to_alone(
    session_devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The devnet's Aave market and its Morpho markets sell into the same pools: ``simulate`` without ``--market``
    projects them as one cascade; each market's figures sum to the system's, and ``contagion`` is exactly each
    market's figures in the system minus its own projection alone (``--market``) at the same block."""
    cfg = devnet_config(session_devnet.url, session_devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"), morpho=True)
    assert [m["protocol"] for m in cfg["markets"]] == ["aave-v3", "morpho-blue"]
    config = _write(cfg, tmp_path / "both.yaml")
    doc = _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.3", "--json")
    per_market = {m["name"]: m for m in doc["markets"]}
    assert [m["protocol"] for m in doc["markets"]] == ["aave-v3", "morpho-blue"]
    assert set(doc["contagion"]) == set(per_market)
    assert all(m["accounts_liquidated"] > 0 for m in doc["markets"])
    total = sum(m["debt_repaid_usd"] for m in doc["markets"])
    assert abs(total - doc["debt_repaid_usd"]) <= 1e-9 * doc["debt_repaid_usd"]
    # rounds count liquidations (an account may be liquidated in several rounds), markets count distinct accounts
    assert sum(r["accounts_liquidated"] for r in doc["rounds"]) >= sum(m["accounts_liquidated"] for m in doc["markets"])
    # the system's rounds on the chain's clock (devnet: 1 s blocks, a round every 2 blocks)
    assert [(r["block"], r["seconds"]) for r in doc["rounds"]] == [
        (2 * i, 2.0 * i) for i in range(1, len(doc["rounds"]) + 1)
    ]
    assert doc["duration_seconds"] == doc["rounds"][-1]["seconds"] and doc["dust_accounts"] == 0
    assert doc["liquidated_first_minute_usd"] == pytest.approx(doc["debt_repaid_usd"], rel=1e-12)
    for name, figures in per_market.items():
        alone = _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.3", "--market", name,
                      "--block", str(doc["block"]), "--json")  # fmt: skip
        extra = doc["contagion"][name]
        assert abs(extra["debt_repaid_usd"] - (figures["debt_repaid_usd"] - alone["debt_repaid_usd"])) <= 1e-6 * max(
            1.0, alone["debt_repaid_usd"]
        )
        assert abs(extra["bad_debt_usd"] - (figures["bad_debt_usd"] - alone["bad_debt_usd"])) <= 1e-6 * max(
            1.0, alone["bad_debt_usd"]
        )
