"""New heads pushed by the node: one reconnecting ``eth_subscribe newHeads`` over WebSocket.

:class:`HeadStream` is the protocol without I/O (the subscribe request, each incoming message turned into a
block number or nothing); :class:`HeadSubscription` is the thin aiohttp driver that keeps one subscription
open, reconnecting after the project's :class:`~monitor.chain.retry.Backoff`, and wakes whoever waits in
:meth:`HeadSubscription.wait`. The subscription only says *when* to look: the head itself is still read over
HTTP, so a lost or late notification costs at most the caller's poll interval, never a wrong answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from monitor.chain.retry import Backoff
from monitor.config import redact_url
from monitor.errors import ChainError

log = logging.getLogger(__name__)

SUBSCRIBE_ID = 1


class HeadStreamError(ChainError):
    """The node refused the subscription or sent something that is not a JSON-RPC message."""


class HeadStream:
    """The ``newHeads`` subscription as a state machine: feed it each text message, get block numbers out."""

    def __init__(self) -> None:
        self.subscription: str | None = None  # the node's subscription id, once it answered

    @staticmethod
    def subscribe_request() -> str:
        """The one request sent after connecting."""
        return json.dumps({"jsonrpc": "2.0", "id": SUBSCRIBE_ID, "method": "eth_subscribe", "params": ["newHeads"]})

    def feed(self, text: str) -> int | None:
        """One message from the node: the new head's number, or None (the subscription answer, other traffic)."""
        try:
            msg: Any = json.loads(text)
        except ValueError:
            raise HeadStreamError(f"newHeads: not JSON: {text[:80]!r}") from None
        if not isinstance(msg, dict):
            raise HeadStreamError(f"newHeads: not a JSON-RPC message: {text[:80]!r}")
        if msg.get("id") == SUBSCRIBE_ID:
            if "error" in msg:
                raise HeadStreamError(f"eth_subscribe newHeads refused: {msg['error']}")
            if not isinstance(msg.get("result"), str):
                raise HeadStreamError(f"eth_subscribe newHeads: no subscription id in {text[:80]!r}")
            self.subscription = msg["result"]
            return None
        params = msg.get("params")
        if msg.get("method") != "eth_subscription" or not isinstance(params, dict):
            return None
        if self.subscription is None or params.get("subscription") != self.subscription:
            return None
        head = params.get("result")
        number = head.get("number") if isinstance(head, dict) else None
        if not isinstance(number, str):
            raise HeadStreamError(f"newHeads: a head without a number: {text[:80]!r}")
        try:
            return int(number, 16)
        except ValueError:
            raise HeadStreamError(f"newHeads: bad block number {number!r}") from None


class HeadSubscription:
    """One reconnecting ``newHeads`` subscription at ``url`` (ws:// or wss://)."""

    def __init__(self, url: str, *, backoff: Backoff | None = None, heartbeat_s: float = 10.0) -> None:
        self.url = url
        self.label = redact_url(url)  # the URL may carry an API key: never logged whole
        self.backoff = backoff or Backoff(base_s=0.5, cap_s=30.0, jitter=False)
        self.heartbeat_s = heartbeat_s
        self.latest: int | None = None  # the newest head number pushed
        self.connected = False  # subscribed right now
        self.connects = 0  # successful subscriptions so far (1 + reconnects)
        self._new = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Until a head newer than the last wait arrives (True) or ``timeout`` seconds pass (False)."""
        try:
            await asyncio.wait_for(self._new.wait(), timeout)
        except TimeoutError:
            return False
        self._new.clear()
        return True

    async def run(self) -> None:
        """Forever: connect, subscribe, deliver heads; after a failure wait the backoff and connect again."""
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await self._session(session)
                    failures = 1  # the node closed a working subscription: reconnect soon
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # whatever broke the stream, the caller's polling carries on
                    failures = 1 if self.connected else failures + 1
                    expected = isinstance(exc, aiohttp.ClientError | OSError | TimeoutError | HeadStreamError)
                    if failures == 1 or failures % 10 == 0:
                        log.log(logging.WARNING if expected else logging.ERROR,
                                "newHeads over %s failed (%s: %s); polling until it is back", self.label,
                                type(exc).__name__, exc, exc_info=exc if not expected else None)  # fmt: skip
                finally:
                    self.connected = False
                await asyncio.sleep(self.backoff.delay(max(failures, 1)))

    async def _session(self, session: aiohttp.ClientSession) -> None:
        stream = HeadStream()
        async with session.ws_connect(self.url, heartbeat=self.heartbeat_s, autoping=True) as ws:
            await ws.send_str(stream.subscribe_request())
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    if msg.type == aiohttp.WSMsgType.ERROR:
                        raise aiohttp.ClientError(f"websocket error: {ws.exception()}")
                    continue
                number = stream.feed(msg.data)
                if stream.subscription is not None and not self.connected:
                    self.connected = True
                    self.connects += 1
                    log.info("newHeads subscribed over %s", self.label)
                if number is not None:
                    self.latest = number
                    self._new.set()
        if not self.connected:
            raise HeadStreamError(f"{self.label}: the node closed the websocket before subscribing")
