"""Connecting and leaving an aiomqtt client without leaking sockets or waiting out timeouts.

aiomqtt 2.x (over paho-mqtt 2.x) has three gaps a months-long daemon notices: a connect attempt cannot be
cancelled cleanly (cancelling it while it waits for CONNACK leaves the socket open and breaks later callbacks),
a broker that closes the socket before CONNACK makes it wait its whole timeout, and paho leaves a TLS socket
open when the certificate check fails. The helpers here close those gaps; the publisher uses only them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt

from monitor.errors import ConfigError


async def connect(
    client: aiomqtt.Client,
    *,
    grace_s: float,
    on_late_connect: Callable[[aiomqtt.Client], Awaitable[None]],
) -> None:
    """Connect ``client`` (raises :class:`aiomqtt.MqttError` on failure, having closed the attempt's socket).

    If the caller is cancelled meanwhile, the attempt gets ``grace_s`` to finish: connected, it is handed to
    ``on_late_connect`` (to say goodbye) and left cleanly; still pending, its socket is closed. Then
    :class:`asyncio.CancelledError` propagates.
    """
    connecting = asyncio.ensure_future(client.__aenter__())
    try:
        await _until_connack(client, connecting)
    except asyncio.CancelledError:
        if await _abandon(client, connecting, grace_s):
            await on_late_connect(client)
            await leave(client, grace_s)
        raise
    except aiomqtt.MqttError:
        close_socket(client)  # a refused or timed-out login leaves its socket open
        raise


async def leave(client: aiomqtt.Client, grace_s: float) -> None:
    """Disconnect cleanly (so no last will), waiting at most ``grace_s``; a no-op once disconnected."""
    with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
        async with asyncio.timeout(grace_s):
            await client.__aexit__(None, None, None)


async def watch(client: aiomqtt.Client) -> None:
    """Return only by raising the MqttError of the connection dropping (nothing needs to be subscribed)."""
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("message stream ended")


def close_socket(client: aiomqtt.Client) -> None:
    """Close the socket of an attempt that never completed (paho sends DISCONNECT, then closes it)."""
    with contextlib.suppress(Exception):
        client._client.disconnect()


def describe(exc: BaseException) -> str:
    """A one-line description of an MQTT error with its cause (aiomqtt wraps the socket error)."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return text


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying TLS context (system CAs, or only ``ca_file``); a bad file is a :class:`ConfigError`."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"mqtt.ca_file: cannot load CA certificates from {ca_file!r}: {exc}") from None
    context.sslsocket_class = _ClosingSSLSocket
    return context


class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when the handshake fails: paho leaves a socket whose certificate check failed open."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


async def _until_connack(client: aiomqtt.Client, connecting: asyncio.Future[aiomqtt.Client]) -> None:
    """Wait for the attempt without cancelling it; fail at once if the socket closes before CONNACK."""
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    paho = client._client
    aiomqtt_on_close = paho.on_socket_close

    def on_socket_close(c: Any, userdata: Any, sock: Any) -> None:
        if aiomqtt_on_close is not None:
            aiomqtt_on_close(c, userdata, sock)
        loop.call_soon_threadsafe(closed.set)  # paho may call this from aiomqtt's connect thread

    paho.on_socket_close = on_socket_close
    closer = asyncio.create_task(closed.wait())
    try:
        either: set[asyncio.Future[Any]] = {connecting, closer}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not connecting.done():  # closed: let a CONNACK read just before the close win (e.g. bad login)
            await asyncio.wait({connecting}, timeout=0.1)
    finally:
        closer.cancel()
        await asyncio.gather(closer, return_exceptions=True)
    if not connecting.done():
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        raise aiomqtt.MqttError("the broker closed the connection before accepting the login")
    connecting.result()


async def _abandon(client: aiomqtt.Client, connecting: asyncio.Future[aiomqtt.Client], grace_s: float) -> bool:
    """Let a pending attempt finish within ``grace_s``, else close its socket first and only then stop waiting.
    True if it ended connected."""
    await asyncio.wait({connecting}, timeout=grace_s)
    while not connecting.done():
        if client._client.socket() is not None:
            close_socket(client)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    while client._client.socket() is not None:
                        await asyncio.sleep(0.01)
            connecting.cancel()
            break
        await asyncio.sleep(0.05)  # TCP/TLS connect still in aiomqtt's thread (paho bounds it at 5 s)
    [outcome] = await asyncio.gather(connecting, return_exceptions=True)
    if isinstance(outcome, BaseException):
        if not isinstance(outcome, asyncio.CancelledError):
            close_socket(client)
        return False
    return True
