"""The alert engine: threshold rules with hysteresis, per market, reorg-aware and serialisable (pure, no I/O).

For each market and each evaluated block the caller passes one measured value per rule. A rule in state ``ok``
fires when its value crosses ``threshold`` in direction ``op`` (``above``: value > threshold, ``below``: value <
threshold). A firing rule resolves only after its value has been past ``reset`` (``above``: value < reset,
``below``: value > reset) for ``reset_blocks`` consecutive evaluations with data; a value back past the
threshold or inside the band between reset and threshold restarts that count. So it does not flap.

``None`` (or NaN) means no data: it never fires and never resolves a rule, it is counted (``no_data``) and it
neither advances nor breaks a reset count (a sweep that runs every few blocks leaves gaps).

Reorgs: :meth:`AlertEngine.rollback` puts every reset count back as it stood at the fork block (each firing
alert remembers its last ``history`` evaluations; a deeper reorg can only delay a resolution, never hasten it)
and marks alerts first fired after the fork block ``unconfirmed``. The next evaluation with data settles each:
if the value is still past the threshold the alert is re-confirmed silently (same id, no new event:
subscribers already have its firing event); otherwise it is resolved with an event whose reason is ``reorg``.
An evaluation at a block not
above the market's last evaluated block is taken as an implicit ``rollback(market, block - 1)`` first (a
same-height reorg, or a restart replaying a block). A resolution emitted on an orphaned block stands; if the
new chain crosses the threshold again a new alert (new id) fires.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.alerts.model import AlertEvent, Evaluation, MarketState, Reason, RuleStatus
from monitor.config import AlertRuleConfig
from monitor.errors import AlertStateError, DataError

STATE_VERSION = 1


def alert_id(market: str, rule: str, fired_block: int, seq: int) -> str:
    """Stable id of one alert instance: a hash of market, rule, first-firing block and the rule's firing count."""
    digest = hashlib.sha256(f"{market}\x00{rule}\x00{fired_block}\x00{seq}".encode()).hexdigest()
    return digest[:20]


def crosses(rule: AlertRuleConfig, value: float) -> bool:
    """Whether ``value`` is past the rule's threshold (it fires / stays firing)."""
    return value > rule.threshold if rule.op == "above" else value < rule.threshold


def past_reset(rule: AlertRuleConfig, value: float) -> bool:
    """Whether ``value`` is past the rule's reset level (one step towards resolution)."""
    return value < rule.reset if rule.op == "above" else value > rule.reset


@dataclass
class _Open:
    """A firing alert instance."""

    id: str
    fired_block: int
    fired_timestamp: int
    severity: str
    kind: str
    threshold: float
    unconfirmed: bool = False
    recent: list[tuple[int, bool]] = field(default_factory=list)  # (block, past reset) of recent evaluations

    def streak(self) -> int:
        """Consecutive evaluations past the reset level, newest last."""
        n = 0
        for _, past in reversed(self.recent):
            if not past:
                break
            n += 1
        return n


@dataclass
class _Track:
    """One rule in one market."""

    seq: int = 0  # firings so far (part of the id)
    value: float | None = None
    value_block: int | None = None
    no_data: int = 0
    open: _Open | None = None


@dataclass
class _Market:
    last_block: int | None = None
    last_timestamp: int | None = None
    tracks: dict[str, _Track] = field(default_factory=dict)
    removed: dict[str, _Open] = field(default_factory=dict)  # firing alerts of rules gone from the config


