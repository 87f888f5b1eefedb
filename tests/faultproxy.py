"""A loopback HTTP proxy in front of a real node that injects faults, for RPC client tests.

Each request takes the next entry of ``script`` (then ``default``):

- ``"ok"``: forward to the upstream node and return its answer
- ``"429"``, ``"503"`` (any 3-digit status): answer that status (``retry_after`` sets a Retry-After header)
- ``"drop"``: read the request, close the connection without an answer
- ``"truncate"``: forward, then return the first half of the JSON answer
- ``"garbage"``: answer 200 with a body that is not JSON
- ``"delay:<s>"``: wait, then forward

``intercept(payload)`` may answer a request itself (return a JSON value) and ``rewrite(payload, answer)`` may
change a forwarded answer. ``seen`` records the JSON payloads received; ``max_in_flight`` the concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

import aiohttp


class FaultProxy:
    """asyncio HTTP/1.1 server on 127.0.0.1 forwarding POSTs to ``upstream``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.script: list[str] = []
        self.default = "ok"
        self.retry_after: str | None = None
        self.intercept: Callable[[Any], Any | None] | None = None
        self.rewrite: Callable[[Any, Any], Any] | None = None
        self.seen: list[Any] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: asyncio.Server | None = None
        self._session: aiohttp.ClientSession | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The proxy's URL."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultProxy:
        self._session = aiohttp.ClientSession()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._session is not None
        self._server.close()
        for w in list(self._writers):
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        await self._session.close()

    def methods(self) -> list[str]:
        """Methods of every request seen, batches flattened."""
        out: list[str] = []
        for p in self.seen:
            out += [x["method"] for x in p] if isinstance(p, list) else [p["method"]]
        return out

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
        payload = json.loads(body)
        self.seen.append(payload)
        fault = self.script.pop(0) if self.script else self.default
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if fault == "drop":
                return False
            if fault.isdigit():
                extra = f"Retry-After: {self.retry_after}\r\n" if self.retry_after else ""
                await self._send(writer, int(fault), b"busy", extra)
                return True
            if fault == "garbage":
                await self._send(writer, 200, b"<html>gateway</html>")
                return True
            if fault.startswith("delay:"):
                await asyncio.sleep(float(fault.split(":", 1)[1]))
            answer = self.intercept(payload) if self.intercept else None
            if answer is None:
                answer = await self._forward(body)
                if self.rewrite is not None:
                    answer = self.rewrite(payload, answer)
            out = json.dumps(answer).encode()
            await self._send(writer, 200, out[: len(out) // 2] if fault == "truncate" else out)
            return True
        finally:
            self.in_flight -= 1

    async def _forward(self, body: bytes) -> Any:
        assert self._session is not None
        async with self._session.post(self.upstream, data=body, headers={"content-type": "application/json"}) as r:
            return await r.json()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, body: bytes, extra: str = "") -> None:
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
