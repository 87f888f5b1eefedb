"""Pure parts of the RPC owner: envelopes, typed results, backoff, token bucket, endpoint cooldowns."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.chain import jsonrpc
from monitor.chain.endpoints import EndpointPool
from monitor.chain.model import LogFilter
from monitor.chain.ratelimit import TokenBucket
from monitor.chain.retry import Backoff, all_idempotent
from monitor.chain.rpc import block_param
from monitor.errors import MalformedResponseError, RpcResponseError

H32 = "0x" + "ab" * 32


def test_split_batch_reorders_by_id_and_returns_item_errors() -> None:
    answers = [
        {"jsonrpc": "2.0", "id": 2, "error": {"code": 3, "message": "execution reverted", "data": "0x"}},
        {"jsonrpc": "2.0", "id": 1, "result": "0x1"},
    ]
    out = jsonrpc.split_batch(answers, [1, 2], ["eth_call", "eth_call"])
    assert out[0] == "0x1"
    assert isinstance(out[1], RpcResponseError) and out[1].code == 3 and out[1].method == "eth_call"


@pytest.mark.parametrize(
    "answers",
    [
        {"result": []},
        [{"id": 1, "result": "0x1"}],
        [{"id": 1, "result": "0x1"}, {"id": 1, "result": "0x1"}],
        [{"id": 1, "result": "0x1"}, {"id": 3, "result": "0x1"}],
        [{"id": 1, "result": "0x1"}, "x"],
        [{"id": 1, "result": "0x1"}, {"id": 2}],
    ],
)
def test_split_batch_rejects_malformed(answers: object) -> None:
    with pytest.raises(MalformedResponseError):
        jsonrpc.split_batch(answers, [1, 2], ["m", "m"])


def test_whole_batch_rejected_with_one_error_object() -> None:
    with pytest.raises(RpcResponseError, match="too large"):
        jsonrpc.split_batch({"id": None, "error": {"code": -32600, "message": "too large"}}, [1], ["m"])


def test_unwrap_and_loads() -> None:
    assert jsonrpc.unwrap({"id": 7, "result": None}, "m", 7) is None
    with pytest.raises(MalformedResponseError, match="id"):
        jsonrpc.unwrap({"id": 8, "result": 1}, "m", 7)
    with pytest.raises(MalformedResponseError):
        jsonrpc.unwrap({"id": 7, "error": "boom"}, "m", 7)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        jsonrpc.loads(b'{"id": 1, "resu')


@pytest.mark.parametrize("bad", [12, None, "12", "0x", "0xzz"])
def test_quantity_rejects(bad: object) -> None:
    with pytest.raises(MalformedResponseError):
        jsonrpc.quantity(bad, "x")


def test_typed_values() -> None:
    assert jsonrpc.quantity("0x00ff", "x") == 255
    assert jsonrpc.data("0xABcd", "x") == "0xabcd"
    for bad in ("0xabc", "abcd", 5):
        with pytest.raises(MalformedResponseError):
            jsonrpc.data(bad, "x")
    head = {"number": "0x2", "hash": H32, "parentHash": H32, "timestamp": "0x5"}
    block = jsonrpc.block(head)
    assert block is not None and block.number == 2 and block.timestamp == 5
    assert jsonrpc.block(None) is None
    with pytest.raises(MalformedResponseError):
        jsonrpc.block({**head, "hash": "0x12"})
    log = {"address": "0x" + "AA" * 20, "topics": [H32], "data": "0x", "blockNumber": "0x2", "blockHash": H32,
           "transactionHash": H32, "logIndex": "0x0"}  # fmt: skip
    parsed = jsonrpc.logs([log])[0]
    assert parsed.address == "0x" + "aa" * 20 and not parsed.removed
    with pytest.raises(MalformedResponseError):
        jsonrpc.logs([{**log, "topics": "x"}])
    with pytest.raises(MalformedResponseError):
        jsonrpc.logs({"logs": []})


def test_block_param_and_filter() -> None:
    assert block_param(16) == "0x10" and block_param("latest") == "latest"
    for bad in (-1, "yesterday"):
        with pytest.raises(ValueError):
            block_param(bad)
    f = LogFilter(1, 2, ("0xa",), ((H32,), None))
    assert f.to_params() == {"fromBlock": "0x1", "toBlock": "0x2", "address": ["0xa"], "topics": [[H32], None]}
    assert f.with_range(5, 6).to_params()["fromBlock"] == "0x5"


def test_idempotent_methods() -> None:
    assert all_idempotent(["eth_call", "eth_getLogs", "eth_getBlockByNumber", "eth_chainId", "eth_getCode"])
    assert not all_idempotent(["eth_call", "eth_sendTransaction"])
    assert not all_idempotent(["eth_sendRawTransaction"])


@given(attempt=st.integers(1, 40), seed=st.integers(0, 2**32), hint=st.floats(0, 100))
def test_backoff_is_capped_full_jitter(attempt: int, seed: int, hint: float) -> None:
    b = Backoff(base_s=0.1, cap_s=2.0)
    d = b.delay(attempt, random.Random(seed), at_least=hint)
    assert 0 <= d <= 2.0
    assert d >= min(hint, 2.0)
    assert b.ceiling(attempt) == min(2.0, 0.1 * 2 ** (attempt - 1))


def test_backoff_jitter_spreads() -> None:
    rng = random.Random(1)
    waits = [Backoff(base_s=1.0, cap_s=8.0).delay(4, rng) for _ in range(2000)]
    assert 0 <= min(waits) < 0.1 and 7.9 < max(waits) <= 8.0


def test_backoff_without_jitter_is_the_ceiling_for_the_reconnect_and_cycle_loops() -> None:
    mqtt = Backoff(base_s=0.5, cap_s=30.0, jitter=False)  # MqttPublisher's defaults
    assert [mqtt.delay(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert mqtt.delay(10_000) == 30.0  # no overflow however long the broker stays away
    cycle = Backoff(base_s=2 * 0.2, cap_s=min(64 * 0.2, 30.0), jitter=False)  # MarketPipeline, poll 0.2 s
    assert [round(cycle.delay(n), 6) for n in (1, 2, 6, 7, 50)] == [0.4, 0.8, 12.8, 12.8, 12.8]
    with pytest.raises(ValueError, match=">= 0"):
        Backoff(base_s=-1.0)


@pytest.mark.asyncio(loop_scope="session")
async def test_token_bucket_with_a_fake_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        assert await bucket.acquire() == 0.0
    assert await bucket.acquire() == pytest.approx(0.1)
    assert await bucket.acquire(25) == pytest.approx(1.0)  # waits for a full bucket, then owes 15
    assert await bucket.acquire() == pytest.approx(1.6)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_endpoint_pool_cooldowns_grow_and_reset() -> None:
    now = [0.0]
    pool = EndpointPool(["http://a:1/k1", "http://b:1", "http://a:1/k2"], cooldown_s=1, max_cooldown_s=3,
                        clock=lambda: now[0])  # fmt: skip
    a, b, a2 = pool.endpoints
    assert a.label == "http://a:1/***#0" and b.label == "http://b:1" and a2.label == "http://a:1/***#2"
    assert pool.pick() is a
    pool.failed(a)
    assert pool.pick() is b and pool.pick(avoid=b) is a2
    pool.failed(a)
    pool.failed(a)
    assert a.cooldown_until == 3  # 1, 2, then capped at 3
    pool.failed(b)
    pool.failed(a2)
    assert pool.pick() is b  # all cooling: the soonest to recover
    now[0] = 10
    pool.succeeded(a)
    assert a.strikes == 0 and pool.pick() is a
