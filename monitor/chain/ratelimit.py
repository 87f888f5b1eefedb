"""A token bucket for requests per second, shared by every task of one RPC client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; waiters are served first come, first served.

    A cost above the burst is allowed: the caller waits for a full bucket and the balance goes negative, so
    a 500-item batch under a 100/s limit simply delays whatever comes next by about 5 s.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, waiting as needed; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            need = min(cost, self.burst)
            self._refill()
            while self._tokens < need:
                wait = (need - self._tokens) / self.rate
                await self._sleep(wait)
                waited += wait
                self._refill()
            self._tokens -= cost
        return waited
