"""Pure builders of the API's JSON documents from the store's immutable results (no I/O, no clock of their own).

Field names follow the CLI's ``--json`` output where the same figure exists (``snapshot``: ``edges``,
``counts``, ``debt_usd``, ``collateral_now_usd``; ``simulate``: ``rounds``, ``debt_repaid_usd``,
``bad_debt_usd``, ``oracle_prices_usd``, ``final_prices_usd``; ``sweep``: ``critical_shock``). Non-finite
numbers are written as null.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.alerts.model import AlertEvent
from monitor.daemon.result import MarketResult, MarketStatus
from monitor.daemon.store import AlertState
from monitor.daemon.system import SystemProjections
from monitor.risk import CascadeResult
from monitor.venues.offchain_file import OffchainFileStatus
from monitor.web.history import ShockPoint

JSON = dict[str, Any]
TOTALS = ("accounts", "accounts_with_debt", "collateral_usd", "debt_usd", "liquidatable_accounts",
          "liquidatable_debt_usd", "toxic_accounts", "lookahead_liquidatable_accounts",
          "lookahead_liquidatable_debt_usd")  # fmt: skip


def finite(x: float | None) -> float | None:
    """JSON has no NaN or infinity: those become null."""
    return None if x is None or not math.isfinite(x) else float(x)


def _head(r: MarketResult) -> JSON:
    return {"market": r.market, "block": r.block, "block_timestamp": r.block_timestamp}


UNPRICED_LISTED = 20  # unpriced lending markets listed in a market's status (their count is complete)


def market_status(st: MarketStatus, now: float) -> JSON:
    """One market's cycle status and headline figures (figures null before its first result); with lending
    markets left out of the figures (Morpho Blue: oracle or IRM reverts), ``unpriced_markets_total`` and up to
    :data:`UNPRICED_LISTED` of them in ``unpriced_markets`` (``market_id``, ``reason``); both null where the
    protocol has no such markets."""
    r = st.result
    doc: JSON = {"market": st.market, "status": st.status, "last_error": st.last_error,
                 "errors_total": st.errors_total, "cycles_total": st.cycles_total}  # fmt: skip
    doc |= {"block": None, "block_timestamp": None, "data_age_s": None, "processing_s": None}
    doc |= dict.fromkeys(TOTALS)
    if r is not None:
        doc |= _head(r) | {"data_age_s": r.data_age_s(now), "processing_s": r.processing_s}
        doc |= {k: finite(v) if isinstance(v, float) else v for k, v in ((k, getattr(r, k)) for k in TOTALS)}
    unpriced = None if r is None else r.unpriced_markets
    doc["unpriced_markets_total"] = None if unpriced is None else len(unpriced)
    doc["unpriced_markets"] = (
        None
        if unpriced is None
        else [{"market_id": mid, "reason": why} for mid, why in sorted(unpriced.items())[:UNPRICED_LISTED]]
    )
    return doc


def system(
    statuses: Mapping[str, MarketStatus],
    alerts: Sequence[AlertState],
    now: float,
    projections: SystemProjections | None = None,
    offchain: OffchainFileStatus | None = None,
) -> JSON:
    """The system view: every market's status, their totals summed, the firing alerts counted,
    ``projection``: the configured scenarios projected on every market as one cascade (null with one market or
    before the first block every market has a result of), and ``offchain_depth``: the off-chain depth file's
    status (null when no file is configured)."""
    markets = [market_status(st, now) for st in statuses.values()]
    results = [st.result for st in statuses.values() if st.result is not None]
    totals: JSON = {k: sum(getattr(r, k) for r in results) for k in TOTALS}
    return {
        "markets": markets,
        "totals": {k: finite(v) if isinstance(v, float) else v for k, v in totals.items()},
        "markets_reporting": len(results),
        "alerts_firing": sum(1 for a in alerts if a.active),
        "distribution": system_distribution(results),
        "projection": None if projections is None else system_projection(projections),
        "offchain_depth": None if offchain is None else offchain_depth(offchain),
    }


def offchain_depth(st: OffchainFileStatus) -> JSON:
    """The off-chain depth file: its name (no directories), whether its newest version is in use, why not, and its
    modification time (unix seconds; null when it cannot be found)."""
    return {"path": st.name, "ok": st.ok, "error": st.error, "mtime_seconds": st.mtime_seconds}


def system_projection(p: SystemProjections) -> JSON:
    """Per scenario the system's totals (time and dust included), each market's share (``markets``) and
    ``contagion`` (its figures in the system minus alone), in ``simulate --json``'s field names."""
    out = []
    for s in p.scenarios:
        markets = [{"name": f.name, "protocol": f.protocol, "accounts_liquidated": f.accounts_liquidated,
                    "debt_repaid_usd": finite(f.debt_repaid_usd), "bad_debt_usd": finite(f.bad_debt_usd),
                    "bad_debt_accounts": f.bad_debt_accounts, "dust_accounts": f.dust_accounts,
                    "dust_debt_usd": finite(f.dust_debt_usd)} for f in s.markets]  # fmt: skip
        contagion = {name: {"accounts_liquidated": c.accounts_liquidated,
                            "debt_repaid_usd": finite(c.debt_repaid_usd), "bad_debt_usd": finite(c.bad_debt_usd)}
                     for name, c in s.contagion.items()}  # fmt: skip
        out.append({"name": s.name, "shocks": dict(s.shocks), "accounts_liquidated": s.accounts_liquidated,
                    "debt_repaid_usd": finite(s.debt_repaid_usd), "bad_debt_usd": finite(s.bad_debt_usd),
                    "bad_debt_accounts": s.bad_debt_accounts, "duration_blocks": s.duration_blocks,
                    "duration_seconds": finite(s.duration_seconds),
                    "liquidated_first_minute_usd": finite(s.liquidated_first_minute_usd),
                    "liquidated_first_hour_usd": finite(s.liquidated_first_hour_usd),
                    "dust_accounts": s.dust_accounts, "dust_debt_usd": finite(s.dust_debt_usd),
                    "markets": markets, "contagion": contagion,
                    "buffers": {market: {unit: {k: finite(v) if isinstance(v, float) else v
                                                for k, v in c.to_json().items()} for unit, c in units.items()}
                                for market, units in s.buffers.items()}})  # fmt: skip
    return {"block": p.block, "markets": list(p.markets), "scenarios": out}


