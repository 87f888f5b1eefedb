"""The MQTT publisher against a real mosquitto: topics, payloads, QoS, retained state, last will, shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import pytest

from monitor.alerts.model import AlertEvent
from monitor.alerts.mqtt import MqttPublisher
from monitor.alerts.rules import AlertEngine
from monitor.config import AlertRuleConfig
from monitor.errors import ConfigError
from tests.alerts.broker import Mosquitto, free_port
from tests.alerts.collector import Collector
from tests.alerts.helpers import M, cfg, event, running, status, until
from tests.alerts.tcpproxy import TcpProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULE = AlertRuleConfig(
    name="bad-debt", kind="projected_bad_debt_usd", op="above", threshold=100.0, reset=80.0, reset_blocks=2
)


async def test_events_state_and_status(broker: Mosquitto) -> None:
    engine = AlertEngine([RULE])
    pub = MqttPublisher(cfg(broker.url))
    sent: list[AlertEvent] = []
    async with Collector(broker.port, "cm/#") as sub:
        async with running(pub):
            await sub.wait_for(lambda c: b"online" in status(c))
            for block, value in enumerate([50.0, 150.0, 120.0, 70.0, 60.0], start=1):
                ev = engine.evaluate(M, block, 1_700_000_000 + 12 * block, {"bad-debt": value})
                for e in ev.events:
                    pub.publish(e)
                    sent.append(e)
                pub.publish_state(ev.state)
            topic = f"cm/{M}/alerts/bad-debt"
            await sub.wait_for(lambda c: len(c.on(topic)) == 2)
            await sub.wait_for(lambda c: any(m.json()["block"] == 5 for m in c.on(f"cm/{M}/state")))
            assert pub.stats().published == 2 and pub.stats().connected
        got = sub.on(topic)
        assert [m.json() for m in got] == [e.to_dict() for e in sent]
        assert [m.json()["state"] for m in got] == ["firing", "resolved"] and got[0].json()["id"] == got[1].json()["id"]
        assert all(m.qos == 1 and not m.retain for m in got)
        await sub.wait_for(lambda c: status(c)[-1:] == [b"offline"])  # clean shutdown says offline itself

    # a late subscriber gets the retained state (the newest only) and the retained offline status
    async with Collector(broker.port, "cm/#") as late:
        await late.wait_for(lambda c: len(c.on(f"cm/{M}/state")) == 1 and len(status(c)) == 1)
        [state] = late.on(f"cm/{M}/state")
        assert state.retain and state.qos == 1 and state.json() == engine.state(M).to_dict()
        assert late.on("cm/status")[0].retain and status(late) == [b"offline"]
        assert late.on(f"cm/{M}/alerts/bad-debt") == []  # events are not retained


async def test_states_coalesce_per_market_and_follow_events(broker: Mosquitto) -> None:
    engine = AlertEngine([RULE])
    pub = MqttPublisher(cfg(broker.url))
    for block in range(1, 51):  # queued before the first connection: only the newest state per market is sent
        for market in ("a", "b"):
            ev = engine.evaluate(market, block, block, {"bad-debt": 150.0 if block == 10 else 90.0})
            for e in ev.events:
                pub.publish(e)
            pub.publish_state(ev.state)
    async with Collector(broker.port, "cm/#") as sub, running(pub):
        await sub.wait_for(lambda c: len([m for m in c.messages if m.topic.endswith("/state")]) == 2)
        await asyncio.sleep(0.2)
        kinds = [m.topic.rsplit("/", 1)[-1] for m in sub.messages if m.topic != "cm/status"]
        assert kinds == ["bad-debt", "bad-debt", "state", "state"]  # events first, one state per market
        assert {m.json()["block"] for m in sub.messages if m.topic.endswith("/state")} == {50}
        assert pub.stats().state_published == 2


async def test_last_will_when_the_connection_dies(broker: Mosquitto) -> None:
    async with (
        TcpProxy(broker.port) as proxy,
        Collector(broker.port, "cm/status") as sub,
        running(MqttPublisher(cfg(proxy.url), backoff_initial_s=0.05)) as task,
    ):
        await sub.wait_for(lambda c: status(c) == [b"online"])
        proxy.open = False
        proxy.sever()  # the TCP connection dies without DISCONNECT: the broker publishes the will
        await sub.wait_for(lambda c: status(c) == [b"online", b"offline"])
        await asyncio.sleep(0.3)
        assert not task.done()
        proxy.open = True
        await sub.wait_for(lambda c: status(c) == [b"online", b"offline", b"online"])


async def test_shutdown_is_prompt_and_offline_is_retained(broker: Mosquitto) -> None:
    pub = MqttPublisher(cfg(broker.url))
    async with Collector(broker.port, "cm/status") as sub:
        task = asyncio.create_task(pub.run())
        await sub.wait_for(lambda c: status(c) == [b"online"])
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        task.cancel()
        async with asyncio.timeout(5):
            await asyncio.gather(task, return_exceptions=True)
        assert loop.time() - t0 < 1.0 and task.cancelled()
        await sub.wait_for(lambda c: status(c) == [b"online", b"offline"])
    assert not pub.stats().connected


async def test_cancelled_while_connecting_still_says_offline(broker: Mosquitto) -> None:
    async with Collector(broker.port, "cm/status") as sub:
        pub = MqttPublisher(cfg(broker.url))
        task = asyncio.create_task(pub.run())
        await asyncio.sleep(0)  # the connect has started, not finished
        task.cancel()
        async with asyncio.timeout(5):
            await asyncio.gather(task, return_exceptions=True)
        await sub.wait_for(lambda c: status(c) == [b"offline"])  # connected within the grace period: goodbye


async def test_shutdown_survives_a_swallowed_cancellation(broker: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.11's wait_for (inside aiomqtt's publish) can return normally although its task was cancelled."""
    real = aiomqtt.Client.publish

    async def swallowing(self: aiomqtt.Client, *args: Any, **kwargs: Any) -> None:
        op = asyncio.ensure_future(real(self, *args, **kwargs))
        try:
            await asyncio.sleep(0.2)
            await asyncio.shield(op)
        except asyncio.CancelledError:
            await op  # the cancellation is lost, as in the 3.11 race

    pub = MqttPublisher(cfg(broker.url), shutdown_grace_s=0.5)
    async with Collector(broker.port, "cm/#") as sub:
        task = asyncio.create_task(pub.run())
        await sub.wait_for(lambda c: status(c) == [b"online"])
        monkeypatch.setattr(aiomqtt.Client, "publish", swallowing)
        pub.publish(event(1))
        await asyncio.sleep(0.05)  # the sender is inside publish now
        task.cancel()
        async with asyncio.timeout(5):
            await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        await sub.wait_for(lambda c: status(c)[-1:] == [b"offline"] and len(c.on(f"cm/{M}/alerts/bad-debt")) == 1)


