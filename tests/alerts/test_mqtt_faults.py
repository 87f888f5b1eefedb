"""Broker faults and security: broker killed and restarted while alerts fire, the outbox bound, passwords, TLS."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.alerts.mqtt import MqttPublisher
from tests.alerts.broker import Mosquitto, TlsFiles, make_password_file
from tests.alerts.collector import Collector
from tests.alerts.helpers import cfg, event, running, status, until
from tests.alerts.tcpproxy import TcpProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

ALERTS = "cm/+/alerts/#"


def ids(c: Collector) -> list[str]:
    return [m.json()["id"] for m in c.messages if "/alerts/" in m.topic]


def dedupe(seq: list[str]) -> list[str]:
    return list(dict.fromkeys(seq))


async def restart(broker: Mosquitto, proxy: TcpProxy, sub: Collector) -> None:
    """Bring the broker back, resubscribe, and only then let the publisher through (so nothing is published
    to a broker nobody listens to: the broker keeps no sessions across a kill)."""
    await asyncio.to_thread(broker.start)
    await sub.connect()
    proxy.open = True


async def test_alerts_raised_while_the_broker_is_down_arrive_in_order(broker: Mosquitto) -> None:
    async with TcpProxy(broker.port) as proxy, Collector(broker.port, ALERTS) as sub:
        pub = MqttPublisher(cfg(proxy.url), backoff_initial_s=0.05, backoff_max_s=0.2)
        async with running(pub) as task:
            for i in range(5):
                pub.publish(event(i))
            await sub.wait_for(lambda c: len(ids(c)) == 5)
            proxy.open = False
            await asyncio.to_thread(broker.kill)
            await until(lambda: not pub.stats().connected)
            for i in range(5, 205):
                pub.publish(event(i))
            await asyncio.sleep(0.5)  # a few refused reconnects
            assert pub.stats().queued == 200 and pub.stats().connect_failures >= 2 and not task.done()
            await restart(broker, proxy, sub)
            await sub.wait_for(lambda c: len(set(ids(c))) == 205)
        assert ids(sub)[:5] == [f"id-{i}" for i in range(5)]
        assert dedupe(ids(sub)) == [f"id-{i}" for i in range(205)]
        s = pub.stats()
        assert (s.published, s.dropped, s.queued, s.reconnects) == (205, 0, 0, 1)
        assert all(m.qos == 1 for m in sub.messages)


async def test_broker_killed_mid_stream_loses_nothing(broker: Mosquitto) -> None:
    n = 400
    async with TcpProxy(broker.port) as proxy, Collector(broker.port, ALERTS) as sub:
        pub = MqttPublisher(cfg(proxy.url), backoff_initial_s=0.05, backoff_max_s=0.2)
        async with running(pub):

            async def fire() -> None:
                for i in range(n):
                    pub.publish(event(i, rule=f"r{i % 3}"))
                    await asyncio.sleep(0.002)

            producer = asyncio.create_task(fire())
            await sub.wait_for(lambda c: len(ids(c)) >= 100)
            proxy.open = False
            await asyncio.to_thread(broker.kill)  # mid-stream, possibly with a message in flight
            await asyncio.sleep(0.3)
            await restart(broker, proxy, sub)
            await producer
            await sub.wait_for(lambda c: len(set(ids(c))) == n, timeout=20)
        got = ids(sub)
        assert dedupe(got) == [f"id-{i}" for i in range(n)]  # every alert, in order
        dups = [k for k, v in Counter(got).items() if v > 1]
        assert len(dups) <= 1  # QoS 1: at most the one unacknowledged at the kill is sent again (same id)
        s = pub.stats()
        assert (s.reconnects, s.dropped, s.published) == (1, 0, n)  # a resent message is acknowledged once


async def test_outbox_bound_drops_the_oldest_and_counts(broker: Mosquitto, caplog: pytest.LogCaptureFixture) -> None:
    async with TcpProxy(broker.port) as proxy, Collector(broker.port, ALERTS) as sub:
        proxy.open = False
        pub = MqttPublisher(cfg(proxy.url, outbox_size=5), backoff_initial_s=0.05, backoff_max_s=0.1)
        async with running(pub):
            await until(lambda: pub.stats().connect_failures >= 1)
            for i in range(12):
                pub.publish(event(i))
            s = pub.stats()
            assert (s.queued, s.dropped, s.published) == (5, 7, 0)
            proxy.open = True
            await sub.wait_for(lambda c: len(ids(c)) == 5)
            await asyncio.sleep(0.1)
        assert ids(sub) == [f"id-{i}" for i in range(7, 12)]
        assert (pub.stats().published, pub.stats().dropped, pub.stats().queued) == (5, 7, 0)
        assert any("outbox full" in r.getMessage() for r in caplog.records)


# --- authentication and TLS ----------------------------------------------------------------------------------


@pytest.fixture
def secured(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Mosquitto]:
    """A mosquitto with TLS only and a password file (users monitor and reader)."""
    pw = make_password_file(tmp_path / "passwd", {"monitor": "Tr0ub4dor&3", "reader": "r3ad"})
    b = Mosquitto(tmp_path / "secured", password_file=pw, tls=tls_files)
    b.start()
    yield b
    b.kill()


async def test_tls_with_password_delivers(secured: Mosquitto, tls_files: TlsFiles) -> None:
    url = f"mqtts://localhost:{secured.port}"  # the certificate names localhost and 127.0.0.1
    pub = MqttPublisher(cfg(url, username="monitor", password="Tr0ub4dor&3", ca_file=str(tls_files.ca)))
    async with (
        Collector(secured.port, "cm/#", ca_file=str(tls_files.ca), username="reader", password="r3ad") as sub,
        running(pub),
    ):
        pub.publish(event(1))
        await sub.wait_for(lambda c: ids(c) == ["id-1"] and b"online" in status(c))
        assert pub.stats().connected and pub.stats().connect_failures == 0


async def test_wrong_password_is_counted_and_retried_not_a_crash_loop(
    secured: Mosquitto, tls_files: TlsFiles, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="mqtt")  # aiomqtt/paho's own logger too: no secret in any record
    secret = "WrongHorseBatteryStaple"
    url = f"mqtts://monitor:{secret}@127.0.0.1:{secured.port}/path"
    pub = MqttPublisher(cfg(url, ca_file=str(tls_files.ca)), backoff_initial_s=0.1, backoff_max_s=0.4)
    async with running(pub) as task:
        await asyncio.sleep(1.5)
        s = pub.stats()
        assert not task.done() and not s.connected
        assert 2 <= s.auth_failures <= 7 and s.connect_failures == s.auth_failures  # backoff: 0.1, 0.2, 0.4, 0.4
        assert s.last_error is not None and "authori" in s.last_error.lower()
        pub.publish(event(1))
        assert pub.stats().queued == 1  # kept for when the credentials are fixed
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "refused the login" in text and "username 'monitor'" in text
    assert "Sending CONNECT" in text  # paho's own debug log was captured too
    assert secret not in text and secret not in repr(pub.stats())


async def test_tls_with_an_untrusted_ca_fails_cleanly(secured: Mosquitto, other_ca: TlsFiles) -> None:
    other = other_ca
    pub = MqttPublisher(
        cfg(f"mqtts://127.0.0.1:{secured.port}", username="monitor", password="Tr0ub4dor&3", ca_file=str(other.ca)),
        backoff_initial_s=0.05,
        backoff_max_s=0.1,
    )
    async with running(pub) as task:
        await until(lambda: pub.stats().connect_failures >= 2)
        s = pub.stats()
        assert not task.done() and s.auth_failures == 0 and "certificate" in (s.last_error or "").lower()


async def test_plain_mqtt_against_a_tls_listener_fails_cleanly(secured: Mosquitto) -> None:
    pub = MqttPublisher(cfg(f"mqtt://127.0.0.1:{secured.port}"), backoff_initial_s=0.05, backoff_max_s=0.1)
    async with running(pub) as task:
        await until(lambda: pub.stats().connect_failures >= 2, timeout=15)
        assert not task.done() and not pub.stats().connected
