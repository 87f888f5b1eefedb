"""Depth benchmarks on a fresh devnet: reading a pool with 1,000 initialized ticks, and on that same pool, in
the same run, vectorized curve queries vs QuoterV2 eth_calls (the ratio is the headline) and exact simulator
quotes.

Two WETH/USDC pools are added to the devnet, each with 500 positions of distinct ranges (1,000 initialized
ticks): fee 0.01 % (tick spacing 1: the reader scans 6,932 bitmap words) and fee 1 % (spacing 200: 36 words).
Quotes sell both tokens in amounts log-uniform from 1/10,000 of what moves the price by 25 % up to that.

Run: .venv/bin/python -m benchmarks.bench_depth [--quotes 2000] [--curve-queries 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.anvil import Anvil
from monitor.devnet.build import build_devnet
from monitor.devnet.deployment import Deployment, PoolInfo
from monitor.devnet.paths import anvil_binary
from monitor.devnet.rpc import DevRpc
from monitor.devnet.spec import TICK_SPACING
from monitor.devnet.uniswap_deploy import (
    DEADLINE,
    FACTORY,
    NPM,
    QUOTER,
    amounts_for_value,
    core,
    periphery,
    raw_price,
    sqrt_price_x96,
)
from monitor.dex import PoolState, pool_curve, quote_exact_input_single
from monitor.venues.uniswap_v3 import bitmap_words, read_pool

POSITIONS = 500
POSITION_USD = 1_000_000.0
USD = {"WETH": 3_000.0, "USDC": 1.0}
REPEAT_RPC = 3  # QuoterV2 timings are the median of this many rounds
T = TypeVar("T")


def add_pool(rpc: DevRpc, dep: Deployment, fee: int, seed: int) -> PoolInfo:
    """A new WETH/USDC pool at ``fee`` holding ``POSITIONS`` positions on distinct ticks (2 ticks each)."""
    npm = periphery(NPM).abi
    weth, usdc = dep.token("WETH").address, dep.token("USDC").address
    token0, token1 = sorted((weth, usdc))
    usd = {weth: USD["WETH"], usdc: USD["USDC"]}
    price = raw_price(dep, token0, token1, usd)
    rpc.send(
        dep.whale,
        dep.position_manager,
        npm.fn("createAndInitializePoolIfNecessary").encode(token0, token1, fee, sqrt_price_x96(price)),
    )
    address = str(rpc.read(dep.uniswap_factory, core(FACTORY).abi.fn("getPool"), token0, token1, fee)[0]).lower()
    spacing = TICK_SPACING[fee]
    current = math.floor(math.log(price) / math.log(1.0001)) // spacing
    span = max(5_000 // spacing, 1_000)  # in multiples of the spacing, each side: dense near the price
    rng = random.Random(seed)
    ticks = [t * spacing for t in rng.sample(range(current - span, current + span + 1), 2 * POSITIONS)]
    mints = []
    for lower, upper in (sorted(ticks[i : i + 2]) for i in range(0, len(ticks), 2)):
        amount0, amount1 = amounts_for_value(dep, token0, token1, usd, price, lower, upper, POSITION_USD)
        params = (token0, token1, fee, lower, upper, amount0, amount1, 0, 0, dep.whale, DEADLINE)
        mints.append((dep.whale, dep.position_manager, npm.fn("mint").encode(params)))
    rpc.send_many(mints, gas=2_000_000)  # the block holds ~1,000 txs of this gas limit
    return PoolInfo(address, "WETH", "USDC", token0, token1, fee, spacing, main=False)


def _median_time(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


@dataclass
class Figures:
    """Everything measured on one pool."""

    pool: PoolInfo
    state: PoolState
    read_s: float
    read_calls: int
    quotes: QuoteFigures | None


async def _read_pool_timed(rpc: RpcClient, pool: PoolInfo, block: int, repeat: int) -> tuple[float, PoolState, int]:
    times, state, calls = [], None, 0
    for _ in range(repeat):
        before = rpc.stats().total("requests", method="eth_call")
        t0 = time.perf_counter()
        state = await read_pool(rpc, pool.address, block)
        times.append(time.perf_counter() - t0)
        calls = rpc.stats().total("requests", method="eth_call") - before
    assert state is not None
    return statistics.median(times), state, calls


def _amounts(state: PoolState, zero_for_one: bool, n: int, rng: np.random.Generator) -> list[int]:
    """Log-uniform raw amounts from 1/10,000 of the amount that moves the price by 25 % up to that amount."""
    curve = pool_curve(state, zero_for_one).curve
    top = float(curve.depth([0.25]).amount_in[0])
    low = top * 1e-4
    return [int(x) for x in np.exp(rng.uniform(math.log(low), math.log(top), n))]


def _quoter_calls(dep: Deployment, pool: PoolInfo, zero_for_one: bool, amounts: list[int]) -> list[tuple[str, str]]:
    fn = periphery(QUOTER).abi.fn("quoteExactInputSingle")
    t_in, t_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
    return [(dep.quoter_v2, fn.encode((t_in, t_out, a, pool.fee, 0))) for a in amounts]


@dataclass
class QuoteFigures:
    """Seconds spent per method (summed over both directions) and how the answers compare."""

    curve_build_s: float = 0.0
    curve_s: float = 0.0
    curve_scalar_s: float = 0.0
    sim_s: float = 0.0
    quoter_batch_s: float = 0.0
    quoter_seq_s: float = 0.0
    sim_equal: int = 0
    max_rel_curve: float = 0.0
    max_abs_curve: float = 0.0
    crossed: list[int] = field(default_factory=list)


async def measure_quotes(rpc: RpcClient, dep: Deployment, pool: PoolInfo, state: PoolState, block: int,
                         args: argparse.Namespace) -> QuoteFigures:  # fmt: skip
    """Curve, simulator and QuoterV2 throughput on one pool, both directions, and their agreement."""
    rng = np.random.default_rng(1)
    decode = periphery(QUOTER).abi.fn("quoteExactInputSingle").decode
    fig = QuoteFigures()
    half = args.quotes // 2
    for zero_for_one in (True, False):
        amounts = _amounts(state, zero_for_one, half, rng)
        build_s, pc = _median_time(partial(pool_curve, state, zero_for_one), 5)
        curve = pc.curve
        fig.curve_build_s += build_s
        many = np.exp(rng.uniform(math.log(min(amounts)), math.log(max(amounts)), args.curve_queries // 2))
        fig.curve_s += _median_time(partial(curve.quote, many), 5)[0]
        scalar = [float(a) for a in amounts[:1000]]
        scalar_s, _ = _median_time(partial(_each, curve.quote, scalar), 3)
        fig.curve_scalar_s += scalar_s * half / len(scalar)
        sim_s, sims = _median_time(partial(_each, partial(quote_exact_input_single, state, zero_for_one), amounts), 3)
        fig.sim_s += sim_s
        calls = _quoter_calls(dep, pool, zero_for_one, amounts)
        batch_s, seq_s = [], []
        for _ in range(REPEAT_RPC):
            t0 = time.perf_counter()
            raw = await rpc.eth_calls(calls, block)
            batch_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for to, data in calls[: args.sequential]:
                await rpc.eth_call(to, data, block)
            seq_s.append((time.perf_counter() - t0) * half / args.sequential)
        fig.quoter_batch_s += statistics.median(batch_s)
        fig.quoter_seq_s += statistics.median(seq_s)
        ours = curve.quote(np.array(amounts, dtype=np.float64)).amount_out
        for sim, answer, curve_out in zip(sims, raw, ours, strict=True):
            chain = tuple(int(v) for v in decode(answer)[:3])
            fig.sim_equal += (sim.amount, sim.sqrt_price_x96_after, sim.initialized_ticks_crossed) == chain
            fig.max_abs_curve = max(fig.max_abs_curve, abs(float(curve_out) - chain[0]))
            fig.max_rel_curve = max(fig.max_rel_curve, abs(float(curve_out) / chain[0] - 1))
            fig.crossed.append(chain[2])
    return fig


def _each(fn: Callable[[Any], T], items: list[Any]) -> list[T]:
    return [fn(x) for x in items]


async def run(url: str, dep: Deployment, pools: list[PoolInfo], args: argparse.Namespace) -> list[Figures]:
    """Read each pool (median of 5), and measure quotes on the first."""
    figures = []
    async with RpcClient(ChainConfig(rpc_urls=[url], chain_id=dep.chain_id)) as rpc:
        block = await rpc.block_number()
        for i, pool in enumerate(pools):
            read_s, state, calls = await _read_pool_timed(rpc, pool, block, 5)
            assert len(state.ticks) == 2 * POSITIONS, len(state.ticks)
            quotes = await measure_quotes(rpc, dep, pool, state, block, args) if i == 0 else None
            figures.append(Figures(pool, state, read_s, calls, quotes))
    return figures


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    anvil = subprocess.run([anvil_binary(), "--version"], capture_output=True, text=True, check=False).stdout
    anvil_version = "anvil " + (
        anvil.split("\n")[0].removeprefix("anvil").strip().removeprefix("Version:").strip() or "?"
    )
    return (f"{os.cpu_count()} vCPU {cpu}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"{anvil_version}")  # fmt: skip


def main() -> None:
    """Build the devnet, add the pools, measure, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quotes", type=int, default=2_000, help="amounts quoted by QuoterV2 and the simulator")
    parser.add_argument("--curve-queries", type=int, default=1_000_000, help="amounts in one vectorized query")
    parser.add_argument("--sequential", type=int, default=200, help="QuoterV2 calls sent one at a time")
    parser.add_argument("--json", action="store_true", help="print one JSON document of the figures")
    args = parser.parse_args()
    with Anvil() as node, DevRpc(node.url) as rpc:
        dep = build_devnet(rpc)
        t0 = time.perf_counter()
        pools = [add_pool(rpc, dep, fee, seed=fee) for fee in (100, 10_000)]
        setup_s = time.perf_counter() - t0
        figures = asyncio.run(run(node.url, dep, pools, args))
    if args.json:
        print(json.dumps({"machine": _machine(), "setup_s": setup_s, **figures_json(figures, args)}, indent=1))
        return
    print(f"machine: {_machine()}")
    print(f"command: .venv/bin/python -m benchmarks.bench_depth {' '.join(sys.argv[1:])}".rstrip())
    print(f"setup: 2 pools x {POSITIONS} positions minted in {setup_s:.1f} s\n")
    print(table(figures, args))


