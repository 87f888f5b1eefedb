"""Pure parts of discovery: event definitions against the published ABIs, log digests, adaptive spans."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.chain.abi import AbiEvent
from monitor.chain.follow.span import AdaptiveSpan, SpanPolicy, suggested_range
from monitor.chain.model import Log
from monitor.devnet.aave_deploy import CONFIGURATOR, POOL, PROVIDER, aave
from monitor.errors import MalformedResponseError
from monitor.protocols.aave_v3 import events
from monitor.protocols.aave_v3.market import (
    GET_POOL,
    GET_POOL_CONFIGURATOR,
    GET_RESERVE_DATA,
    GET_RESERVES_LIST,
    MarketAddresses,
    ReserveTokens,
)

POOL_ADDR, CONF, ATOKEN, VDEBT, SDEBT, ASSET = ("0x" + c * 40 for c in "123456")
MARKET = MarketAddresses("0x" + "9" * 40, POOL_ADDR, CONF, (ReserveTokens(ASSET, 0, ATOKEN, SDEBT, VDEBT),))
ALICE, BOB = "0x" + "a" * 40, "0x" + "b" * 40
ZERO = "0x" + "0" * 40


def _topic(addr: str) -> str:
    return "0x" + "0" * 24 + addr[2:]


def _log(address: str, ev: AbiEvent, *topics: str, block: int = 1, removed: bool = False) -> Log:
    return Log(address, (ev.topic0, *topics), "0x", block, "0x" + "0" * 64, "0x" + "0" * 64, 0, removed)


def _published(rel: str, name: str) -> AbiEvent:
    return aave(rel).abi.event(name)


def test_events_match_the_published_abis() -> None:
    def shape(ev: AbiEvent) -> tuple[str, tuple[bool, ...]]:
        return ev.signature, tuple(ix for _, _, ix in ev.fields)

    for ev, _ in events.POOL_ACCOUNT_EVENTS:
        assert shape(ev) == shape(_published(POOL, ev.name)), ev.name
    for ev in events.POOL_RESERVE_EVENTS:
        assert shape(ev) == shape(_published(POOL, ev.name)), ev.name
    a_token = "protocol/tokenization/AToken.sol/AToken"
    assert shape(events.BALANCE_TRANSFER) == shape(_published(a_token, "BalanceTransfer"))
    for token in (a_token, "protocol/tokenization/VariableDebtToken.sol/VariableDebtToken"):
        assert shape(events.TRANSFER) == shape(_published(token, "Transfer"))
    published = {e.signature for e in aave(CONFIGURATOR).abi.events.values()}
    assert set(events.CONFIG_EVENT_SIGNATURES) == published
    # The account each pool event touches is named as its holder in the ABI.
    holders = {"onBehalfOf", "user"}
    for ev, positions in events.POOL_ACCOUNT_EVENTS:
        indexed = [n for n, _, ix in ev.fields if ix]
        assert {indexed[p - 1] for p in positions} <= holders, ev.name


def test_functions_match_the_published_abis() -> None:
    assert aave(PROVIDER).abi.fn("getPool") == GET_POOL
    assert aave(PROVIDER).abi.fn("getPoolConfigurator") == GET_POOL_CONFIGURATOR
    assert aave(POOL).abi.fn("getReservesList") == GET_RESERVES_LIST
    assert aave(POOL).abi.fn("getReserveData") == GET_RESERVE_DATA


def test_digest_accounts_reserves_and_config() -> None:
    supply = events.POOL_ACCOUNT_EVENTS[0][0]
    reserve_updated = events.POOL_RESERVE_EVENTS[0]
    logs = [
        _log(POOL_ADDR, supply, _topic(ASSET), _topic(ALICE), _topic(ZERO), block=7),
        _log(POOL_ADDR, supply, _topic(ASSET), _topic(ALICE), _topic(ZERO), block=5),
        _log(POOL_ADDR, reserve_updated, _topic(ASSET), block=5),
        _log(ATOKEN, events.BALANCE_TRANSFER, _topic(ALICE), _topic(BOB), block=8),
        _log(VDEBT, events.TRANSFER, _topic(ZERO), _topic(BOB), block=9),  # not asked for: ignored
        _log(ASSET, events.TRANSFER, _topic(ZERO), _topic("0x" + "c" * 40)),  # the underlying: not ours
        _log(POOL_ADDR, events.TRANSFER, _topic(ZERO), _topic("0x" + "d" * 40)),  # wrong source
        _log(ATOKEN, events.BALANCE_TRANSFER, _topic(ALICE), _topic("0x" + "e" * 40), removed=True),
    ]
    d = events.digest_logs(logs, MARKET)
    assert dict(d.accounts) == {ALICE: 5, BOB: 8}
    assert not d.config_changed and not d.listing_changed
    assert dict(d.events) == {"Supply": 2, "BalanceTransfer": 1}
    dropped = Log(CONF, (events.signature_topic("ReserveDropped(address)"), _topic(ASSET)), "0x", 3,
                  "0x" + "0" * 64, "0x" + "0" * 64, 0)  # fmt: skip
    d2 = events.digest_logs([dropped], MARKET)
    assert d2.config_changed and d2.listing_changed and not d2.accounts


def test_digest_rejects_malformed_logs() -> None:
    supply = events.POOL_ACCOUNT_EVENTS[0][0]
    with pytest.raises(MalformedResponseError, match="topics"):
        events.digest_logs([_log(POOL_ADDR, supply, _topic(ASSET), _topic(ALICE))], MARKET)
    bad = "0x" + "f" * 64
    with pytest.raises(MalformedResponseError, match="address"):
        events.digest_logs([_log(POOL_ADDR, supply, _topic(ASSET), bad, _topic(ZERO))], MARKET)


def test_market_log_sources() -> None:
    assert MARKET.log_sources == (POOL_ADDR, CONF, ATOKEN, VDEBT, SDEBT)
    again = MARKET.with_reserves((ReserveTokens("0x" + "7" * 40, 1, "0x" + "8" * 40, ZERO, "0x" + "9" * 40),))
    assert len(again.reserves) == 2 and ZERO not in again.log_sources
    assert len(events.all_topics()) == len(set(events.all_topics())) == 11 + 26 + 1
    # reserve-state events and token Transfer are not asked for: account events already name every account
    assert events.TRANSFER.topic0 not in events.all_topics()
    assert events.POOL_RESERVE_EVENTS[0].topic0 not in events.all_topics()


def test_adaptive_span() -> None:
    span = AdaptiveSpan(SpanPolicy(initial=100, minimum=2, maximum=300))
    span.success()
    assert span.current == 200
    span.success()
    assert span.current == 300
    assert span.shrink(1000, 1299, "too many results")
    assert span.current == 150
    assert span.shrink(1000, 1149, "query returned more than 10000 results [0x3e8, 0x3f1]")
    assert span.current == 10  # the provider's suggestion
    assert span.shrink(1000, 1002) and span.current == 2
    assert not span.shrink(1000, 1001)
    assert suggested_range("range [0x10, 0x5]") is None and suggested_range("nothing") is None
    with pytest.raises(ValueError):
        SpanPolicy(initial=5, minimum=10)


def test_pure_modules_import_no_io_libraries() -> None:
    code = (
        "import sys, monitor.protocols.aave_v3.events, monitor.chain.follow.span, monitor.chain.follow.machine;"
        "import monitor.chain.follow.updates;"
        "import monitor.protocols.aave_v3.market, monitor.chain.jsonrpc;"
        "bad = {'asyncio', 'aiohttp', 'httpx', 'web3', 'sqlite3'} & set(sys.modules); print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
