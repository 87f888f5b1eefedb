"""New heads pushed by anvil's WebSocket wake the daemon's block loop without waiting the poll interval; when the
WebSocket goes away the loop polls and keeps publishing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from monitor.config import MonitorConfig, parse_config
from monitor.daemon.result import MarketResult
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet
from tests.daemon.harness import running_daemon


class DroppingWsProxy:
    """A loopback WebSocket relay to ``upstream`` that can drop its connections and refuse new ones."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refuse = False
        self.attempts = 0
        self._open: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._relay)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"ws://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop(self) -> None:
        """Close every relayed connection; refuse the ones that follow."""
        self.refuse = True
        for ws in list(self._open):
            await ws.close()

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        if self.refuse:
            return web.Response(status=503, text="ws down")
        down = web.WebSocketResponse()
        await down.prepare(request)
        self._open.add(down)
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(self.upstream) as up:

                async def upstream_to_client() -> None:
                    async for msg in up:
                        await down.send_str(msg.data)

                pump = asyncio.create_task(upstream_to_client())
                async for msg in down:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        await up.send_str(msg.data)
                pump.cancel()
        finally:
            self._open.discard(down)
        return down


def _cfg(devnet: Devnet, tmp_path: Path, poll_s: float, ws_url: str | None = None) -> MonitorConfig:
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"))
    data["chain"]["poll_interval_s"] = poll_s
    if ws_url is not None:
        data["chain"]["ws_url"] = ws_url
    data["scenarios"], data["sweep"] = [], {"enabled": False}  # the head's arrival is the subject
    return parse_config(data, environ={})


async def _until(predicate: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_mined_block_is_processed_well_before_the_poll_interval(devnet: Devnet, tmp_path: Path) -> None:
    results: list[tuple[float, MarketResult]] = []

    async def record(result: MarketResult) -> None:
        results.append((time.monotonic(), result))

    async with running_daemon(_cfg(devnet, tmp_path, poll_s=5.0), on_result=record) as daemon:
        await _until(lambda: results and daemon.chain and daemon.chain.heads and daemon.chain.heads.connected, 60)
        await asyncio.sleep(0.3)  # the loop is back waiting
        start_block = devnet.rpc.block_number()
        mined_at = time.monotonic()
        await asyncio.to_thread(devnet.rpc.mine, 1)
        await _until(lambda: results[-1][1].block == start_block + 1, 4.0)
        took = results[-1][0] - mined_at
    assert took < 2.0, f"block processed {took:.2f} s after it was mined (poll interval 5 s)"


async def test_ws_dropped_polling_continues_and_results_keep_coming(devnet: Devnet, tmp_path: Path) -> None:
    proxy = DroppingWsProxy(f"ws://{devnet.url.removeprefix('http://')}")
    await proxy.start()
    blocks: list[int] = []

    async def record(result: MarketResult) -> None:
        blocks.append(result.block)

    try:
        async with running_daemon(_cfg(devnet, tmp_path, poll_s=0.5, ws_url=proxy.url), on_result=record) as daemon:
            await _until(lambda: blocks and daemon.chain and daemon.chain.heads and daemon.chain.heads.connected, 60)
            assert daemon.chain is not None and daemon.chain.heads is not None
            heads = daemon.chain.heads
            await proxy.drop()
            await _until(lambda: not heads.connected, 5)
            first = devnet.rpc.block_number()
            for _ in range(4):
                await asyncio.to_thread(devnet.rpc.mine, 1)
                await asyncio.sleep(0.6)
            await _until(lambda: blocks[-1] == first + 4, 5)
            assert not heads.connected
            assert proxy.attempts >= 2  # the subscription keeps trying to come back
            proxy.refuse = False  # the endpoint returns: the subscription does too
            await _until(lambda: heads.connected, 40)
            assert heads.connects == 2
    finally:
        await proxy.stop()
    assert len({b for b in blocks if b > first}) >= 2  # polled block after block (coalescing may skip one)


async def test_without_a_subscription_the_loop_polls(devnet: Devnet, tmp_path: Path) -> None:
    blocks: list[int] = []

    async def record(result: MarketResult) -> None:
        blocks.append(result.block)

    async with running_daemon(_cfg(devnet, tmp_path, poll_s=0.3, ws_url=""), on_result=record) as daemon:
        await _until(lambda: bool(blocks), 60)
        assert daemon.chain is not None and daemon.chain.heads is None
        first = devnet.rpc.block_number()
        await asyncio.to_thread(devnet.rpc.mine, 1)
        await _until(lambda: blocks[-1] == first + 1, 5)
