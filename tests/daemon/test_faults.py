"""RPC faults in front of the real anvil: the daemon stays up, marks its data stale or errored, counts the
errors, recovers by itself when the fault ends with a book equal to a fresh rebuild; with two RPC URLs,
failover keeps it fresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from monitor.chain.rpc import RpcClient
from monitor.config import MonitorConfig, parse_config
from monitor.daemon.run import Daemon
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from monitor.protocols.aave_v3.tracker import AaveV3Tracker
from monitor.snapshot import load_snapshot
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon
from tests.daemon.test_daemon import _get, _one, _samples
from tests.faultproxy import FaultProxy

MARKET = "devnet-aave"
STATUS = "cascade_monitor_market_status"


def _cfg(devnet: Devnet, tmp_path: Path, urls: list[str]) -> MonitorConfig:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["chain"].update(rpc_urls=urls, request_timeout_s=2.0, max_retries=1, poll_interval_s=0.3)
    data["alerts"] = {"stale_after_s": 4.0}
    data["scenarios"], data["sweep"] = [], {"enabled": False}  # RPC faults are the subject: keep cycles light
    return parse_config(data, environ={})


@asynccontextmanager
async def _miner(devnet: Devnet, every_s: float = 1.0) -> AsyncIterator[None]:
    """A block per second, as a live chain would produce."""

    async def loop() -> None:
        while True:
            await asyncio.to_thread(devnet.rpc.mine, 1)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop(), name="miner")
    try:
        yield
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@asynccontextmanager
async def _daemon(cfg: MonitorConfig) -> AsyncIterator[Daemon]:
    async with running_daemon(cfg) as daemon:
        yield daemon


async def _until(check: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(0.25)


async def _metrics(cfg: MonitorConfig) -> dict[Any, float]:
    _, body = await _get(f"http://127.0.0.1:{cfg.metrics.port}/metrics")
    return _samples(body)


async def _ready(cfg: MonitorConfig) -> bool:
    return (await _get(f"http://127.0.0.1:{cfg.metrics.port}/readyz"))[0] == 200


async def _not_ready(cfg: MonitorConfig) -> bool:
    return not await _ready(cfg)


async def _counted(cfg: MonitorConfig, before: float) -> bool:
    return _errors(await _metrics(cfg)) > before


def _errors(m: dict[Any, float]) -> float:
    return sum(v for (name, _), v in m.items() if name == "cascade_monitor_rpc_errors_total")


async def _assert_equals_fresh(devnet: Devnet, daemon: Daemon, cfg: MonitorConfig, tmp_path: Path) -> None:
    tracker = daemon.pipelines[MARKET].tracker
    assert isinstance(tracker, AaveV3Tracker)
    indexer = tracker.indexer
    assert indexer.book is not None and indexer.block is not None
    chain = cfg.chain.model_copy(update={"rpc_urls": [devnet.url]})
    checkpoint = cfg.checkpoint.model_copy(update={"path": str(tmp_path / "fresh.sqlite")})
    direct = cfg.model_copy(update={"chain": chain, "checkpoint": checkpoint})
    async with RpcClient(direct.chain) as rpc:
        snap = await load_snapshot(rpc, direct, direct.markets[0], indexer.block)
    assert indexer.book.equals(snap.book), indexer.book.diff(snap.book)


def _wrong_types(payload: Any, answer: Any) -> Any:
    """Answers of the right JSON-RPC shape whose results have the wrong type."""

    def bad(a: Any) -> Any:
        return {**a, "result": {"not": "a hex string"}} if isinstance(a, dict) and "result" in a else a

    return [bad(a) for a in answer] if isinstance(answer, list) else bad(answer)


FAULTS: dict[str, Callable[[FaultProxy], None]] = {
    "http-503": lambda p: setattr(p, "default", "503"),
    "http-429": lambda p: setattr(p, "default", "429"),
    "dropped-connections": lambda p: setattr(p, "default", "drop"),
    "truncated-json": lambda p: setattr(p, "default", "truncate"),
    "malformed-json": lambda p: setattr(p, "default", "garbage"),
    "stalled-responses": lambda p: setattr(p, "default", "delay:5"),
    "wrong-result-types": lambda p: setattr(p, "rewrite", _wrong_types),
}


def _heal(p: FaultProxy) -> None:
    p.default, p.rewrite, p.intercept = "ok", None, None


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_marks_stale_counts_errors_and_recovers(devnet: Devnet, tmp_path: Path, fault: str) -> None:
    async with FaultProxy(devnet.url) as proxy:
        cfg = _cfg(devnet, tmp_path, [proxy.url])
        async with _daemon(cfg) as daemon:
            async with _miner(devnet):
                await _until(lambda: _ready(cfg), 90, "ready before the fault")
                errors_before = _errors(await _metrics(cfg))
                FAULTS[fault](proxy)
                await _until(lambda: _not_ready(cfg), 30, f"not ready under {fault}")
                m = await _metrics(cfg)
                marked = [s for s in ("errored", "stale") if _one(m, STATUS, market=MARKET, status=s)]
                assert marked, "the market is marked errored or stale"
                await _until(lambda: _counted(cfg, errors_before), 30, "the errors are counted")
                _heal(proxy)
                await _until(lambda: _ready(cfg), 60, f"recovered after {fault}")
            await _caught_up(devnet, cfg)
        await _assert_equals_fresh(devnet, daemon, cfg, tmp_path)  # stopped: its book no longer moves


async def _caught_up(devnet: Devnet, cfg: MonitorConfig) -> None:
    """No more blocks come: wait until the daemon has processed the head."""
    head = devnet.rpc.block_number()
    await _until(lambda: _fresh(cfg, head), 30, "caught up with the head")


async def _fresh(cfg: MonitorConfig, head: int) -> bool:
    return _one(await _metrics(cfg), "cascade_monitor_last_block", market=MARKET) >= head


async def test_node_falling_behind_turns_stale_then_recovers(devnet: Devnet, tmp_path: Path) -> None:
    async with FaultProxy(devnet.url) as proxy:
        cfg = _cfg(devnet, tmp_path, [proxy.url])
        async with _daemon(cfg) as daemon:
            async with _miner(devnet):
                await _until(lambda: _ready(cfg), 90, "ready")
                frozen = devnet.rpc.block_number()

                def behind(payload: Any) -> Any:
                    if isinstance(payload, dict) and payload.get("method") == "eth_blockNumber":
                        return {"jsonrpc": "2.0", "id": payload.get("id"), "result": hex(frozen)}
                    return None

                proxy.intercept = behind
                await _until(lambda: _not_ready(cfg), 30, "stale while the node lags")
                m = await _metrics(cfg)
                assert _one(m, "cascade_monitor_market_status", market=MARKET, status="stale") == 1
                assert _one(m, "cascade_monitor_data_age_seconds", market=MARKET) > cfg.alerts.stale_after_s
                _heal(proxy)
                await _until(lambda: _ready(cfg), 60, "recovered")
            await _caught_up(devnet, cfg)
        await _assert_equals_fresh(devnet, daemon, cfg, tmp_path)  # stopped: its book no longer moves


async def test_failover_to_a_second_url_keeps_it_fresh(devnet: Devnet, tmp_path: Path) -> None:
    async with FaultProxy(devnet.url) as bad, _miner(devnet):
        cfg = _cfg(devnet, tmp_path, [bad.url, devnet.url])
        async with _daemon(cfg):
            await _until(lambda: _ready(cfg), 90, "ready")
            bad.default = "drop"
            head = devnet.rpc.block_number()
            await _until(lambda: _fresh(cfg, head + 3), 30, "still following the head through the second URL")
            assert await _ready(cfg)
            m = await _metrics(cfg)
            assert _one(m, "cascade_monitor_rpc_failovers_total") > 0
