"""Adaptive eth_getLogs block spans: grow after a success, shrink after an error (pure).

Providers cap eth_getLogs by block span or result count and say so in different words ("query returned
more than 10000 results", "Log response size exceeded", "block range is too wide", timeouts). Any failed
range is halved, or cut to the range the error message suggests; when one block still fails, the caller
gives up. The RPC owner has already retried transient transport errors by then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HINT = re.compile(r"\[\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*\]")


@dataclass(frozen=True)
class SpanPolicy:
    """Block-span bounds of eth_getLogs requests."""

    initial: int = 2_000
    minimum: int = 1
    maximum: int = 100_000
    grow: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.initial <= self.maximum or self.grow < 1:
            raise ValueError("need 1 <= minimum <= initial <= maximum and grow >= 1")


def suggested_range(message: str) -> tuple[int, int] | None:
    """The ``[0xfrom, 0xto]`` range some providers suggest in a "too many results" error."""
    m = _HINT.search(message)
    if m is None:
        return None
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    return (lo, hi) if lo <= hi else None


class AdaptiveSpan:
    """The current span; :meth:`shrink` returns False when it cannot get smaller."""

    def __init__(self, policy: SpanPolicy | None = None) -> None:
        self.policy = policy or SpanPolicy()
        self.current = self.policy.initial

    def success(self) -> None:
        """A range was read: try a larger one next."""
        self.current = min(self.policy.maximum, max(self.current + 1, int(self.current * self.policy.grow)))

    def shrink(self, from_block: int, to_block: int, message: str = "") -> bool:
        """A range failed; use the hinted range when it starts at ``from_block``, else half of the failed span."""
        failed = to_block - from_block + 1
        if failed <= self.policy.minimum:
            return False
        hint = suggested_range(message)
        if hint is not None and hint[0] == from_block and hint[1] < to_block:
            self.current = max(self.policy.minimum, hint[1] - hint[0] + 1)
        else:
            self.current = max(self.policy.minimum, failed // 2)
        return True
