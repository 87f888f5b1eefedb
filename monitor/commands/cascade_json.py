"""The JSON shapes ``simulate`` and ``sweep`` share between a market's document and the system's."""

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
            # split sales only: {asset symbol: {venue: tokens}} (absent when each asset has one pool)
            **({"sold_by_venue": {a: dict(v) for a, v in r.sold_by_venue.items()}} if r.sold_by_venue else {}),
        }
        for r in result.rounds
    ]


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
