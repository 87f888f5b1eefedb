"""The reorg-safe log follower's decisions, sans-I/O: events in, actions out (pure, no clock, no network).

The driver (:mod:`monitor.chain.follow.driver`) asks :meth:`Follower.start` for the first action, performs it
and feeds the answer back through the matching method (:meth:`~Follower.head_seen`, :meth:`~Follower.range_read`,
:meth:`~Follower.range_failed`, :meth:`~Follower.hashes_read`, :meth:`~Follower.done`), which returns the next
action, until :class:`CaughtUp`. The machine decides:

- which block range to read next (``last_block + 1`` up to the target ``head - confirmations``, at most the
  adaptive span long) and which headers to read with it: both ends, plus every block of the last
  ``ring_size`` blocks below the target, so the block-hash ring holds consecutive hashes near the head;
- whether a range extends the processed chain (the first header's parent is the stored tip hash, the headers
  chain to each other, every log's block hash matches its header); if not, the chain reorganised: it asks for
  the current hashes of every stored block and rolls back to the newest one still on the chain (the fork
  point, exact for any reorg shallower than the ring), or resets to ``start_block`` when none is;
- what to commit (:class:`Commit`: the range, its header hashes, its logs, which stored hashes fall out of the
  ring). The machine's own state moves when it returns a :class:`Commit`, :class:`RollBack` or :class:`Reset`:
  the driver must make it durable before calling :meth:`Follower.done`, or drop the machine (a new one is
  built from the store).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from monitor.chain.follow.span import AdaptiveSpan
from monitor.chain.model import Block, Log
from monitor.errors import ChainError, MalformedResponseError

MAX_RESTARTS = 20  # consecutive times the chain changed under one pass before the follower gives up


@dataclass(frozen=True, slots=True)
class ReadHead:
    """Read the chain head (eth_blockNumber) and pass it to :meth:`Follower.head_seen`."""


@dataclass(frozen=True, slots=True)
class ReadRange:
    """Read the logs of ``from_block..to_block`` (inclusive) and the headers of ``headers`` (ascending)."""

    from_block: int
    to_block: int
    headers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReadHashes:
    """Read the current headers of ``numbers`` (newest first) and pass their hashes to :meth:`~Follower.hashes_read`."""

    numbers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Commit:
    """Record ``from_block..to_block`` as processed, in one transaction: its logs' accounts, ``hashes`` added to
    the ring, stored hashes below ``keep_from`` dropped, ``to_block``/``to_hash`` the new tip."""

    from_block: int
    to_block: int
    to_hash: str
    hashes: Mapping[int, str]
    logs: tuple[Log, ...]
    keep_from: int
    head: int


@dataclass(frozen=True, slots=True)
class RollBack:
    """A reorg: forget every block after ``fork_block`` (the newest stored block still on the chain)."""

    fork_block: int
    fork_hash: str | None
    orphaned_to: int  # the tip before the reorg


@dataclass(frozen=True, slots=True)
class Reset:
    """None of the stored blocks ``lowest..highest`` is on the chain: forget everything, backfill again."""

    lowest: int
    highest: int
    orphaned_to: int


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """Nothing left to read: ``block`` is the processed tip, still on the chain."""

    block: int


Action = ReadHead | ReadRange | ReadHashes | Commit | RollBack | Reset | CaughtUp
_Answered = TypeVar("_Answered", ReadHead, ReadRange, ReadHashes)


@dataclass
class Follower:
    """One pass of the follower over one market, from its stored tip to the head it sees.

    ``ring`` is the stored block-hash ring (number -> hash); ``last_block`` is ``start_block - 1`` and
    ``last_hash`` None before the first range.
    """

    start_block: int
    last_block: int
    last_hash: str | None
    ring: dict[int, str]
    confirmations: int
    ring_size: int
    span: AdaptiveSpan = field(default_factory=AdaptiveSpan)
    name: str = "follower"
    max_restarts: int = MAX_RESTARTS
    target: int | None = field(default=None, init=False)  # this pass reads up to here (see head_seen)
    head: int = field(default=0, init=False)
    _expect: Action | None = field(default=None, init=False)
    _searching: bool = field(default=False, init=False)  # the pending ReadHashes looks for a fork point
    _restarts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.ring_size < 1 or self.confirmations < 0:
            raise ValueError("ring_size must be >= 1 and confirmations >= 0")
        self.ring = dict(self.ring)

    # -- events ----------------------------------------------------------------------------------------
    def start(self) -> Action:
        """The first action of a pass."""
        return self._emit(ReadHead())

    def head_seen(self, head: int) -> Action:
        """The chain head is ``head``; a later head can only lower this pass's target (head going backwards)."""
        self._check(ReadHead)
        self.head = head
        safe = head - self.confirmations
        self.target = safe if self.target is None else min(self.target, safe)
        return self._next()

    def range_read(
        self, from_block: int, to_block: int, headers: Mapping[int, Block | None], logs: Sequence[Log]
    ) -> Action:
        """The headers and logs asked for by the pending :class:`ReadRange` (a missing block is None)."""
        asked = self._check(ReadRange)
        if (asked.from_block, asked.to_block) != (from_block, to_block) or set(headers) != set(asked.headers):
            raise ValueError(f"range_read({from_block}, {to_block}) does not answer {asked}")
        if any(not from_block <= lg.block_number <= to_block for lg in logs):
            raise MalformedResponseError(f"eth_getLogs {from_block}..{to_block} answered logs outside the range")
        got = {n: b for n, b in headers.items() if b is not None}
        first = got.get(from_block)
        if (
            len(got) < len(headers)
            or first is None
            or (self.last_hash is not None and first.parent_hash != self.last_hash)
        ):
            return self._fork_search(f"block {from_block} does not extend the processed chain")
        numbers = sorted(got)
        for lo, hi in itertools.pairwise(numbers):
            if hi == lo + 1 and got[hi].parent_hash != got[lo].hash:
                return self._retry(asked, f"headers of {from_block}..{to_block} come from different forks")
        if any(got[lg.block_number].hash != lg.block_hash for lg in logs if lg.block_number in got):
            return self._retry(asked, f"logs of {from_block}..{to_block} come from another fork")
        keep_from = to_block - self.ring_size + 1
        hashes = MappingProxyType({n: b.hash for n, b in got.items() if n >= keep_from})
        self.ring = {n: h for n, h in self.ring.items() if n >= keep_from} | dict(hashes)
        self.last_block, self.last_hash = to_block, got[to_block].hash
        self.span.success()
        self._restarts = 0
        return self._emit(Commit(from_block, to_block, got[to_block].hash, hashes, tuple(logs), keep_from, self.head))

    def range_failed(self, from_block: int, to_block: int, message: str) -> Action | None:
        """eth_getLogs refused the pending range; the next action, or None when one block is still too much."""
        asked = self._check(ReadRange)
        if (asked.from_block, asked.to_block) != (from_block, to_block):
            raise ValueError(f"range_failed({from_block}, {to_block}) does not answer {asked}")
        if not self.span.shrink(from_block, to_block, message):
            self._expect = None
            return None
        return self._next()

    def hashes_read(self, hashes: Mapping[int, str | None]) -> Action:
        """The current hash of every block the pending :class:`ReadHashes` asked for (None: no such block)."""
        asked = self._check(ReadHashes)
        if set(hashes) != set(asked.numbers):
            raise ValueError(f"hashes_read answers {sorted(hashes)}, not {asked}")
        if not self._searching:
            if hashes[self.last_block] == self.last_hash:
                return self._emit(CaughtUp(self.last_block))
            return self._fork_search(f"block {self.last_block} was replaced")
        self._searching = False
        fork = next((n for n in asked.numbers if hashes[n] == self.ring[n]), None)
        orphaned_to = self.last_block
        if fork is None:
            lowest, highest = min(self.ring), max(self.ring)
            self._forget(self.start_block - 1)
            return self._emit(Reset(lowest, highest, orphaned_to))
        self._forget(fork)
        if fork == orphaned_to:  # the tip itself is still there: nothing to roll back, read again
            return self._emit(ReadHead())
        return self._emit(RollBack(fork, self.ring[fork], orphaned_to))

    def done(self) -> Action:
        """The pending :class:`Commit`, :class:`RollBack` or :class:`Reset` is durable: the next action."""
        pending = self._expect
        if isinstance(pending, Commit):
            return self._next()
        if isinstance(pending, RollBack | Reset):
            return self._emit(ReadHead())
        raise ValueError(f"done() while waiting for an answer to {pending}")

    # -- decisions -------------------------------------------------------------------------------------
    def _next(self) -> Action:
        assert self.target is not None
        frm = self.last_block + 1
        to = min(frm + self.span.current - 1, self.target)
        if frm > to:  # caught up: check that the tip is still on the chain (only it shows a same-height reorg)
            if self.last_hash is None:
                return self._emit(CaughtUp(self.last_block))
            self._searching = False
            return self._emit(ReadHashes((self.last_block,)))
        window = range(max(frm, self.target - self.ring_size + 1), to + 1)
        return self._emit(ReadRange(frm, to, tuple(sorted({frm, to, *window}))))

    def _fork_search(self, why: str) -> Action:
        self._count_restart(why)
        if not self.ring:  # nothing kept to compare with: start again from the beginning
            orphaned_to = self.last_block
            self._forget(self.start_block - 1)
            if orphaned_to == self.last_block:
                return self._emit(ReadHead())
            return self._emit(RollBack(self.last_block, None, orphaned_to))
        self._searching = True
        return self._emit(ReadHashes(tuple(sorted(self.ring, reverse=True))))

    def _retry(self, asked: ReadRange, why: str) -> Action:
        self._count_restart(why)
        return self._emit(asked)

    def _count_restart(self, why: str) -> None:
        if self._restarts >= self.max_restarts:
            raise ChainError(f"following {self.name}: the chain keeps changing under us ({why})")
        self._restarts += 1

    def _forget(self, fork: int) -> None:
        self.ring = {n: h for n, h in self.ring.items() if n <= fork}
        self.last_block = fork
        self.last_hash = self.ring.get(fork)

    def _emit(self, action: Action) -> Action:
        self._expect = action
        return action

    def _check(self, kind: type[_Answered]) -> _Answered:
        pending = self._expect
        if not isinstance(pending, kind):
            raise ValueError(f"got an answer to {kind.__name__} while waiting for {pending}")
        return pending
