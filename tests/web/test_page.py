"""The risk page in headless Chromium (Debian's, driven by Playwright) on the devnet daemon: it loads with no
console error and no request leaving 127.0.0.1, every chart has data, a crash changes the distribution and the
alerts within a few blocks, and the what-if box shows ``simulate --json``'s numbers at the same block.
Screenshots (desktop and phone) land in build/screenshots/ for a look."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, async_playwright

from monitor.devnet.liquidator import crash
from tests.conftest import Devnet
from tests.tools import tool
from tests.web.helpers import MARKET, cli, page_daemon, settled, write_config

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
MARKET_CHARTS = ["chart-distribution", "chart-at-risk", "chart-path", "chart-path-time", "chart-critical"]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, headless (opened inside the test: Playwright stays on the test's event loop)."""
    executable = tool("chromium")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


class Watched:
    """A page with its console errors and every request it made recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("request", self._request)
        page.on(
            "response", lambda resp: self.errors.extend([f"{resp.status} {resp.url}"] if resp.status >= 400 else [])
        )

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)

    def _request(self, req: Request) -> None:
        self.requests.append(req.url)

    def foreign(self) -> list[str]:
        return [u for u in self.requests if urlsplit(u).hostname != "127.0.0.1"]


async def _charts(page: Page) -> dict[str, Any]:
    """Per uPlot instance: x length and the count of non-null y values over its series."""
    out: dict[str, Any] = await page.evaluate(
        """() => Object.fromEntries(Object.entries(window.cascade.charts).map(([id, u]) => [id, {
               x: u.data[0].length,
               y: u.data.slice(1).reduce((n, s) => n + s.filter((v) => v != null).length, 0),
               canvas: !!document.querySelector('#' + id + ' canvas')}]))"""
    )
    return out


async def _rows(page: Page, table: str) -> list[str]:
    texts: list[str] = await page.eval_on_selector_all(f"#{table} tbody tr:not(:has(td.empty))",
                                                       "rows => rows.map(r => r.innerText)")  # fmt: skip
    return texts


async def _block_shown(page: Page, block: int, timeout_s: float = 30) -> None:
    await page.wait_for_function(f"() => window.cascade.block >= {block}", timeout=timeout_s * 1000)


async def _mine_until(devnet: Devnet, page: Page, check: str, what: str, max_blocks: int) -> int:
    for n in range(max_blocks + 1):
        if await page.evaluate(check):
            return n
        await asyncio.to_thread(devnet.rpc.mine, 1)
        await asyncio.sleep(2.5)  # one page poll (2 s) after the daemon's cycle
    raise AssertionError(f"{what}: not within {max_blocks} blocks")


async def test_the_page_in_chromium(devnet: Devnet, tmp_path: Path) -> None:
    config, cfg = write_config(devnet, tmp_path)
    async with chromium() as browser, page_daemon(cfg) as (daemon, base):
        r = await settled(daemon, devnet)
        ctx = await browser.new_context(viewport={"width": 1280, "height": 900})
        w = Watched(await ctx.new_page())
        page = w.page
        # the system view: markets table, summed distribution
        await page.goto(base + "/")
        await page.wait_for_function("() => window.cascade.updates >= 1 && window.cascade.charts['chart-distribution']")
        assert await _rows(page, "markets") and MARKET in (await _rows(page, "markets"))[0]
        assert (await _charts(page))["chart-distribution"]["y"] > 0
        # the market view
        await page.select_option("#view", MARKET)
        await _block_shown(page, r.block)
        # the critical shocks come from a background sweep: blocks until it is in
        critical = (
            "() => (window.cascade.charts['chart-critical']?.data || []).slice(1).some(s => s.some(v => v != null))"
        )
        await _mine_until(devnet, page, critical, "critical shocks", 15)
        charts = await _charts(page)
        assert set(MARKET_CHARTS) <= set(charts), charts
        for name in MARKET_CHARTS:
            assert charts[name]["x"] > 0 and charts[name]["y"] > 0 and charts[name]["canvas"], (name, charts[name])
        # the cascade path by time: per scenario its cumulative debt repaid, ending at the scenario's total
        by_time = await page.evaluate(
            """() => { const u = window.cascade.charts['chart-path-time'];
                       return u.series.slice(1).map((s, i) => [s.label, u.data[i + 1].at(-1), u.data[0].at(-1)]); }"""
        )
        repaid = {s.name: s.debt_repaid_usd for s in r.scenarios}
        assert by_time and all(total == pytest.approx(repaid[name], rel=1e-9) for name, total, _ in by_time)
        assert max(last for *_, last in by_time) == max(s.duration_seconds for s in r.scenarios) > 0
        assert "first minute" in await page.inner_text("#path-time-note")
        assert len(await _rows(page, "top")) == cfg.book.top_n
        assert len(await _rows(page, "pools")) == len(devnet.dep.pools)
        assert await _rows(page, "deviation")
        # the what-if box at a block that stays put: simulate's numbers
        r = await settled(daemon, devnet)
        await _block_shown(page, r.block)
        await page.fill("#wi-drop", "20")
        await page.select_option("#wi-asset", "WETH")
        await page.click("#what-if button")
        summary = page.locator("#wi-summary")
        await summary.wait_for(timeout=60_000)
        shown = {k: await summary.get_attribute(f"data-{k}") for k in
                 ("block", "debt-repaid-usd", "bad-debt-usd", "bad-debt-accounts", "rounds")}  # fmt: skip
        sim = await cli("simulate", "--config", str(config), "--block", str(r.block), "--shock=WETH=-0.2")
        assert int(shown["block"] or 0) == r.block
        assert float(shown["debt-repaid-usd"] or "nan") == pytest.approx(sim["debt_repaid_usd"], rel=1e-12)
        assert float(shown["bad-debt-usd"] or "nan") == pytest.approx(sim["bad_debt_usd"], rel=1e-12, abs=1e-9)
        assert int(shown["bad-debt-accounts"] or -1) == sim["bad_debt_accounts"]
        assert int(shown["rounds"] or -1) == len(sim["rounds"]) >= 1
        # screenshots: desktop and a phone
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "desktop.png"), full_page=True)
        phone = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                          is_mobile=True, has_touch=True)  # fmt: skip
        wp = Watched(await phone.new_page())
        await wp.page.goto(f"{base}/#{MARKET}")
        await _block_shown(wp.page, r.block)
        await wp.page.wait_for_function("() => !!window.cascade.charts['chart-critical']")
        width = await wp.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"no horizontal scrolling on a phone (page is {width} px wide)"
        await wp.page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)
        await wp.page.screenshot(path=str(SHOTS / "phone-top.png"))
        await wp.page.locator("#what-if").scroll_into_view_if_needed()
        await wp.page.screenshot(path=str(SHOTS / "phone-middle.png"))
        # a crash: the distribution and the alerts on the page change within a few blocks
        await page.evaluate(
            "() => { window.distBefore = JSON.stringify(window.cascade.charts['chart-distribution'].data[1]); }"
        )
        active_before = await _rows(page, "alerts-active")
        assert not any("liquidatable-debt" in row for row in active_before)
        await asyncio.to_thread(crash, devnet.rpc, devnet.dep, "WETH", 0.25)
        check = """() => JSON.stringify(window.cascade.charts['chart-distribution'].data[1]) !== window.distBefore
            && [...document.querySelectorAll('#alerts-active tbody tr')]
                .some(r => r.innerText.includes('liquidatable-debt'))"""
        blocks = await _mine_until(devnet, page, check, "distribution and alerts after the crash", 6)
        assert blocks <= 5
        assert await _rows(page, "alerts-history"), "the firing is in the history"
        await page.screenshot(path=str(SHOTS / "desktop-crash.png"), full_page=True)
        await ctx.close()
        await phone.close()
    assert w.errors == [] and wp.errors == [], (w.errors, wp.errors)
    assert w.foreign() == [] and wp.foreign() == [], "every request stays on 127.0.0.1"
    assert any("/static/vendor/uPlot.iife.min.js" in u for u in w.requests)
    assert any("/what-if?" in u for u in w.requests)
