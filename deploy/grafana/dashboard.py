"""The cascade-monitor Grafana dashboard, as code (standard library only).

``python deploy/grafana/dashboard.py`` rewrites ``deploy/grafana/dashboards/cascade-monitor.json``, the file
Grafana provisions. Edit the Python (this file, the rows in ``dashboard_rows_*.py``, the panel kinds in
``dashboard_widgets.py``), not the JSON: a test checks the JSON equals :func:`build` and that every
query names metrics the daemon exports (tests/deploy/).

Variables: ``datasource`` (a Prometheus data source), ``market`` (one or more markets) and ``asset`` (collateral
assets of the selected markets, for the collateral-at-risk panels, repeated per asset).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

UID = "cascade-monitor"
OUT = Path(__file__).resolve().parent / "dashboards" / "cascade-monitor.json"

# the sibling modules, also when this file is loaded by path (tests) rather than run as a script
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_rows_book import health_factors, overview, price_shocks  # noqa: E402
from dashboard_rows_ops import dex_and_oracle, monitor, system_and_lookahead  # noqa: E402
from dashboard_widgets import DS, Json, Layout, M  # noqa: E402


def panels() -> list[Json]:
    """Every panel, in reading order."""
    lay = Layout()
    for row in (overview, health_factors, price_shocks, dex_and_oracle, system_and_lookahead, monitor):
        row(lay)
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
