"""``snapshot``, ``simulate`` and ``sweep`` on a config holding only the devnet's Morpho Blue markets and on one
holding both Aave and Morpho: the JSON of issue 13's Interface, every ``health_factor_wad`` equal to what the
contract's own state gives after ``accrueInterest``, and a projected cascade against the chain's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.devnet.artifacts import own_artifact
from monitor.devnet.liquidator import crash
from monitor.devnet.market import oracle_price
from monitor.devnet.monitor_config import devnet_config, morpho_entry
from monitor.devnet.morpho_compile import morpho_artifact
from monitor.devnet.morpho_liquidator import liquidate_morpho_round, prepare_morpho_liquidator
from monitor.devnet.rpc import MAX_UINT, hex_int
from monitor.protocols.morpho_blue.events import LIQUIDATE
from monitor.protocols.morpho_blue.reads import ORACLE_PRICE, POSITION, id_bytes
from tests.conftest import Devnet
from tests.morpho.chain import market_state, morpho_of

DAYS = 86_400
WAD = 10**18


def _write(cfg: dict[str, Any], tmp_path: Path) -> str:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _morpho_only(devnet: Devnet, tmp_path: Path) -> str:
    cfg = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"))
    cfg["markets"] = [morpho_entry(devnet.dep)]
    cfg["sweep"] = {"step": 0.1, "max_shock": 0.5, "amplification_limit": 1.1, "bad_debt_limit_usd": 50_000}
    return _write(cfg, tmp_path)


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(list(argv)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def test_snapshot_rows_equal_the_contract_after_accrue_interest(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rpc, dep = devnet.rpc, devnet.dep
    info = morpho_of(dep)
    rpc.increase_time(45 * DAYS)  # interest the snapshot accrues off chain
    rpc.call("evm_mine")
    doc = _json(capsys, "snapshot", "--config", _morpho_only(devnet, tmp_path), "--json")
    (market,) = doc["markets"]
    assert market["name"] == "devnet-morpho" and market["protocol"] == "morpho-blue"
    rows = market["accounts"]
    assert len(rows) == len(info.pairs()) >= 5 * 150
    assert {"address", "market_id", "collateral_usd", "debt_usd", "health_factor_wad"} <= set(rows[0])
    # the contract accrues to the snapshot block's own timestamp: then its stored state is what we computed
    block = doc["block"]
    stamp = int(rpc.call("eth_getBlockByNumber", hex_int(block), False)["timestamp"], 16)
    rpc.call("evm_setNextBlockTimestamp", hex_int(stamp))
    abi = morpho_artifact().abi
    rpc.wait(rpc.send_many([(dep.deployer, info.morpho, abi.fn("accrueInterest").encode(m.params.as_tuple()))
                            for m in info.markets]))  # fmt: skip
    totals = {m.market_id: market_state(rpc, info.morpho, m.market_id) for m in info.markets}
    prices = {m.market_id: int(rpc.read(m.oracle, ORACLE_PRICE)[0]) for m in info.markets}
    lltv = {m.market_id: m.lltv for m in info.markets}
    unhealthy = 0
    for row in rows:
        mid = row["market_id"]
        _, borrow_shares, collateral = rpc.read(info.morpho, POSITION, id_bytes(mid), row["address"])
        t = totals[mid]
        owed = -(-int(borrow_shares) * (t.total_borrow_assets + 1) // (t.total_borrow_shares + 10**6))
        max_borrow = int(collateral) * prices[mid] // 10**36 * lltv[mid] // WAD
        assert row["health_factor_wad"] == str(max_borrow * WAD // owed), (mid, row["address"])
        unhealthy += max_borrow < owed
    assert unhealthy > 0  # 45 days of interest push the cluster above the line over it


def test_simulate_and_sweep_on_morpho_only(devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = morpho_of(devnet.dep)
    config = _morpho_only(devnet, tmp_path)
    doc = _json(capsys, "simulate", "--config", config, "--shock", "WETH=-0.35", "--json")
    for key in ("rounds", "final_prices_usd", "debt_repaid_usd", "bad_debt_usd", "bad_debt_accounts"):
        assert key in doc
    assert doc["market"] == "devnet-morpho" and doc["rules"] == "morpho-blue"
    losses = doc["lender_loss_by_market"]
    assert set(losses) == {m.market_id for m in info.markets}
    assert doc["bad_debt_usd"] > 0 and sum(v["usd"] for v in losses.values()) == pytest.approx(doc["bad_debt_usd"])
    weth_usdc = info.market("WETH/USDC-86").market_id
    assert losses[weth_usdc]["usd"] > 0 and 0 < losses[weth_usdc]["pct_of_supply"] < 100
    assert losses[info.market("WBTC/USDC-86").market_id]["usd"] == 0.0  # WETH only moved
    assert 0 < doc["supplier_loss_usd"] <= doc["bad_debt_usd"]  # the lender supplies (almost) everything
    sweep = _json(capsys, "sweep", "--config", config, "--asset", "WETH", "--json")
    (weth,) = sweep["assets"]
    assert weth["symbol"] == "WETH" and len(weth["bad_debt_usd"]) == 5
    assert weth["bad_debt_usd"] == sorted(weth["bad_debt_usd"]) and weth["bad_debt_usd"][-1] > 0
    # the lenders' loss at the critical shock: every market, summing to the cascade's bad debt there, and the
    # same as simulate's at that shock
    crit = weth["at_critical_shock"]
    assert weth["critical_shock"] is not None and crit["drop"] == weth["critical_shock"]
    at_crit = crit["lender_loss_by_market"]
    assert set(at_crit) == {m.market_id for m in info.markets}
    assert sum(v["usd"] for v in at_crit.values()) == pytest.approx(crit["bad_debt_usd"])
    assert weth["critical_reason"] == "bad_debt" and at_crit[weth_usdc]["usd"] > 0  # the limit is 50k of bad debt
    again = _json(capsys, "simulate", "--config", config, "--shock", f"WETH={-weth['critical_shock']!r}", "--json")
    assert again["lender_loss_by_market"] == at_crit and again["supplier_loss_usd"] == crit["supplier_loss_usd"]


def test_both_protocols_in_one_config(devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"), morpho=True)
    config = _write(cfg, tmp_path)
    doc = _json(capsys, "snapshot", "--config", config, "--json")
    assert [(m["name"], m["protocol"]) for m in doc["markets"]] == [("devnet-aave", "aave-v3"),
                                                                    ("devnet-morpho", "morpho-blue")]  # fmt: skip
    morpho = _json(capsys, "simulate", "--config", config, "--market", "devnet-morpho", "--shock", "LINK=-0.4",
                   "--json")  # fmt: skip
    aave = _json(capsys, "simulate", "--config", config, "--market", "devnet-aave", "--shock", "LINK=-0.4", "--json")
    assert morpho["market"] == "devnet-morpho" and "lender_loss_by_market" in morpho
    assert aave["market"] == "devnet-aave" and "lender_loss_by_market" not in aave
    sweep = _json(capsys, "sweep", "--config", config, "--market", "devnet-morpho", "--asset", "LINK", "--json")
    assert sweep["market"] == "devnet-morpho"


def _chain_cascade(devnet: Devnet, symbol: str, drop: float) -> tuple[list[int], float, dict[str, float], float]:
    """Morpho-only cascade on the devnet: the shock, then rounds of the real ``liquidate`` (Aave's liquidator
    stays off). Accounts per round, repaid USD, final oracle prices and the events' bad debt in USD."""
    rpc, dep = devnet.rpc, devnet.dep
    info = morpho_of(dep)
    start = rpc.block_number() + 1
    report = crash(rpc, dep, symbol, drop)
    prepare_morpho_liquidator(rpc, dep)
    approve = own_artifact("TestERC20").abi.fn("approve")  # the liquidator sells what it seizes
    rpc.send_many([(dep.liquidator, t.address, approve.encode(dep.swap_router, MAX_UINT)) for t in dep.tokens.values()])
    counts, repaid = [], 0.0
    for _ in range(50):
        r = liquidate_morpho_round(rpc, dep)
        if r is None:
            break
        assert r.reverted == 0
        counts.append(r.accounts_liquidated)
        repaid += r.debt_repaid_usd
    raw = rpc.call("eth_getLogs", {"fromBlock": hex(start), "toBlock": "latest", "address": info.morpho,
                                   "topics": [LIQUIDATE.topic0]})  # fmt: skip
    prices = {s: oracle_price(rpc, dep, s) / 1e8 for s in dep.tokens}
    by_id = {m.market_id: m for m in info.markets}
    bad = 0.0
    for lg in raw:
        ev = LIQUIDATE.decode(lg["topics"], lg["data"])
        loan = by_id["0x" + ev["id"].hex()].loan
        bad += ev["badDebtAssets"] / 10 ** dep.token(loan).decimals * prices[loan]
    assert report.symbol == symbol
    return counts, repaid, prices, bad


@pytest.mark.parametrize(("symbol", "drop"), [("WETH", 0.2), ("WETH", 0.35), ("LINK", 0.4)])
def test_projected_cascade_equals_the_chain(
    devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str], symbol: str, drop: float
) -> None:
    config = _morpho_only(devnet, tmp_path)
    doc = _json(capsys, "simulate", "--config", config, "--shock", f"{symbol}={-drop}", "--json")
    counts, repaid, prices, bad_usd = _chain_cascade(devnet, symbol, drop)
    assert counts and [r["accounts_liquidated"] for r in doc["rounds"]] == counts
    token = devnet.dep.token(symbol).address
    assert doc["final_prices_usd"][token] == pytest.approx(prices[symbol], rel=0.005)
    assert doc["debt_repaid_usd"] == pytest.approx(repaid, rel=0.02)
    assert abs(doc["bad_debt_usd"] - bad_usd) <= max(0.05 * bad_usd, 1000.0)
