"""The follower's checkpoint: one SQLite file (WAL) with market-keyed tables, every write one transaction.

Tables: ``markets`` (what a market's name stands for, its ``start_block``, the processed tip and its hash),
``accounts`` (every account a market's logs touched, with the block it was first touched in) and
``block_hashes`` (the ring of consecutive hashes below the tip, for finding a fork point). Positions are not
stored: a process reads every known account once when it starts.

Schema version 1 (batch 1) also stored positions and a market's provider and pool in their own columns; such a
file is migrated in place on open (positions dropped, ``identity`` = ``"<provider> <pool>"``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from monitor.errors import CheckpointError

SCHEMA_VERSION = "2"
_CHUNK = 500  # SQLite host parameters per IN (...) list

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS markets (
    name TEXT PRIMARY KEY, identity TEXT NOT NULL, start_block INTEGER NOT NULL,
    last_block INTEGER NOT NULL, last_hash TEXT, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    market TEXT NOT NULL, account TEXT NOT NULL, first_seen INTEGER NOT NULL,
    PRIMARY KEY (market, account)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accounts_by_block ON accounts (market, first_seen);
CREATE TABLE IF NOT EXISTS block_hashes (
    market TEXT NOT NULL, number INTEGER NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (market, number)) WITHOUT ROWID;
"""

_MIGRATE_FROM_1 = """
ALTER TABLE markets RENAME TO markets_v1;
CREATE TABLE markets (
    name TEXT PRIMARY KEY, identity TEXT NOT NULL, start_block INTEGER NOT NULL,
    last_block INTEGER NOT NULL, last_hash TEXT, updated_at REAL NOT NULL);
INSERT INTO markets SELECT name, provider || ' ' || pool, start_block, last_block, last_hash, updated_at
    FROM markets_v1;
DROP TABLE markets_v1;
DROP TABLE IF EXISTS positions;
DROP TABLE IF EXISTS position_reserves;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
"""


@dataclass(frozen=True, slots=True)
class MarketState:
    """Where the follower of one market stands. ``last_block`` is ``start_block - 1`` before the first range."""

    name: str
    identity: str  # what the name stands for (the protocol's contracts): another identity is another market
    start_block: int
    last_block: int
    last_hash: str | None


