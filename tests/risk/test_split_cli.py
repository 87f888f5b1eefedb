"""``simulate --json`` on the devnet with split sales and an off-chain depth curve: the rounds say where each
asset was sold, the off-chain book damps the cascade, and an unusable depth file is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet

DEEP = {"WETH": {"depth_usd": {"0.01": 40e6, "0.02": 100e6, "0.05": 300e6, "0.10": 700e6}}}


def _simulate(tmp: Path, devnet: Devnet, capsys: pytest.CaptureFixture[str], name: str, **dex: object) -> Any:
    data = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp / f"{name}.sqlite"))
    data["dex"] = {**data["dex"], **dex}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    block = str(devnet.rpc.block_number())
    assert main(["simulate", "--config", str(path), "--block", block, "--shock", "WETH=-0.2", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_simulate_splits_sales_and_the_offchain_book_damps_the_cascade(
    session_devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = _simulate(tmp_path, session_devnet, capsys, "today")
    split = _simulate(tmp_path, session_devnet, capsys, "split", split_sales=True)
    depth = tmp_path / "depth.yaml"
    depth.write_text(yaml.safe_dump(DEEP))
    deep = _simulate(tmp_path, session_devnet, capsys, "deep", offchain_file=str(depth))
    assert all("sold_by_venue" not in r for r in today["rounds"])  # one pool per asset: today's document
    venues = {v for r in split["rounds"] for v in r["sold_by_venue"].get("WETH", {})}
    assert venues == {"WETH/USDC 0.05%", "WETH/USDC 0.3%"}
    assert {v for r in deep["rounds"] for v in r["sold_by_venue"].get("WETH", {})} >= {"offchain"}
    weth = session_devnet.dep.token("WETH").address
    # more venues absorb the same sales: the price ends higher, fewer accounts go under
    assert today["final_prices_usd"][weth] < split["final_prices_usd"][weth] < deep["final_prices_usd"][weth]

    def liquidated(doc: Any) -> int:
        return sum(r["accounts_liquidated"] for r in doc["rounds"])

    assert liquidated(deep) < liquidated(today)


def test_an_unusable_depth_file_is_a_one_line_error(
    session_devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    depth = tmp_path / "depth.json"
    depth.write_text('{"WETH": {"depth_usd": {"0.05": 1e6, "0.01": 2e6}}}')
    data = devnet_config(session_devnet.url, session_devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    data["dex"] = {**data["dex"], "offchain_file": str(depth)}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["simulate", "--config", str(path), "--shock", "WETH=-0.2", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()[-1:]
    assert line.startswith("cascade-monitor simulate: error: ") and str(depth) in line and "WETH" in line
