"""Borrower discovery for a group of Morpho Blue markets over the chain-level reorg-safe log follower.

The follower (:class:`~monitor.chain.follow.driver.LogFollower`) reads Morpho's borrower-side events
(``Borrow``, ``Repay``, ``SupplyCollateral``, ``WithdrawCollateral``, ``Liquidate``) of the configured market
ids; each touched position is checkpointed under the key ``"<market id>:<account>"`` (:func:`pair_key`). A group
that takes every market of some loan tokens follows the events of every market of the contract, so that a
market created later finds its borrowers already checkpointed when the tracker next resolves its markets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.chain.model import Log, LogFilter
from monitor.errors import DataError
from monitor.protocols.morpho_blue.events import BORROWER_TOPICS, account_touches


def pair_key(market_id: str, account: str) -> str:
    """The checkpoint key of one position."""
    return f"{market_id}:{account}"


def split_key(key: str) -> tuple[str, str]:
    """(market id, account) of a checkpoint key."""
    market_id, sep, account = key.partition(":")
    if not sep:
        raise DataError(f"not a Morpho position key: {key!r}")
    return market_id, account


@dataclass(frozen=True)
class MorphoDigest:
    """What a range's logs did: the positions they touched, each with the first block touching it."""

    accounts: Mapping[str, int]


def digest_logs(logs: Sequence[Log], market_ids: Sequence[str] | None) -> MorphoDigest:
    """The positions of ``market_ids`` (None: of every market) that Morpho's borrower-side events in ``logs``
    touched."""
    wanted = None if market_ids is None else set(market_ids)
    first: dict[str, int] = {}
    for touch in account_touches(logs):
        if wanted is None or touch.market_id in wanted:
            key = pair_key(touch.market_id, touch.account)
            first[key] = min(first.get(key, touch.block_number), touch.block_number)
    return MorphoDigest(first)


def log_filter(morpho: str, market_ids: Sequence[str] | None) -> LogFilter:
    """Morpho's borrower-side events of the markets (None: of every market; block range left at 0..0)."""
    if market_ids is None:
        return LogFilter(0, 0, (morpho,), (BORROWER_TOPICS,))
    return LogFilter(0, 0, (morpho,), (BORROWER_TOPICS, tuple(market_ids)))


def identity(morpho: str, market_ids: Sequence[str], loan_tokens: Sequence[str] = ()) -> str:
    """The checkpoint identity of the group: the contract, the configured market ids and loan tokens, sorted."""
    ids = f"{morpho} {','.join(sorted(market_ids))}"
    return f"{ids} loan_tokens:{','.join(sorted(loan_tokens))}" if loan_tokens else ids
