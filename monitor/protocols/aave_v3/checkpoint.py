"""SQLite checkpoint of discovery and positions, so a restart resumes where the last run stopped.

One file holds any number of markets (by config name). Per market: the addresses it was opened with, the last
processed block (number and hash), a ring of recent block hashes for reorg detection, every known account
with the block it was first touched in, and the latest positions read per account (the book's raw inputs:
user configuration bitmap, e-mode, per reserve scaled aToken balance, scaled variable debt, stable debt;
256-bit integers stored as decimal TEXT). Every write is one transaction (WAL journal): a range's accounts
and the block it advances to are committed together, so a process killed mid-backfill loses nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from monitor.errors import CheckpointError
from monitor.protocols.aave_v3.book.inputs import AccountInput, PositionInput

SCHEMA_VERSION = "1"
_CHUNK = 500  # SQLite host parameters per IN (...) list

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS markets (
    name TEXT PRIMARY KEY, provider TEXT NOT NULL, pool TEXT NOT NULL, start_block INTEGER NOT NULL,
    last_block INTEGER NOT NULL, last_hash TEXT, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    market TEXT NOT NULL, account TEXT NOT NULL, first_seen INTEGER NOT NULL,
    PRIMARY KEY (market, account)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accounts_by_block ON accounts (market, first_seen);
CREATE TABLE IF NOT EXISTS block_hashes (
    market TEXT NOT NULL, number INTEGER NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (market, number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS positions (
    market TEXT NOT NULL, account TEXT NOT NULL, block INTEGER NOT NULL,
    user_config TEXT NOT NULL, emode INTEGER NOT NULL,
    PRIMARY KEY (market, account)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS positions_by_block ON positions (market, block);
CREATE TABLE IF NOT EXISTS position_reserves (
    market TEXT NOT NULL, account TEXT NOT NULL, asset TEXT NOT NULL,
    scaled_atoken TEXT NOT NULL, scaled_variable_debt TEXT NOT NULL, stable_debt TEXT NOT NULL,
    PRIMARY KEY (market, account, asset)) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class MarketState:
    """Where discovery of one market stands. ``last_block`` is ``start_block - 1`` before the first range."""

    name: str
    provider: str
    pool: str
    start_block: int
    last_block: int
    last_hash: str | None


@dataclass(frozen=True, slots=True)
class StoredPosition:
    """An account's raw position as read at ``block``."""

    block: int
    account: AccountInput


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What a rollback to a fork block removed."""

    removed_accounts: frozenset[str]  # first touched after the fork: gone from the known set
    stale_positions: frozenset[str]  # positions read after the fork: deleted, read them again


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class Checkpoint:
    """The checkpoint file; use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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
        for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
            self._db.execute(stmt)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise CheckpointError(
                f"checkpoint {self.path} has schema version {row[0]}, this version reads {SCHEMA_VERSION}"
            )

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
                "SELECT provider, pool, start_block, last_block, last_hash FROM markets WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else MarketState(name, *row)

    def create_market(self, name: str, *, provider: str, pool: str, start_block: int) -> MarketState:
        """Register a market that starts at ``start_block``."""
        with self._errors("create market"), self._tx():
            self._db.execute(
                "INSERT INTO markets VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (name, provider.lower(), pool.lower(), start_block, start_block - 1, time.time()),
            )
        return MarketState(name, provider.lower(), pool.lower(), start_block, start_block - 1, None)

    def commit_range(
        self,
        name: str,
        *,
        to_block: int,
        to_hash: str,
        hashes: Mapping[int, str],
        touched: Mapping[str, int],
        keep_hashes: int,
    ) -> frozenset[str]:
        """Atomically record a processed range: touched accounts (-> first block), block hashes, the new head.

        Returns the accounts seen for the first time. Only the newest ``keep_hashes`` block hashes are kept.
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
            self._db.execute(
                "DELETE FROM block_hashes WHERE market = ? AND number NOT IN "
                "(SELECT number FROM block_hashes WHERE market = ? ORDER BY number DESC LIMIT ?)",
                (name, name, keep_hashes),
            )
            cur = self._db.execute(
                "UPDATE markets SET last_block = ?, last_hash = ?, updated_at = ? WHERE name = ?",
                (to_block, to_hash, time.time(), name),
            )
            if cur.rowcount != 1:
                raise CheckpointError(f"checkpoint {self.path}: market {name!r} is not registered")
        return frozenset(new)

    def block_hashes(self, name: str) -> dict[int, str]:
        """The stored ring of block hashes (number -> hash)."""
        with self._errors("read block hashes"):
            rows = self._db.execute("SELECT number, hash FROM block_hashes WHERE market = ?", (name,))
            return {int(n): str(h) for n, h in rows}

    def rollback(self, name: str, *, fork_block: int, fork_hash: str | None) -> RollbackResult:
        """Forget everything after ``fork_block`` (the newest block still on the chain)."""
        with self._errors("roll back"), self._tx():
            removed = {
                r[0]
                for r in self._db.execute(
                    "SELECT account FROM accounts WHERE market = ? AND first_seen > ?", (name, fork_block)
                )
            }
            stale = {
                r[0]
                for r in self._db.execute(
                    "SELECT account FROM positions WHERE market = ? AND block > ?", (name, fork_block)
                )
            }
            self._db.execute("DELETE FROM accounts WHERE market = ? AND first_seen > ?", (name, fork_block))
            self._db.execute("DELETE FROM block_hashes WHERE market = ? AND number > ?", (name, fork_block))
            self._delete_positions(name, sorted(stale | removed))
            self._db.execute(
                "UPDATE markets SET last_block = ?, last_hash = ?, updated_at = ? WHERE name = ?",
                (fork_block, fork_hash, time.time(), name),
            )
        return RollbackResult(frozenset(removed), frozenset(stale))

    # -- accounts --------------------------------------------------------------------------------------
    def accounts(self, name: str) -> frozenset[str]:
        """Every known account of the market."""
        with self._errors("read accounts"):
            return frozenset(r[0] for r in self._db.execute("SELECT account FROM accounts WHERE market = ?", (name,)))

    def first_seen(self, name: str) -> dict[str, int]:
        """Every known account with the block it was first touched in."""
        with self._errors("read accounts"):
            rows = self._db.execute("SELECT account, first_seen FROM accounts WHERE market = ?", (name,))
            return {str(a): int(b) for a, b in rows}

    # -- positions -------------------------------------------------------------------------------------
    def save_positions(self, name: str, block: int, accounts: Iterable[AccountInput]) -> int:
        """Replace the stored positions of ``accounts`` with these, read at ``block``; returns how many."""
        accts = list(accounts)
        with self._errors("save positions"), self._tx():
            self._delete_positions(name, [a.address for a in accts])
            self._db.executemany(
                "INSERT INTO positions VALUES (?, ?, ?, ?, ?)",
                [(name, a.address, block, str(a.user_configuration), a.emode_category) for a in accts],
            )
            self._db.executemany(
                "INSERT INTO position_reserves VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (name, a.address, asset, str(p.scaled_atoken), str(p.scaled_variable_debt), str(p.stable_debt))
                    for a in accts
                    for asset, p in a.positions.items()
                ],
            )
        return len(accts)

    def load_positions(self, name: str) -> dict[str, StoredPosition]:
        """Every stored position of the market, by account."""
        with self._errors("load positions"):
            per: dict[str, dict[str, PositionInput]] = {}
            for account, asset, a, v, s in self._db.execute(
                "SELECT account, asset, scaled_atoken, scaled_variable_debt, stable_debt "
                "FROM position_reserves WHERE market = ?",
                (name,),
            ):
                per.setdefault(account, {})[asset] = PositionInput(int(a), int(v), int(s))
            rows = self._db.execute(
                "SELECT account, block, user_config, emode FROM positions WHERE market = ?", (name,)
            ).fetchall()
        return {
            acct: StoredPosition(int(block), AccountInput(acct, int(cfg), int(emode), per.get(acct, {})))
            for acct, block, cfg, emode in rows
        }

    def delete_positions(self, name: str, accounts: Iterable[str]) -> None:
        """Forget the stored positions of ``accounts``."""
        with self._errors("delete positions"), self._tx():
            self._delete_positions(name, list(accounts))

    def _delete_positions(self, name: str, accounts: list[str]) -> None:
        for part in _chunks(accounts):
            marks = ",".join("?" * len(part))
            for table in ("positions", "position_reserves"):
                self._db.execute(f"DELETE FROM {table} WHERE market = ? AND account IN ({marks})", (name, *part))
