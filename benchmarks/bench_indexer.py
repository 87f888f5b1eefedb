"""Indexer benchmarks: cold index (discovery + pinned reads + book) of N accounts vs the naive way (one web3.py
``getUserAccountData`` call per account), per-block update cost with typical activity, memory per account;
optionally both through a latency-injecting proxy that makes the local node look like a hosted RPC endpoint.

Run: .venv/bin/python -m benchmarks.bench_indexer [--borrowers 10000 100000] [--rpc-latency-ms 30] [--rps 500]
     [--batch-limit 100] [--naive-sample 1000] [--json]
The naive way is timed on a sample of accounts and extrapolated linearly (said in the output); web3.py sends
``eth_chainId`` twice before each ``eth_call``, so a plain loop of one ``eth_call`` per account is timed as well. With
``--rpc-latency-ms`` the indexer and the naive loop both talk to the node through the same proxy; the activity
that makes the blocks goes to the node directly. ``--json`` prints one JSON document of the figures on stdout
(one object for one size, ``{"runs": [...]}`` for several); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3

from benchmarks.rpcproxy import LatencyProxy, ProxyThread, sequential_round_trips
from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.daemon.blockreads import BlockReads
from monitor.daemon.context import ChainReader
from monitor.devnet.aave_deploy import POOL, aave
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.anvil import Anvil
from monitor.devnet.build import build_devnet
from monitor.devnet.deployment import Deployment
from monitor.devnet.population import PopulationSpec, populate
from monitor.devnet.rpc import DevRpc
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.indexer import MarketIndexer, RefreshResult

NAIVE_SAMPLE = 1_000
UPDATES = 20  # per-block updates timed
ACTIONS_PER_BLOCK = 20


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _rss_mb() -> float:
    """Current resident set size (not the peak, which the population setup already raised)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def _naive(url: str, pool: str, users: list[str]) -> float:
    w3 = Web3(Web3.HTTPProvider(url))
    contract = w3.eth.contract(address=Web3.to_checksum_address(pool), abi=list(aave(POOL).abi_entries))
    t0 = time.perf_counter()
    for u in users:
        contract.functions.getUserAccountData(Web3.to_checksum_address(u)).call()
    return time.perf_counter() - t0


