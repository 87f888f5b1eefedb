"""Where the pipelines leave their newest immutable results and the exporters pick them up.

The store holds market statuses only; the exporters get the other sources they show (RPC counters, alert
states, the MQTT outbox) handed to them at construction, not through the store.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from monitor.daemon.result import MarketResult, MarketStatus
from monitor.daemon.system import SystemProjections


@dataclass(frozen=True)
class AlertState:
    """One rule's current state, as the exporters show it."""

    market: str
    rule: str
    severity: str
    active: bool
    value: float | None


@dataclass(frozen=True)
class OutboxStats:
    """Counters of the alert publisher."""

    connected: bool
    published: int
    dropped: int
    reconnects: int
    queued: int


class ResultStore:
    """The latest :class:`MarketStatus` of every market, and the latest system result (several markets);
    replaced whole, never mutated in place."""

    def __init__(self, markets: list[str], stale_after_s: float) -> None:
        self.stale_after_s = stale_after_s
        self.started_at = time.time()
        self._status: Mapping[str, MarketStatus] = MappingProxyType(
            {m: MarketStatus(market=m, status="starting", result=None) for m in markets}
        )
        self._system: SystemProjections | None = None

    def system(self) -> SystemProjections | None:
        """The newest system result (None before the first, and always with one market)."""
        return self._system

    def publish_system(self, projections: SystemProjections) -> None:
        """The system result of a block every market has a result of."""
        self._system = projections

    def statuses(self) -> Mapping[str, MarketStatus]:
        """Every market's status, with ``stale`` applied from the data age at this moment."""
        now = time.time()
        out = {}
        for name, st in self._status.items():
            if st.result is not None and st.status == "ok" and st.result.data_age_s(now) > self.stale_after_s:
                st = replace(st, status="stale")
            out[name] = st
        return out

    def publish(self, result: MarketResult) -> None:
        """A cycle succeeded: this result is the market's newest."""
        old = self._status[result.market]
        new = replace(old, status="ok", result=result, last_error=None, cycles_total=old.cycles_total + 1,
                      processing=old.processing.observe(result.processing_s))  # fmt: skip
        self._status = MappingProxyType({**self._status, result.market: new})

    def failed(self, market: str, error: str) -> None:
        """A cycle failed: keep the previous result (it ages), record the error."""
        old = self._status[market]
        new = replace(old, status="errored", last_error=error, errors_total=old.errors_total + 1,
                      cycles_total=old.cycles_total + 1)  # fmt: skip
        self._status = MappingProxyType({**self._status, market: new})

    def ready(self) -> tuple[bool, str]:
        """Ready when every market has a result younger than ``stale_after_s`` and its last cycle succeeded."""
        problems = []
        for name, st in self.statuses().items():
            if st.result is None:
                problems.append(f"{name}: no result yet")
            elif st.status != "ok":
                problems.append(f"{name}: {st.status} (data age {st.result.data_age_s():.0f} s)")
        return (not problems, "; ".join(problems) or "ok")
