"""The alert engine: hysteresis, no-data handling, ids, state round-trip, reorg rollback (pure, no broker)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.alerts.model import AlertEvent
from monitor.alerts.rules import AlertEngine
from monitor.config import AlertRuleConfig
from monitor.errors import AlertStateError, DataError

M = "devnet-aave"


def rule(name: str = "bad-debt", **kw: Any) -> AlertRuleConfig:
    base: dict[str, Any] = {
        "name": name,
        "kind": "projected_bad_debt_usd",
        "op": "above",
        "threshold": 100.0,
        "reset": 80.0,
        "reset_blocks": 3,
        "severity": "page",
    }
    return AlertRuleConfig.model_validate(base | kw)


UP = rule("up", threshold=7.0, reset=4.0, reset_blocks=2)
DOWN = rule("down", kind="critical_shock", op="below", threshold=3.0, reset=5.0, reset_blocks=3, severity="ticket")


def run(
    engine: AlertEngine, values: Sequence[float | None], *, name: str = "bad-debt", start: int = 1
) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for i, v in enumerate(values):
        block = start + i
        events += engine.evaluate(M, block, 1_700_000_000 + 12 * block, {name: v}).events
    return events


def test_fires_once_on_crossing_and_resolves_once_after_reset_blocks() -> None:
    engine = AlertEngine([rule()])
    events = run(engine, [50, 100, 101, 150, 120, 79, 79, 79, 79, 50])
    assert [(e.state, e.block, e.reason) for e in events] == [("firing", 3, "threshold"), ("resolved", 8, "reset")]
    fired, resolved = events
    assert fired.id == resolved.id and fired.fired_block == resolved.fired_block == 3
    assert (fired.value, fired.threshold, fired.severity, fired.market, fired.rule) == (101, 100, "page", M, "bad-debt")
    assert fired.timestamp == 1_700_000_000 + 36 and fired.kind == "projected_bad_debt_usd"
    payload = json.loads(fired.to_json())
    assert set(payload) >= {"rule", "severity", "market", "value", "threshold", "block", "timestamp", "id", "state"}


def test_no_flapping_around_the_threshold() -> None:
    engine = AlertEngine([rule()])
    wobble = [101.0 if i % 2 else 99.0 for i in range(200)]  # crosses 100 a hundred times, never below reset 80
    events = run(engine, wobble)
    assert [e.state for e in events] == ["firing"]
    assert engine.state(M).active == ("bad-debt",)


def test_band_or_threshold_value_restarts_the_reset_count() -> None:
    engine = AlertEngine([rule()])
    events = run(engine, [120, 70, 70, 90, 70, 70, 120, 70, 70])
    assert [e.state for e in events] == ["firing"]
    assert engine.state(M).rules[0].reset_progress == 2
    assert [e.state for e in run(engine, [70], start=10)] == ["resolved"]


def test_below_rule_and_equality_at_the_levels() -> None:
    engine = AlertEngine([rule("shock", kind="critical_shock", op="below", threshold=0.15, reset=0.2, reset_blocks=1)])
    events = run(engine, [0.3, 0.15, 0.1499, 0.2, 0.2001], name="shock")
    assert [(e.state, e.block) for e in events] == [("firing", 3), ("resolved", 5)]


def test_none_and_nan_never_fire_nor_resolve_and_are_counted() -> None:
    engine = AlertEngine([rule()])
    assert run(engine, [None, float("nan"), None]) == []
    assert engine.state(M).rules[0].no_data == 3
    events = run(engine, [200, None, 10, None, None, 10, float("nan"), 10], start=4)
    # gaps neither advance nor break the reset count: three evaluations with data below 80 resolve it
    assert [(e.state, e.block) for e in events] == [("firing", 4), ("resolved", 11)]
    status = engine.state(M).rules[0]
    assert status.no_data == 7 and status.value == 10 and status.value_block == 11


def test_missing_values_are_no_data_and_unknown_rules_are_rejected() -> None:
    engine = AlertEngine([UP, DOWN])
    ev = engine.evaluate(M, 1, 10, {"up": 9.0})
    assert [e.rule for e in ev.events] == ["up"]
    assert {r.rule: r.no_data for r in ev.state.rules} == {"up": 0, "down": 1}
    with pytest.raises(DataError, match="typo"):
        engine.evaluate(M, 2, 20, {"typo": 1.0})
    with pytest.raises(DataError, match="twice"):
        AlertEngine([UP, UP])


def test_markets_are_independent_and_ids_unique() -> None:
    engine = AlertEngine([UP])
    a = engine.evaluate("a", 5, 60, {"up": 9.0}).events
    b = engine.evaluate("b", 5, 60, {"up": 9.0}).events
    assert a[0].id != b[0].id and engine.active() == {"up": 2}
    assert engine.state("a").active == ("up",) and engine.state("never").active == ()
    # resolve and fire again at later blocks: each instance has its own id
    ids = {a[0].id}
    for block, v in enumerate([1.0, 1.0, 9.0, 1.0, 1.0, 9.0], start=6):
        for e in engine.evaluate("a", block, 12 * block, {"up": v}).events:
            if e.state == "firing":
                assert e.id not in ids
                ids.add(e.id)
    assert len(ids) == 3


def test_state_json_is_what_the_state_topic_carries() -> None:
    engine = AlertEngine([UP, DOWN])
    ev = engine.evaluate(M, 3, 36, {"up": float("inf"), "down": 4.0})
    doc = json.loads(ev.state.to_json())
    assert doc["market"] == M and doc["block"] == 3 and doc["active"] == ["up"]
    assert doc["rules"]["up"]["state"] == "firing" and doc["rules"]["up"]["value"] is None  # inf -> null
    assert doc["rules"]["down"] == doc["rules"]["down"] | {"state": "ok", "id": None, "value": 4.0}


# --- persistence ---------------------------------------------------------------------------------------------

values_st = st.lists(
    st.fixed_dictionaries({"up": st.one_of(st.none(), st.integers(0, 10)), "down": st.integers(0, 10)}),
    min_size=1,
    max_size=40,
)


def _feed(engine: AlertEngine, rows: Sequence[dict[str, Any]], start: int) -> list[AlertEvent]:
    out: list[AlertEvent] = []
    for i, row in enumerate(rows):
        out += engine.evaluate(M, start + i, 12 * (start + i), row).events
    return out


@settings(max_examples=200, deadline=None)
@given(rows=values_st, cut=st.integers(0, 40))
def test_restart_from_saved_state_continues_identically(rows: list[dict[str, Any]], cut: int) -> None:
    cut = min(cut, len(rows))
    straight = AlertEngine([UP, DOWN])
    expected = _feed(straight, rows, 1)
    first = AlertEngine([UP, DOWN])
    got = _feed(first, rows[:cut], 1)
    saved = json.loads(json.dumps(first.to_dict()))
    second = AlertEngine.from_dict([UP, DOWN], saved)
    got += _feed(second, rows[cut:], 1 + cut)
    assert got == expected
    assert second.to_dict() == straight.to_dict() and second.state(M) == straight.state(M)


def test_removed_rule_resolves_on_next_evaluation_and_new_rule_starts_ok() -> None:
    engine = AlertEngine([UP, DOWN])
    fired = engine.evaluate(M, 1, 12, {"up": 9.0, "down": 1.0}).events
    restored = AlertEngine.from_dict([UP, rule("new")], json.loads(json.dumps(engine.to_dict())))
    ev = restored.evaluate(M, 2, 24, {"up": 9.0, "new": 1.0})
    gone = next(e for e in fired if e.rule == "down")
    assert [(e.rule, e.state, e.reason, e.id) for e in ev.events] == [("down", "resolved", "rule_removed", gone.id)]
    assert ev.state.active == ("up",)
    assert restored.evaluate(M, 3, 36, {"up": 9.0}).events == ()


@pytest.mark.parametrize(
    "data",
    [None, [], {}, {"version": 99, "markets": {}}, {"version": 1, "markets": {"m": {"last_block": "x"}}}],
)
def test_malformed_state_is_a_clear_error(data: object) -> None:
    with pytest.raises(AlertStateError):
        AlertEngine.from_dict([UP], data)


def test_corrupt_open_alert_is_a_clear_error() -> None:
    engine = AlertEngine([UP])
    engine.evaluate(M, 1, 12, {"up": 9.0})
    data = engine.to_dict()
    data["markets"][M]["rules"]["up"]["open"]["recent"] = [[1, "yes"]]
    with pytest.raises(AlertStateError, match="recent"):
        AlertEngine.from_dict([UP], data)


# --- reorgs -------------------------------------------------------------------------------------------------


def test_rollback_reconfirms_silently_or_resolves_with_an_event() -> None:
    engine = AlertEngine([UP, DOWN])
    ev = engine.evaluate(M, 10, 120, {"up": 9.0, "down": 4.0}).events
    ev += engine.evaluate(M, 11, 132, {"up": 9.0, "down": 1.0}).events
    up_id, down_id = (e.id for e in ev)
    engine.rollback(M, 10)  # block 11 orphaned: "down" fired on it, "up" fired before the fork
    assert {r.rule: r.unconfirmed for r in engine.state(M).rules} == {"up": False, "down": True}
    # the new block 11: "down" no longer past its threshold -> resolved with reason reorg; "up" untouched
    out = engine.evaluate(M, 11, 133, {"up": 9.0, "down": 4.0})
    assert [(e.rule, e.state, e.reason, e.id, e.block) for e in out.events] == [
        ("down", "resolved", "reorg", down_id, 11)
    ]
    assert out.state.active == ("up",) and out.state.rules[0].alert_id == up_id


def test_rollback_then_still_firing_keeps_the_id_and_says_nothing() -> None:
    engine = AlertEngine([UP])
    [fired] = _feed(engine, [{"up": 1.0}, {"up": 1.0}, {"up": 9.0}], 1)
    engine.rollback(M, 2)
    assert engine.evaluate(M, 3, 40, {"up": None}).state.rules[0].unconfirmed  # no data: still unconfirmed
    out = engine.evaluate(M, 4, 48, {"up": 8.0})
    assert out.events == () and not out.state.rules[0].unconfirmed and out.state.rules[0].alert_id == fired.id
    events = _feed(engine, [{"up": 1.0}, {"up": 1.0}], 5)
    assert [(e.state, e.id, e.reason) for e in events] == [("resolved", fired.id, "reset")]


def test_rollback_trims_the_reset_count_and_same_height_is_an_implicit_rollback() -> None:
    engine = AlertEngine([rule()])
    run(engine, [200, 10, 10])  # fired at 1, two of three reset steps (blocks 2, 3)
    engine.rollback(M, 2)
    assert engine.state(M).rules[0].reset_progress == 1
    assert run(engine, [10], start=3) == []  # blocks 2 and the new 3: two of three
    assert [(e.state, e.block) for e in run(engine, [10], start=4)] == [("resolved", 4)]
    engine2 = AlertEngine([rule()])
    run(engine2, [200, 10, 10])
    assert run(engine2, [90], start=3) == [] and engine2.state(M).rules[0].reset_progress == 0  # block 3 replaced
    assert [e.state for e in run(engine2, [10, 10, 10], start=4)] == ["resolved"]


def test_rollback_restores_a_reset_count_broken_on_an_orphaned_block() -> None:
    engine = AlertEngine([UP])  # reset 4, two blocks
    _feed(engine, [{"up": 8.0}, {"up": 0.0}, {"up": 5.0}], 1)  # fired at 1, one step at 2, broken at 3
    assert engine.state(M).rules[0].reset_progress == 0
    engine.rollback(M, 2)
    assert engine.state(M).rules[0].reset_progress == 1
    assert [(e.state, e.block) for e in _feed(engine, [{"up": 0.0}], 3)] == [("resolved", 3)]
    shallow = AlertEngine([UP], history=1)  # remembers one evaluation: a deeper rollback only delays
    _feed(shallow, [{"up": 8.0}, {"up": 0.0}, {"up": 5.0}], 1)
    shallow.rollback(M, 2)
    assert shallow.state(M).rules[0].reset_progress == 0


def test_staleness_between_blocks_by_re_evaluating_the_same_block() -> None:
    stale = rule("stale", kind="data_age_s", threshold=60.0, reset=30.0, reset_blocks=2)
    engine = AlertEngine([stale, UP])
    [up] = engine.evaluate(M, 7, 84, {"stale": 3.0, "up": 9.0}).events
    events: list[AlertEvent] = []
    for age in (20.0, 45.0, 70.0, 95.0, 120.0):  # no new block: a timer re-evaluates block 7 with the data age
        events += engine.evaluate(M, 7, 84, {"stale": age, "up": 9.0}).events
    assert [(e.rule, e.state, e.value) for e in events] == [("stale", "firing", 70.0)]  # once; "up" silent
    state = engine.state(M)
    assert state.active == ("stale", "up") and state.rules[1].alert_id == up.id and not state.rules[1].unconfirmed
    events = _feed(engine, [{"stale": 2.0, "up": 9.0}, {"stale": 2.0, "up": 9.0}], 8)
    assert [(e.rule, e.state, e.block) for e in events] == [("stale", "resolved", 9)]


def test_refire_at_the_same_height_after_a_reorg_gets_a_new_id() -> None:
    engine = AlertEngine([UP])
    [a] = engine.evaluate(M, 5, 60, {"up": 9.0}).events
    [b] = engine.evaluate(M, 5, 61, {"up": 1.0}).events  # same height: implicit rollback, resolved by reorg
    [c] = engine.evaluate(M, 6, 72, {"up": 9.0}).events
    assert (b.id, b.reason) == (a.id, "reorg") and c.id != a.id


chain_st = st.lists(
    st.fixed_dictionaries({"up": st.one_of(st.none(), st.integers(0, 10)), "down": st.integers(0, 10)}),
    min_size=1,
    max_size=25,
)
new_chain_st = st.lists(
    st.fixed_dictionaries({"up": st.integers(0, 10), "down": st.integers(0, 10)}), min_size=1, max_size=15
)


@settings(max_examples=300, deadline=None)
@given(old=chain_st, new=new_chain_st, fork=st.integers(0, 25))
def test_reorg_leaves_no_orphaned_alert_and_matches_a_replay(
    old: list[dict[str, Any]], new: list[dict[str, Any]], fork: int
) -> None:
    fork = min(fork, len(old))
    engine = AlertEngine([UP, DOWN])
    old_events = _feed(engine, old, 1)
    engine.rollback(M, fork)
    new_events = _feed(engine, new[:1], fork + 1)
    assert not any(r.unconfirmed for r in engine.state(M).rules)  # settled by the first full evaluation
    new_events += _feed(engine, new[1:], fork + 2)
    final = {r.rule: r for r in engine.state(M).rules}

    # every alert that fired on an orphaned block is either resolved by an event or still firing under its id
    resolved_ids = {e.id for e in old_events + new_events if e.state == "resolved"}
    for e in old_events:
        if e.state == "firing" and e.block > fork and e.id not in resolved_ids:
            assert final[e.rule].alert_id == e.id and final[e.rule].state == "firing"
    # events alternate firing/resolved per rule, and a resolution always names the open id
    open_ids: dict[str, str] = {}
    for e in old_events + new_events:
        if e.state == "firing":
            assert e.rule not in open_ids
            open_ids[e.rule] = e.id
        else:
            assert open_ids.pop(e.rule) == e.id

    # unless a resolution happened on an orphaned block, the outcome equals a replay of the new chain
    if not any(e.state == "resolved" and e.block > fork for e in old_events):
        replay = AlertEngine([UP, DOWN])
        _feed(replay, old[:fork] + new, 1)
        for r in replay.state(M).rules:
            assert (final[r.rule].state, final[r.rule].reset_progress) == (r.state, r.reset_progress)


def test_rules_module_is_pure() -> None:
    code = (
        "import sys, monitor.alerts, monitor.alerts.rules, monitor.alerts.model; "
        "print(sorted({'asyncio', 'aiomqtt', 'paho'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60, cwd=root)
    assert out.stdout.strip() == "[]"
