"""The daemon's CPU per block without a devnet: a synthetic Aave v3 book of N accounts driven through the daemon's
own per-block compute path, K blocks in a row.

Run: ``.venv/bin/python -m benchmarks.bench_block_compute --accounts 100000 --blocks 20 [--profile] [--json]``

Each block does what the daemon does after its reads: the reserve indices of a few reserves move
(``Book.set_indexes``, the exact re-derivation of their balances), some oracle prices move (``Book.set_prices``),
a handful of accounts change (``Book.upsert_accounts``); then :meth:`MarketPipeline.compute` runs on the market's
view: the engine's risk input, the configured scenarios and the look-ahead (:class:`CascadeProjector`, the sweep
off), the figures and the result. The market, its population and its Uniswap v3 pools are the devnet's, built in
memory (:mod:`benchmarks.devnet_shape`); the scenarios are the devnet config's four (WETH -20%, WBTC -25%,
LINK -30%, WETH and WBTC -15%).

Reports the process CPU time (``time.process_time``: the projection's worker thread and the book's float
pass threads included) of each step per block (median and max over the blocks) and of the whole block;
``--json`` prints one JSON document of those figures on stdout (progress on stderr); ``--profile`` prints the
cProfile of the compute step's top functions to stderr: the projections (they run in a worker thread, as in the
daemon) and the rest of the step apart.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from benchmarks import devnet_shape
from benchmarks.allocator_option import add_allocator_option, apply_allocator
from benchmarks.step_breakdown import percentile
from monitor.config import MonitorConfig, parse_config
from monitor.daemon.context import BlockContext
from monitor.daemon.pipeline import MarketPipeline
from monitor.daemon.projection import CascadeProjector
from monitor.protocols.aave_v3.tracker import AaveV3View
from monitor.protocols.base import Refresh

T = TypeVar("T")
SCENARIOS = [
    {"name": "weth-20", "shocks": {"WETH": -0.2}},
    {"name": "wbtc-25", "shocks": {"WBTC": -0.25}},
    {"name": "link-30", "shocks": {"LINK": -0.3}},
    {"name": "majors-15", "shocks": {"WETH": -0.15, "WBTC": -0.15}},
]


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def config(pool_addresses: list[str]) -> MonitorConfig:
    """The devnet config's scenarios and alert levels on one Aave v3 market; the sweep off (it runs in a process
    of its own in the daemon, not on the block path)."""
    return parse_config(
        {
            "chain": {"rpc_urls": ["http://127.0.0.1:1"], "chain_id": 31337},
            "markets": [{"name": "bench-aave", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "11" * 20}],
            "dex": {"pools": pool_addresses},
            "scenarios": SCENARIOS,
            "sweep": {"enabled": False},
        },
        environ={},
    )


class _Tracker:
    name = "bench-aave"


class Steps:
    """CPU seconds of the process (every thread) spent in each step, per block."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {}

    def run(self, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        c0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self.cpu.setdefault(label, []).append(time.process_time() - c0)

    def figures(self) -> dict[str, dict[str, float]]:
        return {
            k: {"cpu_p50_ms": percentile(v, 0.5) * 1e3, "cpu_max_ms": max(v) * 1e3, "cpu_sum_s": sum(v)}
            for k, v in self.cpu.items()
        }


def timed_steps(profiles: list[cProfile.Profile]) -> tuple[Steps, list[tuple[Any, str, Any]]]:
    """Wrap the compute path's sub-steps (figures, risk input, projections, result) to time them in place
    (while ``profiles`` holds one, the projections run under it, in their worker thread)."""
    steps = Steps()
    undo = []
    for owner, attr, label in (
        (AaveV3View, "figures", "figures"),
        (AaveV3View, "risk_input", "risk_input"),
        (CascadeProjector, "__call__", "projections"),
    ):
        original = getattr(owner, attr)

        def make(fn: Any, label: str) -> Any:
            def timed(*a: Any, **k: Any) -> Any:
                if profiles and label == "projections":
                    return steps.run(label, profiles[0].runcall, fn, *a, **k)
                return steps.run(label, fn, *a, **k)

            return timed

        undo.append((owner, attr, original))
        setattr(owner, attr, make(original, label))
    return steps, undo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--aave", default="v3.6", help="the devnet flavour whose market and population to build")
    ap.add_argument("--pool-scale", type=float, default=1.0,
                    help="multiply every pool's value (e.g. accounts / 10,000 keeps the devnet's book-to-pool ratio "
                         "at 10,000 borrowers; 1: the devnet's pools)")  # fmt: skip
    ap.add_argument("--profile", action="store_true", help="cProfile the compute step (to stderr)")
    ap.add_argument("--json", action="store_true", help="print one JSON document of the figures")
    add_allocator_option(ap)
    args = ap.parse_args()
    tuned = apply_allocator(args)
    if args.accounts <= 0 or args.blocks <= 0:
        ap.error("--accounts and --blocks must be positive")
    _progress(f"building a book of {args.accounts:,} accounts ...")
    book = devnet_shape.book(args.accounts, args.aave, args.seed)
    m = book.market
    venues = devnet_shape.pools(args.aave, args.seed, args.pool_scale)
    cfg = config(list(venues))
    projector = CascadeProjector(cfg, cfg.markets[0])
    pipeline = MarketPipeline(cfg, _Tracker(), projector)  # type: ignore[arg-type]
    profiles: list[cProfile.Profile] = []  # the projections' profile, from the first counted block
    steps, undo = timed_steps(profiles)
    profile = cProfile.Profile() if args.profile else None
    reserves = m.reserves
    base_prices = book.prices
    index = {r.asset: (r.normalized_income, r.normalized_variable_debt) for r in reserves}
    sample = [book.account_input(a) for a in book.addresses[: min(len(book), 2000)]]
    _progress(f"running {args.blocks} blocks ...")
    blocks_s: list[float] = []
    try:
        for k in range(args.blocks + 1):  # block 0 warms up (imports, caches): not counted
            c0 = time.process_time()
            # a block: interest accrues on every reserve (a borrowed reserve's normalized income and debt move
            # with every block's timestamp), every third block the oracle prices tick, ten accounts change
            moved = [r.asset for r in reserves]
            for a in moved:
                inc, debt = index[a]
                index[a] = (inc + inc // 10**9, debt + debt // 10**8)
            steps.run("book_indexes", book.set_indexes, {a: index[a] for a in moved})
            if k % 3 == 0:
                tick = {a: p * (10_000 - (k % 5)) // 10_000 for a, p in base_prices.items()}
                steps.run("book_prices", book.set_prices, tick)
            touched = [sample[(k * 10 + i) % len(sample)] for i in range(10)]
            steps.run("book_upsert", book.upsert_accounts, touched)
            view = AaveV3View("bench-aave", k, book, "0x" + "0a" * 20)
            context = BlockContext(head=k, block=k, timestamp=1_700_000_000 + k, pools=venues, seen=time.monotonic())
            if profile is not None and k:
                profile.enable()
            result = steps.run("compute", asyncio.run, pipeline.compute(context, Refresh(view)))
            if profile is not None:
                profile.disable()
            if k == 0:
                if args.profile:
                    profiles.append(cProfile.Profile())
                steps.cpu.clear()
                continue
            blocks_s.append(time.process_time() - c0)
    finally:
        for owner, attr, original in undo:
            setattr(owner, attr, original)
    fig: dict[str, Any] = {
        "accounts": args.accounts,
        "blocks": args.blocks,
        "pool_scale": args.pool_scale,
        "allocator_tuned": tuned,
        "block_cpu_p50_ms": percentile(blocks_s, 0.5) * 1e3,
        "block_cpu_max_ms": max(blocks_s) * 1e3,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "steps": steps.figures(),
        # what the scenarios projected at the last block (how much cascade the CPU bought)
        "scenarios": {
            sc.name: {
                "accounts_liquidated": sc.accounts_liquidated,
                "rounds": sc.rounds,
                "bad_debt_usd": sc.bad_debt_usd,
            }
            for sc in result.scenarios
        },
        # the last block's whole result but its clock fields: equal digests, equal results (before/after a change)
        "result_sha256": hashlib.sha256(repr(replace(result, computed_at=0.0, processing_s=0.0)).encode()).hexdigest(),
        "load_1min": os.getloadavg()[0],
        "machine": f"{os.cpu_count()} vCPU {platform.machine()}, Python {platform.python_version()}",
        "command": ".venv/bin/python -m benchmarks.bench_block_compute " + " ".join(sys.argv[1:]),
    }
    if profile is not None:
        s = io.StringIO()
        pstats.Stats(profile, stream=s).sort_stats("cumulative").print_stats(30)
        s.write("\n-- the projections (their worker thread) --\n")
        pstats.Stats(profiles[0], stream=s).sort_stats("cumulative").print_stats(45)
        print(s.getvalue(), file=sys.stderr)
    if args.json:
        print(json.dumps(fig, indent=1))
        return
    print(f"{fig['machine']}, load {fig['load_1min']:.1f}; {args.accounts:,} accounts, {args.blocks} blocks")
    print(f"block CPU: p50 {fig['block_cpu_p50_ms']:.0f} ms, max {fig['block_cpu_max_ms']:.0f} ms")
    for label, f in fig["steps"].items():
        print(f"  {label:14s} CPU p50 {f['cpu_p50_ms']:8.1f} ms   max {f['cpu_max_ms']:8.1f} ms")
    for name, sc in fig["scenarios"].items():
        print(f"  scenario {name}: {sc['accounts_liquidated']:,} liquidations in {sc['rounds']} rounds")


if __name__ == "__main__":
    main()