def _buckets(cumulative: Sequence[float], total: float) -> list[float]:
    out, prev = [], 0.0
    for c in (*cumulative, total):
        out.append(c - prev)
        prev = c
    return out


def distribution(r: MarketResult) -> JSON:
    """Accounts with debt and their debt per health-factor bucket: bucket 0 is ``hf < edges[0]``, bucket ``i``
    is ``edges[i-1] <= hf < edges[i]``, the last ``hf >= edges[-1]`` (as ``snapshot --json``)."""
    counts = [int(c) for c in _buckets(r.hf_counts_cumulative, r.accounts_with_debt)]
    debt = [finite(d) for d in _buckets(r.hf_debt_cumulative_usd, r.debt_usd)]
    return _head(r) | {"edges": list(r.hf_edges), "labels": bucket_labels(r.hf_edges), "counts": counts,
                       "debt_usd": debt, "accounts_with_debt": r.accounts_with_debt,
                       "liquidatable_accounts": r.liquidatable_accounts,
                       "liquidatable_debt_usd": finite(r.liquidatable_debt_usd)}  # fmt: skip


def system_distribution(results: Sequence[MarketResult]) -> JSON | None:
    """The markets' distributions summed, when they share their bucket edges (else null)."""
    if not results or len({r.hf_edges for r in results}) != 1:
        return None
    docs = [distribution(r) for r in results]
    edges = results[0].hf_edges
    return {"edges": list(edges), "labels": bucket_labels(edges),
            "counts": [sum(d["counts"][i] for d in docs) for i in range(len(edges) + 1)],
            "debt_usd": [sum(d["debt_usd"][i] or 0.0 for d in docs) for i in range(len(edges) + 1)]}  # fmt: skip


def bucket_labels(edges: Sequence[float]) -> list[str]:
    """``<1``, ``[1,1.05)``, ..., ``>=5`` (the CLI's labels)."""
    e = [f"{x:g}" for x in edges]
    return [f"<{e[0]}"] + [f"[{a},{b})" for a, b in itertools.pairwise(e)] + [f">={e[-1]}"]


def top_accounts(r: MarketResult) -> JSON:
    """The bounded top-N riskiest accounts, lowest health factor first."""
    rows = [{"rank": i, "address": a.address, "health_factor": finite(a.health_factor), "debt_usd": a.debt_usd,
             "collateral_usd": a.collateral_usd} for i, a in enumerate(r.top_accounts, start=1)]  # fmt: skip
    return _head(r) | {"accounts": rows}


def collateral_at_risk(r: MarketResult) -> JSON:
    """Per asset: collateral (current prices) of accounts that turn liquidatable if it alone drops by each level;
    a drop of 0 adds what is liquidatable now."""
    assets = []
    for symbol, curve in r.collateral_at_risk_usd.items():
        drops = sorted(curve)
        assets.append({"symbol": symbol, "drops": drops, "collateral_now_usd": [finite(curve[d]) for d in drops]})
    return _head(r) | {"assets": assets}


