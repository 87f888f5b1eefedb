"""Split sales: what a projection costs when every asset sells into all its venues, next to one pool per asset.

Synthetic 8-asset market (monitor.risk.synthetic), one ladder pool per asset against USDC as in bench_cascade,
plus a second WETH/USDC fee tier (0.3%, a quarter of the main pool's TVL) and a WBTC/WETH pool (a two-hop route
for both); three venue setups on the same book: ``single`` (choose_venues), ``split`` (gather_venues with
split=True) and ``split_offchain`` (plus an off-chain depth curve for WETH). CPU time per projection
(time.process_time, best of ``--repeat``) for a few WETH shocks, and each setup's outcome at -20%.

Run: .venv/bin/python -m benchmarks.bench_split [--accounts 100000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

from benchmarks.allocator_option import add_allocator_option, apply_allocator
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import OffchainCurve, Projector, choose_venues, gather_venues
from monitor.risk import synthetic as syn

SHOCKS = (-0.1, -0.2, -0.3)
OFFCHAIN = OffchainCurve.from_levels({"0.01": 20e6, "0.02": 45e6, "0.05": 120e6, "0.10": 250e6})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    add_allocator_option(ap)
    args = ap.parse_args()
    tuned = apply_allocator(args)
    market = syn.risk_market()
    book = syn.book(syn.Population(args.accounts, seed=5), market=market)
    scale = args.accounts / 10_000
    pools = [v.pool for v in syn.venues(market, tvl_scale=scale).values()]
    weth, wbtc, usdc = (market.resolve(s) for s in ("WETH", "WBTC", "USDC"))
    pools.append(syn.ladder_pool(weth, usdc, 18, 6, 3000.0, 150e6 * scale, 3000))
    pools.append(syn.ladder_pool(wbtc, weth, 8, 18, 20.0, 100e6 * scale, 500))
    setups = {
        "single": choose_venues(market, pools),
        "split": gather_venues(market, pools, split=True),
        "split_offchain": gather_venues(market, pools, offchain={"WETH": OFFCHAIN}),
    }
    figures: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": os.getloadavg()[0],
        "accounts": args.accounts,
    }
    for name, venues in setups.items():
        projector = Projector(book, venues, model=AaveV3Liquidation("v3.0"))
        projector.project({"WETH": -0.2})  # first use pays for the shared sums
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.process_time()
            for shock in SHOCKS:
                projector.project({"WETH": shock})
            best = min(best, (time.process_time() - t0) / len(SHOCKS))
        r = projector.project({"WETH": -0.2})
        figures[name] = {
            "cpu_ms_per_projection": round(best * 1e3, 2),
            "rounds": len(r.rounds),
            "accounts_liquidated": r.accounts_liquidated,
            "final_drop": round(r.drop(weth), 6),
        }
    figures["allocator_tuned"] = tuned
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{args.accounts:,} accounts, load {figures['load_average']:.1f}, {figures['machine']}")
    for name in setups:
        f = figures[name]
        print(f"  {name:15s} {f['cpu_ms_per_projection']:8.2f} ms CPU/projection   WETH -20%: {f['rounds']} rounds, "
              f"{f['accounts_liquidated']:,} liquidated, final drop {f['final_drop']:.2%}")  # fmt: skip


if __name__ == "__main__":
    main()
