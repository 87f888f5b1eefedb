"""Retry policy: which methods may be repeated, and capped exponential backoff with full jitter (pure)."""

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
    """Capped exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**(n-1)))."""

    base_s: float = 0.1
    cap_s: float = 5.0

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the wait before retry number ``attempt`` (1-based)."""
        return min(self.cap_s, self.base_s * 2.0 ** max(attempt - 1, 0))

    def delay(self, attempt: int, rng: random.Random, *, at_least: float = 0.0) -> float:
        """The wait before retry ``attempt``; ``at_least`` (a Retry-After hint) is honoured up to the cap."""
        return max(rng.uniform(0.0, self.ceiling(attempt)), min(at_least, self.cap_s))
