"""The cascade-monitor Grafana dashboard, as code (standard library only).

``python deploy/grafana/dashboard.py`` rewrites ``deploy/grafana/dashboards/cascade-monitor.json``, the file
Grafana provisions. Edit this file, not the JSON: a test checks the JSON equals :func:`build` and that every
query names metrics the daemon exports (tests/deploy/).

Variables: ``datasource`` (a Prometheus data source), ``market`` (one or more markets) and ``asset`` (collateral
assets of the selected markets, for the collateral-at-risk panels, repeated per asset).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

UID = "cascade-monitor"
OUT = Path(__file__).resolve().parent / "dashboards" / "cascade-monitor.json"
DS = {"type": "prometheus", "uid": "${datasource}"}
M = 'market=~"$market"'
J = 'job="cascade-monitor"'
WIDTH = 24

Json = dict[str, Any]


class Layout:
    """Places panels left to right in rows of 24 grid units, assigning ids in order."""

    def __init__(self) -> None:
        self.panels: list[Json] = []
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def row(self, title: str) -> None:
        """A full-width row header."""
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "id": self._id(),
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": self.y},
            }
        )
        self.y += 1

    def add(self, panel: Json, w: int, h: int = 8) -> None:
        """A panel ``w`` units wide; wraps to the next line when the row is full."""
        if self.x + w > WIDTH:
            self._newline()
        panel["id"] = self._id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def _newline(self) -> None:
        self.y += self.row_h
        self.x = 0
        self.row_h = 0

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> Json:
    """One Prometheus query of a panel."""
    return {"datasource": DS, "refId": ref, "expr": expr, "legendFormat": legend or "__auto", **extra}


def targets(*pairs: tuple[str, str]) -> list[Json]:
    """Several (expr, legend) queries with refIds A, B, ..."""
    return [target(e, legend, chr(ord("A") + i)) for i, (e, legend) in enumerate(pairs)]


def timeseries(title: str, tgts: list[Json], unit: str = "short", description: str = "", **options: Any) -> Json:
    """A time series panel."""
    custom = {"lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": False}
    custom.update(options.pop("custom", {}))
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
            **options,
        },
    }


def stat(
    title: str, tgts: list[Json], unit: str = "short", description: str = "", thresholds: Json | None = None
) -> Json:
    """A single-value panel (the newest value of each query)."""
    steps = thresholds or {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": steps, "color": {"mode": "thresholds"}},
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "area",
            "textMode": "value_and_name",
            "orientation": "auto",
            "justifyMode": "auto",
        },
    }


def table(title: str, tgts: list[Json], description: str = "", exclude: tuple[str, ...] = ("Time",)) -> Json:
    """A table of instant query results (one row per series)."""
    return {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": tgts,
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"]}},
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": dict.fromkeys(exclude, True)}},
        ],
    }


def rate(metric: str, selector: str = M) -> str:
    """``rate`` of a counter over Grafana's rate interval."""
    return f"rate({metric}{{{selector}}}[$__rate_interval])"


def latency_quantile(q: float) -> str:
    """A quantile of the block-processing histogram, per market."""
    return f"histogram_quantile({q}, sum by (le, market) ({rate('cascade_monitor_block_processing_seconds_bucket')}))"