class AlertEngine:
    """Evaluates the configured rules per market and block; see the module docstring for the semantics."""

    def __init__(self, rules: Iterable[AlertRuleConfig], *, history: int = 128) -> None:
        if history < 1:
            raise DataError("history must be >= 1")
        self._history = history
        self._rules: dict[str, AlertRuleConfig] = {}
        for rule in rules:
            if rule.name in self._rules:
                raise DataError(f"alert rule {rule.name!r} is defined twice")
            self._rules[rule.name] = rule
        self._markets: dict[str, _Market] = {}

    @property
    def rules(self) -> tuple[AlertRuleConfig, ...]:
        """The rules, in config order."""
        return tuple(self._rules.values())

    @property
    def markets(self) -> tuple[str, ...]:
        """Markets evaluated (or restored) so far."""
        return tuple(self._markets)

    def _market(self, name: str) -> _Market:
        m = self._markets.get(name)
        if m is None:
            m = self._markets[name] = _Market()
        for rule in self._rules:
            m.tracks.setdefault(rule, _Track())
        return m

    def evaluate(self, market: str, block: int, timestamp: int, values: Mapping[str, float | None]) -> Evaluation:
        """Evaluate every rule of ``market`` at ``block``; a rule missing from ``values`` has no data."""
        unknown = sorted(set(values) - set(self._rules))
        if unknown:
            raise DataError(f"values for unknown alert rules: {', '.join(unknown)}")
        m = self._market(market)
        if m.last_block is not None and block <= m.last_block:
            self.rollback(market, block - 1)
        events: list[AlertEvent] = []
        for name, o in sorted(m.removed.items()):
            events.append(self._event(market, name, o, "resolved", "rule_removed", None, block, timestamp))
        m.removed.clear()
        for name, rule in self._rules.items():
            raw = values.get(name)
            value = None if raw is None or math.isnan(raw) else float(raw)
            event = self._step(market, rule, m.tracks[name], value, block, timestamp)
            if event is not None:
                events.append(event)
        m.last_block, m.last_timestamp = block, timestamp
        return Evaluation(tuple(events), self.state(market))

    def _step(
        self, market: str, rule: AlertRuleConfig, t: _Track, value: float | None, block: int, timestamp: int
    ) -> AlertEvent | None:
        if value is None:
            t.no_data += 1
            return None
        t.value, t.value_block = value, block
        o = t.open
        if o is None:
            if not crosses(rule, value):
                return None
            t.seq += 1
            o = t.open = _Open(
                id=alert_id(market, rule.name, block, t.seq),
                fired_block=block,
                fired_timestamp=timestamp,
                severity=rule.severity,
                kind=rule.kind,
                threshold=rule.threshold,
            )
            return self._event(market, rule.name, o, "firing", "threshold", value, block, timestamp)
        if o.unconfirmed:
            if crosses(rule, value):
                o.unconfirmed = False
                o.recent = []
                return None
            t.open = None
            return self._event(market, rule.name, o, "resolved", "reorg", value, block, timestamp)
        o.recent.append((block, past_reset(rule, value)))
        del o.recent[: -self._history]
        if o.streak() < rule.reset_blocks:
            return None
        t.open = None
        return self._event(market, rule.name, o, "resolved", "reset", value, block, timestamp)

    @staticmethod
    def _event(
        market: str, rule: str, o: _Open, state: str, reason: Reason, value: float | None, block: int, ts: int
    ) -> AlertEvent:
        return AlertEvent(
            id=o.id,
            rule=rule,
            kind=o.kind,
            severity=o.severity,
            market=market,
            state="firing" if state == "firing" else "resolved",
            reason=reason,
            value=value,
            threshold=o.threshold,
            block=block,
            timestamp=ts,
            fired_block=o.fired_block,
        )

    def rollback(self, market: str, fork_block: int) -> None:
        """Blocks above ``fork_block`` were orphaned: trim reset counts, mark alerts fired after it unconfirmed."""
        m = self._markets.get(market)
        if m is None:
            return
        for t in m.tracks.values():
            o = t.open
            if o is None:
                continue
            o.recent = [e for e in o.recent if e[0] <= fork_block]
            if o.fired_block > fork_block:
                o.unconfirmed = True
                o.recent = []
        if m.last_block is not None and m.last_block > fork_block:
            m.last_block = fork_block

    def state(self, market: str) -> MarketState:
        """The current status of every rule in ``market`` (all ``ok`` if never evaluated)."""
        m = self._markets.get(market) or _Market()
        rows = []
        for name, rule in self._rules.items():
            t = m.tracks.get(name) or _Track()
            o = t.open
            rows.append(
                RuleStatus(
                    rule=name,
                    kind=rule.kind,
                    severity=rule.severity,
                    state="ok" if o is None else "firing",
                    unconfirmed=o is not None and o.unconfirmed,
                    alert_id=None if o is None else o.id,
                    value=t.value,
                    value_block=t.value_block,
                    threshold=rule.threshold,
                    reset=rule.reset,
                    fired_block=None if o is None else o.fired_block,
                    fired_timestamp=None if o is None else o.fired_timestamp,
                    reset_progress=0 if o is None else o.streak(),
                    reset_blocks=rule.reset_blocks,
                    no_data=t.no_data,
                )
            )
        return MarketState(market, m.last_block, m.last_timestamp, tuple(rows))

    def active(self) -> dict[str, int]:
        """Firing alerts by rule name across markets (every rule present, 0 when quiet): the metrics view."""
        counts = dict.fromkeys(self._rules, 0)
        for m in self._markets.values():
            for name, t in m.tracks.items():
                if t.open is not None and name in counts:
                    counts[name] += 1
        return counts

    # --- persistence -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-ready data (``json.dumps`` it; infinities use Python's JSON extension)."""
        return {
            "version": STATE_VERSION,
            "markets": {
                name: {
                    "last_block": m.last_block,
                    "last_timestamp": m.last_timestamp,
                    "rules": {
                        r: {
                            "seq": t.seq,
                            "value": t.value,
                            "value_block": t.value_block,
                            "no_data": t.no_data,
                            "open": None if t.open is None else _open_to_dict(t.open),
                        }
                        for r, t in m.tracks.items()
                    },
                    "removed": {r: _open_to_dict(o) for r, o in m.removed.items()},
                }
                for name, m in self._markets.items()
            },
        }

    @classmethod
    def from_dict(cls, rules: Iterable[AlertRuleConfig], data: object, *, history: int = 128) -> AlertEngine:
        """Restore an engine saved by :meth:`to_dict` under (possibly changed) ``rules``.

        Firing alerts of rules no longer configured are resolved (reason ``rule_removed``) by the market's next
        evaluation; new rules start ``ok``. Malformed data raises :class:`~monitor.errors.AlertStateError`.
        """
        engine = cls(rules, history=history)
        try:
            root = _mapping(data, "state")
            if root.get("version") != STATE_VERSION:
                raise AlertStateError(f"unknown alert state version {root.get('version')!r}")
            for name, raw in _mapping(root["markets"], "markets").items():
                md = _mapping(raw, f"market {name}")
                m = engine._market(str(name))
                m.last_block = _opt_int(md["last_block"])
                m.last_timestamp = _opt_int(md["last_timestamp"])
                for rule, rd in _mapping(md["rules"], "rules").items():
                    rd = _mapping(rd, f"rule {rule}")
                    o = None if rd["open"] is None else _open_from_dict(rd["open"])
                    if rule not in engine._rules:
                        if o is not None:
                            m.removed[str(rule)] = o
                        continue
                    m.tracks[str(rule)] = _Track(
                        seq=_int(rd["seq"]),
                        value=_opt_float(rd["value"]),
                        value_block=_opt_int(rd["value_block"]),
                        no_data=_int(rd["no_data"]),
                        open=o,
                    )
                for rule, od in _mapping(md.get("removed", {}), "removed").items():
                    m.removed[str(rule)] = _open_from_dict(od)
        except AlertStateError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise AlertStateError(f"malformed alert state: {type(exc).__name__}: {exc}") from None
        return engine