async def test_cancel_while_unreachable_or_stalled_returns_promptly() -> None:
    # nothing listens: connection refused, backoff sleeping
    pub = MqttPublisher(cfg(f"mqtt://127.0.0.1:{free_port()}"), backoff_initial_s=0.05)
    async with running(pub):
        await until(lambda: pub.stats().connect_failures >= 2)
    assert not pub.stats().connected and pub.stats().auth_failures == 0
    # a server that accepts and never answers CONNACK: cancelled mid-connect, the socket is closed, not leaked
    eof = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def mute(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        writers.append(w)
        await r.read()  # the CONNECT, then nothing until the client closes
        eof.set()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        pub = MqttPublisher(cfg(f"mqtt://127.0.0.1:{port}"), shutdown_grace_s=0.2)
        loop = asyncio.get_running_loop()
        async with running(pub) as task:
            await until(lambda: bool(writers))
            t0 = loop.time()
        assert task.cancelled() and loop.time() - t0 < 2.0
        async with asyncio.timeout(5):
            await eof.wait()
    finally:
        for w in writers:
            w.close()
        server.close()
        await server.wait_closed()


async def test_config_errors_are_clear(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="ca_file"):
        MqttPublisher(cfg("mqtts://127.0.0.1:8883", ca_file=str(tmp_path / "missing.pem")))
    with pytest.raises(ConfigError, match="wildcards"):
        MqttPublisher(cfg("mqtt://127.0.0.1", topic_prefix="a/+/b"))
    pub = MqttPublisher(cfg("mqtt://127.0.0.1", topic_prefix="x/y/"))
    assert (pub.status_topic, pub.alert_topic("m", "r"), pub.state_topic("m")) == (
        "x/y/status",
        "x/y/m/alerts/r",
        "x/y/m/state",
    )
