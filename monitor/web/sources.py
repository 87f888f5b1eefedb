"""What the page shows besides the store's market results, handed over by the daemon (read at request time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.alerts.model import AlertEvent
from monitor.daemon.store import AlertState
from monitor.risk import Projector
from monitor.venues.offchain_file import OffchainFileStatus

WhatIfBase = tuple[int, Projector]  # a block and a projector of the what-if's own on that block's book


def _no_projector(market: str) -> WhatIfBase | None:
    return None


def _no_offchain_file() -> OffchainFileStatus | None:
    return None


@dataclass(frozen=True)
class WebSources:
    """``alert_states``: every (market, rule) now; ``alert_events``: the newest alert events, oldest first;
    ``what_if_projector``: per market, a projector of its own on the newest block's book, with that block;
    ``offchain_status``: the off-chain depth file's status (None: no file configured)."""

    alert_states: Callable[[], list[AlertState]] = list
    alert_events: Callable[[], Sequence[AlertEvent]] = tuple
    what_if_projector: Callable[[str], WhatIfBase | None] = _no_projector
    offchain_status: Callable[[], OffchainFileStatus | None] = _no_offchain_file
