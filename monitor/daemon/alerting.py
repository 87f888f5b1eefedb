"""Alert rules on every result: measure -> hysteresis engine -> events to the log and MQTT, state retained.

The engine's state persists next to the checkpoint (``<checkpoint>.alerts.json``, written atomically after
each evaluation), so an alert that fired before a restart keeps its id and resolves once, after it.
Between blocks a timer re-evaluates the newest result of each market, so data staleness can fire an alert
while no block arrives. The rules on system figures (:data:`~monitor.config.SYSTEM_KINDS`) are evaluated on each
system projection, as the market ``system``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from pathlib import Path

from monitor.alerts.model import AlertEvent
from monitor.alerts.mqtt import MqttPublisher
from monitor.alerts.rules import AlertEngine
from monitor.config import SYSTEM_KINDS, SYSTEM_MARKET, MonitorConfig
from monitor.daemon.measure import measure, measure_system
from monitor.daemon.result import MarketResult
from monitor.daemon.store import AlertState, OutboxStats
from monitor.daemon.system import SystemProjections
from monitor.errors import MonitorError

log = logging.getLogger(__name__)
SYSTEM = SYSTEM_MARKET  # the market name the alerts on system figures carry


class Alerting:
    """The engine, its persisted state, and the optional MQTT publisher."""

    def __init__(self, cfg: MonitorConfig, publisher: MqttPublisher | None) -> None:
        self.cfg = cfg
        self.rules = list(cfg.alerts.rules)
        self.publisher = publisher
        self.state_path = Path(cfg.checkpoint.path + ".alerts.json")
        self.engine = self._load()
        self.latest: dict[str, MarketResult] = {}
        self.events_total = 0
        self.recent: deque[AlertEvent] = deque(maxlen=20)  # newest alert events, for a terminal view

    def _load(self) -> AlertEngine:
        if self.state_path.exists():
            try:
                return AlertEngine.from_dict(self.rules, json.loads(self.state_path.read_text()))
            except (MonitorError, ValueError) as exc:
                log.warning("alert state %s unreadable (%s); starting with every rule quiet", self.state_path, exc)
        return AlertEngine(self.rules)

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.engine.to_dict()))
        tmp.replace(self.state_path)

    async def on_result(self, result: MarketResult) -> None:
        """Evaluate every rule on a new result (rolling back first when the cycle followed a reorg)."""
        if result.reorg_fork_block is not None:
            self.engine.rollback(result.market, result.reorg_fork_block)
        self.latest[result.market] = result
        self._evaluate(result)

    async def on_system(self, system: SystemProjections) -> None:
        """Evaluate the rules on system figures on a new system projection (market ``system``)."""
        rules = [r for r in self.rules if r.kind in SYSTEM_KINDS]
        if rules:
            self._publish(
                SYSTEM, system.block, system.block_timestamp, {r.name: measure_system(r, system) for r in rules}
            )

    def _evaluate(self, result: MarketResult, now: float | None = None) -> None:
        if not self.rules:
            return
        values = {r.name: measure(r, result, now) for r in self.rules if r.kind not in SYSTEM_KINDS}
        self._publish(result.market, result.block, result.block_timestamp, values)

    def _publish(self, market: str, block: int, timestamp: int, values: dict[str, float | None]) -> None:
        ev = self.engine.evaluate(market, block, timestamp, values)
        for e in ev.events:
            self._announce(e)
            if self.publisher is not None:
                self.publisher.publish(e)
        if self.publisher is not None:
            self.publisher.publish_state(ev.state)
        self._save()

    def _announce(self, e: AlertEvent) -> None:
        self.events_total += 1
        self.recent.append(e)
        level = logging.WARNING if e.state == "firing" else logging.INFO
        log.log(level, "alert %s %s: %s on %s, value %s vs threshold %s at block %d (id %s)", e.rule, e.state,
                e.severity, e.market, e.value, e.threshold, e.block, e.id)  # fmt: skip

    async def timer(self, every_s: float = 5.0) -> None:
        """Re-evaluate the newest result of each market between blocks (data age keeps growing)."""
        while True:
            await asyncio.sleep(every_s)
            now = time.time()
            for result in list(self.latest.values()):
                self._evaluate(result, now)

    def alert_states(self) -> list[AlertState]:
        """Every (market, rule) with whether it fires, for the metrics."""
        out = []
        for market in self.engine.markets:
            for st in self.engine.state(market).rules:
                out.append(AlertState(market, st.rule, st.severity, st.state == "firing", st.value))
        return out

    def outbox_stats(self) -> OutboxStats | None:
        """The publisher's counters, or None without MQTT."""
        if self.publisher is None:
            return None
        s = self.publisher.stats()
        return OutboxStats(connected=s.connected, published=s.published, dropped=s.dropped,
                           reconnects=s.reconnects, queued=s.queued)  # fmt: skip
