"""The HTTP side: ``GET /`` (the page), ``/static/...`` (its script, stylesheet and uPlot) and the
``/api/v1/...`` JSON endpoints. Read-only; every answer is JSON or a packaged file; errors are JSON with a
message, never a stack trace. A small task polls the store to feed the bounded histories."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from aiohttp import web

from monitor import __version__
from monitor.daemon.result import MarketResult
from monitor.daemon.store import ResultStore
from monitor.web import views
from monitor.web.history import AlertHistory, CriticalShockHistory
from monitor.web.sources import WebSources
from monitor.web.whatif import WhatIfError, WhatIfRunner, parse_request

log = logging.getLogger(__name__)

STATIC = Path(str(files("monitor.web") / "static"))
POLL_S = 0.25
SECURITY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(doc: Any, status: int = 200) -> web.Response:
    body = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    return web.Response(text=body, status=status, content_type="application/json", headers=SECURITY)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message, "status": status}, status)


class WebApi:
    """Handlers over the store, the daemon's other sources and the page's own bounded histories."""

    def __init__(self, store: ResultStore, sources: WebSources) -> None:
        self.store = store
        self.sources = sources
        self.shocks = CriticalShockHistory()
        self.alert_history = AlertHistory()
        self.what_ifs = WhatIfRunner(sources.what_if_projector)

    def observe(self) -> None:
        """Take the newest results and alert events into the histories."""
        for st in self.store.statuses().values():
            if st.result is not None:
                self.shocks.add(st.result)
        self.alert_history.merge(self.sources.alert_events())

    async def feed(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: the polling task lives as long as the app."""

        async def poll() -> None:
            while True:
                try:
                    self.observe()
                except Exception:  # the page's history must never take the daemon down
                    log.exception("web history update failed")
                await asyncio.sleep(POLL_S)

        task = asyncio.create_task(poll(), name="web-history")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.what_ifs.close()

    def _result(self, request: web.Request) -> MarketResult:
        name = request.match_info["market"]
        st = self.store.statuses().get(name)
        if st is None:
            raise WhatIfError(404, f"unknown market {name[:60]!r} (markets: {', '.join(self.store.statuses())})")
        if st.result is None:
            raise WhatIfError(503, f"market {name} has no result yet (status {st.status})")
        return st.result

    async def status(self, _: web.Request) -> web.Response:
        now = time.time()
        doc = views.system(self.store.statuses(), self.sources.alert_states(), now, self.store.system(),
                           self.sources.offchain_status())  # fmt: skip
        return _json({"version": __version__, "now": now} | doc)

    def per_market(self, build: Callable[[MarketResult], views.JSON]) -> Handler:
        async def handler(request: web.Request) -> web.Response:
            return _json(build(self._result(request)))

        return handler

    async def critical(self, request: web.Request) -> web.Response:
        r = self._result(request)
        self.shocks.add(r)
        return _json(views.critical_shocks(r, self.shocks.points_of(r.market)))

    async def alerts(self, _: web.Request) -> web.Response:
        self.alert_history.merge(self.sources.alert_events())
        return _json(views.alerts(self.sources.alert_states(), self.alert_history.events()))

    async def what_if(self, request: web.Request) -> web.Response:
        r = self._result(request)
        self.what_ifs.admit(request.remote or "unknown")
        req = parse_request(r.market, request.query, list(r.oracle_prices_usd))
        return _json(await self.what_ifs.run(req))


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure of an API call as a JSON error: the request's fault as 4xx, ours as a plain 500."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except WhatIfError as exc:
        return _error(exc.status, str(exc))
    except web.HTTPException as exc:
        return _error(exc.status, exc.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("web request %s failed", request.path)
        return _error(500, "internal error (see the daemon's log)")


async def _page(_: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers=SECURITY)


def add_web_routes(app: web.Application, store: ResultStore, sources: WebSources | None = None) -> WebApi:
    """Add the page, its static files and the API to ``app`` (the daemon's metrics application)."""
    api = WebApi(store, sources or WebSources())
    app.middlewares.append(_errors)
    app.cleanup_ctx.append(api.feed)
    r = app.router
    r.add_get("/", _page)
    r.add_static("/static/", STATIC, follow_symlinks=False)
    r.add_get("/api/v1/status", api.status)
    r.add_get("/api/v1/alerts", api.alerts)
    m = "/api/v1/markets/{market}"
    r.add_get(f"{m}/distribution", api.per_market(views.distribution))
    r.add_get(f"{m}/top", api.per_market(views.top_accounts))
    r.add_get(f"{m}/collateral-at-risk", api.per_market(views.collateral_at_risk))
    r.add_get(f"{m}/scenarios", api.per_market(views.scenarios))
    r.add_get(f"{m}/pools", api.per_market(views.pools))
    r.add_get(f"{m}/critical-shocks", api.critical)
    r.add_get(f"{m}/what-if", api.what_if)
    return api
