"""Shared helpers of the publisher tests: config, synthetic events, running the publisher as a task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from monitor.alerts.model import AlertEvent
from monitor.alerts.mqtt import MqttPublisher
from monitor.config import MqttConfig
from tests.alerts.collector import Collector

M = "devnet-aave"


def cfg(url: str, **kw: Any) -> MqttConfig:
    """An MQTT config with topic prefix ``cm``."""
    return MqttConfig.model_validate({"url": url, "topic_prefix": "cm", **kw})


def event(i: int, *, market: str = M, rule: str = "bad-debt", state: str = "firing") -> AlertEvent:
    """A synthetic alert event with id ``id-<i>``."""
    return AlertEvent(
        id=f"id-{i}",
        rule=rule,
        kind="projected_bad_debt_usd",
        severity="page",
        market=market,
        state="firing" if state == "firing" else "resolved",
        reason="threshold" if state == "firing" else "reset",
        value=100.0 + i,
        threshold=100.0,
        block=i,
        timestamp=1_700_000_000 + i,
        fired_block=i,
    )


@contextlib.asynccontextmanager
async def running(pub: MqttPublisher) -> AsyncIterator[asyncio.Task[None]]:
    """Run the publisher as a task; cancel it (graceful shutdown) at the end, within a bound."""
    task = asyncio.create_task(pub.run(), name="mqtt-publisher")
    try:
        yield task
    finally:
        task.cancel()
        async with asyncio.timeout(15):
            await asyncio.gather(task, return_exceptions=True)


def status(c: Collector) -> list[bytes]:
    """Payloads received on the status topic."""
    return [m.payload for m in c.on("cm/status")]


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``cond`` until true, failing after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)
