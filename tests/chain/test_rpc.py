"""RpcClient against a real anvil: typed helpers, batching, reverts, chain id, unreachable and dead endpoints."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from monitor.chain.jsonrpc import quantity
from monitor.chain.retry import Backoff
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.devnet.anvil import free_port
from monitor.errors import ChainIdMismatchError, RpcResponseError, RpcTransportError

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST = Backoff(base_s=0.001, cap_s=0.01)
REVERTS = "0x00000000000000000000000000000000000000aa"
ANSWERS = "0x00000000000000000000000000000000000000bb"
REVERT_CODE = "0x60006000fd"  # revert(0, 0)
ANSWER_CODE = "0x602a60005260206000f3"  # mstore(0, 42); return(0, 32)
FORTY_TWO = "0x" + f"{42:064x}"


def cfg(*urls: str, **kw: object) -> ChainConfig:
    """A chain config for the session anvil."""
    return ChainConfig.model_validate({"rpc_urls": list(urls), "chain_id": 31337, **kw})


async def _setup_code(rpc: RpcClient) -> int:
    await rpc.call("anvil_setCode", [REVERTS, REVERT_CODE])
    await rpc.call("anvil_setCode", [ANSWERS, ANSWER_CODE])
    await rpc.call("anvil_mine", ["0x3"])
    return await rpc.block_number()


async def test_typed_helpers(anvil_url: str) -> None:
    async with RpcClient(cfg(anvil_url)) as rpc:
        head = await _setup_code(rpc)
        assert await rpc.chain_id() == 31337
        top = await rpc.block(head)
        assert top is not None and top.number == head
        parent = await rpc.block(head - 1)
        assert parent is not None and top.parent_hash == parent.hash
        assert await rpc.block(head + 10_000) is None
        assert (await rpc.block("latest")) is not None
        assert await rpc.get_code(ANSWERS, head) == ANSWER_CODE
        assert await rpc.eth_call(ANSWERS, "0x", head) == FORTY_TWO
        override = {REVERTS: {"code": ANSWER_CODE}}
        assert await rpc.eth_call(REVERTS, "0x", head, state_override=override) == FORTY_TWO


async def test_batch_is_chunked_and_ordered(anvil_url: str) -> None:
    async with RpcClient(cfg(anvil_url, batch_size=7, max_concurrency=3)) as rpc:
        await rpc.call("anvil_mine", ["0x14"])
        head = await rpc.block_number()
        label = rpc.endpoints[0]
        before = rpc.stats().http_requests[label]
        blocks = await rpc.blocks(list(range(head + 1)))
        assert [b.number for b in blocks if b is not None] == list(range(head + 1))
        assert rpc.stats().http_requests[label] - before == math.ceil((head + 1) / 7)
        raw = await rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in (3, 1, 2)])
        assert [quantity(b["number"], "n") for b in raw] == [3, 1, 2]
        assert await rpc.batch([]) == []


async def test_revert_is_an_error_object_not_retried(anvil_url: str) -> None:
    async with RpcClient(cfg(anvil_url), backoff=FAST) as rpc:
        head = await _setup_code(rpc)
        with pytest.raises(RpcResponseError) as info:
            await rpc.eth_call(REVERTS, "0x", head)
        assert info.value.code is not None and info.value.method == "eth_call"
        calls = [(ANSWERS, "0x"), (REVERTS, "0x"), (ANSWERS, "0x")]
        out = await rpc.eth_calls(calls, head, return_errors=True)
        assert out[0] == out[2] == FORTY_TWO and isinstance(out[1], RpcResponseError)
        with pytest.raises(RpcResponseError):
            await rpc.eth_calls(calls, head)
        override = {REVERTS: {"code": ANSWER_CODE}}
        assert await rpc.eth_calls(calls, head, state_override=override) == [FORTY_TWO] * 3
        stats = rpc.stats()
        assert stats.total("retries") == 0
        assert stats.total("errors", method="eth_call", kind="rpc_error") == 3
        with pytest.raises(TypeError):
            stats.requests[("eth_call", "x")] = 1  # type: ignore[index]


async def test_chain_id_mismatch(anvil_url: str) -> None:
    rpc = RpcClient(ChainConfig(rpc_urls=[anvil_url], chain_id=1))
    with pytest.raises(ChainIdMismatchError, match=r"chain id 31337.*chain_id 1"):
        await rpc.start()
    await rpc.aclose()


async def test_unreachable_rpc_is_a_clear_error_without_secrets() -> None:
    url = f"http://127.0.0.1:{free_port()}/v3/SECRETKEY"
    rpc = RpcClient(ChainConfig(rpc_urls=[url], chain_id=31337), backoff=FAST)
    t0 = time.perf_counter()
    with pytest.raises(RpcTransportError) as info:
        await rpc.start()
    await rpc.aclose()
    assert time.perf_counter() - t0 < 2
    msg = str(info.value)
    assert "no RPC endpoint answered eth_chainId" in msg and "cannot connect" in msg
    assert "SECRETKEY" not in msg and "127.0.0.1" in msg


async def test_failover_past_a_dead_endpoint(anvil_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/key/SECRET"
    async with RpcClient(cfg(dead, anvil_url), backoff=FAST, cooldown_s=0.2) as rpc:
        dead_label, live_label = rpc.endpoints
        assert "SECRET" not in dead_label
        sender = (await rpc.call("eth_accounts"))[0]
        for _ in range(5):
            await rpc.block_number()
        s = rpc.stats()
        assert s.requests.get(("eth_blockNumber", dead_label), 0) == 0  # on cooldown since start
        assert s.requests[("eth_blockNumber", live_label)] == 5
        assert s.errors[("eth_chainId", dead_label, "transport")] == 1
        await asyncio.sleep(0.25)  # cooldown over: the dead one is tried first again, then we fail over
        assert await rpc.block_number() >= 0
        s = rpc.stats()
        assert s.failovers == 1 and s.total("retries", method="eth_blockNumber") == 1
        # A transaction whose connection was refused never reached a node: it may fail over too.
        await asyncio.sleep(0.45)
        tx = {"from": sender, "to": ANSWERS, "value": "0x1"}
        assert len(await rpc.call("eth_sendTransaction", [tx])) == 66
        assert rpc.stats().failovers == 2
