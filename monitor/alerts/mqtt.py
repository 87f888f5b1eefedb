"""The MQTT alert publisher: one long-lived asyncio task on aiomqtt with a bounded outbox and reconnects.

Topics (``P`` is ``topic_prefix``):

- ``P/<market>/alerts/<rule>``: every alert event as JSON (:meth:`AlertEvent.to_json`), QoS 1, not retained;
- ``P/<market>/state``: the market's latest :class:`MarketState` as JSON, QoS 1, retained;
- ``P/status``: ``online`` (retained) on every connect, ``offline`` (retained) as the last will and on a clean
  shutdown.

Delivery: :meth:`MqttPublisher.publish` appends to a FIFO outbox of at most ``outbox_size`` events (full: the
oldest is dropped and counted) and returns at once. The task sends one message at a time and removes it only
when the broker has acknowledged it (PUBACK), so events arrive in order; a message in flight when the
connection breaks is sent again after reconnecting (a QoS 1 duplicate, same ``id``). States are coalesced: only
the newest per market waits, and pending events go first. Reconnects back off exponentially (``backoff_initial_s``
doubling up to ``backoff_max_s``); a refused login is logged as such, counted and retried at the same pace, never
a crash loop. URLs appear in logs only through :func:`monitor.config.redact_url`; the password never does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from monitor.alerts.model import AlertEvent, MarketState
from monitor.alerts.mqttclient import connect, describe, leave, tls_context, watch
from monitor.chain.retry import Backoff
from monitor.config import MqttConfig, redact_url
from monitor.errors import ConfigError

log = logging.getLogger(__name__)

_AUTH_CODES = frozenset({4, 5, 134, 135})  # v3.1.1 bad credentials / not authorised, and their v5 codes


@dataclass(frozen=True)
class MqttStats:
    """A point-in-time copy of the publisher's counters (what a metrics exporter reads)."""

    connected: bool
    published: int  # alert events acknowledged by the broker
    state_published: int  # retained state messages acknowledged
    dropped: int  # alert events dropped from a full outbox (oldest first)
    queued: int  # alert events waiting in the outbox (plus one in flight)
    reconnects: int  # successful connections after the first
    connect_failures: int  # connection attempts that failed, auth failures included
    auth_failures: int  # attempts the broker refused for bad credentials or authorisation
    last_error: str | None  # the latest connection or publish error, without secrets


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes


