"""The Grafana dashboard: generated from deploy/grafana/dashboard.py, every query names metrics and labels the
daemon's collector actually exports, the panels the issue asks for exist, and the market variable filters them."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

from tests.deploy.promql import (
    LABEL_VALUES,
    PROMETHEUS_OWN,
    TARGET_LABELS,
    Selector,
    all_panels,
    dashboard_queries,
    exported,
    load_dashboard,
    selectors,
    substitute,
)
from tests.deploy.servers import DASHBOARD, DEPLOY, load_yaml

GENERATOR = DEPLOY / "grafana" / "dashboard.py"
PROVISIONING = DEPLOY / "grafana" / "provisioning"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cascade_monitor_dashboard", GENERATOR)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_json_is_generated_from_dashboard_py() -> None:
    mod = _generator()
    assert load_dashboard() == mod.build(), "run: python deploy/grafana/dashboard.py"
    assert DASHBOARD.read_text(encoding="utf-8") == mod.render()


def _check_selector(where: str, sel: Selector, ex: dict[str, frozenset[str]]) -> None:
    allowed: frozenset[str] | None
    if sel.name in PROMETHEUS_OWN:
        allowed = PROMETHEUS_OWN[sel.name]
    else:
        assert sel.name in ex, f"{where}: {sel.name} is not exported by monitor/daemon/metrics.py"
        allowed = ex[sel.name] | TARGET_LABELS
    for label, _, _ in sel.matchers:
        assert allowed is None or label in allowed, f"{where}: {sel.name} has no label {label!r}"


def test_every_query_names_exported_metrics_and_labels() -> None:
    ex = exported()
    assert not ex.families_without_samples, "the synthetic result must fill every family"
    seen = set()
    for where, expr in dashboard_queries():
        sels = selectors(substitute(expr))
        assert sels, f"{where}: no metric in {expr!r}"
        for sel in sels:
            _check_selector(where, sel, ex.labels)
            seen.add(sel.name)
    # variable labels exist on their metric
    for v in load_dashboard()["templating"]["list"]:
        if v["type"] == "query":
            m = LABEL_VALUES.match(v["query"]["query"])
            assert m is not None
            (sel,) = selectors(substitute(m.group("sel")))
            assert m.group("label") in ex.labels[sel.name]


def test_the_checker_rejects_unknown_names_and_labels() -> None:
    ex = exported().labels
    for bad in ('cascade_monitor_liquidatable_debt{market="x"}', 'cascade_monitor_debt_usd{markets="x"}'):
        (sel,) = selectors(bad)
        try:
            _check_selector("probe", sel, ex)
        except AssertionError:
            continue
        raise AssertionError(f"{bad} passed the check")


def test_the_panels_the_issue_asks_for() -> None:
    d = load_dashboard()
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for p in all_panels(d):
        for t in p.get("targets", []):
            for sel in selectors(substitute(t["expr"])):
                by_metric.setdefault(sel.name, []).append(p)
    wanted = {
        "health-factor distribution over time": "cascade_monitor_health_factor_accounts",
        "collateral at risk by price drop": "cascade_monitor_collateral_at_risk_usd",
        "cascade projection: final drop": "cascade_monitor_scenario_final_drop_ratio",
        "cascade projection: amplification": "cascade_monitor_scenario_amplification_ratio",
        "cascade projection: bad debt": "cascade_monitor_scenario_bad_debt_usd",
        "critical shock per asset": "cascade_monitor_critical_shock_ratio",
        "DEX depth": "cascade_monitor_dex_depth_usd",
        "oracle deviation": "cascade_monitor_oracle_dex_deviation_ratio",
        "data age": "cascade_monitor_data_age_seconds",
        "block latency": "cascade_monitor_block_processing_seconds_bucket",
        "active alerts": "ALERTS",
    }
    for what, metric in wanted.items():
        assert metric in by_metric, f"no panel shows {what} ({metric})"
    (heat,) = [p for p in by_metric["cascade_monitor_health_factor_accounts"] if p["type"] == "heatmap"]
    assert heat["targets"][0]["format"] == "heatmap"
    (risk,) = by_metric["cascade_monitor_collateral_at_risk_usd"]
    assert "{{drop}}" in risk["targets"][0]["legendFormat"], "one series per price drop"


def test_market_variable_filters_every_market_metric() -> None:
    d = load_dashboard()
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["market"]["type"] == "query"
    assert variables["market"]["query"]["query"] == "label_values(cascade_monitor_market_status, market)"
    assert variables["market"]["multi"] and variables["market"]["includeAll"]
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ex = exported().labels
    for where, expr in dashboard_queries():
        for sel in selectors(substitute(expr, keep=("$market",))):
            if "market" in ex.get(sel.name, frozenset()) and where != "variable market":
                assert ("market", "=~", "$market") in sel.matchers, f"{where}: {sel.promql()} ignores $market"
    for p in all_panels(d):
        if "repeat" in p:
            assert p["repeat"] in variables, p["title"]


def test_layout_and_datasources() -> None:
    d = load_dashboard()
    panels = all_panels(d)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    boxes = []
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        boxes.append((p["title"], g["x"], g["y"], g["x"] + g["w"], g["y"] + g["h"]))
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
            assert p["targets"], p["title"]
            for t in p["targets"]:
                assert t["datasource"] == p["datasource"] and t["refId"], p["title"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
            assert not overlap, f"panels {a[0]!r} and {b[0]!r} overlap"
    assert d["uid"] == "cascade-monitor" and d["title"]


def test_provisioning_points_at_the_dashboard() -> None:
    prov = load_yaml(PROVISIONING / "dashboards" / "cascade-monitor.yml")
    (provider,) = prov["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/cascade-monitor"
    ds = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090" and source["isDefault"]
