"""``cascade-monitor simulate`` and ``sweep`` on the devnet: the JSON fields exactly as the issue spells them,
and clear errors on bad ``--shock`` input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from monitor.cli import main
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet


@pytest.fixture(scope="module")
def config(session_devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The devnet's monitor config (read-only use of the session devnet; one checkpoint for the module)."""
    tmp = tmp_path_factory.mktemp("cli")
    cfg = devnet_config(session_devnet.url, session_devnet.dep, checkpoint=str(tmp / "cp.sqlite"))
    cfg["sweep"] = {"step": 0.1, "max_shock": 0.9, "amplification_limit": 1.1, "bad_debt_limit_usd": 50_000}
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    yield str(path)


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return doc


def test_simulate_json_fields(config: str, session_devnet: Devnet, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.2", "--json")
    assert set(doc) == {"block", "market", "rounds", "final_prices_usd", "debt_repaid_usd", "bad_debt_usd",
                        "bad_debt_accounts", "rules", "deficit_usd", "deficit_usd_by_reserve",
                        "buffers", "duration_blocks", "duration_seconds", "liquidated_first_minute_usd",
                        "liquidated_first_hour_usd", "dust_accounts", "dust_debt_usd",
                        "dust_shortfall_usd"}  # fmt: skip
    assert doc["rules"] == "v3.0", "the rules of the detected revision (POOL_REVISION 1: Aave v3.0.2)"
    assert doc["deficit_usd"] == 0.0 and doc["deficit_usd_by_reserve"] == {}, "v3.0 has no deficits"
    assert doc["buffers"] == {}, "no buffer configured and no deficit: nothing to cover"
    assert isinstance(doc["block"], int) and doc["market"] == "devnet-aave"
    rounds = doc["rounds"]
    assert isinstance(rounds, list) and len(rounds) >= 2
    reserves = {t.address for t in session_devnet.dep.tokens.values()}
    for i, r in enumerate(rounds, start=1):
        assert set(r) == {"round", "accounts_liquidated", "debt_repaid_usd", "oracle_prices_usd", "block", "seconds"}
        # the devnet (chain 31337): 1 s blocks; the update lands a block after the move, liquidators a block later
        assert (r["block"], r["seconds"]) == (2 * i, 2.0 * i)
        assert r["round"] == i and isinstance(r["accounts_liquidated"], int) and r["accounts_liquidated"] > 0
        assert isinstance(r["debt_repaid_usd"], float)
        assert set(r["oracle_prices_usd"]) == reserves
        assert all(isinstance(p, float) for p in r["oracle_prices_usd"].values())
    prices = doc["final_prices_usd"]
    assert isinstance(prices, dict) and set(prices) == reserves
    weth = session_devnet.dep.token("WETH").address
    assert prices[weth] < 3000 * 0.8 and prices[weth] == rounds[-1]["oracle_prices_usd"][weth]
    assert doc["debt_repaid_usd"] == pytest.approx(sum(r["debt_repaid_usd"] for r in rounds))
    assert isinstance(doc["bad_debt_usd"], float) and isinstance(doc["bad_debt_accounts"], int)
    assert doc["duration_seconds"] == rounds[-1]["seconds"] and doc["duration_blocks"] == rounds[-1]["block"]
    assert doc["liquidated_first_minute_usd"] == pytest.approx(
        sum(r["debt_repaid_usd"] for r in rounds if r["seconds"] <= 60)
    )
    assert (doc["dust_accounts"], doc["dust_debt_usd"]) == (0, 0.0), "no gas: no dust"
    # the same shock by address and as a percentage, v3.3 rules: a valid document too
    again = _json(capsys, "simulate", "--config", config, "--shock", f"{weth}=-20%", "--rules", "v3.3", "--json")
    assert set(again) == set(doc) and again["rounds"] and again["rules"] == "v3.3"


def _config_v36(devnet: Devnet, tmp: Path, **market: object) -> str:
    cfg = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp / "cp.sqlite"))
    cfg["markets"][0].update(market)
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_simulate_on_v36_uses_the_detected_rules_and_reports_deficits_per_reserve(
    session_devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = _config_v36(session_devnet_v36, tmp_path)
    doc = _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.35", "--json")
    assert doc["rules"] == "v3.3", "POOL_REVISION 10 (Aave v3.6): position-level close factor, dust, deficits"
    by = doc["deficit_usd_by_reserve"]
    assert isinstance(by, dict) and by, "a 35% drop leaves deficits on the v3.6 devnet"
    assert set(by) <= set(session_devnet_v36.dep.tokens) and all(v > 0 for v in by.values())
    assert sum(by.values()) == pytest.approx(doc["deficit_usd"], rel=1e-12)
    assert main(["simulate", "--config", config, "--shock", "WETH=-0.35"]) == 0
    assert "new reserve deficits: $" in capsys.readouterr().out
    # config's liquidation_rules is an override: used, with a warning that it disagrees with the pool's
    (tmp_path / "override").mkdir()
    override = _config_v36(session_devnet_v36, tmp_path / "override", liquidation_rules="v3.0")
    with caplog.at_level("WARNING"):
        doc30 = _json(capsys, "simulate", "--config", override, "--shock", "WETH=-0.35", "--json")
    assert doc30["rules"] == "v3.0" and doc30["deficit_usd_by_reserve"] == {}
    assert any("override" in r.getMessage() and "v3.6" in r.getMessage() for r in caplog.records)


def test_simulate_text(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--config", config, "--shock", "LINK=-0.25", "--shock", "WBTC=-0.1"]) == 0
    out = capsys.readouterr().out
    assert "round  liquidated" in out and "amplification" in out and "bad debt" in out
    assert "LINK -25.0%" in out and "WBTC -10.0%" in out


@pytest.mark.parametrize(
    ("shock", "message"),
    [
        ("WETH", "expected ASSET=CHANGE"),
        ("WETH=abc", "expected ASSET=CHANGE"),
        ("=-0.2", "expected ASSET=CHANGE"),
        ("WETH=-1.5", "must be a non-zero share above -1"),
        ("WETH=-100%", "must be a non-zero share above -1"),
        ("WETH=0", "must be a non-zero share above -1"),
    ],
)
def test_bad_shock_syntax_is_a_usage_error(shock: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--config", "unused.yaml", "--shock", shock])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --shock" in err and message in err


def test_unknown_asset_and_repeated_asset_are_clear_errors(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--config", config, "--shock", "FOO=-0.1"]) == 2
    err = capsys.readouterr().err
    assert "error: unknown asset 'FOO'" in err and "WETH" in err and "Traceback" not in err
    assert main(["simulate", "--config", config, "--shock", "WETH=-0.1", "--shock", "weth=-0.2"]) == 2
    assert "names an asset twice" in capsys.readouterr().err
    assert main(["simulate", "--config", config, "--shock", "WETH=-0.1", "--market", "nope"]) == 2
    assert "--market 'nope' is not in the config" in capsys.readouterr().err


def test_sweep_json(config: str, session_devnet: Devnet, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(capsys, "sweep", "--config", config, "--asset", "WETH", "--json")
    assert set(doc) == {"block", "market", "limits", "seconds", "assets"}
    assert doc["limits"] == {"amplification": 1.1, "bad_debt_usd": 50_000.0}
    (weth,) = doc["assets"]  # type: ignore[misc]
    assert weth["asset"] == session_devnet.dep.token("WETH").address and weth["symbol"] == "WETH"
    assert weth["drops"] == pytest.approx([0.1 * i for i in range(1, 10)])
    for key in ("final_drop", "amplification", "debt_repaid_usd", "accounts_liquidated", "bad_debt_usd", "rounds"):
        assert len(weth[key]) == 9
    assert weth["critical_shock"] is not None and 0 < weth["critical_shock"] <= 0.9
    assert weth["critical_reason"] in ("amplification", "bad_debt")


def test_sweep_text_over_every_collateral_asset(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--config", config]) == 0
    out = capsys.readouterr().out
    for symbol in ("WETH", "WBTC", "LINK", "USDC", "DAI"):
        assert f"  {symbol} (0x" in out
    assert "critical shock" in out


def test_sweep_spread_over_processes_equals_one_process(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every collateral asset swept in two forked processes: the same document as in this process (but the
    time it took), in the same asset order."""
    one = _json(capsys, "sweep", "--config", config, "--workers", "1", "--json")
    two = _json(capsys, "sweep", "--config", config, "--workers", "2", "--json")
    assert len(one["assets"]) >= 2  # type: ignore[arg-type]
    one.pop("seconds"), two.pop("seconds")
    assert two == one
    assert main(["sweep", "--config", config, "--workers", "0"]) == 2
    assert "--workers must be at least 1, got 0" in capsys.readouterr().err


def test_bad_config_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--config", str(tmp_path / "missing.yaml"), "--shock", "WETH=-0.1"]) == 2
    assert "config file not found" in capsys.readouterr().err
