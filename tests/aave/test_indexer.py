"""The indexer's book equals the pool exactly, and incremental maintenance equals a rebuild: after interest,
price moves, user activity, a reorg and a restart from the checkpoint."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.contracts import own_contract
from monitor.devnet.activity import ActivityGenerator
from monitor.devnet.market import oracle_price, set_oracle_price
from monitor.devnet.population import account_data
from monitor.errors import MonitorError
from monitor.protocols.aave_v3.book import Book
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.indexer import MarketIndexer
from tests.aave.actions import Chain, user
from tests.conftest import Devnet
from tests.faultproxy import FaultProxy


def _market(devnet: Devnet) -> AaveV3MarketConfig:
    return AaveV3MarketConfig(
        name="devnet-aave", protocol="aave-v3", pool_addresses_provider=devnet.dep.addresses_provider
    )


@asynccontextmanager
async def _indexer(devnet: Devnet, path: Path) -> AsyncIterator[MarketIndexer]:
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        with Checkpoint(path) as cp:
            yield MarketIndexer(rpc, cp, _market(devnet), confirmations=0)


async def _fresh_book(devnet: Devnet, path: Path) -> tuple[int, Book]:
    async with _indexer(devnet, path) as ix:
        result = await ix.refresh()
        return result.block, result.book


def _assert_equals_pool(devnet: Devnet, book: Book, block: int) -> None:
    rows = account_data(devnet.rpc, devnet.dep, list(book.addresses), block)
    ours = book.health_factors_wad()
    wrong = [(a, h, r[5]) for a, h, r in zip(book.addresses, ours, rows, strict=True) if h != r[5]]
    assert not wrong, f"{len(wrong)} health factors differ from getUserAccountData, first {wrong[0]}"
    totals = [(d.total_collateral_base, d.total_debt_base) for d in book.account_data_all()]
    assert totals == [r[:2] for r in rows]


def _move_prices(devnet: Devnet, moves: dict[str, float]) -> None:
    for symbol, factor in moves.items():
        set_oracle_price(devnet.rpc, devnet.dep, symbol, int(oracle_price(devnet.rpc, devnet.dep, symbol) * factor))


async def test_exact_health_factors_after_interest_and_price_moves(devnet: Devnet, tmp_path: Path) -> None:
    devnet.rpc.increase_time(30 * 86_400)
    _move_prices(devnet, {"WETH": 0.93, "WBTC": 1.03, "LINK": 0.88, "DAI": 0.999})
    block, book = await _fresh_book(devnet, tmp_path / "cp.sqlite")
    assert len(book) >= 2_000
    hfs = book.health_factors()
    assert (hfs < 1).sum() > 0, "the price moves made some accounts liquidatable"
    _assert_equals_pool(devnet, book, block)


async def test_incremental_book_equals_a_rebuild_after_activity(devnet: Devnet, tmp_path: Path) -> None:
    rng = random.Random(5)
    gen = ActivityGenerator(devnet.rpc, devnet.dep, seed=3, actions_per_block=10)
    reads = []
    async with _indexer(devnet, tmp_path / "live.sqlite") as ix:
        first = await ix.refresh()
        assert first.accounts_read == len(first.book)
        for step in range(12):
            if step % 4 == 3:  # a price-only block: no account is read, every HF moves
                _move_prices(devnet, {"WETH": rng.uniform(0.97, 1.03)})
            else:
                gen.step()
            if step % 5 == 4:
                devnet.rpc.increase_time(86_400)
            result = await ix.refresh()
            reads.append(result.accounts_read)
        live = ix.book
        assert live is not None and ix.block is not None
        block = ix.block
    assert 0 in reads, "a price-only refresh reads no account"
    assert max(reads) < 60, "only touched accounts are read"
    rebuilt_block, rebuilt = await _fresh_book(devnet, tmp_path / "fresh.sqlite")
    assert rebuilt_block == block
    assert live.equals(rebuilt), live.diff(rebuilt)
    _assert_equals_pool(devnet, live, block)


async def test_reorg_leaves_the_book_equal_to_a_rebuild_on_the_new_chain(devnet: Devnet, tmp_path: Path) -> None:
    gen_a = ActivityGenerator(devnet.rpc, devnet.dep, seed=21, actions_per_block=12)
    async with _indexer(devnet, tmp_path / "live.sqlite") as ix:
        await ix.refresh()
        for _ in range(3):
            gen_a.step()
        before = await ix.refresh()
        # the last 3 blocks are replaced by different ones (same height, new hashes, other activity)
        devnet.rpc.call("anvil_rollback", 3)
        gen_b = ActivityGenerator(devnet.rpc, devnet.dep, seed=99, actions_per_block=12)
        for _ in range(4):
            gen_b.step()
        after = await ix.refresh()
        assert after.rollbacks == 1
        assert after.block == before.block + 1
        live = after.book
    _, rebuilt = await _fresh_book(devnet, tmp_path / "fresh.sqlite")
    assert live.equals(rebuilt), live.diff(rebuilt)
    _assert_equals_pool(devnet, live, after.block)


async def test_accounts_a_rollback_forgot_and_the_new_chain_touched_again_stay_in_the_book(
    devnet: Devnet, tmp_path: Path
) -> None:
    """Issue 17 item 6, made deterministic: x, y, z are first seen in blocks a reorg takes away; the new chain
    has x and y supply again before the next refresh. The refresh that rolls back must read x and y (batch 1
    dropped every account the rollback forgot, so x and y were in the checkpoint but not in the book)."""
    chain = Chain(devnet.url, devnet.rpc, devnet.dep)
    x, y, z = user("lost-x"), user("lost-y"), user("lost-z")
    async with _indexer(devnet, tmp_path / "live.sqlite") as ix:
        await ix.refresh()
        start = devnet.rpc.block_number()
        for who in (x, y, z):
            chain.supply(who, "WETH", 1)
        before = await ix.refresh()
        assert {x, y, z} <= set(before.book.addresses)
        devnet.rpc.call("anvil_rollback", devnet.rpc.block_number() - start)  # every block since `start`
        chain.supply(x, "DAI", 10)
        chain.supply(y, "USDC", 10)
        after = await ix.refresh()
        assert after.rollbacks == 1 and after.fork_block == start
        assert {x, y} <= set(after.book.addresses) and z not in after.book.addresses
        live = after.book
    _, rebuilt = await _fresh_book(devnet, tmp_path / "fresh.sqlite")
    assert live.equals(rebuilt), live.diff(rebuilt)
    _assert_equals_pool(devnet, live, after.block)


async def test_restart_resumes_from_the_checkpoint_and_equals_fresh(devnet: Devnet, tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"
    gen = ActivityGenerator(devnet.rpc, devnet.dep, seed=8)
    async with _indexer(devnet, path) as ix:
        first = await ix.refresh()
        assert first.ranges >= 1
        backfilled_to = first.block
    for _ in range(3):
        gen.step()
    async with _indexer(devnet, path) as again:
        updates = await again.discovery.sync()
        assert updates and updates[0].from_block == backfilled_to + 1, "resumed, not backfilled from start"  # type: ignore[union-attr]
        resumed = await again.refresh()
    _, fresh = await _fresh_book(devnet, tmp_path / "fresh.sqlite")
    assert resumed.book.equals(fresh), resumed.book.diff(fresh)


async def test_accounts_a_failed_refresh_had_discovered_touched_are_read_by_the_next(
    devnet: Devnet, tmp_path: Path
) -> None:
    """A refresh commits its ranges, then its positions read fails: the next refresh (no new block in between)
    still reads the accounts those ranges touched, instead of keeping their old rows until touched again."""
    selector = "0x" + own_contract("AaveLens").abi.fn("positions").selector.hex()
    failing = {"on": False}

    def fail_positions(payload: Any) -> Any:
        calls = payload if isinstance(payload, list) else [payload]
        if not failing["on"] or not any(
            c.get("method") == "eth_call" and str(c["params"][0].get("data", "")).startswith(selector) for c in calls
        ):
            return None
        errors = [{"jsonrpc": "2.0", "id": c.get("id"), "error": {"code": -32603, "message": "injected"}}
                  for c in calls]  # fmt: skip
        return errors if isinstance(payload, list) else errors[0]

    gen = ActivityGenerator(devnet.rpc, devnet.dep, seed=21, actions_per_block=10)
    async with FaultProxy(devnet.url) as proxy:
        proxy.intercept = fail_positions
        cfg = ChainConfig(rpc_urls=[proxy.url], chain_id=devnet.dep.chain_id)
        async with RpcClient(cfg) as rpc:
            with Checkpoint(tmp_path / "cp.sqlite") as cp:
                ix = MarketIndexer(rpc, cp, _market(devnet), confirmations=0)
                await ix.refresh()
                gen.step()
                failing["on"] = True
                with pytest.raises(MonitorError):
                    await ix.refresh()
                assert cp.market(ix.market.name).last_block == devnet.rpc.block_number(), "the range was committed"  # type: ignore[union-attr]
                failing["on"] = False
                again = await ix.refresh()
                assert again.accounts_read > 0, "the failed refresh's touched accounts are read now"
                live, block = ix.book, ix.block
    assert live is not None and block is not None
    rebuilt_block, rebuilt = await _fresh_book(devnet, tmp_path / "fresh.sqlite")
    assert rebuilt_block == block
    assert live.equals(rebuilt), live.diff(rebuilt)
