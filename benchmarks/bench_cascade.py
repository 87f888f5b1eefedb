"""Cascade engine benchmarks: one projection and a full sweep (90 drops x every collateral asset, with the
critical-shock search) on 1,000,000 synthetic accounts over 8 assets, side by side with the per-account Python
loop of the same model (monitor.protocols.aave_v3.cascade_loop), which is run on a subsample and extrapolated
linearly (it recomputes every account every round, so its cost is proportional to accounts x rounds). Memory: the book's
arrays, the engine's peak traced allocations, and the process's peak RSS.

Run: .venv/bin/python -m benchmarks.bench_cascade [--accounts 1000000] [--population devnet|calm] [--loop-sample 5000]
     [--skip-sweep | --sweep-assets WETH ...] [--exhaustive-sweep] [--sweep-workers N] [--default-allocator] [--json]
``--json`` prints one JSON document of the figures (names carry their units) on stdout instead of the table.
Projections are timed in wall time (``projection_ms``) and CPU time of the process (``projection_cpu_ms``, the
figure to compare on a shared machine), best of 3, on a projector whose accounts are arranged
(``Projector.arrange``, as a projector's are by default; its cost in ``arrange_ms`` / ``arrange_cpu_ms``); the
same WETH -20% projection before arranging in ``projection_given_order_ms`` / ``_cpu_ms`` (as the daemon's block
path runs it); the first projection on the book, not arranged, in ``projection_first_ms`` /
``projection_first_cpu_ms``; the look-ahead in ``lookahead_ms`` / ``lookahead_cpu_ms``.
The allocator's thresholds are set as the product sets them (``monitor.allocator``; ``allocator_tuned``) unless
``--default-allocator`` keeps glibc's defaults (the baseline to compare with).

Populations (monitor.risk.synthetic.Population): ``devnet`` is the devnet's mix (20% of accounts in a cluster at
HF 1.003-1.08, lognormal body, median 1.7, clipped at 1.1); ``calm`` has 3% in the cluster and a wider body
(median 1.9, sigma 0.45, clipped at 1.02). Pools: one ladder pool per asset with ``accounts / 10,000`` times the
devnet's TVL (so the book-to-pool ratio is the devnet's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks.allocator_option import add_allocator_option, apply_allocator
from monitor.protocols.aave_v3.cascade_loop import run_loop
from monitor.protocols.aave_v3.liquidation_model import AaveV3Liquidation
from monitor.risk import Limits, ModelParams, Projector, SweepSpec, sweep
from monitor.risk import synthetic as syn
from monitor.risk.oracles import look_ahead

SHOCK = {"WETH": -0.2}


def population(kind: str, accounts: int, seed: int = 1) -> syn.Population:
    """The benchmark's account mix."""
    if kind == "devnet":
        return syn.Population(accounts, seed=seed)
    return syn.Population(accounts, seed=seed, hf_median=1.9, hf_sigma=0.45, hf_min=1.02, cluster_share=0.03,
                          cluster=(1.01, 1.10))  # fmt: skip


#: Best CPU time (this process) of the last :func:`timed` calls: on a shared machine the comparable figure.
LAST_CPU_S = [0.0]


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result (best CPU time in ``LAST_CPU_S[0]``)."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    LAST_CPU_S[0] = best_cpu
    return best, out


