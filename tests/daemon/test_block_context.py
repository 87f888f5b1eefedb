"""One block context per chain: the head, header, pools and the markets' contract reads are read once per block,
however many markets share the chain (two entries of the same devnet market here), and each market's result
is computed from that one context."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.rpcproxy import LatencyProxy, sequential_round_trips
from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.chain.stats import RpcStats
from monitor.config import ChainConfig, MonitorConfig, parse_config
from monitor.daemon.blockreads import BlockReads
from monitor.daemon.chain_loop import ChainLoop
from monitor.daemon.context import ChainReader
from monitor.daemon.pipeline import MarketPipeline
from monitor.daemon.result import MarketResult
from monitor.daemon.store import ResultStore
from monitor.devnet.market import fund, swap_exact_in
from monitor.devnet.monitor_config import devnet_config
from monitor.protocols.registry import TrackerDeps, open_tracker
from monitor.venues.uniswap_v3 import read_pool
from tests.aave.actions import Chain, user
from tests.conftest import Devnet

CYCLES = 3
LATENCY_MS = 100  # per request through the proxy: long enough that a busy machine hardly splits a round trip


def _config(devnet: Devnet, tmp_path: Path, markets: int) -> MonitorConfig:
    data = devnet_config(devnet.url, devnet.dep, checkpoint=str(tmp_path / "unused.sqlite"))
    first = data["markets"][0]
    data["markets"] = [{**first, "name": f"market-{i}"} for i in range(markets)]
    return parse_config(data, environ={})


def _diff(after: RpcStats, before: RpcStats) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, n in after.requests.items():
        out[key[0]] += n - before.requests.get(key, 0)
    return +out


async def _per_block(
    devnet: Devnet, cfg: MonitorConfig, checkpoint_path: Path
) -> tuple[list[Counter[str]], list[list[MarketResult]], list[int]]:
    """RPC requests by method of CYCLES cycles of one new block each (a new account borrows), and the results."""
    calls: list[Counter[str]] = []
    results: list[list[MarketResult]] = []
    spans: list[int] = []
    chain = Chain(devnet.url, devnet.rpc, devnet.dep)
    async with RpcClient(cfg.chain) as rpc:
        with Checkpoint(checkpoint_path) as checkpoint:
            reads = BlockReads(rpc)
            deps = TrackerDeps(reads, checkpoint, cfg.chain)
            pipes = [MarketPipeline(cfg, open_tracker(m, deps)) for m in cfg.markets]
            loop = ChainLoop(cfg, reads, pipes, ResultStore([m.name for m in cfg.markets], 1e9))
            assert len(await loop.step()) == len(pipes), "the first step backfills and computes every market"
            for i in range(CYCLES):
                who = user(f"block-context-{i}")
                chain.supply(who, "WETH", 10)
                await loop.step()  # the new account's first blocks
                chain.borrow(who, "USDC", 1_000)  # one new block touching it
                before, previous = rpc.stats(), loop.last_context
                results.append(await loop.step())
                calls.append(_diff(rpc.stats(), before))
                assert previous is not None and loop.last_context is not None
                spans.append(loop.last_context.block - previous.block)
    return calls, results, spans


async def test_rpc_calls_per_block_do_not_grow_with_the_markets_sharing_the_chain(
    devnet: Devnet, tmp_path: Path
) -> None:
    start = devnet.rpc.snapshot()
    one, one_results, spans = await _per_block(devnet, _config(devnet, tmp_path, 1), tmp_path / "one.sqlite")
    devnet.rpc.revert(start)  # the same blocks again, followed by two markets
    two, two_results, _ = await _per_block(devnet, _config(devnet, tmp_path, 2), tmp_path / "two.sqlite")
    for i in range(CYCLES):
        assert two[i] == one[i], f"cycle {i}: one market {dict(one[i])}, two markets {dict(two[i])}"
        assert one[i]["eth_blockNumber"] == 1, dict(one[i])
        # the context's header is the last one of the range the markets' log follower reads; a range of more
        # than one block adds the header of its first block (for the parent-hash check)
        assert one[i]["eth_getBlockByNumber"] == min(spans[i], 2), (spans[i], dict(one[i]))
        print(
            f"cycle {i} ({spans[i]} blocks): requests by method, 1 market and 2 alike: {dict(sorted(one[i].items()))}"
        )
    for (alone,), (first, second) in zip(one_results, two_results, strict=True):
        assert first.block == second.block == alone.block and first.block_timestamp == second.block_timestamp
        same = ("accounts", "accounts_with_debt", "debt_usd", "collateral_usd", "hf_counts_cumulative", "top_accounts")
        assert [getattr(first, f) for f in same] == [getattr(second, f) for f in same]
        assert first.pools == second.pools
        assert (alone.accounts, alone.accounts_with_debt) == (first.accounts, first.accounts_with_debt)
    assert one_results[-1][0].accounts == one_results[0][0].accounts + CYCLES - 1, "each cycle has its new account"
    assert one_results[-1][0].debt_usd > one_results[0][0].debt_usd, "and its new debt"


async def test_pool_states_follow_a_reorg_that_lengthens_the_chain(devnet: Devnet) -> None:
    """A swap lands, the chain reorganises it away and grows past it: the context reads the pools again instead
    of applying the new chain's logs to states of the orphaned one."""
    dep = devnet.dep
    pool = next(p for p in dep.pools if p.symbol == "WETH")
    chain = ChainConfig(rpc_urls=[devnet.url], chain_id=dep.chain_id)
    async with RpcClient(chain) as rpc:
        reader = ChainReader(BlockReads(rpc), [pool.address], confirmations=0)
        before = await reader.context(await reader.head())
        fund(devnet.rpc, dep, dep.seller, "WETH", 10**30, dep.swap_router)
        swap_exact_in(devnet.rpc, dep, dep.seller, pool, "WETH", 10**18 * 500)
        swapped = await reader.context(await reader.head())
        assert swapped.pools[pool.address].sqrt_price_x96 < before.pools[pool.address].sqrt_price_x96
        devnet.rpc.call("anvil_rollback", swapped.block - before.block)  # the swap and its funding orphaned
        devnet.rpc.mine(swapped.block - before.block + 2)  # a longer chain without them
        after = await reader.context(await reader.head())
        assert after.block > swapped.block
        assert after.pools[pool.address] == await read_pool(rpc, pool.address, after.block)
        assert after.pools[pool.address].sqrt_price_x96 == before.pools[pool.address].sqrt_price_x96