def _statements(script: str) -> Iterator[str]:
    return filter(None, (s.strip() for s in script.split(";")))


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class Checkpoint:
    """The checkpoint file; use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._resets: Counter[str] = Counter()
        # every known account per market, as this instance last read or wrote it (read once, then kept in step
        # with this instance's own writes: a daemon asks for them every block)
        self._known: dict[str, frozenset[str]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise CheckpointError(f"cannot open checkpoint {self.path}: {exc}") from None
        try:
            with self._errors("initialise"):
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                with self._tx():
                    self._create_schema()
        except CheckpointError:
            self._db.close()
            raise

    def _create_schema(self) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and row[0] == "1":
            for stmt in _statements(_MIGRATE_FROM_1):
                self._db.execute(stmt)
        elif row is not None and row[0] != SCHEMA_VERSION:
            raise CheckpointError(
                f"checkpoint {self.path} has schema version {row[0]}, this version reads {SCHEMA_VERSION}"
            )
        for stmt in _statements(_SCHEMA):
            self._db.execute(stmt)
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise CheckpointError(f"checkpoint {self.path}: cannot {what}: {exc}") from None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- markets ---------------------------------------------------------------------------------------
    def market(self, name: str) -> MarketState | None:
        """The state of market ``name`` (None when never opened)."""
        with self._errors("read market"):
            row = self._db.execute(
                "SELECT identity, start_block, last_block, last_hash FROM markets WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else MarketState(name, *row)

    def create_market(self, name: str, *, identity: str, start_block: int) -> MarketState:
        """Register a market that starts at ``start_block``."""
        with self._errors("create market"), self._tx():
            self._db.execute(
                "INSERT INTO markets VALUES (?, ?, ?, ?, NULL, ?)",
                (name, identity, start_block, start_block - 1, time.time()),
            )
        return MarketState(name, identity, start_block, start_block - 1, None)

    def commit_range(
        self,
        name: str,
        *,
        to_block: int,
        to_hash: str,
        hashes: Mapping[int, str],
        touched: Mapping[str, int],
        keep_from: int,
    ) -> frozenset[str]:
        """Atomically record a processed range: touched accounts (-> first block), block hashes, the new tip.

        Returns the accounts seen for the first time. Stored hashes of blocks below ``keep_from`` are dropped.
        """
        with self._errors("commit range"), self._tx():
            known: set[str] = set()
            for part in _chunks(sorted(touched)):
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT account FROM accounts WHERE market = ? AND account IN ({marks})", (name, *part)
                )
                known.update(r[0] for r in rows)
            new = {a: b for a, b in touched.items() if a not in known}
            self._db.executemany(
                "INSERT INTO accounts VALUES (?, ?, ?)", [(name, a, b) for a, b in sorted(new.items())]
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO block_hashes VALUES (?, ?, ?)", [(name, n, h) for n, h in hashes.items()]
            )
            self._db.execute("DELETE FROM block_hashes WHERE market = ? AND number < ?", (name, keep_from))
            cur = self._db.execute(
                "UPDATE markets SET last_block = ?, last_hash = ?, updated_at = ? WHERE name = ?",
                (to_block, to_hash, time.time(), name),
            )
            if cur.rowcount != 1:
                raise CheckpointError(f"checkpoint {self.path}: market {name!r} is not registered")
        added = frozenset(new)
        if added and name in self._known:
            self._known[name] = self._known[name] | added
        return added

    def block_hashes(self, name: str) -> dict[int, str]:
        """The stored ring of block hashes (number -> hash)."""
        with self._errors("read block hashes"):
            rows = self._db.execute("SELECT number, hash FROM block_hashes WHERE market = ?", (name,))
            return {int(n): str(h) for n, h in rows}

    def rollback(self, name: str, *, fork_block: int, fork_hash: str | None) -> frozenset[str]:
        """Forget everything after ``fork_block`` (the newest block still on the chain); returns the accounts
        first touched after it, now forgotten."""
        with self._errors("roll back"), self._tx():
            removed = frozenset(
                r[0]
                for r in self._db.execute(
                    "SELECT account FROM accounts WHERE market = ? AND first_seen > ?", (name, fork_block)
                )
            )
            self._db.execute("DELETE FROM accounts WHERE market = ? AND first_seen > ?", (name, fork_block))
            self._db.execute("DELETE FROM block_hashes WHERE market = ? AND number > ?", (name, fork_block))
            self._db.execute(
                "UPDATE markets SET last_block = ?, last_hash = ?, updated_at = ? WHERE name = ?",
                (fork_block, fork_hash, time.time(), name),
            )
        if removed and name in self._known:
            self._known[name] = self._known[name] - removed
        return removed

    def reset(self, name: str) -> frozenset[str]:
        """Forget every account and hash of the market (back to ``start_block - 1``), in one transaction;
        returns the forgotten accounts. Counted in :meth:`resets`."""
        with self._errors("reset market"), self._tx():
            removed = frozenset(
                r[0] for r in self._db.execute("SELECT account FROM accounts WHERE market = ?", (name,))
            )
            self._db.execute("DELETE FROM accounts WHERE market = ?", (name,))
            self._db.execute("DELETE FROM block_hashes WHERE market = ?", (name,))
            self._db.execute(
                "UPDATE markets SET last_block = start_block - 1, last_hash = NULL, updated_at = ? WHERE name = ?",
                (time.time(), name),
            )
        self._resets[name] += 1
        self._known[name] = frozenset()
        return removed

    def resets(self) -> dict[str, int]:
        """Markets reset by this process (none of their stored blocks was on the chain any more), by name."""
        return dict(self._resets)

    # -- accounts --------------------------------------------------------------------------------------
    def accounts(self, name: str) -> frozenset[str]:
        """Every known account of the market (read from the file once, then kept in step with this instance's
        writes)."""
        if name not in self._known:
            with self._errors("read accounts"):
                rows = self._db.execute("SELECT account FROM accounts WHERE market = ?", (name,))
                self._known[name] = frozenset(r[0] for r in rows)
        return self._known[name]

    def first_seen(self, name: str) -> dict[str, int]:
        """Every known account with the block it was first touched in."""
        with self._errors("read accounts"):
            rows = self._db.execute("SELECT account, first_seen FROM accounts WHERE market = ?", (name,))
            return {str(a): int(b) for a, b in rows}