def red_above(level: float) -> Json:
    """Thresholds: green, red from ``level``."""
    return {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": level}]}


def panels() -> list[Json]:
    """Every panel, in reading order."""
    lay = Layout()

    lay.row("Overview")
    lay.add(
        stat(
            "Debt",
            [target(f"sum by (market) (cascade_monitor_debt_usd{{{M}}})", "{{market}}")],
            "currencyUSD",
            "Debt of all accounts.",
        ),
        4,
        4,
    )
    lay.add(
        stat(
            "Collateral",
            [target(f"sum by (market) (cascade_monitor_collateral_usd{{{M}}})", "{{market}}")],
            "currencyUSD",
            "Collateral of all accounts.",
        ),
        4,
        4,
    )
    lay.add(
        stat(
            "Accounts with debt",
            [target(f"sum by (market) (cascade_monitor_accounts_with_debt{{{M}}})", "{{market}}")],
            description="Accounts with debt (of all accounts known to the market).",
        ),
        4,
        4,
    )
    lay.add(
        stat(
            "Liquidatable debt",
            [target(f"sum by (market) (cascade_monitor_liquidatable_debt_usd{{{M}}})", "{{market}}")],
            "currencyUSD",
            "Debt of accounts with health factor < 1 now.",
            red_above(1e6),
        ),
        4,
        4,
    )
    lay.add(
        stat(
            "Liquidatable / toxic accounts",
            targets(
                (f"sum by (market) (cascade_monitor_liquidatable_accounts{{{M}}})", "{{market}} liquidatable"),
                (f"sum by (market) (cascade_monitor_toxic_accounts{{{M}}})", "{{market}} toxic"),
            ),
            description="Toxic: liquidation makes the account worse (LT x bonus > HF).",
        ),
        4,
        4,
    )
    lay.add(
        stat(
            "Monitor",
            targets(
                (f"sum(up{{{J}}})", "targets up"),
                (f"max by (market) (cascade_monitor_last_block{{{M}}})", "{{market}} block"),
            ),
            "none",
            "Monitor processes scraped, and the newest processed block.",
        ),
        4,
        4,
    )
    lay.add(
        table(
            "Active alerts (Prometheus)",
            [target('ALERTS{alertname=~"Cascade.+", alertstate="firing"}', format="table", instant=True)],
            "Cascade alerts firing in Prometheus (deploy/prometheus/rules).",
            ("Time", "Value", "__name__", "alertstate"),
        ),
        12,
        6,
    )
    lay.add(
        table(
            "Active alerts (monitor's own rules, MQTT)",
            [target(f"cascade_monitor_alerts_active{{{M}}} == 1", format="table", instant=True)],
            "Rules of the monitor config (`alerts.rules`) active now; these are the MQTT alerts.",
            ("Time", "Value", "__name__"),
        ),
        12,
        6,
    )

    lay.row("Health factors")
    lay.add(
        {
            "type": "heatmap",
            "title": "Health-factor distribution (accounts with debt)",
            "description": "Accounts with debt per health-factor bucket over time (bucket upper edges on the y axis).",
            "datasource": DS,
            "targets": [
                target(f"sum by (le) (cascade_monitor_health_factor_accounts{{{M}}})", "{{le}}", format="heatmap")
            ],
            "fieldConfig": {
                "defaults": {"custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False}}},
                "overrides": [],
            },
            "options": {
                "calculate": False,
                "cellGap": 1,
                "yAxis": {"axisPlacement": "left", "unit": "none"},
                "color": {
                    "mode": "scheme",
                    "scheme": "Oranges",
                    "steps": 64,
                    "exponent": 0.5,
                    "fill": "dark-orange",
                    "reverse": False,
                },
                "rowsFrame": {"layout": "auto"},
                "tooltip": {"show": True, "yHistogram": True},
                "legend": {"show": True},
                "exemplars": {"color": "rgba(255,0,255,0.7)"},
            },
        },
        12,
        9,
    )
    lay.add(
        timeseries(
            "Debt below health-factor levels",
            [
                target(
                    f'sum by (le) (cascade_monitor_health_factor_debt_usd{{{M}, le=~"1|1.05|1.1|1.25|1.5"}})',
                    "HF < {{le}}",
                )
            ],
            "currencyUSD",
            "Debt of accounts whose health factor is below each level.",
        ),
        12,
        9,
    )
    lay.add(
        timeseries(
            "Liquidatable debt",
            targets((f"cascade_monitor_liquidatable_debt_usd{{{M}}}", "{{market}}")),
            "currencyUSD",
            "Debt of accounts with health factor < 1 now.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "Liquidatable and toxic accounts",
            targets(
                (f"cascade_monitor_liquidatable_accounts{{{M}}}", "{{market}} liquidatable"),
                (f"cascade_monitor_toxic_accounts{{{M}}}", "{{market}} toxic"),
            ),
            description="Toxic: LT x bonus > HF, each liquidation worsens the account.",
        ),
        8,
    )
    lay.add(
        table(
            "Riskiest accounts",
            targets(
                (f"cascade_monitor_top_account_health_factor{{{M}}}", "health factor"),
                (f"cascade_monitor_top_account_debt_usd{{{M}}}", "debt"),
            ),
            "The bounded top-N accounts by lowest health factor, with their debt (USD).",
            ("Time", "__name__", "job", "instance"),
        ),
        8,
    )
    for t in lay.panels[-1]["targets"]:
        t.update(format="table", instant=True)

    lay.row("Price shocks")
    risk = timeseries(
        "Collateral at risk by price drop: $asset",
        [target(f'cascade_monitor_collateral_at_risk_usd{{{M}, asset=~"$asset"}}', "{{market}} -{{drop}}")],
        "currencyUSD",
        "Collateral (current prices) of accounts that turn liquidatable if the asset alone drops by "
        "the share in the legend.",
    )
    risk.update(repeat="asset", repeatDirection="h", maxPerRow=3)
    lay.add(risk, 8)
    lay.add(
        timeseries(
            "Critical shock per asset",
            [target(f"cascade_monitor_critical_shock_ratio{{{M}}}", "{{market}} {{asset}}")],
            "percentunit",
            "Smallest initial drop of the asset whose projected cascade crosses the configured limits "
            "(gaps: none up to the sweep's maximum). Lower is more fragile.",
        ),
        12,
    )
    lay.add(
        timeseries(
            "Projected final drop per scenario",
            [target(f"cascade_monitor_scenario_final_drop_ratio{{{M}}}", "{{market}} {{scenario}}")],
            "percentunit",
            "Worst final price drop of the shocked assets after the cascade.",
        ),
        12,
    )
    lay.add(
        timeseries(
            "Amplification per scenario",
            [target(f"cascade_monitor_scenario_amplification_ratio{{{M}}}", "{{market}} {{scenario}}")],
            "none",
            "Final drop / initial shock: 1 means liquidations add no price impact.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "Projected bad debt per scenario",
            [target(f"cascade_monitor_scenario_bad_debt_usd{{{M}}}", "{{market}} {{scenario}}")],
            "currencyUSD",
            "Debt left without collateral at the end of the projected cascade.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "Reserve deficits: now and projected per scenario",
            targets(
                (f"cascade_monitor_reserve_deficit_usd{{{M}}}", "{{market}} {{asset}} now"),
                (f"cascade_monitor_scenario_deficit_usd{{{M}}}", "{{market}} {{scenario}} {{asset}} projected"),
            ),
            "currencyUSD",
            "Aave v3.3+: debt burned into each reserve's deficit when an account's collateral runs out "
            "(getReserveDeficit now; the new deficit each scenario's cascade would add).",
        ),
        8,
    )
    lay.add(
        timeseries(
            "Projected liquidations per scenario",
            targets(
                (f"cascade_monitor_scenario_debt_repaid_usd{{{M}}}", "{{market}} {{scenario}} repaid"),
                (f"cascade_monitor_scenario_accounts_liquidated{{{M}}}", "{{market}} {{scenario}} liquidations"),
            ),
            "currencyUSD",
            "Debt repaid by projected liquidations (USD, left) and liquidations (accounts x rounds, right).",
        ),
        8,
    )
    lay.panels[-1]["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byFrameRefID", "options": "B"},
            "properties": [{"id": "unit", "value": "short"}, {"id": "custom.axisPlacement", "value": "right"}],
        }
    ]

    lay.row("DEX and oracle")
    lay.add(
        timeseries(
            "DEX depth to move the price down",
            [target(f'cascade_monitor_dex_depth_usd{{{M}, direction="down"}}', "{{pair}} -{{move}}")],
            "currencyUSD",
            "USD of the base asset to sell into each pool to move its price down by "
            "the share in the legend: what liquidators selling collateral meet.",
        ),
        12,
    )
    lay.add(
        timeseries(
            "DEX depth to move the price up",
            [target(f'cascade_monitor_dex_depth_usd{{{M}, direction="up"}}', "{{pair}} +{{move}}")],
            "currencyUSD",
            "USD to buy from each pool to move its price up by the share.",
        ),
        12,
    )
    lay.add(
        timeseries(
            "Oracle / DEX deviation",
            [target(f"cascade_monitor_oracle_dex_deviation_ratio{{{M}}}", "{{market}} {{asset}}")],
            "percentunit",
            "Oracle price / price on the asset's deepest pool - 1.",
            custom={"thresholdsStyle": {"mode": "dashed"}},
        ),
        8,
    )
    lay.panels[-1]["fieldConfig"]["defaults"]["thresholds"] = {
        "mode": "absolute",
        "steps": [
            {"color": "green", "value": None},
            {"color": "orange", "value": 0.03},
            {"color": "red", "value": 0.1},
        ],
    }
    lay.add(
        timeseries(
            "Oracle prices",
            [target(f"cascade_monitor_oracle_price_usd{{{M}}}", "{{asset}}")],
            "currencyUSD",
            "Aave oracle price of each reserve.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "DEX prices",
            [target(f"cascade_monitor_dex_price_usd{{{M}}}", "{{pair}}")],
            "currencyUSD",
            "Spot price of each pool's base asset.",
        ),
        8,
    )

    lay.row("System and look-ahead")
    lay.add(
        timeseries(
            "System projected bad debt",
            [target("cascade_monitor_system_scenario_bad_debt_usd", "{{scenario}}")],
            "currencyUSD",
            "Each scenario projected on every market as one cascade into the shared pools (configs with several "
            "markets).",
        ),
        8,
    )
    lay.add(
        timeseries(
            "Contagion bad debt",
            [target(f"cascade_monitor_contagion_bad_debt_usd{{{M}}}", "{{market}} {{scenario}}")],
            "currencyUSD",
            "A market's projected bad debt in the system minus projected alone: what the other markets' sales add.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "Debt waiting for the next oracle update",
            [target(f"cascade_monitor_lookahead_liquidatable_debt_usd{{{M}}}", "{{market}}")],
            "currencyUSD",
            "Debt that turns liquidatable once the oracles take the prices the pools already show.",
        ),
        8,
    )

    lay.row("Monitor")
    lay.add(
        timeseries(
            "Data age",
            [target(f"cascade_monitor_data_age_seconds{{{M}}}", "{{market}}")],
            "s",
            "Seconds since the newest processed block was mined (alerts at 180 s and 900 s).",
        ),
        8,
    )
    lay.add(
        timeseries(
            "Block latency",
            targets(
                (
                    latency_quantile(0.5),
                    "{{market}} p50",
                ),
                (
                    latency_quantile(0.99),
                    "{{market}} p99",
                ),
                (f"cascade_monitor_last_block_processing_seconds{{{M}}}", "{{market}} newest block"),
            ),
            "s",
            "Block seen -> metrics updated.",
        ),
        8,
    )
    lay.add(
        {
            "type": "state-timeline",
            "title": "Market status",
            "description": "ok, errored (the last cycle failed), stale (data older than the limit), starting.",
            "datasource": DS,
            "targets": [target(f"cascade_monitor_market_status{{{M}}} == 1", "{{market}} {{status}}")],
            "fieldConfig": {"defaults": {"color": {"mode": "fixed", "fixedColor": "green"}}, "overrides": []},
            "options": {
                "showValue": "never",
                "mergeValues": True,
                "rowHeight": 0.8,
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
            },
        },
        8,
    )
    lay.add(
        timeseries(
            "Block cycles",
            targets(
                (
                    f"sum by (market) ({rate('cascade_monitor_market_cycles_total')})",
                    "{{market}} cycles",
                ),
                (
                    f"sum by (market) ({rate('cascade_monitor_market_cycle_errors_total')})",
                    "{{market}} failed",
                ),
            ),
            "ops",
            "Block cycles per second, and failed ones.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "RPC requests and errors",
            targets(
                (
                    f"sum by (method) ({rate('cascade_monitor_rpc_requests_total', J)})",
                    "{{method}}",
                ),
                (
                    f"sum by (kind) ({rate('cascade_monitor_rpc_errors_total', J)})",
                    "error: {{kind}}",
                ),
            ),
            "reqps",
            "JSON-RPC requests per second by method, and failed requests by kind.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "RPC retries and failovers",
            targets(
                (
                    f"sum by (endpoint) ({rate('cascade_monitor_rpc_retries_total', J)})",
                    "retries {{endpoint}}",
                ),
                (
                    f"sum({rate('cascade_monitor_rpc_failovers_total', J)})",
                    "failovers",
                ),
            ),
            "reqps",
            "Requests sent again, and requests moved to another endpoint.",
        ),
        8,
    )
    lay.add(
        timeseries(
            "MQTT alert publisher",
            targets(
                (f"cascade_monitor_mqtt_connected{{{J}}}", "connected {{instance}}"),
                (f"cascade_monitor_mqtt_outbox_messages{{{J}}}", "outbox {{instance}}"),
                (
                    rate("cascade_monitor_mqtt_published_total", J),
                    "published/s {{instance}}",
                ),
                (
                    rate("cascade_monitor_mqtt_dropped_total", J),
                    "dropped/s {{instance}}",
                ),
                (
                    f"increase(cascade_monitor_mqtt_reconnects_total{{{J}}}[$__rate_interval])",
                    "reconnects {{instance}}",
                ),
            ),
            description="Connection, queued alert messages, publish and drop rates, reconnections.",
        ),
        8,
    )
    lay.add(
        table(
            "Monitor builds",
            [target(f"cascade_monitor_build_info{{{J}}}", format="table", instant=True)],
            "Version and Python of each running monitor.",
            ("Time", "Value", "__name__"),
        ),
        8,
    )
    lay.add(
        timeseries(
            "Unpriced Morpho markets",
            [target(f"cascade_monitor_morpho_markets_unpriced{{{M}}}", "{{market}}")],
            "short",
            "Markets of a Morpho entry whose oracle or IRM fails (or prices 0): left out of the entry's figures "
            "until they answer again; /api/v1/status lists them with the reason (ticket after 15 minutes).",
        ),
        8,
    )
    return lay.panels


