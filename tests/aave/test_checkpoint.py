"""The SQLite checkpoint: markets, ranges, the hash ring, rollbacks, positions, atomicity, bad files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor.errors import CheckpointError
from monitor.protocols.aave_v3.book.inputs import AccountInput, PositionInput
from monitor.protocols.aave_v3.checkpoint import Checkpoint

A, B, C = ("0x" + c * 40 for c in "abc")
WETH, USDC = "0x" + "e" * 40, "0x" + "f" * 40
BIG = 2**256 - 1


def _hash(n: int) -> str:
    return "0x" + f"{n:064x}"


def _commit(cp: Checkpoint, to: int, touched: dict[str, int], keep: int = 100) -> frozenset[str]:
    return cp.commit_range("m", to_block=to, to_hash=_hash(to), hashes={to: _hash(to)}, touched=touched,
                           keep_hashes=keep)  # fmt: skip


def test_ranges_accounts_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cp.sqlite"
    with Checkpoint(path) as cp:
        assert cp.market("m") is None
        state = cp.create_market("m", provider="0x" + "1" * 40, pool="0x" + "2" * 40, start_block=10)
        assert state.last_block == 9 and state.last_hash is None
        assert _commit(cp, 20, {A: 12, B: 15}) == {A, B}
        assert _commit(cp, 30, {B: 25, C: 30}) == {C}
        assert cp.first_seen("m") == {A: 12, B: 15, C: 30}
        assert cp._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Checkpoint(path) as cp:
        state2 = cp.market("m")
        assert state2 is not None and (state2.last_block, state2.last_hash, state2.start_block) == (30, _hash(30), 10)
        assert cp.accounts("m") == {A, B, C}
        assert cp.accounts("other") == frozenset()


def test_hash_ring_keeps_the_newest(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        cp.create_market("m", provider=A, pool=B, start_block=0)
        for n in range(1, 11):
            _commit(cp, n, {}, keep=4)
        assert cp.block_hashes("m") == {n: _hash(n) for n in (7, 8, 9, 10)}


def test_rollback_forgets_accounts_and_positions_after_the_fork(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        cp.create_market("m", provider=A, pool=B, start_block=0)
        _commit(cp, 10, {A: 5})
        _commit(cp, 20, {B: 15, A: 16})
        _commit(cp, 30, {C: 25})
        cp.save_positions("m", 12, [AccountInput(A, 1)])
        cp.save_positions("m", 22, [AccountInput(B, 2)])
        result = cp.rollback("m", fork_block=12, fork_hash=_hash(12))
        assert result.removed_accounts == {B, C} and result.stale_positions == {B}
        assert cp.accounts("m") == {A} and set(cp.load_positions("m")) == {A}
        assert cp.block_hashes("m") == {10: _hash(10)}
        state = cp.market("m")
        assert state is not None and (state.last_block, state.last_hash) == (12, _hash(12))
        assert _commit(cp, 20, {B: 18, A: 19}) == {B}  # discovered again on the new fork


def test_positions_round_trip_with_256_bit_integers(tmp_path: Path) -> None:
    path = tmp_path / "cp.sqlite"
    acct = AccountInput(A, BIG, 1, {WETH: PositionInput(BIG, 0, 3), USDC: PositionInput(1, BIG, 0)})
    with Checkpoint(path) as cp:
        cp.create_market("m", provider=A, pool=B, start_block=0)
        assert cp.save_positions("m", 7, [acct, AccountInput(B, 0)]) == 2
    with Checkpoint(path) as cp:
        stored = cp.load_positions("m")
        assert stored[A].block == 7 and stored[A].account == acct
        assert stored[B].account == AccountInput(B, 0)
        raw = cp._db.execute("SELECT scaled_atoken FROM position_reserves WHERE asset = ?", (WETH,)).fetchone()
        assert raw[0] == str(BIG)  # decimal TEXT
        replaced = AccountInput(A, 0, 0, {USDC: PositionInput(5, 0, 0)})
        cp.save_positions("m", 9, [replaced])  # replaces every reserve row of the account
        assert cp.load_positions("m")[A].account == replaced
        cp.delete_positions("m", [A])
        assert set(cp.load_positions("m")) == {B}


def test_a_failed_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        cp.create_market("m", provider=A, pool=B, start_block=0)
        _commit(cp, 10, {A: 5})
        with pytest.raises(CheckpointError, match="not registered"):
            cp.commit_range("gone", to_block=20, to_hash=_hash(20), hashes={20: _hash(20)}, touched={C: 15},
                            keep_hashes=10)  # fmt: skip
        assert cp.accounts("gone") == frozenset() and cp.block_hashes("gone") == {}
        with pytest.raises(CheckpointError):  # an sqlite error half way: the range's accounts roll back too
            cp.commit_range("m", to_block=20, to_hash=_hash(20), hashes={20: None}, touched={C: 15},  # type: ignore[dict-item]
                            keep_hashes=10)  # fmt: skip
        assert cp.accounts("m") == {A}
        state = cp.market("m")
        assert state is not None and state.last_block == 10


def test_bad_files_are_checkpoint_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CheckpointError, match=r"junk\.sqlite"):
        Checkpoint(junk)
    old = tmp_path / "old.sqlite"
    with Checkpoint(old):
        pass
    db = sqlite3.connect(old)
    db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(CheckpointError, match="schema version 0"):
        Checkpoint(old)
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(CheckpointError, match="cannot open"):
        Checkpoint(tmp_path / "dir.sqlite")
