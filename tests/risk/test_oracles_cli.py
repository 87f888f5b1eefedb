"""The ``oracles:`` section through ``simulate`` on the devnet: a WBTC priced at a constant (``kind: fixed``) does
not follow its pool, so a WBTC crash liquidates nothing that the oracle's fall would; a WBTC priced as WETH times
a rate follows a WETH crash instead; an asset no market lists is a clear error naming it and the markets'
symbols."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.devnet.market import oracle_price
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet


def _simulate(capsys: pytest.CaptureFixture[str], cfg: dict[str, Any], path: Path, shock: str) -> dict[str, Any]:
    path.write_text(yaml.safe_dump(cfg))
    assert main(["simulate", "--config", str(path), "--shock", shock, "--json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_oracle_models_from_the_config(
    session_devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    devnet = session_devnet
    cfg = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    wbtc = devnet.dep.token("WBTC").address
    plain = _simulate(capsys, cfg, tmp_path / "plain.yaml", "WBTC=-0.3")
    assert plain["debt_repaid_usd"] > 0 and plain["final_prices_usd"][wbtc] < 0.75 * 60_000
    cfg["oracles"] = {"assets": {"WBTC": {"kind": "fixed"}}}
    fixed = _simulate(capsys, cfg, tmp_path / "fixed.yaml", "WBTC=-0.3")
    assert fixed["rounds"] == [] and fixed["debt_repaid_usd"] == 0.0
    start = {s: oracle_price(devnet.rpc, devnet.dep, s, fixed["block"]) / 1e8 for s in ("WETH", "WBTC")}
    assert fixed["final_prices_usd"][wbtc] == start["WBTC"], "the fixed oracle stays put"
    # WBTC priced as WETH x rate: a WETH crash moves WBTC's oracle by the same share
    cfg["oracles"] = {"assets": {"WBTC": {"kind": "rate", "base": "WETH"}}}
    rate = _simulate(capsys, cfg, tmp_path / "rate.yaml", "WETH=-0.2")
    cfg.pop("oracles")
    alone = _simulate(capsys, cfg, tmp_path / "alone.yaml", "WETH=-0.2")
    assert rate["debt_repaid_usd"] > alone["debt_repaid_usd"], "WBTC collateral falls with WETH"
    weth = devnet.dep.token("WETH").address
    moved = rate["final_prices_usd"][weth] / start["WETH"]
    assert moved < 0.8 and rate["final_prices_usd"][wbtc] / start["WBTC"] == pytest.approx(moved, rel=1e-9)
    # without the rate model WBTC's oracle only follows the sales of seized WBTC into its own pool
    assert alone["final_prices_usd"][wbtc] / start["WBTC"] > 0.99
    # an asset no market lists
    cfg["oracles"] = {"assets": {"wstETH": {"kind": "rate", "base": "WETH"}}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["simulate", "--config", str(tmp_path / "bad.yaml"), "--shock", "WETH=-0.1", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "oracles.assets: unknown asset 'wstETH': no market lists it (symbols: " in err
    assert "WETH" in err and "WBTC" in err
