"""``cascade-monitor snapshot --config F [--block N] [--json]``: every account's exact health factor."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from typing import Any

from monitor.chain.rpc import RpcClient
from monitor.config import MonitorConfig, load_config
from monitor.logs import protect_config
from monitor.protocols.aave_v3.book import Book
from monitor.snapshot import MarketSnapshot, load_snapshot

HELP = "read every account of each market at one block: exact health factors, distribution, riskiest"
WAD = 10**18


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--config", required=True, help="path of the YAML config file")
    parser.add_argument("--block", type=int, default=None, help="block number (default: newest safe block)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")


def _progress_bar(done: int, first: int, last: int) -> None:
    if not sys.stderr.isatty():
        return
    total = max(last - first + 1, 1)
    share = min(max(done - first + 1, 0) / total, 1.0)
    bar = "#" * int(30 * share)
    sys.stderr.write(f"\r  backfill [{bar:<30}] block {done:,} / {last:,} ({share:.0%})")
    if done >= last:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _collect(cfg: MonitorConfig, block: int | None) -> list[MarketSnapshot]:
    async with RpcClient(cfg.chain) as rpc:
        return [await load_snapshot(rpc, cfg, m, block, _progress_bar) for m in cfg.markets]


def market_document(snap: MarketSnapshot, edges: list[float]) -> dict[str, Any]:
    """The JSON document of one market (accounts with debt, distribution, collateral at risk)."""
    book = snap.book
    hfs = book.health_factors_wad()
    coll, debt = book.collateral_usd(), book.debt_usd()
    accounts = [
        {"address": a, "health_factor_wad": str(hfs[i]), "collateral_usd": float(coll[i]), "debt_usd": float(debt[i])}
        for i, a in enumerate(book.addresses)
        if debt[i] > 0
    ]
    dist = book.distribution(edges)
    at_risk = {}
    for r in book.market.reserves:
        car = book.collateral_at_risk(r.asset)
        at_risk[r.asset] = {
            "symbol": r.symbol,
            "drops": list(car.drops),
            "accounts": list(car.accounts),
            "collateral_usd": list(car.collateral_usd),
            "collateral_now_usd": list(car.collateral_now_usd),
            "debt_usd": list(car.debt_usd),
        }
    return {
        "name": snap.config.name,
        "protocol": snap.config.protocol,
        "accounts": accounts,
        "distribution": {
            "edges": list(dist.edges),
            "counts": list(dist.counts),
            "debt_usd": list(dist.debt_usd),
            "collateral_usd": list(dist.collateral_usd),
            "accounts_without_debt": dist.accounts_without_debt,
        },
        "collateral_at_risk": at_risk,
    }


def _text(snap: MarketSnapshot, edges: list[float], top: int) -> str:
    book: Book = snap.book
    debt = book.debt_usd()
    with_debt = int((debt > 0).sum())
    liq = book.liquidatable_debt()
    lines = [
        f"{snap.config.name} ({snap.config.protocol}) at block {snap.block}: {len(book):,} accounts, "
        f"{with_debt:,} with debt",
        f"  collateral ${book.collateral_usd().sum():,.0f}   debt ${debt.sum():,.0f}   "
        f"liquidatable now: {liq.accounts:,} accounts, ${liq.debt_usd:,.0f} debt",
        "  health factor distribution:",
    ]
    dist = book.distribution(edges)
    lows = [0.0, *dist.edges]
    highs = [*dist.edges, math.inf]
    biggest = max(dist.counts) if dist.counts else 1
    for lo, hi, n, d in zip(lows, highs, dist.counts, dist.debt_usd, strict=False):
        label = f"[{lo:.2f}, {hi:.2f})" if hi != math.inf else f">= {lo:.2f}"
        lines.append(f"    {label:>14} {n:7,d} accts  ${d:>15,.0f}  {'#' * (30 * n // max(biggest, 1))}")
    lines.append(f"  riskiest {top}:")
    for r in book.riskiest(top):
        lines.append(
            f"    {r.address}  HF {r.health_factor:8.4f}  collateral ${r.collateral_usd:>13,.0f}  "
            f"debt ${r.debt_usd:>13,.0f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Read, then print text or JSON."""
    cfg = load_config(args.config)
    protect_config(cfg)
    snaps = asyncio.run(_collect(cfg, args.block))
    edges = list(cfg.book.hf_buckets)
    if args.json:
        doc = {"block": snaps[0].block, "markets": [market_document(s, edges) for s in snaps]}
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
    else:
        print("\n\n".join(_text(s, edges, cfg.book.top_n) for s in snaps))
    return 0
