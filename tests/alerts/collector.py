"""A QoS 1 subscriber that records every message it gets, for asserting what reached the broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt


@dataclass(frozen=True)
class Received:
    """One message as the subscriber saw it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


class Collector:
    """Subscribes to ``topic`` on ``127.0.0.1:port`` and appends to :attr:`messages`; reconnect with
    :meth:`connect` after the broker restarted."""

    def __init__(
        self,
        port: int,
        topic: str = "#",
        *,
        ca_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.port = port
        self.topic = topic
        self.messages: list[Received] = []
        self._tls = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self._auth = (username, password)
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, timeout: float = 10.0) -> None:
        """(Re)connect and subscribe."""
        await self.disconnect()
        async with asyncio.timeout(timeout):
            client = aiomqtt.Client(
                "127.0.0.1", self.port, username=self._auth[0], password=self._auth[1], tls_context=self._tls
            )
            await client.__aenter__()
            self._client = client
            await client.subscribe(self.topic, qos=1)
        self._reader = asyncio.create_task(self._read(client))

    async def _read(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async for m in client.messages:
                payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                self.messages.append(Received(m.topic.value, payload, m.qos, m.retain))

    async def disconnect(self) -> None:
        """Stop reading and leave (quietly if the broker is gone)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def __aenter__(self) -> Collector:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    def on(self, topic: str) -> list[Received]:
        """Messages received on exactly ``topic``."""
        return [m for m in self.messages if m.topic == topic]

    async def wait_for(self, done: Callable[[Collector], bool], timeout: float = 10.0) -> None:
        """Poll until ``done(self)``; fail with the messages so far after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while not done(self):
                    await asyncio.sleep(0.01)
        except TimeoutError:
            shown = [(m.topic, m.payload[:80]) for m in self.messages[-20:]]
            raise AssertionError(f"condition not met in {timeout} s; last messages: {shown}") from None
