"""The daemon on the devnet: metrics equal a snapshot of the same block, readiness follows data age, and a
SIGTERM stops it cleanly so the next start resumes from the checkpoint."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import MonitorConfig, parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _config(devnet: Devnet, tmp_path: Path, **alerts: Any) -> MonitorConfig:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["alerts"] = {"stale_after_s": 3600.0, **alerts}
    return parse_config(data, environ={})


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.text()


def _samples(text: str) -> Samples:
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _one(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


@asynccontextmanager
async def _running(cfg: MonitorConfig) -> AsyncIterator[Daemon]:
    async with running_daemon(cfg) as daemon:
        yield daemon


async def _wait_ready(port: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    text = "no answer"
    while time.monotonic() < deadline:
        try:
            status, text = await _get(f"http://127.0.0.1:{port}/readyz")
        except aiohttp.ClientConnectionError:  # not listening yet
            status = 0
        if status == 200:
            return text
        await asyncio.sleep(0.2)
    raise AssertionError(f"not ready after {timeout} s: {text}")


async def test_metrics_equal_a_snapshot_of_the_same_block(devnet: Devnet, tmp_path: Path) -> None:
    cfg = _config(devnet, tmp_path)
    async with _running(cfg) as daemon:
        await _wait_ready(cfg.metrics.port)
        status, body = await _get(f"http://127.0.0.1:{cfg.metrics.port}/metrics")
        assert status == 200
        health, _ = await _get(f"http://127.0.0.1:{cfg.metrics.port}/healthz")
        assert health == 200
        assert daemon.listen_port == cfg.metrics.port
    m = _samples(body)
    market = "devnet-aave"
    block = int(_one(m, "cascade_monitor_last_block", market=market))
    async with RpcClient(cfg.chain) as rpc:
        snap = await load_snapshot(rpc, cfg.model_copy(update={"checkpoint": cfg.checkpoint.model_copy(
            update={"path": str(tmp_path / "snap.sqlite")})}), cfg.markets[0], block)  # fmt: skip
    book = snap.book
    debt = book.debt_usd()
    assert _one(m, "cascade_monitor_accounts", market=market) == len(book)
    assert _one(m, "cascade_monitor_accounts_with_debt", market=market) == int((debt > 0).sum())
    assert math.isclose(_one(m, "cascade_monitor_debt_usd", market=market), float(debt.sum()), rel_tol=1e-12)
    liq = book.liquidatable_debt()
    assert _one(m, "cascade_monitor_liquidatable_accounts", market=market) == liq.accounts
    hf = book.health_factors()[debt > 0]
    for edge in cfg.book.hf_buckets:
        got = _one(m, "cascade_monitor_health_factor_accounts", market=market, protocol="aave-v3", le=f"{edge:g}")
        assert got == int((hf < edge).sum()), edge
    weth = snap.book.market.reserves[0]
    assert _one(m, "cascade_monitor_oracle_price_usd", market=market, asset=weth.symbol) == weth.price / 1e8
    car = book.collateral_at_risk(weth.asset, (0.1,))
    got = _one(m, "cascade_monitor_collateral_at_risk_usd", market=market, asset=weth.symbol, drop="0.1")
    assert math.isclose(got, car.collateral_now_usd[0], rel_tol=1e-12)
    # DEX depth and oracle deviation are there for every configured pool
    pools = {dict(k[1])["pool"] for k in m if k[0] == "cascade_monitor_dex_depth_usd"}
    assert pools == set(cfg.dex.pools)
    assert abs(_one(m, "cascade_monitor_oracle_dex_deviation_ratio", market=market, asset="WETH")) < 0.001
    assert (
        _one(
            m, "cascade_monitor_rpc_requests_total", method="eth_call", endpoint=f"http://127.0.0.1:{devnet.node.port}"
        )
        > 0
    )


async def test_readiness_follows_the_data_age(devnet: Devnet, tmp_path: Path) -> None:
    cfg = _config(devnet, tmp_path, stale_after_s=3.0)
    async with _running(cfg):
        # the first cycle backfills (slower than 3 s); a block a second after it keeps the data fresh
        deadline = time.monotonic() + 90
        while (await _get(f"http://127.0.0.1:{cfg.metrics.port}/readyz"))[0] != 200:
            assert time.monotonic() < deadline, "never ready"
            devnet.rpc.mine(1)  # stamped now (the fixture keeps anvil's clock on the wall clock)
            await asyncio.sleep(1.0)
        deadline = time.monotonic() + 30
        while True:  # no new block: the data ages past the limit
            status, text = await _get(f"http://127.0.0.1:{cfg.metrics.port}/readyz")
            if "stale" in text or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert status == 503 and "stale" in text
        _, body = await _get(f"http://127.0.0.1:{cfg.metrics.port}/metrics")
        m = _samples(body)
        assert _one(m, "cascade_monitor_market_status", market="devnet-aave", status="stale") == 1
        assert _one(m, "cascade_monitor_data_age_seconds", market="devnet-aave") > cfg.alerts.stale_after_s
        devnet.rpc.mine(1)  # a fresh block arrives: ready again
        assert "ok" in await _wait_ready(cfg.metrics.port, 30)


def test_sigterm_stops_cleanly_and_the_next_start_resumes(devnet: Devnet, tmp_path: Path) -> None:
    cfg = _config(devnet, tmp_path)
    path = tmp_path / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(path)],
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)  # fmt: skip

    def wait_ready(proc: subprocess.Popen[str]) -> None:
        assert asyncio.run(_wait_ready(cfg.metrics.port, 90))
        assert proc.poll() is None

    proc = start()
    try:
        wait_ready(proc)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err[-2000:]
        assert time.monotonic() - t0 < 10, "stopped within seconds"
        assert "stopping" in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        state = cp.market("devnet-aave")
        assert state is not None and state.last_block >= devnet.dep.deploy_block
        first_stop = state.last_block
    devnet.rpc.mine(2)
    again = start()
    try:
        wait_ready(again)
        _, body = asyncio.run(_get(f"http://127.0.0.1:{cfg.metrics.port}/metrics"))
        assert _one(_samples(body), "cascade_monitor_last_block", market="devnet-aave") >= first_stop + 2
    finally:
        again.send_signal(signal.SIGTERM)
        _, err = again.communicate(timeout=15)
    assert again.returncode == 0, err[-2000:]
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        resumed = cp.market("devnet-aave")
        assert resumed is not None and resumed.start_block == state.start_block
        assert resumed.last_block >= first_stop + 2
