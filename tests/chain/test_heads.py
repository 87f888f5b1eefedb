"""newHeads subscription: the sans-I/O stream, the ws_url config key, and the driver against anvil's WebSocket."""

from __future__ import annotations

import asyncio
import json

import pytest

from monitor.chain.heads import HeadStream, HeadStreamError, HeadSubscription
from monitor.config import ChainConfig, parse_config
from monitor.errors import ConfigError
from tests.conftest import Devnet


def _notification(sub: str, number: int) -> str:
    head = {"number": hex(number), "hash": "0x" + "ab" * 32}
    return json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": sub, "result": head}})


def test_stream_reads_heads_of_its_own_subscription_only() -> None:
    stream = HeadStream()
    assert json.loads(stream.subscribe_request())["params"] == ["newHeads"]
    assert stream.feed(_notification("0x1", 7)) is None  # before the subscription is confirmed: not ours
    assert stream.feed(json.dumps({"jsonrpc": "2.0", "id": 1, "result": "0x1"})) is None
    assert stream.subscription == "0x1"
    assert stream.feed(_notification("0x1", 0x1234)) == 0x1234
    assert stream.feed(_notification("0x2", 99)) is None  # another subscription's message
    assert stream.feed(json.dumps({"jsonrpc": "2.0", "id": 5, "result": "0x0"})) is None  # other traffic


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ('{"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no"}}', "refused"),
        ('{"jsonrpc": "2.0", "id": 1, "result": 5}', "no subscription id"),
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON-RPC message"),
    ],
)
def test_stream_rejects_what_is_not_a_subscription(message: str, problem: str) -> None:
    with pytest.raises(HeadStreamError, match=problem):
        HeadStream().feed(message)


def test_stream_rejects_a_head_without_a_number() -> None:
    stream = HeadStream()
    stream.feed('{"jsonrpc": "2.0", "id": 1, "result": "0xa"}')
    bad = {"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": "0xa", "result": {}}}
    with pytest.raises(HeadStreamError, match="without a number"):
        stream.feed(json.dumps(bad))
    bad["params"]["result"] = {"number": "0xzz"}  # type: ignore[index]
    with pytest.raises(HeadStreamError, match="bad block number"):
        stream.feed(json.dumps(bad))


def _chain(**kw: object) -> ChainConfig:
    return ChainConfig.model_validate({"rpc_urls": ["http://127.0.0.1:8545"], "chain_id": 1, **kw})


def test_ws_url_derived_only_for_a_loopback_node() -> None:
    assert _chain().head_ws_url == "ws://127.0.0.1:8545"
    assert _chain(rpc_urls=["http://localhost:9/x"]).head_ws_url == "ws://localhost:9/x"
    assert _chain(rpc_urls=["https://eth.example.org/v2/KEY"]).head_ws_url is None
    assert _chain(ws_url="").head_ws_url is None  # explicitly off
    explicit = "wss://eth.example.org/ws/KEY"
    assert _chain(rpc_urls=["https://eth.example.org/v2/KEY"], ws_url=explicit).head_ws_url == explicit


def test_ws_url_must_be_a_websocket_url_and_is_redacted() -> None:
    base = {"markets": [{"name": "m", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "11" * 20}]}
    with pytest.raises(ConfigError, match=r"chain\.ws_url: not a ws\(s\) URL: 'http://h/\*\*\*'"):
        parse_config(
            {**base, "chain": {"rpc_urls": ["http://h/"], "chain_id": 1, "ws_url": "http://h/KEY"}}, environ={}
        )
    cfg = parse_config(
        {**base, "chain": {"rpc_urls": ["https://h/"], "chain_id": 1, "ws_url": "wss://u:pw@h/ws/KEY"}}, environ={}
    )
    assert cfg.redacted()["chain"]["ws_url"] == "wss://h/***"
    assert "KEY" not in repr(cfg.chain)


async def test_subscription_delivers_a_mined_block_from_anvil(devnet: Devnet) -> None:
    url = _chain(rpc_urls=[devnet.url]).head_ws_url
    assert url is not None
    heads = HeadSubscription(url)
    task = asyncio.create_task(heads.run())
    try:
        for _ in range(100):  # subscribed within a few seconds
            if heads.connected:
                break
            await asyncio.sleep(0.05)
        assert heads.connected
        before = devnet.rpc.block_number()
        await asyncio.to_thread(devnet.rpc.mine, 1)
        assert await heads.wait(5.0)
        assert heads.latest == before + 1
        assert not await heads.wait(0.2)  # nothing new since
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_subscription_retries_an_endpoint_that_refuses() -> None:
    heads = HeadSubscription("ws://127.0.0.1:9/")  # discard port: nothing listens
    task = asyncio.create_task(heads.run())
    try:
        assert not await heads.wait(0.3)
        assert not heads.connected and heads.connects == 0
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
