"""Discovery against a real Aave v3 deployment on anvil: backfill, follow, reorgs, resume, wrong addresses."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.follow.span import SpanPolicy
from monitor.chain.retry import Backoff
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.errors import CheckpointError, ProtocolError
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.discovery import Discovery, RangeResult, Rollback
from tests.aave.actions import Chain, user
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

EVERY_BLOCK = SpanPolicy(initial=1, maximum=1)  # one range per block: a dense ring of block hashes


def chain_cfg(*urls: str) -> ChainConfig:
    """Config of the session devnet."""
    return ChainConfig(rpc_urls=list(urls), chain_id=31337)


def market_cfg(provider: str, start_block: int = 0) -> AaveV3MarketConfig:
    """The devnet market."""
    return AaveV3MarketConfig(
        name="devnet", protocol="aave-v3", pool_addresses_provider=provider, start_block=start_block
    )


async def backfill(chain: Chain, path: Path, **kw: Any) -> tuple[frozenset[str], list[Any]]:
    """A fresh discovery into ``path``: (accounts, updates)."""
    async with RpcClient(chain_cfg(chain.url)) as rpc:
        with Checkpoint(path) as cp:
            disc = Discovery(rpc, cp, market_cfg(chain.dep.addresses_provider), confirmations=0, **kw)
            updates = await disc.sync()
            return disc.accounts(), updates


async def test_backfill_finds_exactly_the_accounts_that_interacted(chain: Chain, tmp_path: Path) -> None:
    a, b, c, d = user("a"), user("b"), user("c"), user("d")
    payer, beneficiary, em, bystander = user("payer"), user("beneficiary"), user("emode"), user("bystander")
    chain.supply(a, "WETH", 10)
    chain.supply(b, "USDC", 50_000)
    chain.borrow(b, "WETH", 1)
    chain.supply(c, "DAI", 100)
    chain.withdraw_all(c, "DAI")
    chain.transfer_atoken(a, d, "WETH", 2)  # d never calls the pool: the aToken transfer makes it an account
    chain.supply(payer, "LINK", 10, on_behalf_of=beneficiary)  # the payer holds no position
    chain.set_emode(em, 1)
    chain.approve_atoken(bystander, a, "WETH")  # an approval touches no position
    accounts, updates = await backfill(chain, tmp_path / "cp.sqlite", span=SpanPolicy(initial=16))
    assert accounts == {chain.dep.whale, a, b, c, d, beneficiary, em}
    ranges = [u for u in updates if isinstance(u, RangeResult)]
    assert len(ranges) > 3 and ranges[0].from_block == 0 and ranges[-1].to_block == chain.head()
    assert all(r.from_block == p.to_block + 1 for p, r in itertools.pairwise(ranges))
    assert any(r.config_changed and r.listing_changed for r in ranges)  # the deployment's initReserves
    totals: dict[str, int] = {}
    for r in ranges:
        for k, v in r.events.items():
            totals[k] = totals.get(k, 0) + v
    assert totals["Supply"] == 5 + 4 and totals["Borrow"] == 1 and totals["Withdraw"] == 1  # whale: 5 assets
    assert totals["BalanceTransfer"] == 1 and totals["UserEModeSet"] == 1
    assert sum(d in r.new_accounts for r in ranges) == 1 and sum(d in r.touched for r in ranges) == 1


async def test_follow_waits_for_confirmations_and_picks_up_new_accounts(chain: Chain, tmp_path: Path) -> None:
    newcomer = user("newcomer")
    async with RpcClient(chain_cfg(chain.url)) as rpc:
        with Checkpoint(tmp_path / "cp.sqlite") as cp:
            disc = Discovery(rpc, cp, market_cfg(chain.dep.addresses_provider), confirmations=2,
                             poll_interval_s=0.02)  # fmt: skip
            await disc.sync()
            assert disc.last_block == chain.head() - 2
            stop = asyncio.Event()
            seen: list[Any] = []

            async def consume() -> None:
                async for update in disc.follow(stop):
                    seen.append(update)
                    if isinstance(update, RangeResult) and newcomer in update.new_accounts:
                        stop.set()

            task = asyncio.create_task(consume())
            supplied_at = await asyncio.to_thread(chain.supply, newcomer, "WBTC", 1)
            await asyncio.sleep(0.2)
            if chain.head() < supplied_at + 2:  # (DevRpc may mine an extra block while waiting for receipts)
                assert newcomer not in disc.accounts()  # the supply block is not confirmed yet
            await asyncio.to_thread(chain.rpc.mine, 2)
            await asyncio.wait_for(task, 10)
            assert newcomer in disc.accounts()
            assert supplied_at <= disc.last_block <= chain.head() - 2
            assert all(isinstance(u, RangeResult) for u in seen)


def _setup_reorg(chain: Chain) -> tuple[str, str]:
    """`early` supplies for good; `late` supplies in the last two blocks (approve, supply): a reorg replaces them."""
    early, late = user("early"), user("late")
    chain.supply(early, "WETH", 1)
    chain.supply(late, "USDC", 1)
    return early, late


async def test_reorg_rolls_back_to_the_fork_point(chain: Chain, tmp_path: Path) -> None:
    replacement = chain.rpc.accounts()[5]
    chain.fund(replacement, "DAI", 5)  # on both forks; its supply lands only on the new one
    early, late = _setup_reorg(chain)
    head = chain.head()
    async with RpcClient(chain_cfg(chain.url)) as rpc:
        with Checkpoint(tmp_path / "cp.sqlite") as cp:
            disc = Discovery(rpc, cp, market_cfg(chain.dep.addresses_provider), confirmations=0, span=EVERY_BLOCK)
            await disc.sync()
            assert {early, late} <= disc.accounts() and replacement not in disc.accounts()
            tx = chain.supply_tx(replacement, "DAI", 5)
            await asyncio.to_thread(chain.rpc.call, "anvil_reorg", 2, [[tx, 0]])
            assert chain.head() == head
            updates = await disc.sync()
            rollbacks = [u for u in updates if isinstance(u, Rollback)]
            assert len(rollbacks) == 1 and rollbacks[0].fork_block == head - 2 and rollbacks[0].orphaned_to == head
            assert rollbacks[0].removed_accounts == {late} and not rollbacks[0].reset
            assert cp.first_seen("devnet")[early] <= head - 2
            assert [u.to_block for u in updates if isinstance(u, RangeResult)] == [head - 1, head]
            found = disc.accounts()
    fresh, _ = await backfill(chain, tmp_path / "fresh.sqlite")
    assert found == fresh and replacement in fresh and late not in fresh


async def test_rollback_then_new_blocks_at_the_same_heights(chain: Chain, tmp_path: Path) -> None:
    early, late = _setup_reorg(chain)
    other = user("other")
    path = tmp_path / "cp.sqlite"
    before, _ = await backfill(chain, path, span=EVERY_BLOCK)
    head = chain.head()
    assert late in before
    chain.rpc.call("anvil_rollback", 3)  # late's mint, approve and supply are gone; the chain is shorter
    shorter, updates = await backfill(chain, path, span=EVERY_BLOCK)
    assert updates == [Rollback("devnet", head - 3, head, frozenset({late}))]
    assert late not in shorter
    chain.supply(other, "LINK", 3)  # new blocks at heights the checkpoint had other hashes for
    after, updates = await backfill(chain, path, span=EVERY_BLOCK)
    assert not any(isinstance(u, Rollback) for u in updates)
    fresh, _ = await backfill(chain, tmp_path / "fresh.sqlite")
    assert after == fresh and other in after and late not in after and early in after


@pytest.mark.parametrize("depth", [2, 3])
async def test_the_ring_finds_the_fork_of_any_shallower_reorg_and_resets_on_a_deeper_one(
    chain: Chain, tmp_path: Path, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    _setup_reorg(chain)
    path = tmp_path / "cp.sqlite"
    await backfill(chain, path, reorg_window=3)  # one wide range: the ring still holds the last 3 blocks
    head = chain.head()
    with Checkpoint(path) as cp:
        assert cp.block_hashes("devnet").keys() == {head - 2, head - 1, head}
    chain.rpc.call("anvil_rollback", depth)
    chain.supply(user("other"), "LINK", 3)  # mint, approve, supply: every replaced height gets another block
    async with RpcClient(chain_cfg(chain.url)) as rpc:
        with Checkpoint(path) as cp:
            disc = Discovery(rpc, cp, market_cfg(chain.dep.addresses_provider), confirmations=0, reorg_window=3)
            updates = await disc.sync()
            after, resets = disc.accounts(), cp.resets()
    rollbacks = [u for u in updates if isinstance(u, Rollback)]
    if depth < 3:  # shallower than the ring: the exact fork point
        assert [(r.fork_block, r.reset) for r in rollbacks] == [(head - depth, False)] and resets == {}
    else:  # none of the 3 stored blocks is on the chain: reset, backfilled again from start_block, with a warning
        assert [(r.fork_block, r.reset) for r in rollbacks] == [(-1, True)] and resets == {"devnet": 1}
        assert "none of the stored block hashes" in caplog.text
    fresh, _ = await backfill(chain, tmp_path / "fresh.sqlite")
    assert after == fresh


async def test_stopped_mid_backfill_resumes_without_loss(chain: Chain, tmp_path: Path) -> None:
    for i in range(6):
        chain.supply(user(f"resume{i}"), "WETH", 1 + i)
    fixed = SpanPolicy(initial=10, maximum=10)
    path = tmp_path / "cp.sqlite"
    provider = chain.dep.addresses_provider
    async with RpcClient(chain_cfg(chain.url)) as rpc:
        with Checkpoint(path) as cp:
            disc = Discovery(rpc, cp, market_cfg(provider), confirmations=0, span=fixed)
            first = await disc.sync(max_ranges=3)
            assert [u.to_block for u in first] == [9, 19, 29]
            partial = disc.accounts()
    # A harder stop: cancel a run while it waits for the node, after it committed three more ranges.
    async with FaultProxy(chain.url) as proxy, RpcClient(chain_cfg(proxy.url)) as rpc:
        three_more = asyncio.Event()
        seen = [0]

        def rewrite(payload: Any, answer: Any) -> Any:
            if isinstance(payload, dict) and payload["method"] == "eth_getLogs":
                seen[0] += 1
                if seen[0] == 3:
                    proxy.default = "delay:30"  # whatever comes next hangs until cancelled
                    three_more.set()
            return answer

        proxy.rewrite = rewrite
        with Checkpoint(path) as cp:
            disc = Discovery(rpc, cp, market_cfg(provider), confirmations=0, span=fixed)
            task = asyncio.create_task(disc.sync())
            await asyncio.wait_for(three_more.wait(), 10)
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            stopped_at = disc.last_block
    assert stopped_at == 59 < chain.head()
    _, rest = await backfill(chain, path, span=fixed)
    with Checkpoint(path) as cp:
        resumed = cp.accounts("devnet")
        state = cp.market("devnet")
    fresh, _ = await backfill(chain, tmp_path / "fresh.sqlite")
    assert partial < resumed == fresh and state is not None and state.last_block == chain.head()
    assert rest[0].from_block == stopped_at + 1  # the resumed run did not start over


async def test_get_logs_ranges_shrink_when_the_node_refuses(chain: Chain, tmp_path: Path) -> None:
    for i in range(3):
        chain.supply(user(f"shrink{i}"), "USDC", 100)
    limit = 7

    def intercept(payload: Any) -> Any:
        if isinstance(payload, dict) and payload["method"] == "eth_getLogs":
            f = payload["params"][0]
            lo, hi = int(f["fromBlock"], 16), int(f["toBlock"], 16)
            if hi - lo + 1 > limit:
                msg = f"query returned more than 10000 results. Try with this block range [{hex(lo)}, {hex(lo + 4)}]."
                return {"jsonrpc": "2.0", "id": payload["id"], "error": {"code": -32005, "message": msg}}
        return None

    async with FaultProxy(chain.url) as proxy:
        proxy.intercept = intercept
        async with RpcClient(chain_cfg(proxy.url), backoff=Backoff(0.001, 0.01)) as rpc:
            with Checkpoint(tmp_path / "cp.sqlite") as cp:
                disc = Discovery(rpc, cp, market_cfg(chain.dep.addresses_provider), confirmations=0,
                                 span=SpanPolicy(initial=1000, maximum=1000))  # fmt: skip
                updates = await disc.sync()
                found = disc.accounts()
            assert rpc.stats().total("retries") == 0  # JSON-RPC errors are the caller's to handle
            refused = rpc.stats().total("errors", method="eth_getLogs", kind="rpc_error")
    assert all(u.to_block - u.from_block + 1 <= limit for u in updates)
    assert updates[0].to_block - updates[0].from_block + 1 == 5  # the suggested range was used
    assert 1 <= refused < len(updates)
    fresh, _ = await backfill(chain, tmp_path / "fresh.sqlite")
    assert found == fresh


@pytest.mark.parametrize("kind", ["no-code", "erc20", "garbage", "eoa-pool"])
async def test_not_a_pool_addresses_provider(chain: Chain, tmp_path: Path, kind: str) -> None:
    fake = "0x00000000000000000000000000000000000c0de5"
    if kind == "no-code":
        address, match = user("nobody"), "no contract code"
    elif kind == "erc20":
        address, match = chain.dep.token("WETH").address, r"getPool\(\) reverted"
    elif kind == "garbage":
        chain.rpc.call("anvil_setCode", fake, "0x7f" + "ff" * 32 + "60005260206000f3")
        address, match = fake, r"getPool\(\) returned garbage"
    else:  # answers getPool() with an account that has no code
        chain.rpc.call("anvil_setCode", fake, "0x73" + user("eoa")[2:] + "60005260206000f3")
        address, match = fake, "which has no contract code"
    chain.rpc.mine(1)
    async with RpcClient(chain_cfg(chain.url)) as rpc:
        with Checkpoint(tmp_path / "cp.sqlite") as cp:
            disc = Discovery(rpc, cp, market_cfg(address), confirmations=0)
            with pytest.raises(ProtocolError, match=match) as info:
                await disc.open()
            assert "PoolAddressesProvider" in str(info.value)
            assert cp.market("devnet") is None


async def test_checkpoint_of_another_market_is_refused(chain: Chain, tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"
    await backfill(chain, path)
    with Checkpoint(path) as cp:
        state = cp.market("devnet")
        assert state is not None
    async with RpcClient(chain_cfg(chain.url)) as rpc:
        with Checkpoint(path) as cp:
            later = Discovery(rpc, cp, market_cfg(chain.dep.addresses_provider, start_block=5), confirmations=0)
            with pytest.raises(CheckpointError, match="start_block 5"):
                await later.open()
        with Checkpoint(path) as cp:
            cp._db.execute("UPDATE markets SET identity = ?", (f"{chain.dep.addresses_provider} 0x{'11' * 20}",))
            again = Discovery(rpc, cp, market_cfg(chain.dep.addresses_provider), confirmations=0)
            with pytest.raises(CheckpointError, match="another checkpoint file"):
                await again.open()
