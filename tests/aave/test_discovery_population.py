"""Discovery and batched reads on the shared 2,000-borrower devnet (full history, from the state cache)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.aave_deploy import POOL, aave
from monitor.protocols.aave_v3.config import AaveV3MarketConfig
from monitor.protocols.aave_v3.discovery import Discovery, RangeResult
from tests.conftest import Devnet

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_discovery_finds_every_generated_borrower(devnet: Devnet, tmp_path: Path) -> None:
    dep = devnet.dep
    chain = ChainConfig(rpc_urls=[devnet.url], chain_id=dep.chain_id)
    market = AaveV3MarketConfig(name="devnet", protocol="aave-v3", pool_addresses_provider=dep.addresses_provider)
    async with RpcClient(chain) as rpc:
        with Checkpoint(tmp_path / "cp.sqlite") as cp:
            disc = Discovery(rpc, cp, market, confirmations=0)
            t0 = time.perf_counter()
            updates = await disc.sync()
            elapsed = time.perf_counter() - t0
            found = disc.accounts()
        assert found == {p.address for p in devnet.plans} | {dep.whale}
        assert all(isinstance(u, RangeResult) for u in updates)
        assert elapsed < 10
        # One snapshot, one block: every account's getUserAccountData at the block discovery stands at.
        fn = aave(POOL).abi.fn("getUserAccountData")
        block = updates[-1].to_block
        t0 = time.perf_counter()
        answers = await rpc.eth_calls([(dep.pool, fn.encode(a)) for a in sorted(found)], block)
        read_s = time.perf_counter() - t0
        assert len(answers) == len(found) and read_s < 10
        debts = [fn.decode(a)[1] for a in answers]
        assert sum(d > 0 for d in debts) >= len(devnet.plans) * 0.9