def _naive_plain(url: str, pool: str, users: list[str]) -> float:
    """The strictest naive baseline: one plain JSON-RPC eth_call per account over one keep-alive connection
    (web3.py also asks ``eth_chainId`` twice per call, so it pays three round trips per account)."""
    fn = aave(POOL).abi.fn("getUserAccountData")
    with httpx.Client(timeout=60) as client:
        t0 = time.perf_counter()
        for i, u in enumerate(users):
            call = {"to": pool, "data": fn.encode(u)}
            answer = client.post(
                url, json={"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [call, "latest"]}
            )
            if "result" not in answer.json():
                raise RuntimeError(f"getUserAccountData({u}) failed: {answer.text[:200]}")
        return time.perf_counter() - t0


async def _block_update(reader: ChainReader, ix: MarketIndexer, prefetch: bool) -> RefreshResult:
    """One block as the daemon's cycle makes it: the head, then the block context (header, pools) and the
    market's refresh together, the refresh's predictable reads asked ahead (unless ``prefetch`` is off)."""
    head = await reader.head()

    async def market() -> RefreshResult:
        ahead = getattr(ix, "prefetch", None)  # (absent in trees before the prefetch: the benchmark runs there too)
        if not prefetch or ahead is None:
            return await ix.refresh()
        task = asyncio.ensure_future(ahead(head))
        try:
            return await ix.refresh()
        finally:
            await asyncio.gather(task, return_exceptions=True)

    _, result = await asyncio.gather(reader.context(head), market())
    return result


async def _measure(
    url: str, rpc_dev: DevRpc, dep: Deployment, path: Path, args: argparse.Namespace, proxy: LatencyProxy | None
) -> dict[str, Any]:
    market = AaveV3MarketConfig(name="bench", protocol="aave-v3", pool_addresses_provider=dep.addresses_provider)
    chain = ChainConfig(rpc_urls=[url], chain_id=31337, batch_size=args.batch_limit or 500)
    fig: dict[str, Any] = {}
    async with RpcClient(chain) as rpc:
        with Checkpoint(path) as cp:
            # the indexer reads through the daemon's per-block shared reads, pinned to the head each block
            reads = BlockReads(rpc)
            reader = ChainReader(reads, [p.address for p in dep.pools], 0)
            ix = MarketIndexer(reads, cp, market, confirmations=0)
            rss0 = _rss_mb()
            _progress("cold index ...")
            t0 = time.perf_counter()
            await reads.pin_to_head()
            first = await ix.refresh()
            cold_s, accounts = time.perf_counter() - t0, len(first.book)
            await reader.context(await reader.head())  # the first context reads the pools whole (not timed)
            rss1 = _rss_mb()
            fig.update(accounts=accounts, cold_index_s=cold_s, cold_index_accounts_per_s=accounts / cold_s)
            fig["cold_index_rpc_requests"] = rpc.stats().total("requests")
            sample = dep.borrowers[: min(args.naive_sample, len(dep.borrowers))]
            _progress(f"naive loop on {len(sample):,} accounts ...")
            sample_s = await asyncio.to_thread(_naive, url, dep.pool, sample)
            naive_s = sample_s / len(sample) * accounts
            fig.update(naive_s=naive_s, naive_sample_accounts=len(sample), naive_sample_s=sample_s,
                       naive_extrapolated=len(sample) < accounts, naive_accounts_per_s=accounts / naive_s,
                       speedup=naive_s / cold_s)  # fmt: skip
            _progress(f"plain one-call-per-account loop on {len(sample):,} accounts ...")
            plain_s = await asyncio.to_thread(_naive_plain, url, dep.pool, sample) / len(sample) * accounts
            fig.update(naive_plain_s=plain_s, speedup_plain=plain_s / cold_s)
            gen = ActivityGenerator(rpc_dev, dep, seed=5, actions_per_block=ACTIONS_PER_BLOCK)
            per: list[tuple[float, int]] = []
            trips: list[int] = []
            requests: list[int] = []
            _progress(f"{args.updates} per-block updates ...")
            for _ in range(args.updates):
                await asyncio.to_thread(gen.step)
                seen = len(proxy.exchanges) if proxy is not None else 0
                t1 = time.perf_counter()
                r = await _block_update(reader, ix, not args.no_prefetch)
                per.append((time.perf_counter() - t1, r.accounts_read))
                if proxy is not None:
                    block_exchanges = list(proxy.exchanges)[seen:]
                    trips.append(sequential_round_trips(block_exchanges))
                    requests.append(len(block_exchanges))
            times = [t for t, _ in per]
            if trips:
                fig.update(round_trips_per_block=statistics.median(trips), round_trips_per_block_max=max(trips),
                           requests_per_block=statistics.median(requests))  # fmt: skip
            fig.update(update_median_ms=statistics.median(times) * 1e3, update_max_ms=max(times) * 1e3,
                       update_ms_p50=statistics.median(times) * 1e3, update_ms_p99=_pct(times, 0.99) * 1e3,
                       update_prefetch=not args.no_prefetch,
                       update_accounts_read_per_block=sum(r for _, r in per) / len(per),
                       update_speedup=naive_s / statistics.median(times),
                       rss_growth_mb=rss1 - rss0,
                       rss_bytes_per_account=(rss1 - rss0) * 1e6 / max(accounts, 1))  # fmt: skip
    return fig


def run_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one population size; returns its figures."""
    # anvil keeps every block's state in memory by default: 100k borrowers took it past 20 GB (OOM-killed)
    with (
        Anvil(history_states=64) as node,
        DevRpc(node.url) as rpc_dev,
        tempfile.TemporaryDirectory() as tmp,
    ):
        dep = build_devnet(rpc_dev)
        _progress(f"populating {n:,} borrowers ...")
        t0 = time.perf_counter()
        populate(rpc_dev, dep, PopulationSpec(borrowers=n, seed=1))
        populate_s = time.perf_counter() - t0
        proxy = None
        if args.rpc_latency_ms or args.rps or args.batch_limit:
            proxy = LatencyProxy(node.url, latency_ms=args.rpc_latency_ms, calls_per_second=args.rps,
                                 max_batch=args.batch_limit)  # fmt: skip
        with ProxyThread(proxy) if proxy is not None else nullcontext(node.url) as url:
            fig = asyncio.run(_measure(url, rpc_dev, dep, Path(tmp) / "cp.sqlite", args, proxy))
        fig = {"borrowers": n, "populate_s": populate_s, **fig}
        if proxy is not None:
            stats = proxy.stats
            fig.update(proxy_requests=stats.requests, proxy_calls=stats.calls, proxy_throttled_s=stats.throttled_s,
                       proxy_refused_batches=stats.refused_batches)  # fmt: skip
        return fig


def rows(fig: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Markdown table rows of one size."""
    n = fig["accounts"]
    naive_how = (f"timed on {fig['naive_sample_accounts']:,}, extrapolated" if fig["naive_extrapolated"]
                 else "all accounts")  # fmt: skip
    return [
        f"| {n:,} | populate the devnet (setup, not the benchmark) | {fig['populate_s']:.0f} s |",
        f"| {n:,} | cold index (discovery + reads + book) | {fig['cold_index_s']:.2f} s = "
        f"**{fig['cold_index_accounts_per_s']:,.0f} accounts/s**, {fig['cold_index_rpc_requests']:,} RPC calls |",
        f"| {n:,} | naive web3.py getUserAccountData per account ({naive_how}) | {fig['naive_s']:.1f} s = "
        f"{fig['naive_accounts_per_s']:,.0f} accounts/s |",
        f"| {n:,} | **cold index speed-up over naive** | **{fig['speedup']:,.0f}x** |",
        f"| {n:,} | plain loop, one eth_call per account (same sample) | {fig['naive_plain_s']:.1f} s |",
        f"| {n:,} | **cold index speed-up over the plain loop** | **{fig['speedup_plain']:,.0f}x** |",
        f"| {n:,} | per-block update, {ACTIONS_PER_BLOCK} actions/block (median / max of {args.updates} blocks) | "
        f"{fig['update_median_ms']:.0f} ms / {fig['update_max_ms']:.0f} ms, "
        f"{fig['update_accounts_read_per_block']:.0f} accounts read/block |",
        f"| {n:,} | per-block update speed-up over the naive loop re-reading every account | "
        f"{fig['update_speedup']:,.0f}x |",
        f"| {n:,} | RSS growth over the cold index | {fig['rss_growth_mb']:.0f} MB "
        f"({fig['rss_bytes_per_account']:,.0f} B/account, every Python object included) |",
    ]


def main() -> None:
    """Run the sizes given and print a Markdown table (or, with --json, one JSON document)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--borrowers", type=int, nargs="+", default=[10_000])
    parser.add_argument("--rpc-latency-ms", type=float, default=0.0, help="added per HTTP request (a proxy)")
    parser.add_argument("--rps", type=float, default=None, help="JSON-RPC calls per second cap of the proxy")
    parser.add_argument("--batch-limit", type=int, default=None, help="largest batch the proxy accepts")
    parser.add_argument("--naive-sample", type=int, default=NAIVE_SAMPLE, help="accounts the naive loop reads")
    parser.add_argument("--updates", type=int, default=UPDATES, help="per-block updates timed")
    parser.add_argument("--no-prefetch", action="store_true",
                        help="per-block update without the reads asked ahead (as before)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document of the figures")
    args = parser.parse_args()
    if args.rpc_latency_ms < 0 or (args.rps is not None and args.rps <= 0) or args.naive_sample < 1:
        parser.error("--rpc-latency-ms must be >= 0, --rps > 0, --naive-sample >= 1")
    setup = {"rpc_latency_ms": args.rpc_latency_ms, "rps": args.rps, "batch_limit": args.batch_limit,
             "machine_load_1m_start": os.getloadavg()[0]}  # fmt: skip
    machine = f"{os.cpu_count()} vCPU, {platform.machine()}, Python {platform.python_version()}"
    command = ".venv/bin/python -m benchmarks.bench_indexer " + " ".join(sys.argv[1:])
    figures = []
    for n in args.borrowers:
        fig = {**run_one(n, args), **setup}
        figures.append(fig)
        _progress(json.dumps(fig))
    if args.json:
        doc: dict[str, Any] = figures[0] if len(figures) == 1 else {"runs": figures}
        print(json.dumps({"machine": machine, "command": command, **doc}, indent=1))
        return
    print(f"machine: {machine}")
    print(f"command: {command}")
    if args.rpc_latency_ms or args.rps or args.batch_limit:
        print(f"through the latency proxy: {args.rpc_latency_ms:g} ms per request, cap {args.rps or 'none'} calls/s, "
              f"batch limit {args.batch_limit or 'none'}")  # fmt: skip
    print("| accounts | measure | value |\n|---|---|---|")
    for fig in figures:
        for row in rows(fig, args):
            print(row)


if __name__ == "__main__":
    main()
