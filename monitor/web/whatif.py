"""The what-if box: validate ``asset`` and ``drop``, limit the rate, run the engine off the event loop.

Projections run one at a time on a thread of their own (the block pipeline's worker threads are never taken),
at most ``queue`` wait; one projector is kept per market and block (its exposure sums are reused), and the last
answers are cached by (market, block, asset, drop).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from monitor.errors import MonitorError
from monitor.web import views
from monitor.web.ratelimit import RateLimiter
from monitor.web.sources import WhatIfBase

PER_CLIENT = (2.0, 5.0)  # tokens per second, burst
OVERALL = (5.0, 10.0)
QUEUE = 4  # projections waiting or running at once
CACHED = 64


class WhatIfError(MonitorError):
    """A what-if request that cannot be answered; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WhatIfRequest:
    """A validated request: the asset's symbol as the market spells it and a drop in (0, 1)."""

    market: str
    symbol: str
    drop: float


def parse_request(market: str, query: Mapping[str, str], symbols: list[str]) -> WhatIfRequest:
    """``?asset=WETH&drop=0.2`` -> a request; ``symbols`` are the market's assets. Raises :class:`WhatIfError`
    (400 malformed or out of range, 404 unknown asset)."""
    asset, text = query.get("asset"), query.get("drop")
    if not asset:
        raise WhatIfError(400, "missing query parameter 'asset' (a symbol of the market, e.g. ?asset=WETH&drop=0.2)")
    if text is None or not text.strip():
        raise WhatIfError(400, "missing query parameter 'drop' (a share in (0, 1), e.g. drop=0.2 for -20%)")
    try:
        drop = float(text)
    except ValueError:
        raise WhatIfError(400, f"drop {text[:40]!r} is not a number (a share in (0, 1), e.g. 0.2)") from None
    if not (math.isfinite(drop) and 0.0 < drop < 1.0):
        raise WhatIfError(400, f"drop {drop:g} is outside (0, 1): a 20% drop is 0.2")
    match = [s for s in symbols if s.lower() == asset.strip().lower()]
    if not match:
        raise WhatIfError(404, f"asset {asset[:40]!r} is not in market {market} (assets: {', '.join(symbols)})")
    return WhatIfRequest(market, match[0], drop)


class WhatIfRunner:
    """Rate limits, the queue bound, the worker thread and the caches."""

    def __init__(self, projector_of: Callable[[str], WhatIfBase | None],
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.projector_of = projector_of
        self.clock = clock
        self.limiter = RateLimiter(PER_CLIENT, OVERALL, clock())
        self.pending = 0
        self.refused = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="what-if")
        self._projectors: dict[str, WhatIfBase] = {}
        self._cache: OrderedDict[tuple[str, int, str, float], views.JSON] = OrderedDict()

    def admit(self, client: str) -> None:
        """Raise a 429 :class:`WhatIfError` when ``client`` or everybody asks too often, or the queue is full."""
        if self.pending >= QUEUE or not self.limiter.allow(client, self.clock()):
            self.refused += 1
            raise WhatIfError(429, "too many what-if requests: try again in a second")

    async def run(self, req: WhatIfRequest) -> views.JSON:
        """The projection of ``req`` on the market's newest book (503 before its first block)."""
        self.pending += 1
        try:
            return await asyncio.wrap_future(self._pool.submit(self._project, req))
        finally:
            self.pending -= 1

    def _project(self, req: WhatIfRequest) -> views.JSON:
        latest = self.projector_of(req.market)
        if latest is None:
            raise WhatIfError(503, f"market {req.market} has no projection yet: wait for its first block")
        block = latest[0]
        key = (req.market, block, req.symbol, req.drop)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        kept = self._projectors.get(req.market)
        if kept is None or kept[0] != block:
            kept = self._projectors[req.market] = latest
        projector = kept[1]
        result = projector.project({req.symbol: -req.drop})
        m = projector.market
        doc = views.what_if(req.market, block, req.symbol, req.drop, result,
                            dict(zip(m.assets, m.symbols, strict=True)))  # fmt: skip
        self._cache[key] = doc
        if len(self._cache) > CACHED:
            self._cache.popitem(last=False)
        return doc

    def close(self) -> None:
        """Stop the worker thread (a running projection finishes first)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
