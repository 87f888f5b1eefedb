"""The SQLite checkpoint: markets, ranges, the hash ring, rollbacks, resets, atomicity, migration, bad files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from monitor.chain.follow.checkpoint import Checkpoint
from monitor.config import parse_config
from monitor.daemon.metrics import ExporterSources, Metrics
from monitor.daemon.store import ResultStore
from monitor.errors import CheckpointError

A, B, C = ("0x" + c * 40 for c in "abc")


def _hash(n: int) -> str:
    return "0x" + f"{n:064x}"


def _commit(cp: Checkpoint, to: int, touched: dict[str, int], keep: int = 100) -> frozenset[str]:
    return cp.commit_range("m", to_block=to, to_hash=_hash(to), hashes={to: _hash(to)}, touched=touched,
                           keep_from=to - keep + 1)  # fmt: skip


def test_ranges_accounts_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cp.sqlite"
    with Checkpoint(path) as cp:
        assert cp.market("m") is None
        state = cp.create_market("m", identity="provider pool", start_block=10)
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
        cp.create_market("m", identity="x", start_block=0)
        for n in range(1, 11):
            _commit(cp, n, {}, keep=4)
        assert cp.block_hashes("m") == {n: _hash(n) for n in (7, 8, 9, 10)}


def test_rollback_forgets_accounts_first_seen_after_the_fork(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        cp.create_market("m", identity="x", start_block=0)
        _commit(cp, 10, {A: 5})
        _commit(cp, 20, {B: 15, A: 16})
        _commit(cp, 30, {C: 25})
        assert cp.rollback("m", fork_block=12, fork_hash=_hash(12)) == {B, C}
        assert cp.accounts("m") == {A}
        assert cp.block_hashes("m") == {10: _hash(10)}
        state = cp.market("m")
        assert state is not None and (state.last_block, state.last_hash) == (12, _hash(12))
        assert _commit(cp, 20, {B: 18, A: 19}) == {B}  # discovered again on the new fork
        assert cp.resets() == {}


def test_reset_forgets_the_market_in_one_transaction_and_is_counted(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        cp.create_market("m", identity="x", start_block=5)
        cp.create_market("other", identity="y", start_block=0)
        _commit(cp, 10, {A: 5, B: 7})
        cp.commit_range("other", to_block=3, to_hash=_hash(3), hashes={3: _hash(3)}, touched={C: 1}, keep_from=0)
        assert cp.reset("m") == {A, B}
        state = cp.market("m")
        assert state is not None and (state.last_block, state.last_hash) == (4, None)
        assert cp.accounts("m") == frozenset() and cp.block_hashes("m") == {}
        assert cp.accounts("other") == {C} and cp.block_hashes("other") == {3: _hash(3)}  # other markets untouched
        cp.reset("m")
        assert cp.resets() == {"m": 2}
        cp._db.execute("CREATE TRIGGER no_reset BEFORE UPDATE ON markets BEGIN SELECT RAISE(FAIL, 'no'); END")
        with pytest.raises(CheckpointError, match="reset market"):
            cp.reset("other")
        assert cp.accounts("other") == {C} and cp.block_hashes("other") == {3: _hash(3)}
        assert cp.resets() == {"m": 2}


def test_a_batch_1_checkpoint_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE markets (name TEXT PRIMARY KEY, provider TEXT NOT NULL, pool TEXT NOT NULL,
            start_block INTEGER NOT NULL, last_block INTEGER NOT NULL, last_hash TEXT, updated_at REAL NOT NULL);
        INSERT INTO markets VALUES ('m', '0xprov', '0xpool', 3, 40, '0xh40', 0);
        CREATE TABLE accounts (market TEXT NOT NULL, account TEXT NOT NULL, first_seen INTEGER NOT NULL,
            PRIMARY KEY (market, account)) WITHOUT ROWID;
        INSERT INTO accounts VALUES ('m', '0xaa', 7);
        CREATE TABLE block_hashes (market TEXT NOT NULL, number INTEGER NOT NULL, hash TEXT NOT NULL,
            PRIMARY KEY (market, number)) WITHOUT ROWID;
        INSERT INTO block_hashes VALUES ('m', 40, '0xh40');
        CREATE TABLE positions (market TEXT, account TEXT, block INTEGER, user_config TEXT, emode INTEGER);
        CREATE TABLE position_reserves (market TEXT, account TEXT, asset TEXT, a TEXT, v TEXT, s TEXT);
        """
    )
    db.close()
    with Checkpoint(path) as cp:
        state = cp.market("m")
        assert state is not None and (state.identity, state.start_block, state.last_block) == ("0xprov 0xpool", 3, 40)
        assert cp.first_seen("m") == {"0xaa": 7} and cp.block_hashes("m") == {40: "0xh40"}
        tables = {r[0] for r in cp._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"meta", "markets", "accounts", "block_hashes"}
    with Checkpoint(path) as cp:  # opening it again changes nothing
        assert cp._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"


