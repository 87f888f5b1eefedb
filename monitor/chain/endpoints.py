"""RPC endpoints in failover order, each with a cooldown after failures (pure apart from the clock)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.config import redact_url


@dataclass
class Endpoint:
    """One RPC URL. ``label`` is the redacted form used in messages, logs and metrics."""

    url: str
    label: str
    cooldown_until: float = 0.0
    strikes: int = 0
    verified: bool = False  # its chain id was checked


class EndpointPool:
    """Picks the first endpoint not on cooldown; a failure puts an endpoint on a growing cooldown."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        cooldown_s: float = 2.0,
        max_cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        labels = [redact_url(u) for u in urls]
        self.endpoints = tuple(
            Endpoint(url=u, label=lab if labels.count(lab) == 1 else f"{lab}#{i}")
            for i, (u, lab) in enumerate(zip(urls, labels, strict=True))
        )
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self._clock = clock

    def healthy(self, ep: Endpoint) -> bool:
        """True when ``ep`` is not on cooldown."""
        return ep.cooldown_until <= self._clock()

    def pick(self, avoid: Endpoint | None = None) -> Endpoint:
        """The first healthy endpoint (other than ``avoid`` when possible), else the soonest to recover."""
        healthy = [e for e in self.endpoints if self.healthy(e)]
        preferred = [e for e in healthy if e is not avoid]
        if preferred:
            return preferred[0]
        if healthy:
            return healthy[0]
        others = [e for e in self.endpoints if e is not avoid] or list(self.endpoints)
        return min(others, key=lambda e: e.cooldown_until)

    def failed(self, ep: Endpoint) -> None:
        """Put ``ep`` on cooldown: cooldown_s, doubling per consecutive failure, up to max_cooldown_s."""
        ep.strikes += 1
        ep.cooldown_until = self._clock() + min(self.max_cooldown_s, self.cooldown_s * 2.0 ** (ep.strikes - 1))

    def succeeded(self, ep: Endpoint) -> None:
        """Clear ``ep``'s failure record."""
        ep.strikes = 0
        ep.cooldown_until = 0.0
