"""`SqliteStore`: breaker state in a SQLite file, shared by processes on one host.

Uses the standard library's sqlite3 in a worker thread. Every change runs in a
`BEGIN IMMEDIATE` transaction (one writer at a time, across processes) on a WAL
database with a busy timeout, so a pause written by one process is seen by the
next call of every other process, and survives restarts.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from green_tg_async._exceptions import StoreUnavailableError

from ._base import BreakerRecord, StateStore
from ._transitions import failed, opened, probed, succeeded

__all__ = ["SqliteStore"]

T = TypeVar("T")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS breakers (
    key TEXT PRIMARY KEY,
    open_until REAL NOT NULL,
    reason TEXT NOT NULL,
    failures INTEGER NOT NULL,
    probe_until REAL NOT NULL
)
"""


class SqliteStore(StateStore):
    """Keep instance state in a SQLite file (survives restarts).

    >>> store = SqliteStore("/var/lib/mybot/green.sqlite3")
    >>> tg = AsyncGreenTelegram(store=store)
    """

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0
    ) -> None:
        self._path = os.fspath(path)
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        """Return the record for `key`, or None when closed."""
        return await self._run(lambda db: _read(db, key))

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        """Open until `until`, keeping a longer pause."""
        await self._update(key, lambda r: opened(r, until, reason))

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        """Count a failure; at `threshold` open until `until`."""
        record = await self._update(key, lambda r: failed(r, threshold, until, reason))
        assert record is not None
        return record

    async def breaker_probe(self, key: str, *, now: float, lease_until: float) -> bool:
        """Take the half-open probe lease unless it is held."""

        def take(db: sqlite3.Connection) -> bool:
            record = probed(_read(db, key), now, lease_until)
            if record is not None:
                _write(db, key, record)
            return record is not None

        return await self._run(take, write=True)

    async def breaker_success(self, key: str, *, now: float) -> None:
        """Forget failures; close unless a pause runs past `now`."""
        await self._update(key, lambda r: succeeded(r, now))

    async def breaker_reset(self, key: str) -> None:
        """Forget everything about `key`."""
        await self._update(key, lambda r: None)

    async def aclose(self) -> None:
        """Close the connection this store opened."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"<SqliteStore path={self._path!r}>"

    async def _update(
        self, key: str, change: Callable[[BreakerRecord | None], BreakerRecord | None]
    ) -> BreakerRecord | None:
        def apply(db: sqlite3.Connection) -> BreakerRecord | None:
            record = change(_read(db, key))
            _write(db, key, record)
            return record

        return await self._run(apply, write=True)

    async def _run(
        self, work: Callable[[sqlite3.Connection], T], *, write: bool = False
    ) -> T:
        return await asyncio.to_thread(self._locked, work, write)

    def _locked(self, work: Callable[[sqlite3.Connection], T], write: bool) -> T:
        try:
            with self._lock:
                db = self._connect()
                if not write:
                    return work(db)
                db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result
        except sqlite3.Error as exc:
            raise StoreUnavailableError(
                f"SQLite store failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,  # we issue BEGIN IMMEDIATE ourselves
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn


def _read(db: sqlite3.Connection, key: str) -> BreakerRecord | None:
    row = db.execute(
        "SELECT open_until, reason, failures, probe_until FROM breakers WHERE key = ?",
        (key,),
    ).fetchone()
    return None if row is None else BreakerRecord(*row)


def _write(db: sqlite3.Connection, key: str, record: BreakerRecord | None) -> None:
    if record is None:
        db.execute("DELETE FROM breakers WHERE key = ?", (key,))
        return
    db.execute(
        "INSERT OR REPLACE INTO breakers VALUES (?, ?, ?, ?, ?)",
        (key, record.open_until, record.reason, record.failures, record.probe_until),
    )
