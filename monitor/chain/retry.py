"""The one retry policy of the monitor (pure): which RPC methods may be repeated, and :class:`Backoff`, the capped
exponential backoff every retry loop waits by (RPC requests, MQTT reconnects, a market's failed cycles).

Not ``stamina``: its decorator retries one function call, while two of the three loops here are long-lived
tasks with their own state between attempts (the MQTT connection, a market's cycle); they need only the
waits, which this class gives without a dependency."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

IDEMPOTENT_METHODS = frozenset(
    {
        "eth_accounts",
        "eth_call",
        "eth_chainId",
        "eth_blockNumber",
        "eth_getBlockByNumber",
        "eth_getBlockByHash",
        "eth_getLogs",
        "eth_getCode",
        "eth_getBalance",
        "eth_getStorageAt",
        "eth_getTransactionCount",
        "eth_getTransactionByHash",
        "eth_getTransactionReceipt",
        "eth_estimateGas",
        "eth_gasPrice",
        "eth_feeHistory",
        "eth_maxPriorityFeePerGas",
        "net_version",
        "web3_clientVersion",
    }
)
"""Reads that may be sent again without effect. Anything else (eth_sendTransaction, eth_sendRawTransaction,
cheat codes) is sent once: a lost answer does not mean the node did not act."""


def all_idempotent(methods: Iterable[str]) -> bool:
    """True when every method of a request may be repeated."""
    return all(m in IDEMPOTENT_METHODS for m in methods)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: retry ``n`` (1-based) waits up to ``min(cap, base * 2**(n-1))``.

    With ``jitter`` (full jitter, the RPC client: many callers retrying together spread out) the wait is drawn
    uniformly below that ceiling; without it (one loop retrying one thing) it is the ceiling itself.
    """

    base_s: float = 0.1
    cap_s: float = 5.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError("base_s and cap_s must be >= 0")

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the wait before retry number ``attempt`` (1-based)."""
        return min(self.cap_s, self.base_s * 2.0 ** min(max(attempt - 1, 0), 64))

    def delay(self, attempt: int, rng: random.Random | None = None, *, at_least: float = 0.0) -> float:
        """The wait before retry ``attempt``; ``at_least`` (a Retry-After hint) is honoured up to the cap."""
        wait = (rng or _RNG).uniform(0.0, self.ceiling(attempt)) if self.jitter else self.ceiling(attempt)
        return max(wait, min(at_least, self.cap_s))


_RNG = random.Random()
