"""Plain values of the alert engine: events, per-rule status, per-market state (pure, JSON-ready)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

AlertState = Literal["firing", "resolved"]
RuleState = Literal["ok", "firing"]
Reason = Literal["threshold", "reset", "reorg", "rule_removed"]
"""Why an event was emitted: ``threshold`` (value crossed it: firing), ``reset`` (value stayed past the reset
level for ``reset_blocks`` evaluations: resolved), ``reorg`` (fired on an orphaned block and not confirmed on
the new chain: resolved), ``rule_removed`` (the rule is gone from the config after a restart: resolved)."""


def _finite(value: float | None) -> float | None:
    """JSON has no infinities: non-finite values are written as null."""
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class AlertEvent:
    """An alert firing or resolving. ``id`` is the same for the firing and the resolution of one instance."""

    id: str
    rule: str
    kind: str
    severity: str
    market: str
    state: AlertState
    reason: Reason
    value: float | None  # the measured value at this evaluation (None only for rule_removed)
    threshold: float
    block: int  # block of this evaluation
    timestamp: int  # its block timestamp (unix seconds)
    fired_block: int  # block on which this instance first fired

    def to_dict(self) -> dict[str, Any]:
        """The MQTT payload as a dict (non-finite numbers as None)."""
        return {
            "id": self.id,
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "market": self.market,
            "state": self.state,
            "reason": self.reason,
            "value": _finite(self.value),
            "threshold": _finite(self.threshold),
            "block": self.block,
            "timestamp": self.timestamp,
            "fired_block": self.fired_block,
        }

    def to_json(self) -> bytes:
        """The MQTT payload: compact UTF-8 JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True)
class RuleStatus:
    """The current state of one rule in one market."""

    rule: str
    kind: str
    severity: str
    state: RuleState
    unconfirmed: bool  # firing since a block that a reorg orphaned; settled by the next evaluation with data
    alert_id: str | None
    value: float | None  # last value with data
    value_block: int | None  # block of that value
    threshold: float
    reset: float
    fired_block: int | None
    fired_timestamp: int | None
    reset_progress: int  # consecutive evaluations past the reset level so far
    reset_blocks: int
    no_data: int  # evaluations of this rule without a value, since the engine started

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers as None)."""
        return {
            "state": self.state,
            "unconfirmed": self.unconfirmed,
            "id": self.alert_id,
            "kind": self.kind,
            "severity": self.severity,
            "value": _finite(self.value),
            "value_block": self.value_block,
            "threshold": _finite(self.threshold),
            "reset": _finite(self.reset),
            "fired_block": self.fired_block,
            "fired_timestamp": self.fired_timestamp,
            "reset_progress": self.reset_progress,
            "reset_blocks": self.reset_blocks,
            "no_data": self.no_data,
        }


@dataclass(frozen=True)
class MarketState:
    """Every rule's status in one market after an evaluation (the retained MQTT state topic)."""

    market: str
    block: int | None  # last evaluated block (None before the first evaluation)
    timestamp: int | None
    rules: tuple[RuleStatus, ...]

    @property
    def active(self) -> tuple[str, ...]:
        """Names of the rules firing now (unconfirmed ones included)."""
        return tuple(r.rule for r in self.rules if r.state == "firing")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: market, block, timestamp, active rule names and ``rules`` by name."""
        return {
            "market": self.market,
            "block": self.block,
            "timestamp": self.timestamp,
            "active": list(self.active),
            "rules": {r.rule: r.to_dict() for r in self.rules},
        }

    def to_json(self) -> bytes:
        """The MQTT retained-state payload: compact UTF-8 JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation produced: the events to send (in order) and the market's state afterwards."""

    events: tuple[AlertEvent, ...]
    state: MarketState