def figures_json(figures: list[Figures], args: argparse.Namespace) -> dict[str, Any]:
    """The figures as one JSON-ready dict (names carry their units)."""
    q, n = figures[0].quotes, args.quotes
    assert q is not None
    curve_qps, batch_qps = args.curve_queries / q.curve_s, n / q.quoter_batch_s
    return {
        "pools": [
            {
                "tick_spacing": f.pool.tick_spacing,
                "ticks": len(f.state.ticks),
                "read_s": f.read_s,
                "read_eth_calls": f.read_calls,
            }
            for f in figures
        ],
        "quotes": n,
        "curve_build_ms": q.curve_build_s * 1e3,
        "curve_queries_per_s": curve_qps,
        "curve_scalar_queries_per_s": n / q.curve_scalar_s,
        "quoter_batched_per_s": batch_qps,
        "quoter_sequential_per_s": n / q.quoter_seq_s,
        "simulator_quotes_per_s": n / q.sim_s,
        "curve_over_quoter_batched": curve_qps / batch_qps,
        "simulator_equal": q.sim_equal,
        "curve_max_relative_difference": q.max_rel_curve,
    }


def table(figures: list[Figures], args: argparse.Namespace) -> str:
    """The Markdown table of the figures."""
    q, n = figures[0].quotes, args.quotes
    assert q is not None
    curve_qps = args.curve_queries / q.curve_s
    batch_qps, seq_qps, sim_qps = n / q.quoter_batch_s, n / q.quoter_seq_s, n / q.sim_s
    crossed = sorted(q.crossed)
    rows = [("measure", "value"), ("---", "---")]
    for f in figures:
        words = len(bitmap_words(f.pool.tick_spacing))
        rows.append((
            f"read a pool with {len(f.state.ticks):,} initialized ticks, tick spacing {f.pool.tick_spacing} "
            f"({words:,} bitmap words, {f.read_calls:,} eth_calls, batched; median of 5)",
            f"{f.read_s:.3f} s",
        ))  # fmt: skip
    rows += [
        (f"quotes below: the tick-spacing-{figures[0].pool.tick_spacing} pool, {n:,} amounts over both directions, "
         f"initialized ticks crossed: median {crossed[len(crossed) // 2]}, max {crossed[-1]}", ""),
        (f"build both depth curves (pool_curve, {len(figures[0].state.ticks):,} ticks)",
         f"{q.curve_build_s * 1e3:.1f} ms"),
        (f"curve queries, vectorized ({args.curve_queries // 2:,} amounts per call; median of 5)",
         f"**{curve_qps:,.0f} /s**"),
        ("curve queries, one scalar call each", f"{n / q.curve_scalar_s:,.0f} /s"),
        ("QuoterV2 eth_calls, batched (RpcClient defaults: 500 per batch, <= 8 in flight; median of 3)",
         f"**{batch_qps:,.0f} /s**"),
        (f"QuoterV2 eth_calls, one at a time ({args.sequential:,} per direction; median of 3)", f"{seq_qps:,.0f} /s"),
        ("exact simulator quotes (integer maths, equal to QuoterV2)", f"{sim_qps:,.0f} /s"),
        ("**curve / QuoterV2 batched**", f"**{curve_qps / batch_qps:,.0f}x**"),
        ("curve / QuoterV2 one at a time", f"{curve_qps / seq_qps:,.0f}x"),
        ("exact simulator / QuoterV2 batched", f"{sim_qps / batch_qps:,.1f}x"),
        ("simulator equal to QuoterV2 (amount out, sqrt price after, ticks crossed)", f"{q.sim_equal:,} / {n:,}"),
        ("curve amount out vs QuoterV2: max relative / absolute difference",
         f"{q.max_rel_curve:.1e} / {q.max_abs_curve:,.0f} raw units"),
    ]  # fmt: skip
    return "\n".join(f"| {a} | {b} |" for a, b in rows)


if __name__ == "__main__":
    main()
