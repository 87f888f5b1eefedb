"""The dashboard's rows about the lending book: overview, health factors, price shocks."""

from __future__ import annotations

from dashboard_widgets import (
    DS,
    J,
    Layout,
    M,
    red_above,
    stat,
    table,
    target,
    targets,
    timeseries,
)


def overview(lay: Layout) -> None:
    """Overview: debt, collateral, liquidatable debt, projections at a glance."""
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


def health_factors(lay: Layout) -> None:
    """Health factors: the distribution, debt below each level, the riskiest accounts."""
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


def price_shocks(lay: Layout) -> None:
    """Price shocks: collateral at risk per drop, scenario projections and critical shocks."""
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