def test_a_failed_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        cp.create_market("m", identity="x", start_block=0)
        _commit(cp, 10, {A: 5})
        with pytest.raises(CheckpointError, match="not registered"):
            cp.commit_range("gone", to_block=20, to_hash=_hash(20), hashes={20: _hash(20)}, touched={C: 15},
                            keep_from=0)  # fmt: skip
        assert cp.accounts("gone") == frozenset() and cp.block_hashes("gone") == {}
        with pytest.raises(CheckpointError):  # an sqlite error half way: the range's accounts roll back too
            cp.commit_range("m", to_block=20, to_hash=_hash(20), hashes={20: None}, touched={C: 15},  # type: ignore[dict-item]
                            keep_from=0)  # fmt: skip
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


def test_the_default_checkpoint_is_one_file_per_chain_and_an_explicit_path_wins() -> None:
    base = {
        "chain": {"rpc_urls": ["http://127.0.0.1:8545"], "chain_id": 10},
        "markets": [{"name": "m", "protocol": "aave-v3", "pool_addresses_provider": "0x" + "1" * 40}],
    }
    assert parse_config(base, environ={}).checkpoint.path == "var/checkpoints/chain-10.sqlite"
    other = {**base, "chain": {**base["chain"], "chain_id": 1}}
    assert parse_config(other, environ={}).checkpoint.path == "var/checkpoints/chain-1.sqlite"
    assert parse_config({**base, "checkpoint": {"path": "x/cp.sqlite"}}, environ={}).checkpoint.path == "x/cp.sqlite"
    env = {"CASCADE_MONITOR__CHECKPOINT__PATH": "y.sqlite"}
    assert parse_config(base, environ=env).checkpoint.path == "y.sqlite"


def test_resets_are_exported_per_market(tmp_path: Path) -> None:
    with Checkpoint(tmp_path / "cp.sqlite") as cp:
        for name in ("a", "b"):
            cp.create_market(name, identity=f"market {name}", start_block=0)
        cp.reset("b")
        metrics = Metrics(ResultStore(["a", "b"], 60.0), ExporterSources(checkpoint_resets=cp.resets))
        text = generate_latest(metrics.registry).decode()
    assert 'cascade_monitor_checkpoint_resets_total{market="a"} 0.0' in text
    assert 'cascade_monitor_checkpoint_resets_total{market="b"} 1.0' in text


def test_the_known_accounts_kept_in_memory_follow_every_write(tmp_path: Path) -> None:
    """A daemon asks for the known accounts every block: read once, then kept in step with this instance's
    commits, rollbacks and resets (and unchanged by a write that failed), always equal to the file's."""
    path = tmp_path / "cp.sqlite"

    def on_file(name: str) -> frozenset[str]:
        with Checkpoint(path) as other:
            return other.accounts(name)

    with Checkpoint(path) as cp:
        cp.create_market("m", identity="x", start_block=0)
        assert cp.accounts("m") == frozenset()  # read (and kept) before any write
        _commit(cp, 10, {A: 5})
        _commit(cp, 20, {B: 15, A: 16})
        assert cp.accounts("m") == {A, B} == on_file("m")
        with pytest.raises(CheckpointError):  # fails half way: nothing of it is kept
            cp.commit_range("m", to_block=30, to_hash=_hash(30), hashes={30: None}, touched={C: 25},  # type: ignore[dict-item]
                            keep_from=0)  # fmt: skip
        assert cp.accounts("m") == {A, B} == on_file("m")
        cp.rollback("m", fork_block=12, fork_hash=_hash(12))
        assert cp.accounts("m") == {A} == on_file("m")
        _commit(cp, 20, {C: 18})
        assert cp.accounts("m") == {A, C} == on_file("m")
        cp.reset("m")
        assert cp.accounts("m") == frozenset() == on_file("m")
        _commit(cp, 5, {B: 1})
        assert cp.accounts("m") == {B} == on_file("m")
