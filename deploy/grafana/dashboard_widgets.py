"""Building blocks of the dashboard: the grid layout, panel kinds and query helpers (standard library only)."""

from __future__ import annotations

from typing import Any

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
