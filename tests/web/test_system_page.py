"""The system projection on the risk page and in ``/api/v1/status`` (a devnet holding Aave v3.6 and Morpho Blue
markets that share the Uniswap pools): ``projection`` carries every scenario projected on both markets as one
cascade, and the page's system panel (table and contagion bar chart) shows the same numbers as
``cascade-monitor simulate --json`` at the same block."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from monitor.config import load_config
from monitor.devnet.anvil import free_port
from monitor.devnet.monitor_config import devnet_config
from tests.conftest import Devnet
from tests.web.helpers import cli, get_json, page_daemon
from tests.web.test_page import SHOTS, Watched, _charts, chromium

NAMES = ["devnet-aave", "devnet-morpho"]


async def test_the_system_panel_equals_simulate(devnet_v36: Devnet, tmp_path: Path) -> None:
    devnet = devnet_v36
    data = devnet_config(devnet.url, devnet.dep, metrics_port=free_port(), checkpoint=str(tmp_path / "cp.sqlite"),
                         morpho=True)  # fmt: skip
    data["sweep"] = {"enabled": False}
    data["alerts"]["stale_after_s"] = 3600
    data["markets"][0]["buffers_usd"] = {"USDC": 50_000.0}
    config = tmp_path / "monitor.yaml"
    config.write_text(yaml.safe_dump(data))
    cfg = load_config(config, environ={})
    async with chromium() as browser, page_daemon(cfg) as (daemon, base):
        await asyncio.to_thread(devnet.rpc.mine, 1)
        head = devnet.rpc.block_number()  # nothing else moves the chain: the daemon settles on it
        async with asyncio.timeout(180):
            while (system := daemon.store.system()) is None or system.block < head:
                await asyncio.sleep(0.2)
        status, st = await get_json(base + "/api/v1/status")
        assert status == 200
        projection = st["projection"]
        assert projection["block"] == head and projection["markets"] == NAMES
        assert [s["name"] for s in projection["scenarios"]] == [sc.name for sc in cfg.scenarios]

        ctx = await browser.new_context(viewport={"width": 1280, "height": 1000})
        w = Watched(await ctx.new_page())
        page = w.page
        await page.goto(base + "/")
        try:
            await page.wait_for_function(
                "() => window.cascade.charts['chart-contagion'] && "
                "document.querySelectorAll('#system-scenarios tbody tr[data-scenario]').length > 0"
            )
        except Exception:
            raise AssertionError(f"the system panel did not fill: {w.errors}") from None
        rows = await page.eval_on_selector_all(
            "#system-scenarios tbody tr[data-scenario]",
            """rows => rows.map(r => {
                 const n = (k) => r.dataset[k] == null ? null : Number(r.dataset[k]);
                 return {scenario: r.dataset.scenario, market: r.dataset.market || null, repaid: n("debtRepaidUsd"),
                         bad: n("badDebtUsd"), contagion: n("contagionDebtRepaidUsd"),
                         contagionAccounts: n("contagionAccounts"), uncovered: n("uncoveredUsd")};
               })""",
        )
        charts = await _charts(page)
        assert charts["chart-contagion"]["x"] == len(cfg.scenarios) and charts["chart-contagion"]["canvas"]
        contagion_bars = await page.evaluate("() => window.cascade.charts['chart-contagion'].data.slice(1)")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "desktop-system.png"), full_page=True)
        await ctx.close()
    assert w.errors == [], w.errors
    assert len(rows) == len(cfg.scenarios) * (1 + len(NAMES))
    seen_contagion = 0.0
    seen_uncovered = 0.0
    for i, api in enumerate(projection["scenarios"]):
        doc = await cli("simulate", "--config", str(config), "--block", str(head),
                        *(f"--shock={a}={c}" for a, c in api["shocks"].items()))  # fmt: skip
        assert doc["block"] == head
        # the API's projection: simulate's fields
        assert api["debt_repaid_usd"] == pytest.approx(doc["debt_repaid_usd"], rel=1e-12)
        assert api["bad_debt_usd"] == pytest.approx(doc["bad_debt_usd"], rel=1e-12, abs=1e-9)
        assert api["bad_debt_accounts"] == doc["bad_debt_accounts"]
        for got, want in zip(api["markets"], doc["markets"], strict=True):
            assert {k: v for k, v in got.items() if not k.endswith("_usd")} == {
                k: v for k, v in want.items() if not k.endswith("_usd")
            }
            assert got["debt_repaid_usd"] == pytest.approx(want["debt_repaid_usd"], rel=1e-12)
            assert got["bad_debt_usd"] == pytest.approx(want["bad_debt_usd"], rel=1e-12, abs=1e-9)
        for name, extra in doc["contagion"].items():
            assert api["contagion"][name]["accounts_liquidated"] == extra["accounts_liquidated"]
            assert api["contagion"][name]["debt_repaid_usd"] == pytest.approx(extra["debt_repaid_usd"], abs=1e-6)
            assert api["contagion"][name]["bad_debt_usd"] == pytest.approx(extra["bad_debt_usd"], abs=1e-6)
        assert api["accounts_liquidated"] <= sum(m["accounts_liquidated"] for m in doc["markets"])
        # the page: the system row, then one row per market, and one contagion bar per market
        total, *markets = [r for r in rows if r["scenario"] == api["name"]]
        assert total["market"] is None
        assert total["repaid"] == pytest.approx(doc["debt_repaid_usd"], rel=1e-12)
        assert total["bad"] == pytest.approx(doc["bad_debt_usd"], rel=1e-12, abs=1e-9)
        # the loss beyond the buffers, per market and for the system (simulate's buffers summed)
        lost = {name: sum(u["uncovered_usd"] for u in units.values()) for name, units in doc["buffers"].items()}
        assert total["uncovered"] == pytest.approx(sum(lost.values()), rel=1e-9, abs=1e-6)
        assert [r["uncovered"] for r in markets] == pytest.approx([lost[n] for n in NAMES], rel=1e-9, abs=1e-6)
        seen_uncovered += sum(lost.values())
        for row, fig in zip(markets, doc["markets"], strict=True):
            extra = doc["contagion"][fig["name"]]
            assert row["market"] == fig["name"]
            assert row["repaid"] == pytest.approx(fig["debt_repaid_usd"], rel=1e-12)
            assert row["contagion"] == pytest.approx(extra["debt_repaid_usd"], abs=1e-6)
            assert row["contagionAccounts"] == extra["accounts_liquidated"]
            bar = contagion_bars[NAMES.index(fig["name"])][i]
            assert bar == pytest.approx(extra["debt_repaid_usd"], abs=1e-6)
            seen_contagion += abs(extra["debt_repaid_usd"])
    assert seen_contagion > 0, "the shared pools carry contagion on this devnet (the panel is not all zeros)"
    assert seen_uncovered > 0, "some scenario leaves a loss beyond the buffers (Morpho's lenders have none)"
