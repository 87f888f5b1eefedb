"""``cascade-monitor snapshot``: the JSON document and clear errors on bad input (no traceback, nothing
written half)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import yaml

from monitor.devnet.anvil import free_port
from monitor.devnet.market import oracle_price, set_oracle_price
from monitor.devnet.monitor_config import devnet_config
from monitor.devnet.population import account_data
from tests.conftest import Devnet


def _run(config: dict[str, object], tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [sys.executable, "-m", "monitor", "snapshot", "--config", str(path), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _config(devnet: Devnet, tmp_path: Path) -> dict[str, object]:
    return devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "cp.sqlite"))


def test_snapshot_json_lists_every_account_with_debt_exactly(devnet: Devnet, tmp_path: Path) -> None:
    proc = _run(_config(devnet, tmp_path), tmp_path, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"block", "markets"}
    (market,) = doc["markets"]
    assert market["name"] == "devnet-aave" and market["protocol"] == "aave-v3"
    accounts = market["accounts"]
    assert len(accounts) == len(devnet.plans)
    assert set(accounts[0]) == {"address", "health_factor_wad", "collateral_usd", "debt_usd"}
    rows = account_data(devnet.rpc, devnet.dep, [a["address"] for a in accounts], doc["block"])
    assert [int(a["health_factor_wad"]) for a in accounts] == [r[5] for r in rows]
    assert sum(market["distribution"]["counts"]) == len(accounts)
    weth = devnet.dep.tokens["WETH"].address
    at_risk = market["collateral_at_risk"][weth]
    assert len(at_risk["drops"]) == 90
    for key in ("accounts", "collateral_now_usd", "debt_usd"):
        assert at_risk[key] == sorted(at_risk[key]), f"{key}: more at risk with every 1% drop"


def test_snapshot_at_an_older_block(devnet: Devnet, tmp_path: Path) -> None:
    # a chain reloaded from a state dump keeps no state of its old blocks: make history after the load
    devnet.rpc.mine(1)
    before = devnet.rpc.block_number()
    weth = devnet.dep.tokens["WETH"]
    set_oracle_price(devnet.rpc, devnet.dep, "WETH", oracle_price(devnet.rpc, devnet.dep, "WETH") // 2)
    proc = _run(_config(devnet, tmp_path), tmp_path, "--json", "--block", str(before))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["block"] == before
    accounts = doc["markets"][0]["accounts"]
    rows = account_data(devnet.rpc, devnet.dep, [a["address"] for a in accounts], before)
    assert [int(a["health_factor_wad"]) for a in accounts] == [r[5] for r in rows]
    assert min(int(a["health_factor_wad"]) for a in accounts) > 10**18, "read before the WETH price halved"
    assert weth.address in doc["markets"][0]["collateral_at_risk"]


def test_not_a_pool_addresses_provider(devnet: Devnet, tmp_path: Path) -> None:
    cfg = _config(devnet, tmp_path)
    cfg["markets"][0]["pool_addresses_provider"] = devnet.dep.tokens["WETH"].address  # type: ignore[index]
    proc = _run(cfg, tmp_path)
    assert proc.returncode == 2
    assert "not an Aave v3 PoolAddressesProvider" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wrong_chain_id_and_unreachable_rpc(devnet: Devnet, tmp_path: Path) -> None:
    cfg = _config(devnet, tmp_path)
    cfg["chain"]["chain_id"] = 1  # type: ignore[index]
    proc = _run(cfg, tmp_path)
    assert proc.returncode == 2 and "chain id" in proc.stderr.lower()
    assert "Traceback" not in proc.stderr
    cfg = _config(devnet, tmp_path)
    cfg["chain"]["rpc_urls"] = [f"http://127.0.0.1:{free_port()}"]  # type: ignore[index]
    cfg["chain"]["max_retries"] = 1  # type: ignore[index]
    proc = _run(cfg, tmp_path)
    assert proc.returncode == 2 and "no RPC endpoint answered" in proc.stderr
    assert "Traceback" not in proc.stderr
    cp = tmp_path / "cp.sqlite"
    if cp.exists():  # nothing half-written: no market row without its backfill
        with sqlite3.connect(cp) as db:
            assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() is not None
