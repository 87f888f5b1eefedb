"""System projection benchmark: N synthetic markets over the same 8 assets and pools, projected as one cascade
(:mod:`monitor.risk.system`) against the sum of the N single-market projections on the same pools.

Each market is the synthetic 8-asset table with its thresholds lowered by 2% per market index, its own accounts
(a seed per market) and alternately Aave v3.0 and v3.3 rules. Pools: one ladder pool per asset with ``N x accounts
/ 10,000`` times the devnet's TVL (the book-to-pool ratio of the devnet for the whole system). The system sells
every market's collateral into those pools, so it liquidates at least what the markets do alone: its cascade is
larger, and the goal (issue 14) is a cost of at most the sum of the single projections plus 20%.

Run: .venv/bin/python -m benchmarks.bench_system [--markets 3] [--accounts 100000] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import CascadeBook, Limits, ModelParams, Projector, RiskInput, SweepSpec, sweep
from monitor.risk import synthetic as syn
from monitor.risk.system import SystemMember, SystemProjector, SystemTable

#: The goal: a system projection costs at most this times the sum of the single-market projections.
GOAL = 1.2


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best CPU time (this process) of ``repeat`` calls, and the last result: the machine is shared, and CPU
    time is what a projection costs whatever else runs."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def members(count: int, accounts: int) -> list[SystemMember]:
    """``count`` synthetic markets of ``accounts`` accounts each (module docstring)."""
    out = []
    for i in range(count):
        specs = [dataclasses.replace(a, lt=a.lt - 200 * i) for a in syn.ASSETS]
        market = syn.risk_market(specs)
        book: CascadeBook = syn.book(syn.Population(accounts, seed=1 + i), specs, market)
        model = AaveV3Liquidation("v3.0" if i % 2 == 0 else "v3.3")
        out.append(SystemMember(f"market-{i}", "aave-v3", RiskInput(book, model)))
    return out


def measure(count: int, accounts: int, repeat: int) -> dict[str, Any]:
    """Every figure of the benchmark, as a dict."""
    mem = members(count, accounts)
    venues = syn.venues(mem[0].risk.book.market, tvl_scale=count * accounts / 10_000)
    t_table, table = timed(lambda: SystemTable(mem))
    system = SystemProjector(table, venues, ModelParams())
    singles = [Projector(m.risk.book, venues, ModelParams(), model=m.risk.model) for m in mem]
    out: dict[str, Any] = {"markets": count, "accounts_per_market": accounts, "table_seconds": t_table}

    def both(shock: dict[str, float], rep: int) -> dict[str, Any]:
        t_sys, res = timed(lambda: system.projector.project(shock), rep)
        times, alone = zip(*(timed(lambda p=p: p.project(shock), rep) for p in singles), strict=True)
        return {
            "system_seconds": t_sys,
            "singles_seconds": sum(times),
            "ratio": t_sys / sum(times),
            "system_liquidated": res.accounts_liquidated,
            "singles_liquidated": sum(r.accounts_liquidated for r in alone),
            "system_rounds": len(res.rounds),
            "singles_rounds": [len(r.rounds) for r in alone],
        }

    out["first_weth_-20%"] = both({"WETH": -0.2}, 1)
    for drop in (0.05, 0.1, 0.2, 0.5):
        out[f"weth_-{drop:.0%}"] = both({"WETH": -drop}, repeat)
    t_full, full = timed(lambda: system.project({"WETH": -0.2}), 1)
    out["with_contagion_seconds"] = t_full
    out["contagion_liquidated"] = {k: v.accounts_liquidated for k, v in full.contagion.items()}
    spec = SweepSpec(drops=tuple(i / 100 for i in range(1, 91)))
    t_sweep, swept = timed(lambda: sweep(system.projector, ["WETH"], spec, Limits()))
    t_alone = [timed(lambda p=p: sweep(p, ["WETH"], spec, Limits()))[0] for p in singles]
    crit = swept.assets[0].critical_shock
    out["sweep_weth"] = {
        "system_seconds": t_sweep,
        "singles_seconds": sum(t_alone),
        "ratio": t_sweep / sum(t_alone),
        "system_critical_shock": crit,
    }
    return out


def main() -> None:
    """Measure and print a Markdown table (or ``--json``)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=3)
    ap.add_argument("--accounts", type=int, default=100_000, help="accounts per market")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = measure(args.markets, args.accounts, args.repeat)
    if args.json:
        print(json.dumps(res))
        return
    n, a = args.markets, args.accounts
    print(f"## System projection (`.venv/bin/python -m benchmarks.bench_system --markets {n} --accounts {a}`)")
    print()
    machine = f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}"
    print(f"{machine}; CPU time, best of {args.repeat}.")
    print()
    print("| measure | system | sum of the single markets | ratio (goal <= 1.2) |")
    print("|---|---|---|---|")
    print(f"| combined table ({n} x {a:,} accounts) | {res['table_seconds'] * 1e3:,.0f} ms | | |")
    for key in ("first_weth_-20%", "weth_-5%", "weth_-10%", "weth_-20%", "weth_-50%"):
        r = res[key]
        what = (f"{key.replace('_', ' ')} ({r['system_liquidated']:,} vs {r['singles_liquidated']:,} liquidated; "
                f"{r['system_rounds']} vs {r['singles_rounds']} rounds)")  # fmt: skip
        ok = "" if r["ratio"] <= GOAL else " **missed**"
        print(f"| {what} | {r['system_seconds'] * 1e3:,.0f} ms | {r['singles_seconds'] * 1e3:,.0f} ms | "
              f"{r['ratio']:.2f}{ok} |")  # fmt: skip
    s = res["sweep_weth"]
    ok = "" if s["ratio"] <= GOAL else " **missed**"
    print(f"| sweep of WETH, 90 drops + critical shock (system: {s['system_critical_shock']}) | "
          f"{s['system_seconds']:,.1f} s | {s['singles_seconds']:,.1f} s | {s['ratio']:.2f}{ok} |")  # fmt: skip
    print(f"| system + each market alone (contagion), WETH -20% | {res['with_contagion_seconds'] * 1e3:,.0f} ms | | |")


if __name__ == "__main__":
    main()
