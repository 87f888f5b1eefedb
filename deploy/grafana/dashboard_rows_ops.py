"""The dashboard's rows about venues, the system and the monitor itself."""

from __future__ import annotations

from dashboard_widgets import (
    DS,
    J,
    Layout,
    M,
    latency_quantile,
    rate,
    table,
    target,
    targets,
    timeseries,
)


def dex_and_oracle(lay: Layout) -> None:
    """DEX and oracle: pool depth and prices, oracle against DEX."""
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


def system_and_lookahead(lay: Layout) -> None:
    """System and look-ahead: the cascade across markets, debt waiting for the next oracle update."""
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


def monitor(lay: Layout) -> None:
    """Monitor: the daemon's own health (freshness, cycles, RPC, unpriced markets)."""
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
