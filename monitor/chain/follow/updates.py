"""What the follower reports, and how a consumer folds a run of reports into what its book must do (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class Digest(Protocol):
    """What a protocol makes of a range's logs; the follower needs only the touched accounts."""

    @property
    def accounts(self) -> Mapping[str, int]:
        """Account -> the first block of the range that touched it."""
        ...


D = TypeVar("D", bound=Digest)


@dataclass(frozen=True)
class Committed(Generic[D]):
    """``from_block..to_block`` (inclusive) is processed and durable; ``new_accounts`` were touched for the
    first time (they are in the checkpoint now)."""

    market: str
    from_block: int
    to_block: int
    to_hash: str
    digest: D
    new_accounts: frozenset[str]
    head: int  # the chain head when the range was read


@dataclass(frozen=True)
class RolledBack:
    """Everything after ``fork_block`` is forgotten and will be read again; ``removed_accounts`` were first
    touched after it. ``reset``: no stored block was on the chain any more, the market backfills from its
    ``start_block`` (``fork_block`` is ``start_block - 1``)."""

    market: str
    fork_block: int
    orphaned_to: int  # the processed tip before the reorg
    removed_accounts: frozenset[str]
    reset: bool = False


@dataclass
class BookChanges:
    """A consumer's fold of the follower's reports, in order: which accounts to read again and which to drop.

    An account a rollback forgot and a later range touched again (the new chain has it too) is read, not
    dropped: the order of the reports decides, not the union of the sets.
    """

    touched: set[str] = field(default_factory=set)
    forgotten: set[str] = field(default_factory=set)
    fork_block: int | None = None  # the lowest block a rollback went back to (None: no reorg)
    ranges: int = 0
    rollbacks: int = 0
    resets: int = 0

    def range(self, touched: Iterable[str], new_accounts: Iterable[str]) -> None:
        """A committed range touched these accounts; ``new_accounts`` are known again if forgotten before."""
        self.ranges += 1
        self.touched.update(touched)
        self.forgotten.difference_update(new_accounts)

    def rollback(
        self, fork_block: int, removed: Iterable[str], stale: Iterable[str] = (), *, reset: bool = False
    ) -> None:
        """A rollback to ``fork_block`` forgot ``removed``; ``stale`` accounts were read after the fork."""
        self.rollbacks += 1
        self.resets += int(reset)
        self.fork_block = fork_block if self.fork_block is None else min(self.fork_block, fork_block)
        removed = set(removed)
        self.forgotten |= removed
        self.touched.difference_update(removed)
        self.touched.update(a for a in stale if a not in removed)

    def to_read(self) -> frozenset[str]:
        """Accounts whose positions must be read again."""
        return frozenset(self.touched - self.forgotten)