def _open_to_dict(o: _Open) -> dict[str, Any]:
    return {
        "id": o.id,
        "fired_block": o.fired_block,
        "fired_timestamp": o.fired_timestamp,
        "severity": o.severity,
        "kind": o.kind,
        "threshold": o.threshold,
        "unconfirmed": o.unconfirmed,
        "recent": [[b, past] for b, past in o.recent],
    }


def _open_from_dict(raw: object) -> _Open:
    d = _mapping(raw, "open alert")
    recent = d["recent"]
    if not isinstance(recent, list) or not all(
        isinstance(e, list) and len(e) == 2 and isinstance(e[1], bool) for e in recent
    ):
        raise TypeError("recent must be a list of [block, bool] pairs")
    unconfirmed = d["unconfirmed"]
    if not isinstance(unconfirmed, bool):
        raise TypeError("unconfirmed must be a boolean")
    return _Open(
        id=_str(d["id"]),
        fired_block=_int(d["fired_block"]),
        fired_timestamp=_int(d["fired_timestamp"]),
        severity=_str(d["severity"]),
        kind=_str(d["kind"]),
        threshold=_float(d["threshold"]),
        unconfirmed=unconfirmed,
        recent=[(_int(b), past) for b, past in recent],
    )


def _mapping(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise TypeError(f"{what} must be a mapping, got {type(raw).__name__}")
    return raw


def _int(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(f"expected an integer, got {raw!r}")
    return raw


def _opt_int(raw: object) -> int | None:
    return None if raw is None else _int(raw)


def _float(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
        raise TypeError(f"expected a number, got {raw!r}")
    return float(raw)


def _opt_float(raw: object) -> float | None:
    return None if raw is None else _float(raw)


def _str(raw: object) -> str:
    if not isinstance(raw, str):
        raise TypeError(f"expected a string, got {raw!r}")
    return raw