def traced_peak(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated (numpy included) while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, out


def cpu_s() -> float:
    """CPU seconds of this process (all its threads) and of its finished child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def mib(n: float) -> str:
    """Bytes as MiB."""
    return f"{n / 2**20:,.0f} MiB"


def main() -> None:
    """Measure and print a Markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--population", choices=("devnet", "calm"), default="devnet")
    ap.add_argument("--loop-sample", type=int, default=5_000)
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--sweep-assets", nargs="+", default=None, help="sweep only these assets (default: all)")
    ap.add_argument("--json", action="store_true", help="print one JSON document of the figures")
    add_allocator_option(ap)
    ap.add_argument("--exhaustive-sweep", action="store_true", help="also time the reference sweep (every step)")
    ap.add_argument("--sweep-workers", type=int, default=1, help="processes the sweeps spread the assets over")
    args = ap.parse_args()
    tuned = apply_allocator(args)
    n, kind = args.accounts, args.population
    rows: list[tuple[str, str, str]] = []
    fig: dict[str, Any] = {
        "accounts": n,
        "population": kind,
        "projection_ms": {},
        "sweep_s": None,
        "allocator_tuned": tuned,
    }

    t_book, book = timed(lambda: syn.book(population(kind, n)))
    venues = syn.venues(book.market, tvl_scale=n / 10_000)
    rows.append((f"synthetic book: {n:,} accounts x {book.market.size} reserves (generation)", f"{t_book:.2f} s", ""))
    rows.append(("book arrays (collateral + debt, float64)", mib(book.collateral.nbytes + book.debt.nbytes), ""))

    # arranged below, once the first projection and the given order are measured
    proj = Projector(book, venues, ModelParams(), model=AaveV3Liquidation(), arrange=False)
    t_cold, _ = timed(lambda: proj.project(SHOCK))
    cpu_cold = LAST_CPU_S[0]
    t_given, _ = timed(lambda: proj.project(SHOCK), repeat=3)
    cpu_given = LAST_CPU_S[0]
    t_arrange, _ = timed(proj.arrange)
    cpu_arrange = LAST_CPU_S[0]
    t_warm, res = timed(lambda: proj.project(SHOCK), repeat=3)
    cpu_warm = LAST_CPU_S[0]  # kept: the look-ahead's timing below overwrites LAST_CPU_S
    weth = book.market.resolve("WETH")
    what = (f"{res.accounts_liquidated:,} accounts liquidated in {len(res.rounds)} rounds, WETH final "
            f"{-res.drop(weth):+.1%}")  # fmt: skip
    rows.append((f"one projection, WETH -20%, first on the book ({what})", f"{t_cold * 1e3:,.0f} ms", "< 100 ms"))
    rows.append(("one projection, WETH -20%, repeated, accounts in the given order",
                 f"{t_given * 1e3:,.0f} ms (CPU {cpu_given * 1e3:,.0f} ms)", ""))  # fmt: skip
    rows.append(("arranging the accounts (Projector.arrange: sort and copy of the book, once)",
                 f"{t_arrange * 1e3:,.0f} ms (CPU {cpu_arrange * 1e3:,.0f} ms)", ""))  # fmt: skip
    rows.append(("one projection, WETH -20%, repeated on the arranged projector",
                 f"{t_warm * 1e3:,.0f} ms (CPU {cpu_warm * 1e3:,.0f} ms)", "< 100 ms"))  # fmt: skip
    fig.update(book_s=t_book, projection_first_ms=t_cold * 1e3, projection_first_cpu_ms=cpu_cold * 1e3,
               liquidated_weth_20=res.accounts_liquidated, projection_given_order_ms=t_given * 1e3,
               projection_given_order_cpu_ms=cpu_given * 1e3, arrange_ms=t_arrange * 1e3,
               arrange_cpu_ms=cpu_arrange * 1e3)  # fmt: skip
    # the daemon's per-block look-ahead: WETH's pool 2% below its oracle (the update not landed yet)
    moved = {v.asset: replace(v, pool=v.shocked(v.pool, -0.02)) if v.asset == weth else v for v in proj.venues.values()}
    t_la, la = timed(lambda: look_ahead(book, AaveV3Liquidation(), moved), repeat=3)
    rows.append((f"look-ahead, WETH pool 2% below its oracle ({la.accounts:,} accounts waiting)",
                 f"{t_la * 1e3:,.0f} ms", ""))  # fmt: skip
    fig["lookahead_ms"] = t_la * 1e3
    fig["lookahead_cpu_ms"] = LAST_CPU_S[0] * 1e3
    fig["projection_ms"]["WETH-20%"] = t_warm * 1e3
    fig["projection_cpu_ms"] = {"WETH-20%": cpu_warm * 1e3}
    for shock in (-0.05, -0.1, -0.5):
        t, r = timed(lambda s=shock: proj.project({"WETH": s}), repeat=3)
        fig["projection_cpu_ms"][f"WETH{shock:.0%}"] = LAST_CPU_S[0] * 1e3
        rows.append((f"one projection, WETH {shock:.0%} ({r.accounts_liquidated:,} liquidated, {len(r.rounds)} "
                     "rounds)", f"{t * 1e3:,.0f} ms (CPU {LAST_CPU_S[0] * 1e3:,.0f} ms)", "< 100 ms"))  # fmt: skip
        fig["projection_ms"][f"WETH{shock:.0%}"] = t * 1e3
    peak_one, _ = traced_peak(lambda: proj.project(SHOCK))
    rows.append(("peak traced allocations during one projection", mib(peak_one), ""))

    count = [0]
    real = proj.project

    def counting(scenario: Any) -> Any:
        count[0] += 1
        return real(scenario)

    if not args.skip_sweep:
        proj.project = counting  # type: ignore[method-assign]
        workers = args.sweep_workers
        kinds = [("full sweep (curves, refined grid)", {}), ("critical shocks only (the daemon's sweep)",
                 {"curves": False})] + ([("reference sweep (every step)", {"exhaustive": True})]
                                        if args.exhaustive_sweep else [])  # fmt: skip
        for label, options in kinds:
            count[0] = 0
            cpu0 = cpu_s()
            t_sweep, result = timed(
                lambda o=options: sweep(proj, args.sweep_assets, SweepSpec(), Limits(), workers=workers, **o)
            )
            cpu = cpu_s() - cpu0
            crit = ", ".join(
                f"{a.symbol} {a.critical_shock:.1%}" if a.critical_shock is not None else f"{a.symbol} none"
                for a in result.assets
            )
            counted = f"{count[0]} projections" if workers == 1 else f"{workers} processes"
            rows.append((f"{label}: 90 drops x {len(result.assets)} assets + critical-shock bisection, {counted} "
                         f"(critical: {crit})", f"{t_sweep:,.1f} s (CPU {cpu:,.1f} s)", "< 10 s"))  # fmt: skip
            if "curves" not in options and "exhaustive" not in options:  # the batch-1 figure: the full sweep
                fig.update(sweep_s=t_sweep, sweep_projections=count[0], sweep_cpu_s=cpu)
                fig["critical_shock"] = {a.symbol: a.critical_shock for a in result.assets}
            elif "curves" in options:
                fig.update(critical_sweep_s=t_sweep, critical_sweep_projections=count[0], critical_sweep_cpu_s=cpu)
            else:
                fig.update(exhaustive_sweep_s=t_sweep, exhaustive_sweep_projections=count[0])
        proj.project = real  # type: ignore[method-assign]
        coarse = SweepSpec(drops=tuple(i / 10 for i in range(1, 10)))
        peak_sweep, _ = traced_peak(lambda: sweep(proj, ["WETH"], coarse, Limits()))
        rows.append(("peak traced allocations during a sweep (WETH, 9 drops; traced separately)", mib(peak_sweep), ""))

    s = args.loop_sample
    small = syn.book(population(kind, s))
    small_venues = syn.venues(small.market, tvl_scale=s / 10_000)
    t_loop, loop_res = timed(lambda: run_loop(small, small_venues, SHOCK))
    t_vec, vec_res = timed(lambda: Projector(small, small_venues, model=AaveV3Liquidation()).project(SHOCK), repeat=3)
    same = [r.accounts_liquidated for r in vec_res.rounds] == [r.accounts_liquidated for r in loop_res.rounds]
    rows.append((f"per-account Python loop, WETH -20%, {s:,}-account subsample ({len(loop_res.rounds)} rounds; "
                 f"same rounds as the engine: {same})", f"{t_loop * 1e3:,.0f} ms", ""))  # fmt: skip
    rows.append(("engine on the same subsample", f"{t_vec * 1e3:,.1f} ms", ""))
    rows.append(("  ratio on the subsample (loop / engine)", f"{t_loop / t_vec:,.0f}x", ""))
    per_round = t_loop / max(len(loop_res.rounds) + 1, 1) / s
    loop_n = per_round * n * (len(res.rounds) + 1)
    rows.append((f"per-account loop extrapolated to {n:,} accounts x {len(res.rounds) + 1} evaluations "
                 "(linear in accounts x rounds; not run)", f"{loop_n:,.0f} s", ""))  # fmt: skip
    rows.append(("  ratio at full size (extrapolated loop / measured engine)", f"{loop_n / t_warm:,.0f}x", ""))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rows.append(("peak RSS of the whole run", mib(rss), ""))
    fig.update(loop_ratio=loop_n / t_warm, loop_ratio_extrapolated=True, loop_s_extrapolated=loop_n,
               loop_sample_accounts=s, loop_ratio_sample=t_loop / t_vec, loop_same_rounds=same,
               peak_rss_mib=rss / 2**20, projection_peak_mib=peak_one / 2**20)  # fmt: skip
    if args.json:
        print(json.dumps(fig, indent=1))
        return

    print(f"## Cascade engine (`.venv/bin/python -m benchmarks.bench_cascade --accounts {n} --population {kind}`)")
    print()
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}; population `{kind}`.")
    print()
    print("| measure | value | goal |")
    print("|---|---|---|")
    for measure, value, goal in rows:
        print(f"| {measure} | {value} | {goal} |")


if __name__ == "__main__":
    main()