def variables() -> list[Json]:
    """Data source, market and asset variables."""
    market_q = "label_values(cascade_monitor_market_status, market)"
    asset_q = f"label_values(cascade_monitor_collateral_at_risk_usd{{{M}}}, asset)"
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        },
        {
            "name": "market",
            "label": "Market",
            "type": "query",
            "datasource": DS,
            "query": {"query": market_q, "refId": "market"},
            "definition": market_q,
            "multi": True,
            "includeAll": True,
            "current": {},
            "refresh": 2,
            "sort": 1,
            "hide": 0,
            "regex": "",
            "options": [],
        },
        {
            "name": "asset",
            "label": "Asset",
            "type": "query",
            "datasource": DS,
            "query": {"query": asset_q, "refId": "asset"},
            "definition": asset_q,
            "multi": True,
            "includeAll": True,
            "current": {},
            "refresh": 2,
            "sort": 1,
            "hide": 0,
            "regex": "",
            "options": [],
        },
    ]


def build() -> Json:
    """The whole dashboard model."""
    return {
        "uid": UID,
        "title": "cascade-monitor",
        "description": "Aave v3 market risk from cascade-monitor: health factors, price-shock projections, DEX "
        "depth, oracle deviation, and the monitor's own health.",
        "tags": ["cascade-monitor", "aave", "defi", "risk"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "links": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": variables()},
        "panels": panels(),
    }


def render() -> str:
    """The JSON text written to :data:`OUT`."""
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    """Write the dashboard JSON (``--check``: exit 1 if the file differs instead)."""
    text = render()
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from dashboard.py: run python deploy/grafana/dashboard.py")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
