"""A buffer read from a contract (Aave ``buffers_usd: {SYMBOL: {contract, token}}``) on the v3.6 devnet: the
ERC20 balance the contract holds at the block times the reserve's oracle price, exactly; beside a buffer given in
USD; a token that is not a reserve of the market is a clear error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.market import balance_of, oracle_price
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet


def _run(capsys: pytest.CaptureFixture[str], cfg: dict[str, Any], path: Path, *argv: str) -> tuple[int, str, str]:
    path.write_text(yaml.safe_dump(cfg))
    code = main(["simulate", "--config", str(path), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_contract_buffer_is_its_balance_at_the_oracle_price(
    devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rpc, dep = devnet_v36.rpc, devnet_v36.dep
    holder = dep.treasury  # the market's treasury (collector) address, holding tokens sent to it
    mint = own_artifact("TestERC20").abi.fn("mint")
    rpc.send(dep.deployer, dep.token("USDC").address, mint.encode(holder, 1_234_567 * 10**6 + 89))
    rpc.send(dep.deployer, dep.token("WETH").address, mint.encode(holder, 321 * 10**18 + 7))
    rpc.mine(1)
    block = rpc.block_number()
    cfg = devnet_config(devnet_v36.url, dep, checkpoint=str(tmp_path / "cp.sqlite"))
    cfg["markets"][0]["buffers_usd"] = {
        "USDC": {"contract": holder, "token": "USDC"},
        "WETH": {"contract": holder, "token": dep.token("WETH").address},  # by address
        "DAI": 1000.0,
    }
    code, out, err = _run(capsys, cfg, tmp_path / "c.yaml", "--shock", "WETH=-0.35", "--block", str(block), "--json")
    assert code == 0, err
    buffers = json.loads(out)["buffers"]
    shown = []
    for symbol in ("USDC", "WETH"):
        token = dep.token(symbol)
        raw = balance_of(rpc, dep, symbol, holder)
        assert raw > 0
        want = raw * oracle_price(rpc, dep, symbol, block) / 10**token.decimals / 1e8
        assert buffers[symbol]["buffer_usd"] == pytest.approx(want, rel=1e-15), symbol
        shown.append(f"{symbol}: balance {raw} x oracle price -> buffer ${buffers[symbol]['buffer_usd']:,.2f}")
    assert buffers["DAI"]["buffer_usd"] == 1000.0

    cfg["markets"][0]["buffers_usd"] = {"USDC": {"contract": holder, "token": "NOPE"}}
    code, out, err = _run(capsys, cfg, tmp_path / "bad.yaml", "--shock", "WETH=-0.1", "--json")
    assert code == 2 and out == ""
    assert "buffers_usd.USDC.token 'NOPE' is not a reserve of the market (reserves: " in err
    print("\n" + "\n".join(shown))
