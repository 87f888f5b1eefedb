"""kill -9 of the daemon at many points (mid-backfill, mid-block-update, mid-checkpoint-write): the checkpoint
is never corrupt, and the next start resumes and reaches the same state as a fresh rebuild."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import parse_config
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet
from tests.daemon.test_daemon import _get, _one, _samples, _wait_ready

MARKET = "devnet-aave"
# seconds after the process answers on its metrics port (it has started its pipelines): early kills land in
# the backfill, later ones in block updates and their checkpoint writes
KILL_AFTER_S = (0.0, 0.1, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def test_kill_9_anywhere_never_corrupts_and_resumes_to_a_fresh_state(devnet: Devnet, tmp_path: Path) -> None:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    cfg = parse_config(data, environ={})
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(data))
    cmd = [sys.executable, "-m", "monitor", "run", "--config", str(path)]
    gen = ActivityGenerator(devnet.rpc, devnet.dep, seed=17, actions_per_block=15)
    known = 0
    for delay in KILL_AFTER_S:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic() + 60
        while not _listening(cfg.metrics.port):
            assert time.monotonic() < started and proc.poll() is None, "the daemon did not start"
            time.sleep(0.02)
        deadline = time.monotonic() + delay
        while True:  # blocks keep coming while it works
            gen.step()
            if time.monotonic() >= deadline:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        cp_file = tmp_path / "cp.sqlite"
        if cp_file.exists():
            assert _integrity(cp_file) == "ok", f"corrupt after a kill at {delay} s"
            with Checkpoint(cp_file) as cp:
                now_known = len(cp.accounts(MARKET)) if cp.market(MARKET) else 0
            assert now_known >= known, "a kill lost discovered accounts"
            known = now_known
    assert known > 0, "at least one run got through part of the backfill"
    # a last, uninterrupted run on the final chain
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        asyncio.run(_wait_ready(cfg.metrics.port, 90))
        head = devnet.rpc.block_number()
        deadline = time.monotonic() + 30
        while True:
            _, body = asyncio.run(_get(f"http://127.0.0.1:{cfg.metrics.port}/metrics"))
            m = _samples(body)
            if _one(m, "cascade_monitor_last_block", market=MARKET) >= head or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err[-2000:]
    block = int(_one(m, "cascade_monitor_last_block", market=MARKET))
    assert block == head
    fresh_cfg = parse_config({**data, "checkpoint": {"path": str(tmp_path / "fresh.sqlite")}}, environ={})

    async def fresh() -> tuple[int, float, int, list[int]]:
        async with RpcClient(fresh_cfg.chain) as rpc:
            snap = await load_snapshot(rpc, fresh_cfg, fresh_cfg.markets[0], block)
        debt = snap.book.debt_usd()
        hf = snap.book.health_factors()[debt > 0]
        buckets = [int((hf < e).sum()) for e in cfg.book.hf_buckets]
        return len(snap.book), float(debt.sum()), snap.book.liquidatable_debt().accounts, buckets

    accounts, debt_usd, liquidatable, buckets = asyncio.run(fresh())
    assert _one(m, "cascade_monitor_accounts", market=MARKET) == accounts
    assert _one(m, "cascade_monitor_debt_usd", market=MARKET) == debt_usd
    assert _one(m, "cascade_monitor_liquidatable_accounts", market=MARKET) == liquidatable
    for edge, count in zip(cfg.book.hf_buckets, buckets, strict=True):
        assert (
            _one(m, "cascade_monitor_health_factor_accounts", market=MARKET, protocol="aave-v3", le=f"{edge:g}")
            == count
        )
    assert _integrity(tmp_path / "cp.sqlite") == "ok"
