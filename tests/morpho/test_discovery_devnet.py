"""Borrowers discovered from Morpho's events (a plain getLogs scan) are exactly the devnet's generated ones."""

from __future__ import annotations

from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.protocols.morpho_blue.reads import discover_borrowers
from tests.conftest import Devnet
from tests.morpho.chain import morpho_of


async def test_borrowers_from_events_equal_the_generated_population(devnet: Devnet) -> None:
    info = morpho_of(devnet.dep)
    head = devnet.rpc.block_number()
    ids = [m.market_id for m in info.markets]
    async with RpcClient(ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)) as rpc:
        found = await discover_borrowers(rpc, info.morpho, ids, 0, head, step=7)  # small steps: many ranges
        only_two = await discover_borrowers(rpc, info.morpho, ids[:2], 0, head)
    assert found == {mid: set(users) for mid, users in info.borrowers.items()}
    assert sum(len(v) for v in found.values()) == len(info.pairs()) >= 750
    assert set(only_two) == set(ids[:2]) and only_two[ids[0]] == found[ids[0]]
