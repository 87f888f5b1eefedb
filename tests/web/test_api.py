"""The page's JSON API on the devnet daemon: the same numbers as the CLI (``snapshot``/``simulate --json``) and
the metrics at the same block; bad what-if input gets a clear 4xx; a flood gets 429s while blocks keep coming."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Devnet
from tests.web.helpers import MARKET, cli, get_json, page_daemon, settled, write_config

API = f"/api/v1/markets/{MARKET}"


def _metric(text: str, name: str, **labels: str) -> float:
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    raise KeyError(f"{name} {labels}")


async def test_every_endpoint_equals_the_cli_at_the_same_block(devnet: Devnet, tmp_path: Path) -> None:
    config, cfg = write_config(devnet, tmp_path, sweep={"enabled": False})
    async with page_daemon(cfg) as (daemon, base):
        r = await settled(daemon, devnet)
        docs = {}
        for what in ("distribution", "top", "collateral-at-risk", "scenarios", "pools", "critical-shocks"):
            status, docs[what] = await get_json(f"{base}{API}/{what}")
            assert status == 200, (what, docs[what])
            assert docs[what]["block"] == r.block and docs[what]["market"] == MARKET
        status, st = await get_json(f"{base}/api/v1/status")
        status_a, alerts = await get_json(f"{base}/api/v1/alerts")
        status_w, what_if = await get_json(f"{base}{API}/what-if?asset=WETH&drop=0.2")
        async with aiohttp.ClientSession() as s, s.get(f"{base}/metrics") as resp:
            metrics = await resp.text()
        assert daemon.store.statuses()[MARKET].result is r, "the chain did not move meanwhile"
    assert status == status_a == status_w == 200
    snap = (await cli("snapshot", "--config", str(config), "--block", str(r.block)))["markets"][0]
    # distribution: accounts per bucket exactly, debt to float summation order
    dist, want = docs["distribution"], snap["distribution"]
    assert dist["edges"] == want["edges"] and dist["counts"] == want["counts"]
    assert dist["debt_usd"] == pytest.approx(want["debt_usd"], rel=1e-9, abs=1e-6)
    assert sum(dist["counts"]) == len(snap["accounts"]) > 0
    # top-N: the lowest health factors of the snapshot's accounts, in order
    ranked = sorted(snap["accounts"], key=lambda a: int(a["health_factor_wad"]))[: len(docs["top"]["accounts"])]
    assert [a["address"] for a in docs["top"]["accounts"]] == [a["address"] for a in ranked]
    for got, a in zip(docs["top"]["accounts"], ranked, strict=True):
        assert got["health_factor"] == pytest.approx(int(a["health_factor_wad"]) / 1e18, rel=1e-9)
        assert got["debt_usd"] == pytest.approx(a["debt_usd"], rel=1e-9)
    # collateral at risk, 1% to 90%: the snapshot's curve at the same drops
    curves = {c["symbol"]: c for c in snap["collateral_at_risk"].values()}
    assert {a["symbol"] for a in docs["collateral-at-risk"]["assets"]} == set(curves)
    for a in docs["collateral-at-risk"]["assets"]:
        assert a["drops"][0] == 0.01 and a["drops"][-1] == 0.9
        want_by_drop = dict(zip(curves[a["symbol"]]["drops"], curves[a["symbol"]]["collateral_now_usd"], strict=True))
        assert a["collateral_now_usd"] == pytest.approx([want_by_drop[d] for d in a["drops"]], rel=1e-9, abs=1e-6)
    assert any(v > 0 for a in docs["collateral-at-risk"]["assets"] for v in a["collateral_now_usd"])
    # a scenario's cascade path round by round equals simulate's rounds
    weth = next(s for s in docs["scenarios"]["scenarios"] if s["name"] == "weth-20")
    sim = await cli("simulate", "--config", str(config), "--block", str(r.block), "--shock=WETH=-0.2")
    symbol = {t.address.lower(): s for s, t in devnet.dep.tokens.items()}
    assert [p["round"] for p in weth["path"]] == [0] + [x["round"] for x in sim["rounds"]]
    assert weth["rounds"] == len(sim["rounds"]) >= 1
    for p, x in zip(weth["path"][1:], sim["rounds"], strict=True):
        assert p["debt_repaid_usd"] == pytest.approx(x["debt_repaid_usd"], rel=1e-12)
        assert p["accounts_liquidated"] == x["accounts_liquidated"]
        assert p["seconds"] == x["seconds"] > 0
        prices = {symbol[a]: v for a, v in x["oracle_prices_usd"].items()}
        assert p["prices_usd"] and all(v == pytest.approx(prices[a], rel=1e-12) for a, v in p["prices_usd"].items())
    assert weth["debt_repaid_usd"] == pytest.approx(sim["debt_repaid_usd"], rel=1e-12)
    assert weth["path"][0]["seconds"] == 0.0 and weth["duration_seconds"] == sim["duration_seconds"]
    for key in ("liquidated_first_minute_usd", "liquidated_first_hour_usd", "dust_debt_usd"):
        assert weth[key] == pytest.approx(sim[key], rel=1e-12, abs=1e-9), key
    assert weth["path"][-1]["bad_debt_usd"] == pytest.approx(sim["bad_debt_usd"], rel=1e-9, abs=1e-6)
    # the what-if box: simulate's document at the same block
    assert what_if["block"] == r.block and what_if["asset"] == "WETH" and what_if["drop"] == 0.2
    for key in ("final_prices_usd", "debt_repaid_usd", "bad_debt_usd", "bad_debt_accounts"):
        assert what_if[key] == pytest.approx(sim[key], rel=1e-12), key
    assert [x["debt_repaid_usd"] for x in what_if["rounds"]] == pytest.approx(
        [x["debt_repaid_usd"] for x in sim["rounds"]], rel=1e-12
    )
    # pools, deviation, critical shocks and alerts: the metrics' numbers
    for p in docs["pools"]["pools"]:
        labels = {"market": MARKET, "pool": p["address"], "pair": p["pair"]}
        assert p["price_usd"] == pytest.approx(_metric(metrics, "cascade_monitor_dex_price_usd", **labels))
        for move, usd in p["depth_down_usd"].items():
            want_d = _metric(metrics, "cascade_monitor_dex_depth_usd", direction="down", move=move, **labels)
            assert usd == pytest.approx(want_d) if usd is not None else math.isnan(want_d)
    assert len(docs["pools"]["pools"]) == len(devnet.dep.pools)
    for d in docs["pools"]["deviation"]:
        want_dev = _metric(metrics, "cascade_monitor_oracle_dex_deviation_ratio", market=MARKET, asset=d["symbol"])
        assert d["deviation"] == pytest.approx(want_dev)
        assert d["oracle_price_usd"] / d["dex_price_usd"] - 1 == pytest.approx(want_dev, abs=1e-12)
    assert docs["critical-shocks"]["critical_shock"] == {}, "sweep disabled: no critical shock"
    firing = {(a["rule"], a["severity"]) for a in alerts["active"]}
    for a in alerts["rules"]:
        value = _metric(metrics, "cascade_monitor_alerts_active", market=MARKET, rule=a["rule"])
        assert value == (1.0 if (a["rule"], a["severity"]) in firing else 0.0)
    assert len(alerts["rules"]) == len(cfg.alerts.rules)
    # status: the totals of the result
    (m,) = st["markets"]
    assert m["block"] == r.block and m["status"] == "ok" and m["accounts_with_debt"] == len(snap["accounts"])
    assert st["totals"]["debt_usd"] == pytest.approx(r.debt_usd) and st["projection"] is None


BAD = [
    ("asset=NOPE&drop=0.2", 404, "not in market"),
    ("asset=WETH&drop=0", 400, "outside (0, 1)"),
    ("asset=WETH&drop=1", 400, "outside (0, 1)"),
    ("asset=WETH&drop=-0.1", 400, "outside (0, 1)"),
    ("asset=WETH&drop=nan", 400, "outside (0, 1)"),
    ("asset=WETH&drop=abc", 400, "not a number"),
    ("asset=WETH", 400, "missing query parameter 'drop'"),
    ("drop=0.2", 400, "missing query parameter 'asset'"),
]


async def test_bad_what_if_input_and_a_flood_get_clear_4xx_while_blocks_keep_coming(
    devnet: Devnet, tmp_path: Path
) -> None:
    _, cfg = write_config(devnet, tmp_path, sweep={"enabled": False})
    async with page_daemon(cfg) as (daemon, base):
        first = await settled(daemon, devnet)
        for query, status, words in BAD:
            got, doc = await get_json(f"{base}{API}/what-if?{query}")
            assert got == status and doc["status"] == status, (query, doc)
            assert words in doc["error"] and "Traceback" not in doc["error"], (query, doc)
            await asyncio.sleep(0.6)  # within the per-client rate
        got, doc = await get_json(f"{base}/api/v1/markets/nowhere/what-if?asset=WETH&drop=0.2")
        assert got == 404 and "unknown market 'nowhere'" in doc["error"]
        got, doc = await get_json(f"{base}/api/v1/nothing")
        assert got == 404 and doc["status"] == 404
        # a flood: 200 requests at once, each a different drop (no cache hit)
        async with aiohttp.ClientSession() as s:

            async def one(i: int) -> int:
                async with s.get(f"{base}{API}/what-if?asset=WETH&drop={0.01 + i * 0.004:.3f}") as resp:
                    body = await resp.json()
                    assert resp.status in (200, 429), body
                    assert resp.status == 200 or "too many" in body["error"]
                    return resp.status

            mined = asyncio.create_task(asyncio.to_thread(devnet.rpc.mine, 1))
            statuses = await asyncio.gather(*(one(i) for i in range(200)))
            await mined
            assert statuses.count(429) >= 150 and statuses.count(200) >= 1
            async with s.get(f"{base}/readyz") as resp:
                assert resp.status == 200, await resp.text()
        after = await settled(daemon, devnet, timeout=30)
        assert after.block >= first.block + 2, "the daemon kept publishing blocks"