class MqttPublisher:
    """Publishes alert events and retained per-market state; call :meth:`run` as a task until cancelled.

    :meth:`publish` and :meth:`publish_state` must be called from the event loop's thread; they never block.
    """

    def __init__(
        self,
        config: MqttConfig,
        *,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        keepalive_s: int = 30,
        timeout_s: float = 10.0,
        shutdown_grace_s: float = 2.0,
    ) -> None:
        parts = urlsplit(config.url)
        self._tls = parts.scheme == "mqtts"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (8883 if self._tls else 1883)
        self._label = redact_url(config.url)
        self._username = config.username if config.username is not None else _unquote(parts.username)
        if config.password is not None:
            self._password: str | None = config.password.get_secret_value()
        else:
            self._password = _unquote(parts.password)
        prefix = config.topic_prefix.rstrip("/")
        if not prefix or "+" in prefix or "#" in prefix:
            raise ConfigError(f"mqtt.topic_prefix must be a topic without wildcards, got {config.topic_prefix!r}")
        self._prefix = prefix
        self.status_topic = f"{prefix}/status"
        self._client_id = config.client_id
        self._ssl = tls_context(config.ca_file) if self._tls else None
        self._outbox_size = config.outbox_size
        self._backoff = Backoff(backoff_initial_s, backoff_max_s, jitter=False)
        self._keepalive = keepalive_s
        self._timeout = timeout_s
        self._grace = shutdown_grace_s

        self._outbox: deque[_Message] = deque()
        self._inflight: _Message | None = None
        self._states: dict[str, bytes] = {}
        self._wake = asyncio.Event()
        self._connected = False
        self._was_up = False  # the current attempt got connected
        self._connections = 0
        self._published = 0
        self._state_published = 0
        self._dropped = 0
        self._dropped_logged = False
        self._connect_failures = 0
        self._auth_failures = 0
        self._last_error: str | None = None

    # --- the caller's side -----------------------------------------------------------------------------

    def alert_topic(self, market: str, rule: str) -> str:
        """Topic of a rule's alert events."""
        return f"{self._prefix}/{market}/alerts/{rule}"

    def state_topic(self, market: str) -> str:
        """Retained topic of a market's rule states."""
        return f"{self._prefix}/{market}/state"

    def publish(self, event: AlertEvent) -> None:
        """Queue an alert event (QoS 1). Never blocks; a full outbox drops its oldest event."""
        self._outbox.append(_Message(self.alert_topic(event.market, event.rule), event.to_json()))
        self._trim()
        self._wake.set()

    def publish_state(self, state: MarketState) -> None:
        """Queue a market's state (retained, QoS 1); replaces any of that market's states still waiting."""
        self._states[state.market] = state.to_json()
        self._wake.set()

    def stats(self) -> MqttStats:
        """An immutable snapshot of the counters."""
        return MqttStats(
            connected=self._connected,
            published=self._published,
            state_published=self._state_published,
            dropped=self._dropped,
            queued=len(self._outbox) + (self._inflight is not None),
            reconnects=max(0, self._connections - 1),
            connect_failures=self._connect_failures,
            auth_failures=self._auth_failures,
            last_error=self._last_error,
        )

    def _trim(self) -> None:
        while len(self._outbox) > self._outbox_size:
            self._outbox.popleft()
            self._dropped += 1
            if not self._dropped_logged:
                self._dropped_logged = True
                log.warning("MQTT outbox full (%d events): dropping the oldest", self._outbox_size)

    # --- the task ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, send, reconnect with backoff, until cancelled; on cancellation flush briefly, go offline."""
        attempt = 0
        try:
            while True:
                _raise_if_cancelled()
                try:
                    await self._connection()
                    attempt = 0  # the connection was up; it broke (normal run ends only by cancellation)
                except aiomqtt.MqttError as exc:
                    if _cancelling():
                        raise asyncio.CancelledError from exc
                    if self._was_up:
                        attempt = 0
                    self._failed(exc)
                self._was_up = False
                self._connected = False
                _raise_if_cancelled()
                delay = self._backoff.delay(attempt + 1)
                attempt += 1
                log.info("MQTT %s: retrying in %.1f s", self._label, delay)
                await asyncio.sleep(delay)
        finally:
            self._connected = False

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self._host,
            self._port,
            username=self._username,
            password=self._password,
            identifier=self._client_id,
            will=aiomqtt.Will(self.status_topic, b"offline", qos=1, retain=True),
            keepalive=self._keepalive,
            timeout=self._timeout,
            tls_context=self._ssl,
            clean_session=True,
        )

    async def _connection(self) -> None:
        """One connection: connect, announce online, send until it breaks (MqttError) or the task is cancelled."""
        client = self._client()
        await connect(client, grace_s=self._grace, on_late_connect=self._shutdown)
        try:
            self._connected = self._was_up = True
            self._connections += 1
            self._dropped_logged = False
            log.info("MQTT connected to %s (%d events queued)", self._label, len(self._outbox))
            await client.publish(self.status_topic, b"online", qos=1, retain=True)
            _raise_if_cancelled()
            await self._session(client)
        except asyncio.CancelledError:
            await self._shutdown(client)
            raise
        finally:
            self._connected = False
            await leave(client, self._grace)

    async def _session(self, client: aiomqtt.Client) -> None:
        """Send while watching the connection; raise the MqttError that ended it.

        Plain tasks, not a TaskGroup: on Python 3.11 a TaskGroup whose child fails while the parent waits in
        ``__aexit__`` leaves the parent's cancel request count raised, which would look like a cancellation.
        """
        watcher = asyncio.create_task(watch(client))
        sender = asyncio.create_task(self._send_forever(client))
        try:
            done, _ = await asyncio.wait({watcher, sender}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (watcher, sender):
                t.cancel()
            await asyncio.gather(watcher, sender, return_exceptions=True)
        for t in (watcher, sender):
            if t in done and not t.cancelled() and (exc := t.exception()) is not None:
                raise exc
        raise aiomqtt.MqttError("MQTT session ended")

    async def _send_forever(self, client: aiomqtt.Client) -> None:
        while True:
            sent = await self._send_one(client)
            _raise_if_cancelled()
            if not sent:
                self._wake.clear()
                await self._wake.wait()

    async def _send_one(self, client: aiomqtt.Client) -> bool:
        """Send the next pending message (events first, then states); False if nothing was pending."""
        if self._outbox:
            msg = self._inflight = self._outbox.popleft()
            try:
                await client.publish(msg.topic, msg.payload, qos=1)
                self._inflight = None
                self._published += 1
            finally:
                if self._inflight is not None:  # not acknowledged: first in line again
                    self._outbox.appendleft(self._inflight)
                    self._inflight = None
                    self._trim()
            return True
        if self._states:
            market, payload = next(iter(self._states.items()))
            await client.publish(self.state_topic(market), payload, qos=1, retain=True)
            if self._states.get(market) == payload:
                del self._states[market]
            self._state_published += 1
            return True
        return False

    async def _shutdown(self, client: aiomqtt.Client) -> None:
        """Flush what is pending for at most ``shutdown_grace_s``, then publish ``offline``."""
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(self._grace):
                while await self._send_one(client):
                    pass
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(self._grace):
                await client.publish(self.status_topic, b"offline", qos=1, retain=True)
        if self._outbox:
            log.warning("MQTT shutdown with %d alert events unsent", len(self._outbox))

    def _failed(self, exc: aiomqtt.MqttError) -> None:
        was_connected = self._was_up
        self._last_error = describe(exc)
        if was_connected:
            log.warning("MQTT connection to %s lost: %s", self._label, self._last_error)
            return
        self._connect_failures += 1
        rc = getattr(exc, "rc", None)
        code = getattr(rc, "value", rc)
        if isinstance(exc, MqttConnectError) and code in _AUTH_CODES:
            self._auth_failures += 1
            user = "no username" if self._username is None else f"username {self._username!r}"
            log.error("MQTT broker %s refused the login (%s): %s", self._label, user, self._last_error)
        else:
            log.warning("MQTT connection to %s failed: %s", self._label, self._last_error)


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation that an awaited call swallowed.

    On Python 3.11 ``asyncio.wait_for`` (which aiomqtt uses for every acknowledgement) returns normally when
    the awaited operation completes in the same loop step as the cancellation, losing it; the task's
    cancel-request count still shows it. Without this check a daemon's shutdown could hang on the publisher.
    """
    if _cancelling():
        raise asyncio.CancelledError


def _unquote(part: str | None) -> str | None:
    return None if part is None else unquote(part)
