"""``cascade-monitor demo``: the main job on the built-in devnet, end to end, with one command."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from monitor.devnet.cache import start_cached
from monitor.devnet.liquidator import RoundReport, crash
from monitor.devnet.monitor_config import write_devnet_config
from monitor.devnet.population import PopulationSpec
from monitor.devnet.rpc import DevRpc
from monitor.devnet.summary import summary_text

HELP = "bring up the devnet with a borrower population and show the monitor's view of a crash"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    parser.add_argument("--borrowers", type=int, default=5_000, help="borrowers on the devnet (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="population seed (default 1)")
    parser.add_argument("--asset", default="WETH", help="asset of the scripted crash (default WETH)")
    parser.add_argument("--drop", type=float, default=0.25, help="crash size as a share (default 0.25)")


def run(args: argparse.Namespace) -> int:
    """Devnet up (cached after the first run), summary, scripted crash with liquidations, summary again."""
    t0 = time.monotonic()
    print(f"bringing up the devnet with {args.borrowers} borrowers (the first run builds a cache) ...", flush=True)
    node, dep = start_cached(PopulationSpec(borrowers=args.borrowers, seed=args.seed))
    try:
        with DevRpc(node.url) as rpc:
            cfg = write_devnet_config(Path("var/devnet/monitor.yaml"), node.url, dep)
            print(f"devnet ready in {time.monotonic() - t0:.1f} s at {node.url}; monitor config {cfg}\n")
            print(summary_text(rpc, dep))
            print(f"\nscripted crash: {args.asset} -{args.drop:.0%}, liquidator on ...", flush=True)

            def show(r: RoundReport) -> None:
                print(
                    f"  round {r.round}: {r.accounts_liquidated} accounts liquidated, ${r.debt_repaid_usd:,.0f} repaid"
                )

            report = crash(rpc, dep, args.asset, args.drop, liquidate=True, progress=show)
            final = report.final_prices_usd[report.symbol]
            print(
                f"{report.symbol}: ${report.oracle_price_before / 1e8:,.2f}"
                f" -> shock ${report.oracle_price_after_shock / 1e8:,.2f}"
                f" -> after the cascade ${final:,.2f}; ${report.debt_repaid_usd:,.0f} repaid in {len(report.rounds)}"
                f" rounds; bad debt ${report.bad_debt_usd:,.0f} ({report.bad_debt_accounts} accounts)\n"
            )
            print(summary_text(rpc, dep))
    finally:
        node.stop()
    return 0
