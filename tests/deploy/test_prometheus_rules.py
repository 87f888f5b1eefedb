"""The alert rules: promtool checks them, their unit tests pass, cover firing and not firing for every rule,
and fail when a rule is broken; every alert has its annotations, severity, `for:` and an existing runbook."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import TARGET_LABELS, exported, selectors
from tests.deploy.servers import (
    DEPLOY,
    PROMETHEUS_CONFIG,
    RULE_TESTS,
    RULES,
    alert_rules,
    load_yaml,
    run_tool,
    tool,
)

RUNBOOKS = DEPLOY / "runbooks"
RUNBOOK_PREFIX = "https://github.com/YOUR-ORG/cascade-monitor/blob/main/deploy/runbooks/"
SEVERITIES = {"page", "ticket"}
# Alerts on a state (up, a status flag): their value is 0 or 1 and says nothing, so it is not in the text.
STATE_ALERTS = {"CascadeMonitorDown", "CascadeMarketErrored", "CascadeMqttDisconnected"}
# The list: cascade risk (critical shock, projected bad debt), liquidatable debt, oracle deviation,
# data staleness and monitor down.
REQUIRED_ALERTS = {
    "CascadeCriticalShock",
    "CascadeProjectedBadDebt",
    "CascadeLiquidatableDebt",
    "CascadeOracleDeviation",
    "CascadeDataStale",
    "CascadeMonitorDown",
}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def _rule_files() -> list[str]:
    files = sorted(str(p) for p in RULES.glob("*.yml"))
    assert files, f"no rule files in {RULES}"
    return files


def _test_files(directory: Path = RULE_TESTS) -> list[str]:
    files = sorted(str(p) for p in directory.glob("*.yml"))
    assert files, f"no promtool test files in {directory}"
    return files


def test_promtool_check_rules() -> None:
    res = run_tool(tool("promtool"), "check", "rules", *_rule_files())
    assert res.returncode == 0, res.stdout + res.stderr
    found = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", res.stdout))
    assert found == len(alert_rules()) >= len(REQUIRED_ALERTS)


def test_promtool_check_config() -> None:
    res = run_tool(tool("promtool"), "check", "config", str(PROMETHEUS_CONFIG))
    assert res.returncode == 0, res.stdout + res.stderr
    for path in _rule_files():  # the config loads the rule files (relative glob)
        assert Path(path).name in res.stdout
    cfg = load_yaml(PROMETHEUS_CONFIG)
    jobs = {j["job_name"] for j in cfg["scrape_configs"]}
    assert "cascade-monitor" in jobs, "the rules select job=cascade-monitor"
    assert cfg["alerting"]["alertmanagers"], "alerts must go to an Alertmanager"


def test_rule_unit_tests_pass() -> None:
    res = run_tool(tool("promtool"), "test", "rules", *_test_files())
    assert res.returncode == 0, res.stdout + res.stderr
    assert "FAILED" not in res.stdout
    assert res.stdout.count("SUCCESS") == len(_test_files())


def test_every_rule_is_tested_firing_and_not_firing() -> None:
    firing: dict[str, set[str]] = defaultdict(set)  # alertname -> severities some test expects firing
    quiet: dict[str, set[str]] = defaultdict(set)  # alertname -> severities some test expects not firing
    for path in _test_files():
        for case in load_yaml(Path(path))["tests"]:
            for check in case.get("alert_rule_test", []):
                name = check["alertname"]
                sev = {a.get("exp_labels", {}).get("severity") for a in check.get("exp_alerts") or []}
                firing[name] |= sev
                quiet[name] |= SEVERITIES - sev
    rules = {(r["alert"], r["labels"]["severity"]) for r in alert_rules()}
    missing_fire = sorted(f"{a}/{s}" for a, s in rules if s not in firing[a])
    missing_quiet = sorted(f"{a}/{s}" for a, s in rules if s not in quiet[a])
    assert not missing_fire, f"no unit test shows these rules firing: {missing_fire}"
    assert not missing_quiet, f"no unit test shows these rules not firing: {missing_quiet}"


def test_rules_carry_severity_for_and_annotations() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= REQUIRED_ALERTS
    pairs = [(r["alert"], r["labels"]["severity"]) for r in rules]
    assert len(pairs) == len(set(pairs)), "one rule per alert name and severity"
    assert {s for _, s in pairs} == SEVERITIES
    for r in rules:
        name = r["alert"]
        assert r["labels"]["severity"] in SEVERITIES, name
        assert DURATION.match(str(r.get("for", ""))), f"{name}: needs a for: duration"
        ann = r["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(ann), name
        if name not in STATE_ALERTS:
            assert "$value" in ann["summary"], f"{name}: the summary must show the value"
        assert ann["runbook_url"] == RUNBOOK_PREFIX + f"{name}.md", name


def test_rules_name_exported_metrics_and_labels() -> None:
    ex = exported()
    for r in alert_rules():
        for sel in selectors(r["expr"]):
            if sel.name == "up":
                continue
            assert sel.name in ex.labels, f"{r['alert']}: {sel.name} is not exported by monitor/daemon/metrics.py"
            for label, _, _ in sel.matchers:
                assert label in ex.labels[sel.name] | TARGET_LABELS, f"{r['alert']}: {sel.name} has no {label}"


def test_every_alert_has_a_runbook() -> None:
    names = {r["alert"] for r in alert_rules()}
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert pages == names, f"runbooks without alert: {pages - names}; alerts without runbook: {names - pages}"
    index = (RUNBOOKS / "README.md").read_text()
    for name in names:
        text = (RUNBOOKS / f"{name}.md").read_text()
        assert text.startswith(f"# {name} ("), name
        for heading in ("## What it means", "## What to check", "## What to do"):
            assert heading in text, f"{name}: missing {heading!r}"
        assert f"[{name}.md]({name}.md)" in index


def _mutated_copy(tmp: Path, index: int, change: dict[str, Any]) -> tuple[Path, str]:
    """deploy/prometheus copied to ``tmp`` with the ``index``-th alerting rule changed; returns the tests dir."""
    root = tmp / f"mutant-{index}-{'-'.join(change)}"
    shutil.copytree(RULES.parent, root)
    seen = 0
    for path in sorted((root / "rules").glob("*.yml")):
        doc = load_yaml(path)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                if seen == index:
                    rule.update(change)
                    path.write_text(yaml.safe_dump(doc, sort_keys=False))
                    return root / "tests", rule["alert"]
                seen += 1
    raise AssertionError(f"no rule {index}")


def _tests_of(directory: Path, name: str) -> list[str]:
    """The promtool test files of ``directory`` that check alert ``name``."""
    return [f for f in _test_files(directory) if f"alertname: {name}\n" in Path(f).read_text()]


@pytest.mark.parametrize("change", [{"expr": "vector(1) < 0"}, {"for": "0s"}], ids=["never-fires", "no-for"])
def test_a_broken_rule_fails_its_unit_tests(tmp_path: Path, change: dict[str, Any]) -> None:
    """Mutation check: the unit tests notice each rule that never fires, and each rule that skips its `for:`."""
    promtool = tool("promtool")
    mutants = []
    for i, rule in enumerate(alert_rules()):
        tests, name = _mutated_copy(tmp_path, i, change)
        assert name == rule["alert"]
        files = _tests_of(tests, name)
        assert files, f"no unit test file checks {name}"
        mutants.append((f"{name}/{rule['labels']['severity']}", name, files))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda m: run_tool(promtool, "test", "rules", *m[2]), mutants))
    for (label, name, _), res in zip(mutants, results, strict=True):
        out = res.stdout + res.stderr
        assert res.returncode != 0, f"{label} changed by {change}: its unit tests still pass"
        assert f"alertname: {name}" in out, out[-2000:]
