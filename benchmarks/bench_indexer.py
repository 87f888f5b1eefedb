"""Indexer benchmarks: cold index (discovery + pinned reads + book) of N accounts vs the naive way (one web3.py
``getUserAccountData`` call per account), per-block update cost with typical activity, memory per account.

Run: .venv/bin/python -m benchmarks.bench_indexer [--borrowers 10000 100000]
The naive way is timed on a sample of accounts and extrapolated (said in the output).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from web3 import Web3

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.aave_deploy import POOL, aave
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.anvil import Anvil
from monitor.devnet.build import build_devnet
from monitor.devnet.deployment import Deployment
from monitor.devnet.population import PopulationSpec, populate
from monitor.devnet.rpc import DevRpc
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.indexer import MarketIndexer

NAIVE_SAMPLE = 1_000


def _rss_mb() -> float:
    """Current resident set size (not the peak, which the population setup already raised)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _naive(url: str, pool: str, users: list[str]) -> float:
    w3 = Web3(Web3.HTTPProvider(url))
    contract = w3.eth.contract(address=Web3.to_checksum_address(pool), abi=list(aave(POOL).abi_entries))
    t0 = time.perf_counter()
    for u in users:
        contract.functions.getUserAccountData(Web3.to_checksum_address(u)).call()
    return time.perf_counter() - t0


async def _measure(n: int, url: str, rpc_dev: DevRpc, dep: Deployment, path: Path) -> list[str]:
    rows = []
    market = AaveV3MarketConfig(name="bench", protocol="aave-v3", pool_addresses_provider=dep.addresses_provider)
    async with RpcClient(ChainConfig(rpc_urls=[url], chain_id=31337, batch_size=500)) as rpc:
        with Checkpoint(path) as cp:
            ix = MarketIndexer(rpc, cp, market, confirmations=0)
            rss0 = _rss_mb()
            t0 = time.perf_counter()
            first = await ix.refresh()
            cold_s, accounts = time.perf_counter() - t0, len(first.book)
            rss1 = _rss_mb()
            rows.append(f"| {n:,} | cold index (discovery + reads + book) | {cold_s:.2f} s = "
                        f"**{accounts / cold_s:,.0f} accounts/s** |")  # fmt: skip
            sample = dep.borrowers[:NAIVE_SAMPLE]
            naive_s = await asyncio.to_thread(_naive, url, dep.pool, sample) / len(sample) * accounts
            rows.append(f"| {n:,} | naive web3.py getUserAccountData per account (timed on {len(sample):,}, "
                        f"extrapolated) | {naive_s:.1f} s = {accounts / naive_s:,.0f} accounts/s |")  # fmt: skip
            rows.append(f"| {n:,} | **cold index speed-up over naive** | **{naive_s / cold_s:,.0f}x** |")
            gen = ActivityGenerator(rpc_dev, dep, seed=5, actions_per_block=20)
            per = []
            for _ in range(20):
                await asyncio.to_thread(gen.step)
                t1 = time.perf_counter()
                r = await ix.refresh()
                per.append((time.perf_counter() - t1, r.accounts_read))
            times = sorted(t for t, _ in per)
            reads = sum(r for _, r in per) / len(per)
            rows.append(f"| {n:,} | per-block update, 20 actions/block (median / max of 20 blocks) | "
                        f"{times[len(times) // 2] * 1e3:.0f} ms / {times[-1] * 1e3:.0f} ms, "
                        f"{reads:.0f} accounts read/block |")  # fmt: skip
            per_account = (rss1 - rss0) * 1e6 / max(accounts, 1)
            rows.append(f"| {n:,} | RSS growth over the cold index | {rss1 - rss0:.0f} MB "
                        f"({per_account:,.0f} B/account, every Python object included) |")  # fmt: skip
    return rows


def run_one(n: int) -> list[str]:
    """Measure one population size; returns table rows."""
    # anvil keeps every block's state in memory by default: 100k borrowers took it past 20 GB (OOM-killed)
    with (
        Anvil(extra_args=["--prune-history", "64"]) as node,
        DevRpc(node.url) as rpc_dev,
        tempfile.TemporaryDirectory() as tmp,
    ):
        dep = build_devnet(rpc_dev)
        t0 = time.perf_counter()
        populate(rpc_dev, dep, PopulationSpec(borrowers=n, seed=1))
        rows = [f"| {n:,} | populate the devnet (setup, not the benchmark) | {time.perf_counter() - t0:.0f} s |"]
        return rows + asyncio.run(_measure(n, node.url, rpc_dev, dep, Path(tmp) / "cp.sqlite"))


def main() -> None:
    """Run the sizes given and print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--borrowers", type=int, nargs="+", default=[10_000])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} vCPU, {platform.machine()}, Python {platform.python_version()}")
    print("command: .venv/bin/python -m benchmarks.bench_indexer --borrowers " + " ".join(map(str, args.borrowers)))
    print("| accounts | measure | value |\n|---|---|---|")
    for n in args.borrowers:
        for row in run_one(n):
            print(row, flush=True)


if __name__ == "__main__":
    main()
