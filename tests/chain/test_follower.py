"""The reorg-safe log follower in-process (no anvil): the state machine and its driver over a chain held in
memory, with the real SQLite checkpoint. Reorgs at every depth up to the ring and beyond it, the head going
backwards, empty ranges, eth_getLogs refusing too many results, and the lost-account race of issue 17."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.chain.follow.driver import LogFollower
from monitor.chain.follow.machine import Commit, Follower, ReadHashes, ReadHead, ReadRange
from monitor.chain.follow.span import AdaptiveSpan, SpanPolicy
from monitor.chain.follow.updates import BookChanges, Committed, RolledBack
from monitor.chain.model import Block, Log, LogFilter
from monitor.errors import ChainError, MalformedResponseError, RpcResponseError

RING = 6
TOPIC = "0x" + "ab" * 32
SOURCE = "0x" + "cd" * 20


def _hash(tag: str, n: int) -> str:
    return "0x" + hashlib.sha256(f"{tag}:{n}".encode()).hexdigest()


def acct(i: int) -> str:
    """A test account address."""
    return "0x" + f"{i:040x}"


class SimChain:
    """A chain held in memory: headers chained by parent hash; each block's logs name the accounts it touches."""

    def __init__(self) -> None:
        self.headers = [Block(0, _hash("genesis", 0), "0x" + "0" * 64, 0)]
        self.touches: dict[str, tuple[str, ...]] = {self.headers[0].hash: ()}
        self.max_logs: int | None = None  # eth_getLogs refuses to answer more logs than this
        self.log_ranges: list[tuple[int, int]] = []

    @property
    def head(self) -> int:
        return len(self.headers) - 1

    def mine(self, *blocks: Sequence[str], tag: str = "a") -> None:
        """One block per argument, each touching those accounts."""
        for accounts in blocks:
            n = len(self.headers)
            header = Block(n, _hash(tag, n), self.headers[-1].hash, n)
            self.headers.append(header)
            self.touches[header.hash] = tuple(accounts)

    def rewind(self, depth: int) -> None:
        """The last ``depth`` blocks disappear (anvil_rollback)."""
        del self.headers[len(self.headers) - depth :]

    def reorg(self, depth: int, *blocks: Sequence[str], tag: str) -> None:
        """The last ``depth`` blocks are replaced by ``blocks``."""
        self.rewind(depth)
        self.mine(*blocks, tag=tag)

    def first_seen(self, start_block: int = 0) -> dict[str, int]:
        """What a fresh follower finds: every account with the first block touching it."""
        out: dict[str, int] = {}
        for h in self.headers[start_block:]:
            for a in self.touches[h.hash]:
                out.setdefault(a, h.number)
        return out

    # -- the ChainReader protocol ----------------------------------------------------------------------
    async def block_number(self) -> int:
        return self.head

    async def blocks(self, numbers: Sequence[int]) -> list[Block | None]:
        return [self.headers[n] if 0 <= n <= self.head else None for n in numbers]

    async def get_logs(self, flt: LogFilter) -> list[Log]:
        self.log_ranges.append((flt.from_block, flt.to_block))
        logs = [
            Log(SOURCE, (TOPIC, "0x" + "0" * 24 + a[2:]), "0x", h.number, h.hash, _hash("tx", h.number), i)
            for h in self.headers[flt.from_block : flt.to_block + 1]
            for i, a in enumerate(self.touches[h.hash])
        ]
        if self.max_logs is not None and len(logs) > self.max_logs:
            raise RpcResponseError(f"query returned more than {self.max_logs} results", code=-32005)
        return logs


@dataclass(frozen=True)
class Touches:
    """The digest of the test's logs: every account a log names, with its first block."""

    accounts: Mapping[str, int]


def digest(logs: Sequence[Log]) -> Touches:
    """Accounts named by the logs."""
    out: dict[str, int] = {}
    for lg in logs:
        out.setdefault("0x" + lg.topics[1][26:], lg.block_number)
    return Touches(out)


async def _no_filter(target: int) -> LogFilter:
    return LogFilter(0, 0, (SOURCE,), ((TOPIC,),))


Update = Committed[Touches] | RolledBack


