"""``cascade-monitor snapshot --config F [--block N] [--json]``: every account's exact health factor."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from monitor.chain.rpc import RpcClient
from monitor.config import MonitorConfig, load_config
from monitor.logs import protect_config
from monitor.snapshot import MarketSnapshot, load_snapshot

HELP = "read every account of each market at one block: exact health factors, distribution, riskiest"


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
    return snap.view.document(edges)


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
        print("\n\n".join(s.view.describe(edges, cfg.book.top_n) for s in snaps))
    return 0
