"""System projection benchmark: N synthetic markets over the same 8 assets and pools, projected as one cascade
(:mod:`monitor.risk.system`) against the sum of the N single-market projections on the same pools.

Each market is the synthetic 8-asset table with its thresholds lowered by 2% per market index, its own accounts
(a seed per market) and alternately Aave v3.0 and v3.3 rules. Pools: one ladder pool per asset with ``N x accounts
/ 10,000`` times the devnet's TVL (the book-to-pool ratio of the devnet for the whole system). The system sells
every market's collateral into those pools, so it liquidates at least what the markets do alone: its cascade is
larger, and the goal (issue 14) is a cost of at most the sum of the single projections plus 20%. So that the
system is also compared with the same work done apart, each market is projected alone a second time on the
system's price path (its oracle prices set, round by round, to the system's instead of its own sales'): it then
liquidates its share of the system's accounts over the system's rounds (``same_path_*``).

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_system [--markets 3] [--accounts 50000] [--json]

Times are CPU times of this process. On a machine whose cores are busy, OpenBLAS's threads (which start above
about 500k elements per matrix-vector product) spin and multiply the CPU time of the larger combined table by up
to 20x; one BLAS thread makes the comparison fair.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.allocator_option import add_allocator_option, apply_allocator
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import CascadeBook, Limits, ModelParams, Projector, RiskInput, SweepSpec, Venue, sweep
from monitor.risk import synthetic as syn
from monitor.risk.market import RiskMarket
from monitor.risk.results import CascadeResult
from monitor.risk.rounds import Run
from monitor.risk.system import SystemMember, SystemProjector, SystemTable

F64 = NDArray[np.float64]

#: The goal: a system projection costs at most this times the sum of the single-market projections.
GOAL = 1.2
#: Shared pools (the system's sales move every market's prices), and no price impact (the seized collateral is
#: sold elsewhere: the system liquidates exactly what the markets do alone, so the ratio is the table's overhead).
REGIMES = {"shared pools": ModelParams(), "no price impact": ModelParams(dex_sell_share=0.0)}


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


def replaying(path: list[dict[int, float]]) -> type[Run]:
    """A round loop that, instead of selling, sets the oracle prices after round ``i`` to ``path[i]`` (slot:
    price): a market alone on the system's price path liquidates what it liquidates in the system."""

    class Replay(Run):
        def sell(self, received: F64) -> F64:
            at = len(self.rounds)  # the round being played (appended after its sales)
            for slot, price in (path[at] if at < len(path) else {}).items():
                self.prices[slot] = price
            return np.zeros(self.m.size)

    return Replay


def price_path(result: CascadeResult, market: RiskMarket) -> list[dict[int, float]]:
    """The oracle prices after every round of ``result`` in ``market``'s slots (the prices are integers in the
    price unit, so the USD figures give them back exactly once rounded)."""
    return [
        {market.slot[a]: float(round(usd * market.price_unit)) for a, usd in r.oracle_prices_usd.items() if a in
         market.slot}
        for r in result.rounds
    ]  # fmt: skip


def counting(projector: Projector) -> Projector:
    """``projector`` with its projections counted (``projector.project.count``, reset here)."""
    real = type(projector).project.__get__(projector)

    def project(scenario: Any) -> Any:
        project.count += 1  # type: ignore[attr-defined]
        return real(scenario)

    project.count = 0  # type: ignore[attr-defined]
    projector.project = project  # type: ignore[method-assign]
    return projector


def compare(
    system: SystemProjector, singles: list[Projector], replays: list[Projector], shock: dict[str, float], repeat: int
) -> dict[str, Any]:
    """One scenario on the system, on each market alone, and on each market alone on the system's price path
    (the same work as its share of the system: the fair comparison where the system's sales feed each other)."""
    t_sys, res = timed(lambda: system.projector.project(shock), repeat)
    times, alone = zip(*(timed(partial(p.project, shock), repeat) for p in singles), strict=True)
    for p in replays:
        p.run_type = replaying(price_path(res, p.market))  # type: ignore[misc]
    same, on_path = zip(*(timed(partial(p.project, shock), repeat) for p in replays), strict=True)
    liquidated = sum(r.accounts_liquidated for r in alone)
    return {
        "system_seconds": t_sys,
        "singles_seconds": sum(times),
        "ratio": t_sys / sum(times),
        "system_liquidated": res.accounts_liquidated,
        "singles_liquidated": liquidated,
        "system_rounds": len(res.rounds),
        "singles_rounds": [len(r.rounds) for r in alone],
        "system_us_per_liquidated": t_sys / max(res.accounts_liquidated, 1) * 1e6,
        "singles_us_per_liquidated": sum(times) / max(liquidated, 1) * 1e6,
        "same_path_singles_seconds": sum(same),
        "same_path_liquidated": sum(r.accounts_liquidated for r in on_path),
        "same_path_rounds": [len(r.rounds) for r in on_path],
        "same_path_ratio": t_sys / sum(same),
    }


