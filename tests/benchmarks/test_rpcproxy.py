"""The latency proxy in front of a real anvil: answers unchanged, latency per request (a batch pays it once),
a calls-per-second cap, a batch limit, and a synchronous client through :class:`ProxyThread`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benchmarks.rpcproxy import Exchange, LatencyProxy, ProxyThread, sequential_round_trips
from monitor.devnet.anvil import Anvil

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with Anvil() as anvil:
        yield anvil


def call(i: int, method: str = "eth_chainId") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": method, "params": []}


async def post(client: httpx.AsyncClient, url: str, payload: Any) -> Any:
    r = await client.post(url, json=payload)
    assert r.status_code == 200
    return r.json()


async def test_latency_per_request_and_answers_unchanged(node: Anvil) -> None:
    async with LatencyProxy(node.url, latency_ms=40) as proxy, httpx.AsyncClient() as client:
        t0 = time.perf_counter()
        answers = [await post(client, proxy.url, call(i)) for i in range(5)]
        elapsed = time.perf_counter() - t0
        direct = await post(client, node.url, call(0))
        batch = await post(client, proxy.url, [call(i, "eth_blockNumber") for i in range(10)])
    assert elapsed >= 5 * 0.040
    assert [a["result"] for a in answers] == [direct["result"]] * 5
    assert sorted(a["id"] for a in batch) == list(range(10)) and all("result" in a for a in batch)
    # a batch is one HTTP request: one round trip, ten calls
    assert (proxy.stats.requests, proxy.stats.calls) == (6, 15)
    assert proxy.stats.throttled_s == 0


async def test_calls_per_second_cap_spreads_calls(node: Anvil) -> None:
    async with LatencyProxy(node.url, calls_per_second=100) as proxy, httpx.AsyncClient() as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(post(client, proxy.url, call(i)) for i in range(10)))
        await post(client, proxy.url, [call(i) for i in range(10)])  # ten calls of one batch count ten
        elapsed = time.perf_counter() - t0
    # a request waits until the calls before it are paid for at 100/s: the batch after ten calls waits >= 100 ms
    assert elapsed >= 10 / 100
    assert proxy.stats.calls == 20
    # the k-th call is answered no sooner than k x 10 ms after the first arrived, however late the requests came
    # (a slow machine spreads their arrivals, which shortens the waits but never the spacing)
    first = min(ex.arrived for ex in proxy.exchanges)
    answered = sorted(ex.answered for ex in proxy.exchanges[:10])
    assert all(at - first >= k / 100 - 1e-3 for k, at in enumerate(answered)), [a - first for a in answered]
    assert proxy.exchanges[10].answered - first >= 10 / 100 - 1e-3


async def test_batch_limit_refuses_larger_batches(node: Anvil) -> None:
    async with LatencyProxy(node.url, max_batch=3) as proxy, httpx.AsyncClient() as client:
        ok = await post(client, proxy.url, [call(i) for i in range(3)])
        refused = await post(client, proxy.url, [call(i) for i in range(4)])
    assert len(ok) == 3
    assert refused["error"]["message"] == "batch of 4 calls exceeds the limit of 3"
    assert proxy.stats.refused_batches == 1


def test_proxy_thread_serves_a_synchronous_client(node: Anvil) -> None:
    proxy = LatencyProxy(node.url, latency_ms=20)
    with ProxyThread(proxy) as url:
        t0 = time.perf_counter()
        answer = httpx.post(url, json=call(1), timeout=10).json()
        assert time.perf_counter() - t0 >= 0.020
    assert answer["result"] == hex(node.chain_id)
    assert proxy.stats.requests == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latency_ms": -1}, "latency_ms"),
        ({"calls_per_second": 0}, "calls_per_second"),
        ({"max_batch": 0}, "max_batch"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LatencyProxy("http://127.0.0.1:1", **kwargs)


def test_sequential_round_trips_count_requests_in_flight_together_once() -> None:
    def ex(arrived: float, answered: float) -> Exchange:
        return Exchange(arrived, answered, ("eth_call",))

    # a head, then three requests together, then one after them: 3 one after the other
    block = [ex(0.0, 1.0), ex(1.0, 2.0), ex(1.0, 2.1), ex(1.05, 1.9), ex(2.1, 3.0)]
    assert sequential_round_trips(block) == 3
    assert sequential_round_trips([ex(0.0, 1.0), ex(0.5, 1.5), ex(1.0, 2.0)]) == 2  # the second overlaps both
    assert sequential_round_trips([ex(float(i), i + 1.0) for i in range(7)]) == 7
    assert sequential_round_trips([]) == 0
