"""Counters of the RPC owner and their immutable snapshot (what a metrics exporter reads).

Keys are plain strings: ``method`` is the JSON-RPC method, ``endpoint`` a redacted URL label, ``kind`` one
of :data:`ERROR_KINDS`. A batch of 500 eth_call counts 500 requests of eth_call and one HTTP request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

ERROR_KINDS = ("transport", "timeout", "http_status", "malformed", "rpc_error", "chain_id")


@dataclass(frozen=True)
class RpcStats:
    """A point-in-time copy of every counter; mappings are read-only."""

    requests: Mapping[tuple[str, str], int]  # (method, endpoint) -> JSON-RPC requests sent
    errors: Mapping[tuple[str, str, str], int]  # (method, endpoint, kind) -> failed requests
    retries: Mapping[tuple[str, str], int]  # (method, endpoint) -> requests sent again
    http_requests: Mapping[str, int]  # endpoint -> HTTP POSTs
    http_seconds: Mapping[str, float]  # endpoint -> summed wall time of those POSTs
    failovers: int  # times a request moved to another endpoint after a failure

    def total(self, counter: str, *, method: str | None = None, kind: str | None = None) -> int:
        """Sum of ``requests``, ``errors`` or ``retries``, optionally for one method (and error kind)."""
        table: Mapping[tuple[str, ...], int] = getattr(self, counter)
        return sum(
            n for key, n in table.items() if (method is None or key[0] == method) and (kind is None or key[-1] == kind)
        )


class StatsRecorder:
    """Mutable counters owned by one RPC client."""

    def __init__(self) -> None:
        self._requests: Counter[tuple[str, str]] = Counter()
        self._errors: Counter[tuple[str, str, str]] = Counter()
        self._retries: Counter[tuple[str, str]] = Counter()
        self._http: Counter[str] = Counter()
        self._seconds: dict[str, float] = {}
        self._failovers = 0

    def sent(self, methods: Iterable[str], endpoint: str, seconds: float) -> None:
        """One HTTP request carrying ``methods`` went out (and came back or failed after ``seconds``)."""
        for m in methods:
            self._requests[(m, endpoint)] += 1
        self._http[endpoint] += 1
        self._seconds[endpoint] = self._seconds.get(endpoint, 0.0) + seconds

    def error(self, methods: Iterable[str], endpoint: str, kind: str) -> None:
        """``methods`` failed at ``endpoint`` with an error of ``kind``."""
        for m in methods:
            self._errors[(m, endpoint, kind)] += 1

    def retry(self, methods: Iterable[str], endpoint: str) -> None:
        """``methods`` are about to be sent again, to ``endpoint``."""
        for m in methods:
            self._retries[(m, endpoint)] += 1

    def failover(self) -> None:
        """A request moved to another endpoint."""
        self._failovers += 1

    def snapshot(self) -> RpcStats:
        """An immutable copy."""
        return RpcStats(
            requests=MappingProxyType(dict(self._requests)),
            errors=MappingProxyType(dict(self._errors)),
            retries=MappingProxyType(dict(self._retries)),
            http_requests=MappingProxyType(dict(self._http)),
            http_seconds=MappingProxyType(dict(self._seconds)),
            failovers=self._failovers,
        )
