"""The example Alertmanager config: amtool accepts it, routes page -> PagerDuty and ticket -> Slack/email, and a
real Alertmanager running it groups, inhibits (monitor down inhibits the others, page inhibits ticket) and
renders the PagerDuty and Slack notifications."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.servers import (
    ALERTMANAGER_CONFIG,
    alert_rules,
    alertmanager,
    alertmanager_to_sink,
    load_yaml,
    run_tool,
    sink,
    tool,
)

JOB = "cascade-monitor"


def test_amtool_check_config() -> None:
    res = run_tool(tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout
    assert " - 2 inhibit rules" in res.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"severity": "page", "alertname": "CascadeLiquidatableDebt", "market": "m"}, "pagerduty"),
        ({"severity": "page", "alertname": "CascadeMonitorDown"}, "pagerduty"),
        ({"severity": "ticket", "alertname": "CascadeDataStale", "market": "m"}, "ticket"),
        ({"alertname": "SomethingElse"}, "ticket"),
    ],
)
def test_routes(labels: dict[str, str], receiver: str) -> None:
    args = [f"{k}={v}" for k, v in labels.items()]
    res = run_tool(tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == receiver


def test_receivers_and_secrets() -> None:
    cfg = load_yaml(ALERTMANAGER_CONFIG)
    recv = {r["name"]: r for r in cfg["receivers"]}
    assert set(recv) == {"pagerduty", "ticket"}
    assert recv["pagerduty"]["pagerduty_configs"][0]["routing_key_file"].startswith("/etc/alertmanager/secrets/")
    assert recv["ticket"]["slack_configs"] and recv["ticket"]["email_configs"]
    assert cfg["global"]["slack_api_url_file"].startswith("/etc/alertmanager/secrets/")
    text = ALERTMANAGER_CONFIG.read_text()
    for secret_key in ("routing_key:", "service_key:", "api_url:", "smtp_auth_password:"):
        assert secret_key not in text, f"secrets belong in files: {secret_key}"
    assert cfg["route"]["group_by"] == ["alertname", "market"]
    # every severity the rules use has a route
    severities = {r["labels"]["severity"] for r in alert_rules()}
    routed = {m.split("=")[1].strip('"') for r in cfg["route"]["routes"] for m in r["matchers"]}
    assert severities <= routed


def _alert(name: str, severity: str, instance: str, **labels: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {"alertname": name, "severity": severity, "job": JOB, "instance": instance, **labels},
        "annotations": {
            "summary": f"{name} {labels.get('market', '')} {labels.get('asset', '')}".strip(),
            "runbook_url": f"https://example.invalid/runbooks/{name}.md",
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=10)).isoformat(),
    }


def _key(a: dict[str, Any]) -> tuple[str, ...]:
    labels = a["labels"]
    return (labels["alertname"], labels["severity"], labels["instance"], labels.get("asset", ""))


def test_live_alertmanager_routes_groups_and_inhibits(tmp_path: Path) -> None:
    posted = [
        _alert("CascadeMonitorDown", "page", "a:9464"),
        _alert("CascadeLiquidatableDebt", "page", "a:9464", market="m1"),  # inhibited: its monitor is down
        _alert("CascadeLiquidatableDebt", "ticket", "a:9464", market="m1"),  # inhibited: monitor down (and page)
        _alert("CascadeOracleDeviation", "page", "b:9464", market="m2", asset="WETH"),
        _alert("CascadeOracleDeviation", "ticket", "b:9464", market="m2", asset="WETH"),  # inhibited by the page
        _alert("CascadeOracleDeviation", "ticket", "b:9464", market="m2", asset="LINK"),  # another asset: notified
        _alert("CascadeDataStale", "ticket", "b:9464", market="m2"),
    ]
    expect_inhibited = {_key(posted[i]) for i in (1, 2, 4)}
    t0 = time.monotonic()
    with sink() as s, alertmanager(tmp_path, alertmanager_to_sink(tmp_path, s.url)) as am, httpx.Client(timeout=5) as c:
        assert c.post(f"{am.url}/api/v2/alerts", json=posted).status_code == 200
        deadline = time.monotonic() + 20
        while True:
            got = c.get(f"{am.url}/api/v2/alerts").json()
            state = {_key(a): a for a in got}
            settled = len(state) == len(posted) and all(
                (state[k]["status"]["state"] == "suppressed") == (k in expect_inhibited) for k in state
            )
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(state) == len(posted), got
        for k, a in state.items():
            inhibited = bool(a["status"]["inhibitedBy"])
            assert inhibited == (k in expect_inhibited), (k, a["status"])
        assert [r["name"] for r in state[_key(posted[0])]["receivers"]] == ["pagerduty"]
        assert [r["name"] for r in state[_key(posted[6])]["receivers"]] == ["ticket"]

        # notifications: one PagerDuty event per page group, Slack messages for the ticket groups
        down = s.wait_for("/pagerduty", lambda b: "CascadeMonitorDown" in str(b), 20)
        assert down["routing_key"] == "test-routing-key"
        assert down["event_action"] == "trigger"
        assert down["payload"]["severity"] == "critical"
        assert down["links"][0]["href"] == "https://example.invalid/runbooks/CascadeMonitorDown.md"
        s.wait_for("/pagerduty", lambda b: "CascadeOracleDeviation" in str(b), 20)
        s.wait_for("/slack", lambda b: "CascadeDataStale" in str(b), 20)
        link = s.wait_for("/slack", lambda b: "CascadeOracleDeviation" in str(b), 20)
        assert "CascadeOracleDeviation m2 LINK" in str(link)
        time.sleep(1.5)  # a group interval more: nothing inhibited may arrive late
        everything = str(s.received)
        assert "CascadeLiquidatableDebt" not in everything, "alerts of a down monitor are inhibited"
        assert "CascadeOracleDeviation m2 WETH" not in str(s.posts("/slack")), "the page inhibits its ticket"
    assert time.monotonic() - t0 < 60