async def _trips_per_block(devnet: Devnet, tmp_path: Path, *, pushed: bool) -> tuple[list[int], list[MarketResult]]:
    """Sequential round trips of the cycles of CYCLES new blocks (one account borrows in each) through a latency
    proxy; with ``pushed`` the heads come from the node's newHeads subscription."""
    trips: list[int] = []
    results: list[MarketResult] = []
    chain = Chain(devnet.url, devnet.rpc, devnet.dep)
    async with LatencyProxy(devnet.url, latency_ms=LATENCY_MS) as proxy:
        data = devnet_config(proxy.url, devnet.dep, checkpoint=str(tmp_path / "unused.sqlite"))
        data["chain"]["ws_url"] = devnet.url.replace("http://", "ws://") if pushed else ""
        cfg = parse_config(data, environ={})
        async with RpcClient(cfg.chain) as rpc:
            with Checkpoint(tmp_path / f"trips-{pushed}.sqlite") as checkpoint:
                reads = BlockReads(rpc)
                pipes = [MarketPipeline(cfg, open_tracker(m, TrackerDeps(reads, checkpoint, cfg.chain)))
                         for m in cfg.markets]  # fmt: skip
                loop = ChainLoop(cfg, reads, pipes, ResultStore([m.name for m in cfg.markets], 1e9))
                heads = asyncio.create_task(loop.heads.run()) if loop.heads is not None else None
                try:
                    assert len(await loop.step()) == 1, "the first step backfills and computes the market"
                    for i in range(CYCLES):
                        who = user(f"round-trips-{pushed}-{i}")
                        chain.supply(who, "WETH", 10)
                        await _await_head(loop, devnet)
                        await loop.step()
                        chain.borrow(who, "USDC", 1_000)  # one new block touching the new account
                        await _await_head(loop, devnet)
                        seen = len(proxy.exchanges)
                        (result,) = await loop.step()
                        trips.append(sequential_round_trips(proxy.exchanges[seen:]))
                        results.append(result)
                finally:
                    if heads is not None:
                        heads.cancel()
                        await asyncio.gather(heads, return_exceptions=True)
    return trips, results


async def _await_head(loop: ChainLoop, devnet: Devnet) -> None:
    """With a subscription, until it has pushed the node's head (so that the step uses it)."""
    if loop.heads is None:
        return
    head = devnet.rpc.block_number()
    async with asyncio.timeout(10):
        while not loop.heads.connected or loop.heads.latest is None or loop.heads.latest < head:
            await asyncio.sleep(0.01)


async def test_a_block_takes_three_sequential_round_trips_two_with_pushed_heads(devnet: Devnet, tmp_path: Path) -> None:
    """Every read of a block that can be known before the logs (headers, logs, reserve list, market-wide reads,
    e-modes, pool logs) goes out at once; only the touched accounts wait for the logs. So a block costs the head
    (unless the subscription pushed it), that one round trip, and the accounts' one; and what it computes is
    the block's own state (equal to a fresh read of every account at that block)."""
    start = devnet.rpc.snapshot()
    polled, polled_results = await _trips_per_block(devnet, tmp_path, pushed=False)
    devnet.rpc.revert(start)
    pushed, pushed_results = await _trips_per_block(devnet, tmp_path, pushed=True)
    assert polled == [3] * CYCLES, polled
    assert pushed == [2] * CYCLES, pushed
    cfg = _config(devnet, tmp_path, 1)
    async with RpcClient(cfg.chain) as rpc:
        with Checkpoint(tmp_path / "fresh.sqlite") as checkpoint:
            tracker = open_tracker(cfg.markets[0], TrackerDeps(rpc, checkpoint, cfg.chain))
            await tracker.catch_up()
            for result in pushed_results:  # the chain the pushed run followed is the node's current one
                fresh = (await tracker.read_at(result.block)).figures(cfg.book.hf_buckets, [1.0], cfg.book.top_n)
                assert (result.accounts, result.accounts_with_debt) == (fresh.accounts, fresh.accounts_with_debt)
                assert result.hf_counts_cumulative == fresh.hf_counts_cumulative
                assert result.debt_usd == pytest.approx(fresh.debt_usd, rel=1e-12)  # sums in another row order
                assert result.collateral_usd == pytest.approx(fresh.collateral_usd, rel=1e-12)
    for a, b in zip(polled_results, pushed_results, strict=True):  # the same blocks (timestamps differ)
        assert (a.block, a.accounts, a.accounts_with_debt) == (b.block, b.accounts, b.accounts_with_debt)
