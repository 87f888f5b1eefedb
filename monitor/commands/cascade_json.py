"""The JSON shapes (and the time lines of the text report) ``simulate`` and ``sweep`` share between a market's
document and the system's."""

from __future__ import annotations

from typing import Any

from monitor.risk import CascadeResult, SweepResult


def rounds_json(result: CascadeResult) -> list[dict[str, Any]]:
    """The ``rounds`` of the ``--json`` document."""
    return [
        {
            "round": r.round,
            "accounts_liquidated": r.accounts_liquidated,
            "debt_repaid_usd": r.debt_repaid_usd,
            "oracle_prices_usd": dict(r.oracle_prices_usd),
            "block": r.block,
            "seconds": r.seconds,
            # split sales only: {asset symbol: {venue: tokens}} (absent when each asset has one pool)
            **({"sold_by_venue": {a: dict(v) for a, v in r.sold_by_venue.items()}} if r.sold_by_venue else {}),
        }
        for r in result.rounds
    ]


def time_json(result: CascadeResult) -> dict[str, Any]:
    """The time and dust fields of the ``--json`` document (top level)."""
    return {
        "duration_blocks": result.duration_blocks,
        "duration_seconds": result.duration_seconds,
        "liquidated_first_minute_usd": result.liquidated_first_minute_usd,
        "liquidated_first_hour_usd": result.liquidated_first_hour_usd,
        "dust_accounts": result.dust_accounts,
        "dust_debt_usd": result.dust_debt_usd,
        "dust_shortfall_usd": result.dust_shortfall_usd,
    }


def assets_json(result: SweepResult) -> list[dict[str, Any]]:
    """The ``assets`` of the ``--json`` document."""
    return [
        {
            "asset": a.asset,
            "symbol": a.symbol,
            "drops": list(a.drops),
            "final_drop": list(a.final_drop),
            "amplification": list(a.amplification),
            "debt_repaid_usd": list(a.debt_repaid_usd),
            "accounts_liquidated": list(a.accounts_liquidated),
            "bad_debt_usd": list(a.new_bad_debt_usd),
            "rounds": list(a.rounds),
            "projected": list(a.projected),  # false: interpolated between projected drops
            "critical_shock": a.critical_shock,
            "critical_reason": a.critical_reason,
        }
        for a in result.assets
    ]


def time_text(result: CascadeResult) -> list[str]:
    """How long the cascade takes, what it liquidates in its first minute and hour, and its dust."""
    lines = [
        f"  time: {result.duration_seconds:,.0f} s ({result.duration_blocks:,} blocks) to the last round; debt repaid "
        f"${result.liquidated_first_minute_usd:,.0f} in the first minute, ${result.liquidated_first_hour_usd:,.0f} "
        "in the first hour"
    ]
    if result.dust_accounts:
        lines.append(
            f"  dust: {result.dust_accounts:,} accounts liquidatable but not worth liquidating (gas, minimum profit), "
            f"${result.dust_debt_usd:,.0f} debt (${result.dust_shortfall_usd:,.0f} of it not covered by collateral)"
        )
    return lines