def regime(table: SystemTable, venues: dict[str, Venue], params: ModelParams, repeat: int) -> dict[str, Any]:
    """A few WETH drops and a WETH sweep, system against the sum of the single markets."""
    system = SystemProjector(table, venues, params)
    singles = [Projector(m.risk.book, venues, params, model=m.risk.model) for m in table.members]
    replays = [Projector(m.risk.book, venues, params, model=m.risk.model) for m in table.members]
    out: dict[str, Any] = {"first WETH -20%": compare(system, singles, replays, {"WETH": -0.2}, 1)}
    for drop in (0.05, 0.1, 0.2, 0.5):
        out[f"WETH -{drop:.0%}"] = compare(system, singles, replays, {"WETH": -drop}, repeat)
    spec = SweepSpec(drops=tuple(i / 100 for i in range(1, 91)))
    t_sweep, swept = timed(lambda: sweep(counting(system.projector), ["WETH"], spec, Limits()))
    n_sweep = system.projector.project.count  # type: ignore[attr-defined]
    t_alone = [timed(partial(sweep, counting(p), ["WETH"], spec, Limits()))[0] for p in singles]
    counts = [p.project.count for p in singles]  # type: ignore[attr-defined]
    n_alone = sum(counts)
    out["sweep"] = {
        "system_seconds": t_sweep,
        "system_projections": n_sweep,
        "singles_projections": n_alone,
        # the refined sweep projects where each curve bends: the system's curves need not bend where the markets'
        # do, so the cost of one system projection is also compared with one projection of every market
        "per_projection_ratio": (t_sweep / max(n_sweep, 1))
        / sum(t / max(k, 1) for t, k in zip(t_alone, counts, strict=True)),
        "singles_seconds": sum(t_alone),
        "ratio": t_sweep / sum(t_alone),
        "system_critical_shock": swept.assets[0].critical_shock,
    }
    t_full, full = timed(lambda: system.project({"WETH": -0.2}))
    out["with_contagion_seconds"] = t_full
    out["contagion_liquidated"] = {k: v.accounts_liquidated for k, v in full.contagion.items()}
    return out


def measure(count: int, accounts: int, repeat: int) -> dict[str, Any]:
    """Every figure of the benchmark, as a dict (one entry per regime)."""
    mem = members(count, accounts)
    venues = syn.venues(mem[0].risk.book.market, tvl_scale=count * accounts / 10_000)
    t_table, table = timed(lambda: SystemTable(mem))
    out: dict[str, Any] = {"markets": count, "accounts_per_market": accounts, "table_seconds": t_table}
    for name, params in REGIMES.items():
        out[name] = regime(table, venues, params, repeat)
    return out


def main() -> None:
    """Measure and print a Markdown table (or ``--json``)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=3)
    ap.add_argument("--accounts", type=int, default=50_000, help="accounts per market")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    add_allocator_option(ap)
    args = ap.parse_args()
    tuned = apply_allocator(args)
    res = measure(args.markets, args.accounts, args.repeat)
    res["allocator_tuned"] = tuned
    if args.json:
        print(json.dumps(res))
        return
    n, a = args.markets, args.accounts
    command = f"OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks.bench_system --markets {n} --accounts {a}"
    print(f"## System projection (`{command}`)")
    print()
    machine = f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}"
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"{machine}; CPU time, best of {args.repeat}; OPENBLAS_NUM_THREADS={blas}.")
    print()
    print("| measure | system | sum of the single markets | ratio (goal <= 1.2) |")
    print("|---|---|---|---|")
    print(f"| combined table ({n} x {a:,} accounts) | {res['table_seconds'] * 1e3:,.0f} ms | | |")
    for name in REGIMES:
        part = res[name]
        for key, r in part.items():
            if not key.startswith(("first", "WETH")):
                continue
            what = (f"{name}: {key} ({r['system_liquidated']:,} vs {r['singles_liquidated']:,} liquidated; "
                    f"{r['system_rounds']} vs {r['singles_rounds']} rounds)")  # fmt: skip
            ok = "" if r["ratio"] <= GOAL else " **over**"
            print(f"| {what} | {r['system_seconds'] * 1e3:,.0f} ms | {r['singles_seconds'] * 1e3:,.0f} ms | "
                  f"{r['ratio']:.2f}{ok} |")  # fmt: skip
            ok = "" if r["same_path_ratio"] <= GOAL else " **over**"
            print(f"| {name}: {key}, the markets alone on the system's price path ({r['same_path_liquidated']:,} "
                  f"liquidated; {r['same_path_rounds']} rounds) | {r['system_seconds'] * 1e3:,.0f} ms | "
                  f"{r['same_path_singles_seconds'] * 1e3:,.0f} ms | {r['same_path_ratio']:.2f}{ok} |")  # fmt: skip
        s = part["sweep"]
        ok = "" if s["ratio"] <= GOAL else " **over**"
        crit = s["system_critical_shock"]
        print(f"| {name}: sweep of WETH, 90 drops + critical shock (system's: "
              f"{'none' if crit is None else f'{crit:.1%}'}) | {s['system_seconds']:,.1f} s | "
              f"{s['singles_seconds']:,.1f} s | {s['ratio']:.2f}{ok} |")  # fmt: skip
        ok = "" if s["per_projection_ratio"] <= GOAL else " **over**"
        print(f"| {name}: the same sweeps, one system projection against one of every market "
              f"({s['system_projections']} vs {s['singles_projections']} projections) | | | "
              f"{s['per_projection_ratio']:.2f}{ok} |")  # fmt: skip
        contagion = sum(part["contagion_liquidated"].values())
        print(f"| {name}: system and each market alone (contagion: {contagion:,} accounts), WETH -20% | "
              f"{part['with_contagion_seconds'] * 1e3:,.0f} ms | | |")  # fmt: skip


if __name__ == "__main__":
    main()
