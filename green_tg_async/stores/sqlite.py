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
import time
from collections.abc import Callable
from dataclasses import astuple
from typing import TypeVar

from green_tg_async._exceptions import StoreUnavailableError

from ._base import (
    PENDING_SECONDS,
    SLOT_POLL,
    BotStore,
    BreakerRecord,
    Claim,
    Gate,
    GatedAdmission,
    LookupEntry,
    PaceRecord,
    Resumed,
    SendLog,
    SharedLimiterStore,
    StateStore,
)
from ._journal import (
    JournalEntry,
    JournalRecord,
    begin_step,
    entry,
    finish_step,
    release_step,
)
from ._shared import Change, SharedBreaker
from ._transitions import admit_gated, micros, pace_cut

__all__ = ["SqliteStore"]

T = TypeVar("T")
_HELD_POLL = 0.01  # every slot held by a send in flight: ask again this soon
_monotonic = time.monotonic  # module names, so tests can replace them
_nap = time.sleep
# Moves a limiter key's arrival time forward only (a 429's penalty).
_PUSH = (
    "INSERT OR REPLACE INTO limiter VALUES "
    "(?, MAX(?, IFNULL((SELECT tat_us FROM limiter WHERE key = ?), 0)))"
)
# Extends an owner's claim (rowcount 0: not that owner's).
_RENEW = "UPDATE inbox_claims SET until = ? WHERE queue = ? AND item = ? AND owner = ?"
_CLAIM = "INSERT OR REPLACE INTO inbox_claims VALUES (?, ?, ?, ?)"
# The send that is `limit`-th newest in a log (OFFSET limit - 1).
_NEWEST = "SELECT at_us FROM sends WHERE key = ? ORDER BY at_us DESC LIMIT 1 OFFSET ?"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS breakers (
        key TEXT PRIMARY KEY,
        open_until REAL NOT NULL,
        reason TEXT NOT NULL,
        failures INTEGER NOT NULL,
        probe_until REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS limiter (
        key TEXT PRIMARY KEY, tat_us INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS sends (
        key TEXT NOT NULL, at_us INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sends_by_key ON sends (key, at_us)",
    """CREATE TABLE IF NOT EXISTS pending_sends (
        key TEXT NOT NULL, ticket TEXT NOT NULL, at_us INTEGER NOT NULL,
        PRIMARY KEY (key, ticket)
    )""",
    """CREATE TABLE IF NOT EXISTS cache (
        key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS cache_by_expiry ON cache (expires_at)",
    """CREATE TABLE IF NOT EXISTS pace (
        key TEXT PRIMARY KEY, factor REAL NOT NULL, since REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS lookup_slots (
        key TEXT NOT NULL, ticket TEXT NOT NULL, until REAL NOT NULL,
        PRIMARY KEY (key, ticket)
    )""",
    """CREATE TABLE IF NOT EXISTS inbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL, item TEXT NOT NULL, payload TEXT NOT NULL,
        UNIQUE (queue, item)
    )""",
    # A table of its own, so inbox files of earlier versions need no migration.
    """CREATE TABLE IF NOT EXISTS inbox_claims (
        queue TEXT NOT NULL, item TEXT NOT NULL,
        owner TEXT NOT NULL, until REAL NOT NULL,
        PRIMARY KEY (queue, item)
    )""",
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


class SqliteStore(SharedBreaker, StateStore, SharedLimiterStore, BotStore):
    """Keep instance state in a SQLite file (survives restarts).

    Example::

        store = SqliteStore("/var/lib/mybot/green.sqlite3")
        tg = AsyncGreenTelegram(store=store)

    The bot inbox is a table in the same file, so it survives a crash.
    """

    durable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        fail_open: bool = False,
    ) -> None:
        self.fail_open = fail_open
        """Given to a client, this store is wrapped in one `FailOpenStore`."""
        self._path = os.fspath(path)
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None  # used in a worker thread
        self._lock = threading.Lock()

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        return await self._run(lambda db: _read(db, key))

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        step = micros(interval)

        def book(db: sqlite3.Connection) -> int:
            if log is not None:
                _settle(db, log, _now_us())
            return _admit(db, key, step, burst)

        start = await self._run(book, write=True)
        if log is not None and start <= _now_us():
            # Logged in a transaction of its own, after any bookings queued
            # behind this one in the worker thread, so the logged time stays
            # close to the real send (there are no round trips to save here).
            settled = log._replace(settle=())  # logged with the booking
            return await self._run(lambda db: _enter(db, settled), write=True)
        # The slot is an absolute time on this host's clock, so time spent
        # waiting for the worker thread is not added on top of the wait.
        return max(0, start - _now_us()) / 1e6

    async def limiter_admit_gated(
        self,
        key: str,
        *,
        interval: float,
        burst: int,
        log: SendLog,
        gate: Gate,
    ) -> GatedAdmission:
        step = micros(interval)

        def work(db: sqlite3.Connection) -> GatedAdmission:
            settled = log._replace(settle=())
            if log.settle:  # answers that arrived: log them first
                _settle(db, log, _now_us())

            def book() -> float:
                wait = max(0, _admit(db, key, step, burst) - _now_us()) / 1e6
                return wait if wait > 0 else _enter(db, settled)

            records = tuple(_read(db, k) for k in gate.keys)
            found, leases = admit_gated(
                records, gate, book, lambda entry: _lookup_enter(db, entry)[0]
            )
            if gate.lookup is not None:
                found = found._replace(pace=_pace(db, gate.lookup.pace))
            for k, record in leases.items():
                _write(db, k, record)
            return found

        return await self._run(work, write=True)

    async def limiter_enter_pending(self, log: SendLog) -> float:
        return await self._run(lambda db: _enter(db, log), write=True)

    async def limiter_done(self, log: SendLog) -> None:
        await self._run(lambda db: _settle(db, log, _now_us()), write=True)

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        until = _now_us() + micros(seconds)
        await self._run(_sql(_PUSH, key, until, key), write=True)

    async def lookup_enter(self, entry: LookupEntry) -> tuple[float, PaceRecord | None]:
        return await self._run(lambda db: _lookup_enter(db, entry), write=True)

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        await self._run(lambda db: _free_slots(db, slots, tickets), write=True)

    async def pace_get(self, key: str) -> PaceRecord | None:
        return await self._run(lambda db: _pace(db, key))

    async def pace_cut(
        self,
        key: str,
        *,
        now: float,
        resume_at: float,
        decrease: float,
        floor: float,
        climb: float,
    ) -> PaceRecord:
        def cut(db: sqlite3.Connection) -> PaceRecord:
            record = pace_cut(_pace(db, key), now, resume_at, decrease, floor, climb)
            db.execute(
                "INSERT OR REPLACE INTO pace VALUES (?, ?, ?)",
                (key, record.factor, record.since),
            )
            return record

        return await self._run(cut, write=True)

    async def pace_reset(self, key: str) -> None:
        await self._run(_sql("DELETE FROM pace WHERE key = ?", key), write=True)

    async def cache_get(self, key: str) -> str | None:
        return await self._run(lambda db: _cached(db, key, time.time()))

    async def cache_set(self, key: str, value: str, *, ttl: float) -> None:
        now = time.time()
        await self._run(lambda db: _cache(db, key, value, now, ttl), write=True)

    async def cache_delete(self, key: str) -> None:
        await self._run(_sql("DELETE FROM cache WHERE key = ?", key), write=True)

    async def inbox_add(self, queue: str, item: str, payload: str) -> bool:
        return await self._run(
            lambda db: _inbox_add(db, queue, item, payload), write=True
        )

    async def inbox_items(self, queue: str) -> list[tuple[str, str]]:
        sql = "SELECT item, payload FROM inbox WHERE queue = ? ORDER BY seq"
        return await self._run(
            lambda db: [(str(i), str(p)) for i, p in db.execute(sql, (queue,))]
        )

    async def inbox_remove(self, queue: str, item: str) -> None:
        await self._run(lambda db: _inbox_remove(db, queue, item), write=True)

    async def inbox_take(
        self,
        queue: str,
        item: str,
        payload: str,
        *,
        done: str,
        owner: str,
        lease: float,
    ) -> Claim:
        def work(db: sqlite3.Connection) -> Claim:
            now = time.time()
            if _cached(db, done, now) is not None:
                return "done"
            _inbox_add(db, queue, item, payload)
            row = db.execute(
                "SELECT owner, until FROM inbox_claims WHERE queue = ? AND item = ?",
                (queue, item),
            ).fetchone()
            if row is not None and row[0] != owner and row[1] > now:
                return "held"
            db.execute(_CLAIM, (queue, item, owner, now + lease))
            return "claimed"

        return await self._run(work, write=True)

    async def inbox_renew(
        self, queue: str, items: list[str], *, owner: str, lease: float
    ) -> list[str]:
        until = time.time() + lease
        return await self._run(
            lambda db: [
                i
                for i in items
                if db.execute(_RENEW, (until, queue, i, owner)).rowcount
            ],
            write=True,
        )

    async def inbox_release(self, queue: str, item: str, *, owner: str) -> None:
        sql = "DELETE FROM inbox_claims WHERE queue = ? AND item = ? AND owner = ?"
        await self._run(_sql(sql, queue, item, owner), write=True)

    async def inbox_finish(
        self, queue: str, item: str, *, done: str, ttl: float
    ) -> None:
        now = time.time()

        def work(db: sqlite3.Connection) -> None:
            _cache(db, done, "1", now, ttl)
            _inbox_remove(db, queue, item)

        await self._run(work, write=True)

    async def inbox_resume(
        self, queue: str, *, owner: str, lease: float, limit: int
    ) -> Resumed:
        def work(db: sqlite3.Connection) -> Resumed:
            now = time.time()
            rows = db.execute(
                """SELECT inbox.item, inbox.payload FROM inbox
                   LEFT JOIN inbox_claims AS c
                   ON c.queue = inbox.queue AND c.item = inbox.item
                   WHERE inbox.queue = ? AND (c.until IS NULL OR c.until <= ?)
                   ORDER BY inbox.seq LIMIT ?""",
                (queue, now, limit),
            ).fetchall()
            db.executemany(_CLAIM, [(queue, i, owner, now + lease) for i, _ in rows])
            (until,) = db.execute(
                "SELECT MIN(until) FROM inbox_claims WHERE queue = ? AND owner != ? "
                "AND until > ?",
                (queue, owner, now),
            ).fetchone()
            taken = [(str(item), str(payload)) for item, payload in rows]
            return Resumed(taken, None if until is None else float(until) - now)

        return await self._run(work, write=True)

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
        def work(db: sqlite3.Connection) -> JournalEntry:
            now = time.time()
            found = _journal_get(db, key, now)
            verdict, record = begin_step(found, fingerprint, intent, owner, now, lease)
            if record is not found:
                _journal_put(db, key, record, now + ttl)
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
            found = _journal_get(db, key, now)
            record = finish_step(found, fingerprint, intent, result, now)
            _journal_put(db, key, record, now + ttl)
            return record.result

        return await self._run(work, write=True)

    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        def work(db: sqlite3.Connection) -> None:
            found = _journal_get(db, key, time.time())
            record = release_step(found, owner, forget)
            if record is None:
                db.execute("DELETE FROM send_journal WHERE key = ?", (key,))
            elif record is not found:
                db.execute(
                    "UPDATE send_journal SET owner = '', lease_until = 0 WHERE key = ?",
                    (key,),
                )

        await self._run(work, write=True)

    async def aclose(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"<SqliteStore path={self._path!r}>"

    async def _update(
        self, key: str, change: Change, *, keep: bool = False
    ) -> BreakerRecord | None:
        def apply(db: sqlite3.Connection) -> BreakerRecord | None:
            record = change(_read(db, key))
            if record is not None or not keep:
                _write(db, key, record)
            return record

        return await self._run(apply, write=True)

    async def _run(
        self, work: Callable[[sqlite3.Connection], T], *, write: bool = False
    ) -> T:
        """Run `work` in the worker thread (in a write transaction if `write`).

        Reads too: never on the loop, so a file locked by another process (a
        checkpoint, its set-up) waits out the busy timeout there, not in
        every task.
        """
        return await asyncio.to_thread(self._locked, work, write)

    def _locked(self, work: Callable[[sqlite3.Connection], T], write: bool) -> T:
        try:
            with self._lock:
                db = self._connect()
                if not write:
                    return work(db)
                db.execute("BEGIN IMMEDIATE")
                with db:  # COMMIT, or ROLLBACK when `work` raises
                    return work(db)
        except sqlite3.Error as exc:
            raise StoreUnavailableError(
                f"SQLite store failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = self._open()
            deadline = _monotonic() + self._busy_timeout
            try:
                while True:
                    try:
                        _set_up(conn)
                        break
                    except sqlite3.OperationalError:
                        # Switching to WAL is not retried by SQLite's busy
                        # handler when another process does it at that moment.
                        if _monotonic() > deadline:
                            raise
                        _nap(0.01)  # in the worker thread, not the loop
            except BaseException:
                conn.close()  # not a database, locked for good, …: never leak it
                raise
            self._conn = conn
        return self._conn

    def _open(self) -> sqlite3.Connection:
        return sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,
            isolation_level=None,  # we issue BEGIN IMMEDIATE ourselves
            check_same_thread=False,
        )


def _sql(statement: str, *params: object) -> Callable[[sqlite3.Connection], object]:
    """Work for `_run`: one statement."""
    return lambda db: db.execute(statement, params)


def _set_up(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL-safe; no fsync per commit
    for statement in _SCHEMA:
        conn.execute(statement)


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
        (key, *astuple(record)),
    )


def _now_us() -> int:
    return time.time_ns() // 1000


def _admit(db: sqlite3.Connection, key: str, step: int, burst: int) -> int:
    """GCRA: the slot starts at tat - tolerance; booking it moves tat one step.

    Returns the slot's start in epoch microseconds.
    """
    now = _now_us()
    row = db.execute("SELECT tat_us FROM limiter WHERE key = ?", (key,)).fetchone()
    tat = max(now, 0 if row is None else int(row[0]))
    db.execute("INSERT OR REPLACE INTO limiter VALUES (?, ?)", (key, tat + step))
    return max(now, tat - (burst - 1) * step)


def _cached(db: sqlite3.Connection, key: str, now: float) -> str | None:
    row = db.execute(
        "SELECT value FROM cache WHERE key = ? AND expires_at > ?", (key, now)
    ).fetchone()
    return None if row is None else str(row[0])


def _cache(
    db: sqlite3.Connection, key: str, value: str, now: float, ttl: float
) -> None:
    db.execute("DELETE FROM cache WHERE expires_at <= ?", (now,))
    db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (key, value, now + ttl))


def _inbox_add(db: sqlite3.Connection, queue: str, item: str, payload: str) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO inbox (queue, item, payload) VALUES (?, ?, ?)",
        (queue, item, payload),
    )
    return cursor.rowcount == 1


def _inbox_remove(db: sqlite3.Connection, queue: str, item: str) -> None:
    db.execute("DELETE FROM inbox WHERE queue = ? AND item = ?", (queue, item))
    db.execute("DELETE FROM inbox_claims WHERE queue = ? AND item = ?", (queue, item))


def _log_wait(db: sqlite3.Connection, key: str, limit: int, span: int, now: int) -> int:
    """Drop what left the log's last `span` µs; µs until it has room for one more."""
    db.execute("DELETE FROM sends WHERE key = ? AND at_us <= ?", (key, now - span))
    row = db.execute(_NEWEST, (key, limit - 1)).fetchone()
    return 0 if row is None else max(0, int(row[0]) + span - now)


def _enter(db: sqlite3.Connection, log: SendLog) -> float:
    """Hold a send now under `log.ticket`, or return the wait."""
    now, key = _now_us(), log.key
    _settle(db, log, now)
    db.execute(
        "DELETE FROM pending_sends WHERE key = ? AND at_us <= ?",
        (key, now - micros(PENDING_SECONDS)),
    )
    (held,) = db.execute(
        "SELECT COUNT(*) FROM pending_sends WHERE key = ?", (key,)
    ).fetchone()
    free = log.limit - int(held)
    if free <= 0:
        return _HELD_POLL
    wait = _log_wait(db, key, free, micros(log.window), now)
    if wait > 0:
        return wait / 1e6
    db.execute("INSERT INTO pending_sends VALUES (?, ?, ?)", (key, log.ticket, now))
    return 0.0


def _settle(db: sqlite3.Connection, log: SendLog, now: int) -> None:
    """Log the held sends of `log.settle` at the time their answers came."""
    for ticket, age in log.settle:
        db.execute(
            "DELETE FROM pending_sends WHERE key = ? AND ticket = ?", (log.key, ticket)
        )
        db.execute("INSERT INTO sends VALUES (?, ?)", (log.key, now - micros(age)))


def _pace(db: sqlite3.Connection, key: str) -> PaceRecord | None:
    row = db.execute("SELECT factor, since FROM pace WHERE key = ?", (key,)).fetchone()
    return None if row is None else PaceRecord(float(row[0]), float(row[1]))


def _free_slots(db: sqlite3.Connection, slots: str, tickets: tuple[str, ...]) -> None:
    db.executemany(
        "DELETE FROM lookup_slots WHERE key = ? AND ticket = ?",
        [(slots, ticket) for ticket in tickets],
    )


def _lookup_enter(
    db: sqlite3.Connection, entry: LookupEntry
) -> tuple[float, PaceRecord | None]:
    """`StateStore.lookup_enter` inside a write transaction."""
    now = time.time()
    _free_slots(db, entry.slots, entry.release)
    db.execute("DELETE FROM lookup_slots WHERE until <= ?", (now,))
    pace = _pace(db, entry.pace)
    (held,) = db.execute(
        "SELECT COUNT(*) FROM lookup_slots WHERE key = ?", (entry.slots,)
    ).fetchone()
    if int(held) >= entry.cap:
        return SLOT_POLL, pace
    # Every budget window has room: record the look-up in each; else the
    # longest wait.
    now_us, windows = _now_us(), [(limit, micros(s)) for limit, s in entry.windows]
    logs = [(f"{entry.budget}:{span}", limit, span) for limit, span in windows]
    wait = max([_log_wait(db, *log, now_us) for log in logs], default=0)
    if wait > 0:
        return wait / 1e6, pace
    db.executemany("INSERT INTO sends VALUES (?, ?)", [(k, now_us) for k, _, _ in logs])
    db.execute(
        "INSERT INTO lookup_slots VALUES (?, ?, ?)",
        (entry.slots, entry.ticket, now + entry.lease),
    )
    return 0.0, pace


def _journal_get(db: sqlite3.Connection, key: str, now: float) -> JournalRecord | None:
    db.execute("DELETE FROM send_journal WHERE expires_at <= ?", (now,))
    row = db.execute(
        "SELECT fingerprint, intent, started, owner, lease_until, result "
        "FROM send_journal WHERE key = ?",
        (key,),
    ).fetchone()
    return None if row is None else JournalRecord(*row)


def _journal_put(
    db: sqlite3.Connection, key: str, record: JournalRecord, expires: float
) -> None:
    db.execute(
        "INSERT OR REPLACE INTO send_journal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (key, *astuple(record), expires),
    )
