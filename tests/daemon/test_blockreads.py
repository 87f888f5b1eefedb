"""The shared reads of one cycle: a request asked twice (at once or one after the other) is sent once, a pin
forgets every answer, the pinned head costs no request, and a revert reaches every asker."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from monitor.chain.rpc import RpcClient
from monitor.chain.stats import RpcStats
from monitor.config import ChainConfig
from monitor.daemon.blockreads import BlockReads
from monitor.errors import RpcError, RpcResponseError
from monitor.protocols.aave_v3.market import GET_POOL, GET_RESERVES_LIST
from tests.conftest import Devnet
from tests.faultproxy import FaultProxy


def _sent(after: RpcStats, before: RpcStats) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, n in after.requests.items():
        out[key[0]] += n - before.requests.get(key, 0)
    return +out


async def test_each_request_is_sent_once_per_cycle(devnet: Devnet) -> None:
    chain = ChainConfig(rpc_urls=[devnet.url], chain_id=devnet.dep.chain_id)
    provider, pool = devnet.dep.addresses_provider, devnet.dep.pool
    async with RpcClient(chain) as rpc:
        reads = BlockReads(rpc)
        before = rpc.stats()
        head = await reads.pin_to_head()
        assert await reads.block_number() == head and reads.head == head
        get_pool = GET_POOL.encode()
        one, two = await asyncio.gather(
            reads.eth_call(provider, get_pool, head), reads.eth_call(provider, get_pool, head)
        )
        assert one == two and GET_POOL.decode(one)[0].lower() == pool.lower()
        batch = await reads.eth_calls([(provider, get_pool), (pool, GET_RESERVES_LIST.encode())], head)
        assert batch[0] == one and len(GET_RESERVES_LIST.decode(batch[1])[0]) == 5
        headers = await asyncio.gather(reads.block(head), reads.blocks([head - 1, head]))
        assert headers[0] == headers[1][1] and headers[1][0] is not None and headers[1][0].number == head - 1
        assert _sent(rpc.stats(), before) == {"eth_blockNumber": 1, "eth_call": 2, "eth_getBlockByNumber": 2}

        garbage = "0xdeadbeef"  # no such function on the pool: reverts
        with pytest.raises(RpcResponseError):
            await reads.eth_call(pool, garbage, head)
        answers = await reads.eth_calls([(pool, garbage)], head, return_errors=True)
        assert isinstance(answers[0], RpcResponseError)
        assert _sent(rpc.stats(), before)["eth_call"] == 3, "the revert is an answer: asked once"

        reads.pin(head)  # a new cycle (same head): everything is asked again
        await reads.eth_call(provider, get_pool, head)
        await reads.block(head)
        assert _sent(rpc.stats(), before) == {"eth_blockNumber": 1, "eth_call": 4, "eth_getBlockByNumber": 3}


async def test_a_failed_request_reaches_every_asker_and_is_sent_again_next_time(devnet: Devnet) -> None:
    async with FaultProxy(devnet.url) as proxy:
        chain = ChainConfig(rpc_urls=[proxy.url], chain_id=devnet.dep.chain_id, max_retries=0)
        provider, get_pool = devnet.dep.addresses_provider, GET_POOL.encode()
        async with RpcClient(chain) as rpc:
            reads = BlockReads(rpc)
            head = await reads.pin_to_head()
            proxy.script = ["503"]
            outcomes = await asyncio.gather(
                reads.eth_call(provider, get_pool, head),
                reads.eth_call(provider, get_pool, head),
                return_exceptions=True,
            )
            assert all(isinstance(o, RpcError) for o in outcomes), outcomes
            answer = await reads.eth_call(provider, get_pool, head)  # not remembered: sent again, answered
            assert GET_POOL.decode(answer)[0].lower() == devnet.dep.pool.lower()
            requests = [r for p in proxy.seen for r in (p if isinstance(p, list) else [p])]
            calls = [r for r in requests if r.get("method") == "eth_call"]
            assert len(calls) == 2, "one failed request shared by both askers, then one that succeeded"
