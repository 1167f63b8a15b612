"""The send journal in SQLite: `SqliteStore`'s part, one transaction per call."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ._journal import (
    JournalEntry,
    JournalRecord,
    SendJournal,
    begin_step,
    entry,
    finish_step,
    release_step,
)

__all__ = ["JOURNAL_SCHEMA", "SqliteJournal"]

T = TypeVar("T")

JOURNAL_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS send_journal (
        key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, intent TEXT NOT NULL,
        started REAL NOT NULL, owner TEXT NOT NULL, lease_until REAL NOT NULL,
        result TEXT, expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS send_journal_by_expiry ON send_journal (expires_at)",
    """CREATE TABLE IF NOT EXISTS send_journal_claims (
        message TEXT PRIMARY KEY, key TEXT NOT NULL, expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS send_journal_claims_by_expiry "
    "ON send_journal_claims (expires_at)",
)


class SqliteJournal(SendJournal):
    """Journal methods over the store's `_run` (a `BEGIN IMMEDIATE` transaction)."""

    async def _run(
        self, work: Callable[[sqlite3.Connection], T], *, write: bool = False
    ) -> T:
        raise NotImplementedError

    async def journal_begin(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        owner: str,
        lease: float,
        ttl: float,
    ) -> JournalEntry:
        """Write a new intent, or report the record under `key`: one transaction."""

        def work(db: sqlite3.Connection) -> JournalEntry:
            now = time.time()
            found = _get(db, key, now)
            verdict, record = begin_step(found, fingerprint, intent, owner, now, lease)
            if record is not found:
                _put(db, key, record, now + ttl)
            return entry(verdict, record)

        return await self._run(work, write=True)

    async def journal_finish(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        message: str,
        result: str,
        ttl: float,
    ) -> str | None:
        """Claim `message` for `key` and record `result`: one transaction."""

        def work(db: sqlite3.Connection) -> str | None:
            now = time.time()
            db.execute("DELETE FROM send_journal_claims WHERE expires_at <= ?", (now,))
            row = db.execute(
                "SELECT key FROM send_journal_claims WHERE message = ?", (message,)
            ).fetchone()
            if row is not None and row[0] != key:
                return None
            db.execute(
                "INSERT OR REPLACE INTO send_journal_claims VALUES (?, ?, ?)",
                (message, key, now + ttl),
            )
            found = _get(db, key, now)
            record = finish_step(found, fingerprint, intent, result, now)
            _put(db, key, record, now + ttl)
            return record.result

        return await self._run(work, write=True)

    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        """Give up `owner`'s lease; `forget` drops the intent: one transaction."""

        def work(db: sqlite3.Connection) -> None:
            found = _get(db, key, time.time())
            record = release_step(found, owner, forget)
            if record is None:
                db.execute("DELETE FROM send_journal WHERE key = ?", (key,))
            elif record is not found:
                db.execute(
                    "UPDATE send_journal SET owner = '', lease_until = 0 WHERE key = ?",
                    (key,),
                )

        await self._run(work, write=True)


def _get(db: sqlite3.Connection, key: str, now: float) -> JournalRecord | None:
    db.execute("DELETE FROM send_journal WHERE expires_at <= ?", (now,))
    row: Any = db.execute(
        "SELECT fingerprint, intent, started, owner, lease_until, result "
        "FROM send_journal WHERE key = ?",
        (key,),
    ).fetchone()
    return None if row is None else JournalRecord(*row)


def _put(
    db: sqlite3.Connection, key: str, record: JournalRecord, expires: float
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO send_journal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            record.fingerprint,
            record.intent,
            record.started,
            record.owner,
            record.lease_until,
            record.result,
            expires,
        ),
    )
