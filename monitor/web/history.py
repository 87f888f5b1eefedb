"""Bounded in-memory history the page plots: critical shocks per market (one point per new block) and alert
events (deduplicated, newest kept). Fed from the store by polling; nothing is persisted."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.alerts.model import AlertEvent
from monitor.daemon.result import MarketResult

CRITICAL_POINTS = 7200  # per market: two hours of 1 s blocks, a day of 12 s blocks
ALERT_EVENTS = 500


@dataclass(frozen=True)
class ShockPoint:
    """Critical shocks of one market at one block."""

    block: int
    timestamp: int
    critical_shock: Mapping[str, float | None]


class CriticalShockHistory:
    """One ring per market; a result is added when its block differs from the newest point (a reorg's result
    replaces the points from its block on)."""

    def __init__(self, points: int = CRITICAL_POINTS) -> None:
        if points < 1:
            raise ValueError("the history keeps at least one point")
        self.points = points
        self._rings: dict[str, deque[ShockPoint]] = {}

    def add(self, result: MarketResult) -> bool:
        """Record ``result``; False when its block is already the newest point (and no reorg brought it)."""
        ring = self._rings.setdefault(result.market, deque(maxlen=self.points))
        if ring and ring[-1].block == result.block and result.reorg_fork_block is None:
            return False
        while ring and ring[-1].block >= result.block:  # a reorg: the points from there on were orphaned
            ring.pop()
        ring.append(ShockPoint(result.block, result.block_timestamp, dict(result.critical_shocks)))
        return True

    def points_of(self, market: str) -> list[ShockPoint]:
        """The market's points, oldest first."""
        return list(self._rings.get(market, ()))


class AlertHistory:
    """Alert events seen so far, each once (by id, state and block), bounded, oldest first."""

    def __init__(self, events: int = ALERT_EVENTS) -> None:
        self._events: deque[AlertEvent] = deque(maxlen=events)
        self._seen: set[tuple[str, str, int]] = set()

    def merge(self, events: Iterable[AlertEvent]) -> None:
        """Add the events not seen yet, in their order."""
        for e in events:
            key = (e.id, e.state, e.block)
            if key in self._seen:
                continue
            if len(self._events) == self._events.maxlen:
                old = self._events[0]
                self._seen.discard((old.id, old.state, old.block))
            self._events.append(e)
            self._seen.add(key)

    def events(self) -> list[AlertEvent]:
        """Every kept event, oldest first."""
        return list(self._events)
