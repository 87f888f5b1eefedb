"""The proof across protocols: the devnet's Aave v3.6 market and its Morpho Blue markets sell into the same
Uniswap pools. A real on-chain cascade across both (the scripted liquidator liquidates in both protocols each round
at the round's prices, then sells everything seized into the shared pools, then the oracles follow) equals the
system projection made from the state read before the shock; and the accounts one protocol's sales push under in
the other are liquidated on chain, where that market's cascade alone (on chain and projected) leaves them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.devnet.liquidator import CrashReport, crash
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet

AAVE, MORPHO = "devnet-aave", "devnet-morpho"


def _simulate(devnet: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """``simulate --json`` of the devnet's Aave + Morpho config at the current block (before the shock)."""
    cfg = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"), morpho=True)
    path = tmp_path / "system.yaml"
    path.write_text(yaml.safe_dump(cfg))
    block = devnet.rpc.block_number()
    assert main(["simulate", "--config", str(path), "--block", str(block), "--json", *argv]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def _aave_accounts(report: CrashReport) -> set[str]:
    return {u.lower() for r in report.rounds for u in r.liquidated}


def _morpho_positions(report: CrashReport) -> set[tuple[str, str]]:
    return {(m, u.lower()) for r in report.rounds if r.morpho for m, u in r.morpho.liquidated}


@pytest.mark.parametrize(("symbol", "drop"), [("WETH", 0.20), ("WETH", 0.35), ("WBTC", 0.25), ("LINK", 0.40)])
def test_the_cascade_across_protocols_equals_the_system_projection(
    devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str], symbol: str, drop: float
) -> None:
    devnet = devnet_v36
    doc = _simulate(devnet, tmp_path, capsys, "--shock", f"{symbol}={-drop}")
    chain = crash(devnet.rpc, devnet.dep, symbol, drop, liquidate=True, morpho=True)

    per_round = [r.accounts_liquidated + (r.morpho.accounts_liquidated if r.morpho else 0) for r in chain.rounds]
    repaid = sum(r.debt_repaid_usd + (r.morpho.debt_repaid_usd if r.morpho else 0.0) for r in chain.rounds)
    aave_bad = chain.deficit_usd + chain.bad_debt_usd  # v3.6: burned into deficits, plus debt left without collateral
    markets = {m["name"]: m for m in doc["markets"]}
    print(
        f"\nsystem {symbol} -{drop:.0%}: accounts per round {[r['accounts_liquidated'] for r in doc['rounds']]} vs "
        f"{per_round}, repaid ${doc['debt_repaid_usd']:,.0f} vs ${repaid:,.0f}, bad debt Aave "
        f"${markets[AAVE]['bad_debt_usd']:,.0f} vs ${aave_bad:,.0f}, Morpho ${markets[MORPHO]['bad_debt_usd']:,.0f} vs "
        f"${chain.morpho_bad_debt_usd:,.0f}, contagion {doc['contagion']}"
    )
    assert any(r.morpho for r in chain.rounds) and any(r.accounts_liquidated for r in chain.rounds), "both liquidate"
    # rounds and accounts per round exact (the calls that went through, in both protocols together)
    assert [r["accounts_liquidated"] for r in doc["rounds"]] == per_round
    # each protocol's distinct accounts exact too
    assert markets[AAVE]["accounts_liquidated"] == len(_aave_accounts(chain))
    assert markets[MORPHO]["accounts_liquidated"] == len(_morpho_positions(chain))
    for sym, price in chain.final_prices_usd.items():
        assert doc["final_prices_usd"][devnet.dep.token(sym).address] == pytest.approx(price, rel=0.005), sym
    assert doc["debt_repaid_usd"] == pytest.approx(repaid, rel=0.02)
    for name, on_chain in ((AAVE, aave_bad), (MORPHO, chain.morpho_bad_debt_usd)):
        assert abs(markets[name]["bad_debt_usd"] - on_chain) <= max(1_000.0, 0.05 * on_chain), name
    assert abs(doc["bad_debt_usd"] - (aave_bad + chain.morpho_bad_debt_usd)) <= max(
        1_000.0, 0.05 * (aave_bad + chain.morpho_bad_debt_usd)
    )
    # beyond the tolerances: round by round, every oracle price to 1e-4
    for ours, theirs in zip(doc["rounds"], chain.rounds, strict=True):
        for sym, price in theirs.oracle_prices_usd.items():
            assert ours["oracle_prices_usd"][devnet.dep.token(sym).address] == pytest.approx(price, rel=1e-4), sym


def test_one_protocols_sales_push_the_others_accounts_under_on_chain(
    devnet_v36: Devnet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """WETH -35%: the same shock on chain three times from the same state: both protocols liquidating (the
    system), Aave's liquidator alone, Morpho's alone. Each market liquidates accounts in the system that its own
    cascade leaves, as many as the projection's contagion says, and its cascade alone liquidates what its
    projection alone does."""
    devnet = devnet_v36
    rpc, dep = devnet.rpc, devnet.dep
    doc = _simulate(devnet, tmp_path, capsys, "--shock", "WETH=-0.35")
    contagion = {name: c["accounts_liquidated"] for name, c in doc["contagion"].items()}
    in_system = {m["name"]: m["accounts_liquidated"] for m in doc["markets"]}
    snap = rpc.snapshot()
    system = crash(rpc, dep, "WETH", 0.35, liquidate=True, morpho=True)
    rpc.revert(snap)
    snap = rpc.snapshot()
    aave_alone = crash(rpc, dep, "WETH", 0.35, liquidate=True)
    rpc.revert(snap)
    morpho_alone = crash(rpc, dep, "WETH", 0.35, liquidate=True, morpho=True, aave=False)
    assert not _aave_accounts(morpho_alone) and not _morpho_positions(aave_alone)

    pushed_aave = _aave_accounts(system) - _aave_accounts(aave_alone)
    pushed_morpho = _morpho_positions(system) - _morpho_positions(morpho_alone)
    print(
        f"\ncontagion WETH -35%: projected {contagion}, on chain Aave {len(pushed_aave)}, Morpho {len(pushed_morpho)}"
    )
    assert pushed_aave and pushed_morpho, "each protocol's sales push accounts of the other under"
    assert contagion[AAVE] > 0 and contagion[MORPHO] > 0
    # the alone cascades liquidate a subset: the system only adds sales, so it only adds liquidations
    assert _aave_accounts(aave_alone) <= _aave_accounts(system)
    assert _morpho_positions(morpho_alone) <= _morpho_positions(system)
    assert len(pushed_aave) == contagion[AAVE] and len(pushed_morpho) == contagion[MORPHO]
    assert len(_aave_accounts(aave_alone)) == in_system[AAVE] - contagion[AAVE]
    assert len(_morpho_positions(morpho_alone)) == in_system[MORPHO] - contagion[MORPHO]