def scenarios(r: MarketResult) -> JSON:
    """Each configured scenario's projection and its cascade path, round by round (with each round's seconds
    after the shock)."""
    out = []
    for s in r.scenarios:
        path = [{"round": p.round, "seconds": finite(p.seconds), "accounts_liquidated": p.accounts_liquidated,
                 "debt_repaid_usd": finite(p.debt_repaid_usd), "bad_debt_usd": finite(p.bad_debt_usd),
                 "prices_usd": {a: finite(v) for a, v in p.prices_usd.items()}} for p in s.path]  # fmt: skip
        out.append({"name": s.name, "final_drop": finite(s.final_drop), "amplification": finite(s.amplification),
                    "debt_repaid_usd": finite(s.debt_repaid_usd), "bad_debt_usd": finite(s.bad_debt_usd),
                    "bad_debt_accounts": s.bad_debt_accounts, "rounds": s.rounds,
                    "accounts_liquidated": s.accounts_liquidated, "duration_seconds": finite(s.duration_seconds),
                    "liquidated_first_minute_usd": finite(s.liquidated_first_minute_usd),
                    "liquidated_first_hour_usd": finite(s.liquidated_first_hour_usd),
                    "dust_debt_usd": finite(s.dust_debt_usd), "path": path})  # fmt: skip
    return _head(r) | {"scenarios": out}


def critical_shocks(r: MarketResult, history: Sequence[ShockPoint]) -> JSON:
    """The newest critical shock per asset (null: none up to the sweep's maximum, or not swept yet) and its
    bounded history as columns (one point per block)."""
    assets = sorted({a for p in history for a in p.critical_shock} | set(r.critical_shocks))
    columns = {a: [finite(p.critical_shock.get(a)) for p in history] for a in assets}
    return _head(r) | {
        "critical_shock": {a: finite(v) for a, v in r.critical_shocks.items()},
        "history": {
            "block": [p.block for p in history],
            "timestamp": [p.timestamp for p in history],
            "critical_shock": columns,
        },
    }


def pools(r: MarketResult) -> JSON:
    """DEX depth per pool (USD to move its price by each level, down and up) and the oracle vs pool deviation."""
    rows = [{"address": p.address, "pair": p.pair, "base_symbol": p.base_symbol, "price_usd": finite(p.price_usd),
             "depth_down_usd": {f"{k:g}": finite(v) for k, v in p.depth_down_usd.items()},
             "depth_up_usd": {f"{k:g}": finite(v) for k, v in p.depth_up_usd.items()}} for p in r.pools]  # fmt: skip
    deviation = []
    for symbol, dev in r.oracle_dex_deviation.items():
        oracle = r.oracle_prices_usd.get(symbol)
        dex = None if oracle is None or not math.isfinite(dev) or dev <= -1 else oracle / (1.0 + dev)
        deviation.append({"symbol": symbol, "oracle_price_usd": finite(oracle), "dex_price_usd": finite(dex),
                          "deviation": finite(dev)})  # fmt: skip
    return _head(r) | {"pools": rows, "deviation": deviation}


def alerts(states: Sequence[AlertState], events: Sequence[AlertEvent]) -> JSON:
    """Every rule's state (firing ones as ``active``) and the alert events kept, newest first."""
    rows = [{"market": a.market, "rule": a.rule, "severity": a.severity, "active": a.active,
             "value": finite(a.value)} for a in states]  # fmt: skip
    return {"active": [a for a in rows if a["active"]], "rules": rows,
            "history": [e.to_dict() for e in reversed(events)]}  # fmt: skip


def what_if(market: str, block: int, symbol: str, drop: float, result: CascadeResult,
            symbols: Mapping[str, str]) -> JSON:  # fmt: skip
    """A what-if projection in ``simulate --json``'s fields (prices by token address), plus ``symbols``
    (address -> symbol), the drop asked and the final drop and amplification of the shocked asset."""
    address = next(a for a, s in symbols.items() if s == symbol)
    return {
        "block": block,
        "market": market,
        "asset": symbol,
        "drop": drop,
        "rounds": [
            {
                "round": r.round,
                "accounts_liquidated": r.accounts_liquidated,
                "debt_repaid_usd": r.debt_repaid_usd,
                "bad_debt_usd": r.bad_debt_usd,
                "oracle_prices_usd": dict(r.oracle_prices_usd),
            }
            for r in result.rounds
        ],
        "final_prices_usd": dict(result.final_prices_usd),
        "debt_repaid_usd": result.debt_repaid_usd,
        "bad_debt_usd": result.bad_debt_usd,
        "bad_debt_accounts": result.bad_debt_accounts,
        "accounts_liquidated": result.accounts_liquidated,
        "final_drop": finite(result.drop(address)),
        "amplification": finite(result.amplification.get(address)),
        "symbols": dict(symbols),
    }
