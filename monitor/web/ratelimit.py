"""Token buckets for the what-if endpoint: one per client and one for everybody (pure: time is passed in)."""

from __future__ import annotations

from collections import OrderedDict


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; :meth:`take` spends one when there is one."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now

    def take(self, now: float) -> bool:
        """Spend a token at ``now``; False when the bucket is empty."""
        self.tokens = min(self.burst, self.tokens + max(now - self.at, 0.0) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class RateLimiter:
    """A request passes when both its client's bucket and the global bucket have a token. Client buckets are
    bounded in number (the least recently seen is forgotten first)."""

    def __init__(self, per_client: tuple[float, float], overall: tuple[float, float], now: float,
                 clients: int = 1024) -> None:  # fmt: skip
        self.per_client = per_client
        self.overall = TokenBucket(*overall, now)
        self.clients = clients
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def allow(self, client: str, now: float) -> bool:
        """Whether ``client`` may run one request at ``now`` (a refused request costs no global token)."""
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = TokenBucket(*self.per_client, now)
            self._buckets[client] = bucket
            if len(self._buckets) > self.clients:
                self._buckets.popitem(last=False)
        self._buckets.move_to_end(client)
        return bucket.take(now) and self.overall.take(now)