async def sync(
    chain: SimChain, cp: Checkpoint, *, confirmations: int = 0, span: SpanPolicy | None = None
) -> list[Update]:
    """One pass of the real driver over the simulated chain."""
    if cp.market("m") is None:
        cp.create_market("m", identity="sim", start_block=0)
    follower = LogFollower(chain, cp, "m", digest=digest, confirmations=confirmations, ring_size=RING, span=span)
    return [u async for u in follower.updates(_no_filter)]


def _busy_chain(blocks: int) -> SimChain:
    """Every block touches one account seen before and one new one."""
    chain = SimChain()
    chain.mine(*([acct(n), acct(n // 2)] for n in range(1, blocks + 1)))
    return chain


def _rollbacks(updates: list[Update]) -> list[tuple[int, int, bool]]:
    return [(u.fork_block, u.orphaned_to, u.reset) for u in updates if isinstance(u, RolledBack)]


@pytest.mark.parametrize("depth", range(1, RING))
async def test_a_reorg_shallower_than_the_ring_rolls_back_to_its_exact_fork(tmp_path: Path, depth: int) -> None:
    chain = _busy_chain(40)
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        await sync(chain, cp)  # one wide range: the ring still holds the last RING blocks
        assert cp.block_hashes("m") == {h.number: h.hash for h in chain.headers[-RING:]}
        head = chain.head
        chain.reorg(depth, *([acct(1000 + i)] for i in range(depth + 2)), tag="b")
        updates = await sync(chain, cp)
        assert _rollbacks(updates) == [(head - depth, head, False)]
        assert cp.first_seen("m") == chain.first_seen()
        assert cp.block_hashes("m") == {h.number: h.hash for h in chain.headers[-RING:]}
        assert cp.resets() == {}


@pytest.mark.parametrize("depth", [RING, RING + 1, 30])
async def test_a_reorg_as_deep_as_the_ring_or_deeper_resets_and_backfills(tmp_path: Path, depth: int) -> None:
    chain = _busy_chain(40)
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        await sync(chain, cp)
        head = chain.head
        chain.reorg(depth, *([acct(2000 + i)] for i in range(depth)), tag="b")
        updates = await sync(chain, cp)
        assert _rollbacks(updates) == [(-1, head, True)]
        assert cp.resets() == {"m": 1}
        assert cp.first_seen("m") == chain.first_seen()
        committed = [u for u in updates if isinstance(u, Committed)]
        assert committed[0].from_block == 0 and committed[-1].to_block == chain.head


async def test_a_chain_holding_none_of_the_stored_blocks_is_backfilled_again(tmp_path: Path) -> None:
    """A devnet restarted from a saved state and run further along another path."""
    old = _busy_chain(30)
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        await sync(old, cp)
        other = SimChain()
        other.mine(*([acct(5000 + n)] for n in range(50)), tag="other")
        updates = await sync(other, cp)
        assert [u.reset for u in updates if isinstance(u, RolledBack)] == [True]
        assert cp.first_seen("m") == other.first_seen()


async def test_following_block_by_block_keeps_consecutive_hashes_and_finds_every_fork(tmp_path: Path) -> None:
    chain = SimChain()
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        for n in range(1, 25):
            chain.mine([acct(n % 7)])
            await sync(chain, cp, confirmations=1)
            ring = cp.block_hashes("m")
            assert sorted(ring) == list(range(max(0, n - RING), n))  # consecutive, up to head - confirmations
        for depth in (1, 3, RING):  # a reorg of depth d replaces blocks down to head - d + 1 ...
            head = chain.head
            chain.reorg(depth, *([acct(100 + depth)] for _ in range(depth)), tag=f"r{depth}")
            updates = await sync(chain, cp, confirmations=1)
            # ... the follower stood at head - 1: its fork point is head - depth (a reorg of depth - 1 for it)
            if depth == 1:
                assert _rollbacks(updates) == []  # the replaced block was not final yet
            else:
                assert _rollbacks(updates) == [(head - depth, head - 1, False)]
            assert cp.first_seen("m") == {a: b for a, b in chain.first_seen().items() if b <= chain.head - 1}


async def test_the_head_going_backwards_then_new_blocks_at_the_same_heights(tmp_path: Path) -> None:
    chain = _busy_chain(20)
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        await sync(chain, cp)
        chain.rewind(3)
        updates = await sync(chain, cp)
        assert _rollbacks(updates) == [(17, 20, False)]
        assert [u for u in updates if isinstance(u, Committed)] == []
        assert cp.first_seen("m") == chain.first_seen()
        chain.mine([acct(900)], [acct(901)], tag="c")  # heights 18, 19 again, other hashes
        updates = await sync(chain, cp)
        assert _rollbacks(updates) == []
        assert cp.first_seen("m") == chain.first_seen()


async def test_a_same_height_reorg_is_caught_when_caught_up(tmp_path: Path) -> None:
    chain = _busy_chain(10)
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        await sync(chain, cp)
        chain.reorg(1, [acct(77)], tag="same")
        assert chain.head == 10
        updates = await sync(chain, cp)
        assert _rollbacks(updates) == [(9, 10, False)]
        assert [(u.from_block, u.to_block) for u in updates if isinstance(u, Committed)] == [(10, 10)]
        assert acct(77) in cp.accounts("m") and acct(10) not in cp.accounts("m")


async def test_empty_ranges_advance_the_tip_and_the_ring(tmp_path: Path) -> None:
    chain = SimChain()
    chain.mine(*([] for _ in range(12)))
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        updates = await sync(chain, cp, span=SpanPolicy(initial=4, maximum=4))
        assert [(u.from_block, u.to_block, dict(u.digest.accounts)) for u in updates if isinstance(u, Committed)] == [
            (0, 3, {}), (4, 7, {}), (8, 11, {}), (12, 12, {})
        ]  # fmt: skip
        assert cp.accounts("m") == frozenset()
        state = cp.market("m")
        assert state is not None and (state.last_block, state.last_hash) == (12, chain.headers[12].hash)
        assert sorted(cp.block_hashes("m")) == list(range(7, 13))
        assert await sync(chain, cp) == []  # caught up: nothing to commit


async def test_too_many_results_shrink_the_span_until_the_node_answers(tmp_path: Path) -> None:
    chain = SimChain()
    chain.mine(*([acct(3 * n), acct(3 * n + 1)] for n in range(40)))  # two logs a block
    chain.max_logs = 9  # at most four blocks a request
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        updates = await sync(chain, cp, span=SpanPolicy(initial=32, maximum=64))
        assert cp.first_seen("m") == chain.first_seen()
        spans = [(u.to_block - u.from_block + 1) for u in updates if isinstance(u, Committed)]
        assert max(spans) <= 4 and sum(spans) == 41
        refused = [(a, b) for a, b in chain.log_ranges if 2 * (min(b, 40) - max(a, 1) + 1) > 9]
        assert refused[:3] == [(0, 31), (0, 15), (0, 7)]  # halved each time
        chain.max_logs = 1  # one block holds two logs: a span of one block is still refused
        chain.mine([acct(500), acct(501)])
        with pytest.raises(RpcResponseError, match="more than 1 results"):
            await sync(chain, cp)
        state = cp.market("m")
        assert state is not None and state.last_block == 40  # nothing committed for the refused block


async def test_confirmations_keep_the_newest_blocks_unread(tmp_path: Path) -> None:
    chain = _busy_chain(10)
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        updates = await sync(chain, cp, confirmations=3)
        assert [u.to_block for u in updates if isinstance(u, Committed)] == [7]
        assert cp.accounts("m") == frozenset(a for a, b in chain.first_seen().items() if b <= 7)


# -- issue 17 item 6: accounts lost after a reorg ------------------------------------------------------------
async def test_accounts_forgotten_by_a_rollback_and_touched_again_in_the_same_pass_are_read_not_dropped(
    tmp_path: Path,
) -> None:
    """The flake of ``tests/daemon/test_reorg.py[3]``: "rolled back from block 111 to 109 (3 accounts
    forgotten)", then the new chain's blocks touched two of them again before the refresh ended. The indexer
    took ``touched - removed`` as the accounts to read and dropped every removed account from the book: the two
    were back in the checkpoint but missing from the book. The fold must follow the order of the reports."""
    chain = _busy_chain(9)
    x, y, z = acct(901), acct(902), acct(903)
    chain.mine([x], [y], [z])  # first seen in blocks 10, 11, 12
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        await sync(chain, cp)
        chain.reorg(3, [x], [acct(5), y], [], tag="new")  # the new chain touches x and y again, not z
        updates = await sync(chain, cp)
        assert _rollbacks(updates) == [(9, 12, False)]
        rollback = next(u for u in updates if isinstance(u, RolledBack))
        assert rollback.removed_accounts == {x, y, z}
        changes = BookChanges()
        for u in updates:
            if isinstance(u, Committed):
                changes.range(u.digest.accounts, u.new_accounts)
            else:
                changes.rollback(u.fork_block, u.removed_accounts, stale=[acct(5)])
        known = cp.accounts("m")
        assert {x, y} <= known and z not in known
        assert changes.to_read() == {x, y, acct(5)}  # read again on the new chain
        assert changes.forgotten == {z}  # only z leaves the book
        assert changes.fork_block == 9 and (changes.ranges, changes.rollbacks, changes.resets) == (1, 1, 0)


def test_book_changes_fold_in_order() -> None:
    x, y = acct(1), acct(2)
    changes = BookChanges()
    changes.range([x, y], [x, y])  # both seen on the old fork ...
    changes.rollback(5, [x, y])  # ... forgotten ...
    changes.range([x], [x])  # ... x seen again on the new fork
    assert changes.to_read() == {x} and changes.forgotten == {y}
    changes.rollback(3, [x], reset=True)  # a later rollback forgets x again
    assert changes.to_read() == frozenset() and changes.forgotten == {x, y} and changes.fork_block == 3
    assert changes.resets == 1


# -- the machine on its own ------------------------------------------------------------------------------------
def _machine(last_block: int = 10, ring: dict[int, str] | None = None) -> Follower:
    ring = {n: _hash("a", n) for n in range(last_block - RING + 1, last_block + 1)} if ring is None else ring
    return Follower(start_block=0, last_block=last_block, last_hash=ring.get(last_block), ring=ring,
                    confirmations=0, ring_size=RING, span=AdaptiveSpan(SpanPolicy(initial=4)))  # fmt: skip


def _header(n: int, tag: str = "a", parent_tag: str | None = None) -> Block:
    return Block(n, _hash(tag, n), _hash(parent_tag or tag, n - 1), n)


def test_the_machine_reads_the_headers_of_the_last_ring_blocks_below_the_target() -> None:
    m = _machine(last_block=10)
    assert m.start() == ReadHead()
    assert m.head_seen(30) == ReadRange(11, 14, (11, 14))  # far below the target: only the ends
    action = m.range_read(11, 14, {11: _header(11), 14: _header(14)}, [])
    assert isinstance(action, Commit) and action.keep_from == 14 - RING + 1
    assert m.done() == ReadRange(15, 22, (15, 22))
    m.range_read(15, 22, {15: _header(15), 22: _header(22)}, [])
    assert m.done() == ReadRange(23, 30, (23, 25, 26, 27, 28, 29, 30))  # the window 25..30 is complete


def test_the_machine_retries_a_range_whose_logs_come_from_another_fork_and_gives_up_in_the_end() -> None:
    m = _machine(last_block=10)
    m.start()
    asked = m.head_seen(11)
    assert asked == ReadRange(11, 11, (11,))
    stray = Log(SOURCE, (TOPIC,), "0x", 11, _hash("other", 11), "0x", 0)
    for _ in range(m.max_restarts):
        assert m.range_read(11, 11, {11: _header(11)}, [stray]) == asked
    with pytest.raises(ChainError, match="keeps changing"):
        m.range_read(11, 11, {11: _header(11)}, [stray])


def test_the_machine_refuses_logs_outside_the_range_and_answers_to_other_questions() -> None:
    m = _machine(last_block=10)
    m.start()
    m.head_seen(12)
    outside = Log(SOURCE, (TOPIC,), "0x", 13, _hash("a", 13), "0x", 0)
    with pytest.raises(MalformedResponseError, match="outside the range"):
        m.range_read(11, 12, {11: _header(11), 12: _header(12)}, [outside])
    with pytest.raises(ValueError, match="waiting for"):
        m.hashes_read({10: _hash("a", 10)})


def test_headers_that_do_not_chain_are_read_again() -> None:
    m = _machine(last_block=10)
    m.start()
    asked = m.head_seen(12)
    assert asked == ReadRange(11, 12, (11, 12))
    assert m.range_read(11, 12, {11: _header(11), 12: _header(12, "b", parent_tag="b")}, []) == asked
    fork = m.range_read(11, 12, {11: _header(11, "b", parent_tag="b"), 12: _header(12, "b")}, [])
    assert fork == ReadHashes(tuple(range(10, 10 - RING, -1)))  # block 11 does not extend 10: find the fork
