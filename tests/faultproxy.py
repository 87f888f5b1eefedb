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
The HTTP server itself is the benchmarks' :class:`~benchmarks.rpcproxy.LoopbackProxy`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from benchmarks.rpcproxy import LoopbackProxy


class FaultProxy(LoopbackProxy):
    """asyncio HTTP/1.1 server on 127.0.0.1 forwarding POSTs to ``upstream``, faults as scripted."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.script: list[str] = []
        self.default = "ok"
        self.retry_after: str | None = None
        self.intercept: Callable[[Any], Any | None] | None = None
        self.rewrite: Callable[[Any, Any], Any] | None = None
        self.seen: list[Any] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def methods(self) -> list[str]:
        """Methods of every request seen, batches flattened."""
        out: list[str] = []
        for p in self.seen:
            out += [x["method"] for x in p] if isinstance(p, list) else [p["method"]]
        return out

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
