"""Loopback JSON-RPC proxies in front of a real node, for benchmarks (and, through :class:`LoopbackProxy`, the
fault-injecting proxy of the tests).

:class:`LatencyProxy` makes a local node look like a hosted RPC endpoint:

- ``latency_ms``: every HTTP request waits this long before it is forwarded (one network round trip; a JSON-RPC
  batch is one request and pays it once, as over a real network)
- ``calls_per_second``: a cap on JSON-RPC calls like a hosted plan's (each call of a batch counts); calls over
  the cap are delayed, spread evenly (a leaky bucket without burst), never refused
- ``max_batch``: a batch of more calls is refused with one JSON-RPC error, as hosted endpoints do

:class:`ProxyThread` runs a proxy on its own event loop in a thread, so that synchronous clients (web3.py) can use
it and the benchmark's own CPU work does not hold back the proxy's timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Self

import aiohttp


class LoopbackProxy:
    """asyncio HTTP/1.1 server on 127.0.0.1 forwarding JSON-RPC POSTs to ``upstream`` (keep-alive supported).

    Subclasses decide how to answer one request in :meth:`_answer`; this one forwards everything unchanged.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The proxy's URL."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._session is not None
        self._server.close()
        for w in list(self._writers):
            w.close()
        if self._tasks:  # closed connections end their handlers; cancel only what is still busy after that
            _, busy = await asyncio.wait(list(self._tasks), timeout=2.0)
            for t in busy:
                t.cancel()
            await asyncio.gather(*busy, return_exceptions=True)
        await self._server.wait_closed()
        await self._session.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b""):
                        break
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._answer(body, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection."""
        await self._send(writer, 200, json.dumps(await self._forward(body)).encode())
        return True

    async def _forward(self, body: bytes) -> Any:
        assert self._session is not None
        async with self._session.post(self.upstream, data=body, headers={"content-type": "application/json"}) as r:
            return await r.json()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, body: bytes, extra: str = "") -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        writer.write(head.encode() + body)
        await writer.drain()


@dataclass
class ProxyStats:
    """What went through a :class:`LatencyProxy`."""

    requests: int = 0  # HTTP requests (a batch is one)
    calls: int = 0  # JSON-RPC calls (each call of a batch counts)
    refused_batches: int = 0  # batches over ``max_batch``
    throttled_s: float = 0.0  # summed time requests waited for the calls-per-second cap


@dataclass(frozen=True)
class Exchange:
    """One HTTP request through the proxy: when it arrived and when its answer was sent (monotonic seconds)."""

    arrived: float
    answered: float
    methods: tuple[str, ...]


def sequential_round_trips(exchanges: list[Exchange]) -> int:
    """How many of ``exchanges`` had to happen one after the other: the most exchanges of which each arrived
    after the previous one was answered (requests in flight together count once). Greedy by answer time, which
    finds that largest chain of disjoint intervals exactly."""
    count, free_at = 0, float("-inf")
    for ex in sorted(exchanges, key=lambda e: e.answered):
        if ex.arrived >= free_at:
            count += 1
            free_at = ex.answered
    return count


class LatencyProxy(LoopbackProxy):
    """Adds a round-trip latency per request, an optional calls-per-second cap and an optional batch limit."""

    def __init__(
        self,
        upstream: str,
        *,
        latency_ms: float = 0.0,
        calls_per_second: float | None = None,
        max_batch: int | None = None,
    ) -> None:
        super().__init__(upstream)
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms}")
        if calls_per_second is not None and calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be positive, got {calls_per_second}")
        if max_batch is not None and max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.latency_s = latency_ms / 1e3
        self.calls_per_second = calls_per_second
        self.max_batch = max_batch
        self.stats = ProxyStats()
        self.exchanges: list[Exchange] = []  # every request, in order of answer (read it between runs)
        self._next_free = 0.0  # monotonic time from which the cap admits the next call

    async def _answer(self, body: bytes, writer: asyncio.StreamWriter) -> bool:
        arrived = time.monotonic()
        payload = json.loads(body)
        calls = len(payload) if isinstance(payload, list) else 1
        methods = tuple(str(c.get("method")) for c in (payload if isinstance(payload, list) else [payload]))
        self.stats.requests += 1
        self.stats.calls += calls
        if self.max_batch is not None and calls > self.max_batch:
            self.stats.refused_batches += 1
            error = {"code": -32600, "message": f"batch of {calls} calls exceeds the limit of {self.max_batch}"}
            await self._send(writer, 200, json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode())
            return True
        wait = self._admit(calls)
        self.stats.throttled_s += wait
        await asyncio.sleep(wait + self.latency_s)
        await self._send(writer, 200, json.dumps(await self._forward(body)).encode())
        self.exchanges.append(Exchange(arrived, time.monotonic(), methods))
        return True

    def _admit(self, calls: int) -> float:
        """Seconds this request waits for the calls-per-second cap (0 without a cap)."""
        if self.calls_per_second is None:
            return 0.0
        now = time.monotonic()
        start = max(now, self._next_free)
        self._next_free = start + calls / self.calls_per_second
        return start - now


class ProxyThread:
    """Runs ``proxy`` on a private event loop in a daemon thread; ``with ProxyThread(p) as url: ...``."""

    def __init__(self, proxy: LoopbackProxy) -> None:
        self.proxy = proxy
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="rpc-proxy", daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        started: Future[LoopbackProxy] = asyncio.run_coroutine_threadsafe(self.proxy.__aenter__(), self._loop)
        started.result(timeout=30)
        return self.proxy.url

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.__aexit__(None, None, None), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
