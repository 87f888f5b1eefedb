"""RpcClient behind a fault-injecting proxy: retries, malformed answers, timeouts, limits, failover."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from monitor.chain.retry import Backoff
from monitor.chain.rpc import RpcClient
from monitor.config import ChainConfig
from monitor.errors import (
    ChainIdMismatchError,
    MalformedResponseError,
    RpcResponseError,
    RpcTransportError,
)
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST = Backoff(base_s=0.001, cap_s=0.01)


def cfg(*urls: str, **kw: object) -> ChainConfig:
    """A chain config for the session anvil."""
    return ChainConfig.model_validate({"rpc_urls": list(urls), "chain_id": 31337, **kw})


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("429", "http_status"),
        ("503", "http_status"),
        ("drop", "transport"),
        ("truncate", "malformed"),
        ("garbage", "malformed"),
        ("delay:0.5", "timeout"),
    ],
)
async def test_transient_fault_is_retried(anvil_url: str, fault: str, kind: str) -> None:
    async with (
        FaultProxy(anvil_url) as proxy,
        RpcClient(cfg(proxy.url, request_timeout_s=0.2), backoff=FAST) as rpc,
    ):
        proxy.script = [fault]
        assert await rpc.block_number() >= 0
        s = rpc.stats()
        label = rpc.endpoints[0]
        assert s.errors == {("eth_blockNumber", label, kind): 1}
        assert s.retries == {("eth_blockNumber", label): 1}
        assert s.requests[("eth_blockNumber", label)] == 2


async def test_retries_are_capped_and_messages_redacted(anvil_url: str) -> None:
    async with FaultProxy(anvil_url) as proxy:
        url = proxy.url + "/v2/SECRETKEY"
        async with RpcClient(cfg(url, max_retries=2), backoff=FAST) as rpc:
            proxy.default = "503"
            with pytest.raises(RpcTransportError) as info:
                await rpc.block_number()
            assert "3 attempt(s)" in str(info.value) and "HTTP 503" in str(info.value)
            assert "SECRETKEY" not in str(info.value) and "SECRETKEY" not in (info.value.url or "")
            assert proxy.methods().count("eth_blockNumber") == 3


async def test_retry_after_is_honoured(anvil_url: str) -> None:
    async with (
        FaultProxy(anvil_url) as proxy,
        RpcClient(cfg(proxy.url), backoff=Backoff(base_s=0.001, cap_s=1.0)) as rpc,
    ):
        proxy.script, proxy.retry_after = ["429"], "0.3"
        t0 = time.perf_counter()
        await rpc.block_number()
        assert time.perf_counter() - t0 >= 0.3


async def test_transactions_are_never_resent(anvil_url: str) -> None:
    async with FaultProxy(anvil_url) as proxy, RpcClient(cfg(proxy.url), backoff=FAST) as rpc:
        sender = (await rpc.call("eth_accounts"))[0]
        proxy.script = ["drop"]
        tx = {"from": sender, "to": sender, "value": "0x1"}
        with pytest.raises(RpcTransportError, match="1 attempt"):
            await rpc.call("eth_sendTransaction", [tx])
        assert proxy.methods().count("eth_sendTransaction") == 1
        assert rpc.stats().total("retries") == 0


async def test_json_rpc_error_is_not_retried(anvil_url: str) -> None:
    def intercept(payload: Any) -> Any:
        if isinstance(payload, dict) and payload["method"] == "eth_getLogs":
            msg = "query returned more than 10000 results"
            return {"jsonrpc": "2.0", "id": payload["id"], "error": {"code": -32005, "message": msg}}
        return None

    async with FaultProxy(anvil_url) as proxy:
        proxy.intercept = intercept
        async with RpcClient(cfg(proxy.url), backoff=FAST) as rpc:
            with pytest.raises(RpcResponseError, match="more than 10000") as info:
                await rpc.call("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "0x0"}])
            assert info.value.code == -32005
            assert proxy.methods().count("eth_getLogs") == 1
            assert rpc.stats().total("errors", kind="rpc_error") == 1


def _once(change: Any) -> Any:
    """A rewrite hook that applies ``change`` to the first answer only."""
    state = {"done": False}

    def rewrite(payload: Any, answer: Any) -> Any:
        if state["done"] or (isinstance(payload, dict) and payload["method"] == "eth_chainId"):
            return answer
        state["done"] = True
        return change(answer)

    return rewrite


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda a: a[:-1], id="batch-too-short"),
        pytest.param(lambda a: [*a, a[0]], id="batch-too-long"),
        pytest.param(lambda a: [{**x, "id": x["id"] + 1000} for x in a], id="batch-wrong-ids"),
        pytest.param(lambda a: {"jsonrpc": "2.0", "id": 1, "result": a}, id="batch-not-a-list"),
        pytest.param(lambda a: [{**x, "result": 12} for x in a], id="wrong-type"),
        pytest.param(lambda a: [{"jsonrpc": "2.0", "id": x["id"]} for x in a], id="no-result"),
    ],
)
async def test_malformed_batch_answers_count_and_retry(anvil_url: str, change: Any) -> None:
    async with FaultProxy(anvil_url) as proxy:
        proxy.rewrite = _once(change)
        async with RpcClient(cfg(proxy.url), backoff=FAST) as rpc:
            out = await rpc.blocks([0, 0, 0])
            assert [b.number for b in out if b is not None] == [0, 0, 0]
            assert rpc.stats().total("errors", kind="malformed") == 3
            assert rpc.stats().total("retries") == 3


async def test_malformed_single_answer_raises_after_retries(anvil_url: str) -> None:
    async with FaultProxy(anvil_url) as proxy, RpcClient(cfg(proxy.url, max_retries=1), backoff=FAST) as rpc:
        proxy.rewrite = lambda p, a: {**a, "result": "0xZZ"} if p["method"] == "eth_blockNumber" else a
        with pytest.raises(MalformedResponseError, match="2 attempt"):
            await rpc.block_number()
        proxy.rewrite = lambda p, a: {**a, "id": a["id"] + 1} if p["method"] == "eth_blockNumber" else a
        with pytest.raises(MalformedResponseError, match="id"):
            await rpc.block_number()
        assert rpc.stats().total("errors", kind="malformed") == 4


async def test_second_endpoint_on_another_chain_is_refused(anvil_url: str) -> None:
    async with FaultProxy(anvil_url) as proxy:
        proxy.rewrite = lambda p, a: {**a, "result": "0x1"} if p["method"] == "eth_chainId" else a
        rpc = RpcClient(cfg(anvil_url, proxy.url))
        with pytest.raises(ChainIdMismatchError, match=proxy.url.removeprefix("http://")):
            await rpc.start()
        await rpc.aclose()


async def test_failover_when_the_primary_dies(anvil_url: str) -> None:
    async with (
        FaultProxy(anvil_url) as proxy,
        RpcClient(cfg(proxy.url, anvil_url), backoff=FAST, cooldown_s=30) as rpc,
    ):
        primary, backup = rpc.endpoints
        await rpc.block_number()
        proxy.default = "drop"
        for _ in range(4):
            await rpc.block_number()
        s = rpc.stats()
        assert s.requests[("eth_blockNumber", primary)] == 2  # the one that died, then cooldown
        assert s.requests[("eth_blockNumber", backup)] == 4
        assert s.failovers == 1


async def test_concurrency_is_bounded(anvil_url: str) -> None:
    async with FaultProxy(anvil_url) as proxy, RpcClient(cfg(proxy.url, max_concurrency=2)) as rpc:
        proxy.default = "delay:0.05"
        await asyncio.gather(*(rpc.block_number() for _ in range(8)))
        assert proxy.max_in_flight == 2


async def test_rate_limit(anvil_url: str) -> None:
    async with RpcClient(cfg(anvil_url, requests_per_second=40)) as rpc:
        t0 = time.perf_counter()
        for _ in range(60):  # the bucket holds 40, the other 20 come at 40/s
            await rpc.block_number()
        assert time.perf_counter() - t0 >= 0.45
        t0 = time.perf_counter()
        await rpc.batch([("eth_blockNumber", [])] * 20)  # a batch costs one token per item
        assert time.perf_counter() - t0 >= 0.45
