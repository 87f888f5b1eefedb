"""The page's pure parts without a chain: views, histories, rate limits and what-if validation; and the API on a
store filled by hand (aiohttp's test server on loopback)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from types import MappingProxyType

import aiohttp
import pytest
from aiohttp import web

from monitor.alerts.model import AlertEvent
from monitor.daemon.metrics import Metrics
from monitor.daemon.result import MarketStatus
from monitor.daemon.store import AlertState, ResultStore
from monitor.web import WebSources, views
from monitor.web.history import AlertHistory, CriticalShockHistory
from monitor.web.ratelimit import RateLimiter, TokenBucket
from monitor.web.whatif import WhatIfError, parse_request
from tests.deploy.promql import synthetic_result


def test_distribution_per_bucket_from_the_cumulative_counts() -> None:
    r = synthetic_result()  # 5 accounts with debt, HF < 1: 1, HF < 1.1: 2; debt 10, 20 of 500
    d = views.distribution(r)
    assert d["counts"] == [1, 1, 3] and d["debt_usd"] == [10.0, 10.0, 480.0]
    assert d["labels"] == ["<1", "[1,1.1)", ">=1.1"] and d["edges"] == [1.0, 1.1]
    assert sum(d["counts"]) == r.accounts_with_debt


def test_system_distribution_sums_markets_with_the_same_edges_only() -> None:
    a, b = synthetic_result("a"), synthetic_result("b")
    assert views.system_distribution([a, b])["counts"] == [2, 2, 6]  # type: ignore[index]
    assert views.system_distribution([a, replace(b, hf_edges=(1.0, 1.2))]) is None


def test_non_finite_numbers_become_null_and_the_documents_are_strict_json() -> None:
    r = synthetic_result()
    r = replace(r, critical_shocks=MappingProxyType({"WETH": None, "WBTC": math.nan}),
                oracle_dex_deviation=MappingProxyType({"WETH": math.inf}))  # fmt: skip
    crit = views.critical_shocks(r, [])
    assert crit["critical_shock"] == {"WETH": None, "WBTC": None}
    pools = views.pools(r)
    assert pools["deviation"] == [{"symbol": "WETH", "oracle_price_usd": 2000.0, "dex_price_usd": None,
                                   "deviation": None}]  # fmt: skip
    for doc in (crit, pools, views.scenarios(r), views.top_accounts(r), views.collateral_at_risk(r)):
        json.dumps(doc, allow_nan=False)


def test_critical_shock_history_is_bounded_one_point_per_block_and_drops_orphans() -> None:
    h = CriticalShockHistory(points=3)
    r = synthetic_result()
    for block in (100, 100, 101, 102, 103):
        h.add(replace(r, block=block))
    assert [p.block for p in h.points_of("m")] == [101, 102, 103]
    assert h.add(replace(r, block=102, critical_shocks={"WETH": 0.3}))  # a reorg back to 102
    assert [(p.block, p.critical_shock["WETH"]) for p in h.points_of("m")] == [(101, 0.4), (102, 0.3)]
    with pytest.raises(ValueError):
        CriticalShockHistory(points=0)


def _event(i: int, state: str = "firing") -> AlertEvent:
    return AlertEvent(id=f"id{i}", rule="r", kind="k", severity="page", market="m", state=state,  # type: ignore[arg-type]
                      reason="threshold", value=1.0, threshold=0.5, block=i, timestamp=i, fired_block=i)  # fmt: skip


def test_alert_history_keeps_each_event_once_and_the_newest() -> None:
    h = AlertHistory(events=3)
    h.merge([_event(1), _event(2)])
    h.merge([_event(1), _event(2), _event(3), _event(4)])
    assert [e.id for e in h.events()] == ["id2", "id3", "id4"]
    h.merge([_event(1)])  # forgotten, so new again
    assert [e.id for e in h.events()] == ["id3", "id4", "id1"]


def test_token_bucket_and_rate_limiter() -> None:
    b = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [b.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert b.take(0.5) and not b.take(0.5)  # one token per half second
    lim = RateLimiter(per_client=(1.0, 2), overall=(10.0, 3), now=0.0, clients=2)
    assert lim.allow("a", 0.0) and lim.allow("a", 0.0) and not lim.allow("a", 0.0)
    assert lim.allow("b", 0.0) and not lim.allow("c", 0.0), "the global bucket is empty"
    assert len(lim._buckets) == 2, "client buckets are bounded"
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1, now=0)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"asset": "NOPE", "drop": "0.2"}, 404, "not in market m (assets: WETH, WBTC)"),
        ({"asset": "WETH", "drop": "0"}, 400, "outside (0, 1)"),
        ({"asset": "WETH", "drop": "1"}, 400, "outside (0, 1)"),
        ({"asset": "WETH", "drop": "-0.1"}, 400, "outside (0, 1)"),
        ({"asset": "WETH", "drop": "inf"}, 400, "outside (0, 1)"),
        ({"asset": "WETH", "drop": "abc"}, 400, "not a number"),
        ({"asset": "WETH", "drop": " "}, 400, "missing query parameter 'drop'"),
        ({"drop": "0.2"}, 400, "missing query parameter 'asset'"),
    ],
)
def test_what_if_validation(query: dict[str, str], status: int, words: str) -> None:
    with pytest.raises(WhatIfError) as exc:
        parse_request("m", query, ["WETH", "WBTC"])
    assert exc.value.status == status and words in str(exc.value)


def test_what_if_request_takes_the_market_spelling() -> None:
    req = parse_request("m", {"asset": "weth", "drop": "0.25"}, ["WETH", "WBTC"])
    assert (req.symbol, req.drop) == ("WETH", 0.25)


async def test_api_on_a_store_filled_by_hand() -> None:
    store = ResultStore(["m", "idle"], stale_after_s=1e12)
    store.publish(synthetic_result("m"))
    states = [AlertState("m", "r", "page", True, 2.0), AlertState("m", "q", "ticket", False, None)]
    app = Metrics(store, web=WebSources(lambda: states, lambda: [_event(7)])).app()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{base}/api/v1/status") as r:
                st = await r.json()
                assert r.status == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]
            assert [m["market"] for m in st["markets"]] == ["m", "idle"]
            assert st["markets"][1]["status"] == "starting" and st["markets"][1]["debt_usd"] is None
            assert st["totals"]["debt_usd"] == 500.0 and st["alerts_firing"] == 1 and st["projection"] is None
            async with s.get(f"{base}/api/v1/alerts") as r:
                al = await r.json()
            assert [a["rule"] for a in al["active"]] == ["r"] and al["history"][0]["id"] == "id7"
            async with s.get(f"{base}/api/v1/markets/m/scenarios") as r:
                assert (await r.json())["scenarios"][0]["name"] == "eth-30"
            async with s.get(f"{base}/api/v1/markets/idle/top") as r:
                assert r.status == 503 and "no result yet" in (await r.json())["error"]
            async with s.get(f"{base}/api/v1/markets/m/what-if?asset=WETH&drop=0.2") as r:
                assert r.status == 503 and "no projection yet" in (await r.json())["error"]
            async with s.get(f"{base}/") as r:
                assert r.status == 200 and "<title>cascade-monitor" in await r.text()
            async with s.get(f"{base}/static/app.js") as r:
                assert r.status == 200 and "window.cascade" in await r.text()
            async with s.get(f"{base}/static/%2e%2e/routes.py") as r:
                assert r.status in (403, 404) and "add_web_routes" not in await r.text(), "no file outside static/"
            async with s.get(f"{base}/metrics") as r:
                assert r.status == 200 and "cascade_monitor_build_info" in await r.text()
    finally:
        await runner.cleanup()


def test_unpriced_markets_in_the_status_are_capped_and_null_where_none_can_be() -> None:
    r = synthetic_result()
    junk = {f"0x{i:064x}": f"oracle {i} price() reverted" for i in range(views.UNPRICED_LISTED + 5, 0, -1)}
    doc = views.market_status(MarketStatus("m", "ok", replace(r, unpriced_markets=MappingProxyType(junk))), 0.0)
    assert doc["unpriced_markets_total"] == views.UNPRICED_LISTED + 5
    listed = doc["unpriced_markets"]
    assert [u["market_id"] for u in listed] == sorted(junk)[: views.UNPRICED_LISTED]
    assert all(u["reason"] == junk[u["market_id"]] for u in listed)
    aave = views.market_status(MarketStatus("m", "ok", replace(r, unpriced_markets=None)), 0.0)
    assert aave["unpriced_markets_total"] is None and aave["unpriced_markets"] is None
    before = views.market_status(MarketStatus("m", "starting", None), 0.0)
    assert before["unpriced_markets"] is None
