from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from green_tg_async import (
    AsyncGreenTelegram,
    CircuitOpenError,
    RateLimits,
    StoreUnavailableError,
)
from green_tg_async.stores import SqliteStore
from tests.helpers import API_TOKEN, ID_INSTANCE

# A separate process trips the breaker with a real 469 from a MockTransport.
TRIP = textwrap.dedent(
    """
    import asyncio, sys, httpx
    from green_tg_async import AsyncGreenTelegram, ContactInfoLimitError, RateLimits
    from green_tg_async.stores import SqliteStore

    async def main():
        http = httpx.AsyncClient(transport=httpx.MockTransport(
            lambda request: httpx.Response(469)))
        store = SqliteStore(sys.argv[1])
        async with http, AsyncGreenTelegram(
            sys.argv[2], http_client=http, store=store,  # token from the env
            limits=RateLimits(enabled=False),
        ) as tg:
            try:
                await tg.service.check_account(79876543210)
            except ContactInfoLimitError:
                print("tripped")
        await store.aclose()

    asyncio.run(main())
    """
)


def _must_not_send(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"{request.method} was sent during a pause")


async def test_a_pause_from_another_process_survives_its_exit(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", TRIP, str(path), ID_INSTANCE],  # never the token
        env={**os.environ, "GREEN_API_TOKEN": API_TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "tripped"
    assert API_TOKEN not in done.stderr

    # This process plays the restarted worker: a fresh store on the same file.
    store = SqliteStore(path)
    http = httpx.AsyncClient(transport=httpx.MockTransport(_must_not_send))
    async with (
        http,
        AsyncGreenTelegram(
            ID_INSTANCE,
            API_TOKEN,
            http_client=http,
            store=store,
            limits=RateLimits(enabled=False),
        ) as tg,
    ):
        with pytest.raises(CircuitOpenError) as info:
            await tg.service.check_account(79876543210)
        state = await tg.breaker.state()
    await store.aclose()
    assert state.is_open
    assert info.value.retry_at == state.retry_at
    assert info.value.reason == "checkAccount failed with HTTP 469"


async def test_an_unusable_file_fails_closed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "missing-dir" / "state.sqlite3")
    with pytest.raises(StoreUnavailableError, match="SQLite store failed"):
        await store.breaker_get("breaker:1")
    http = httpx.AsyncClient(transport=httpx.MockTransport(_must_not_send))
    async with (
        http,
        AsyncGreenTelegram(ID_INSTANCE, API_TOKEN, http_client=http, store=store) as tg,
    ):
        with pytest.raises(StoreUnavailableError):
            await tg.account.get_state_instance()
    await store.aclose()


async def test_a_failed_change_is_rolled_back(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    await store.breaker_open("k", until=10.0, reason="r")

    def explode(db: object) -> None:
        raise RuntimeError("bug inside a transaction")

    with pytest.raises(RuntimeError, match="bug"):
        await store._run(explode, write=True)
    record = await store.breaker_get("k")
    await store.aclose()
    await store.aclose()  # idempotent
    assert record is not None
    assert record.open_until == 10.0
    assert repr(store) == f"<SqliteStore path={str(tmp_path / 'state.sqlite3')!r}>"


async def test_a_commit_that_fails_leaves_no_transaction_open(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    await store.breaker_get("k")
    store._connect().execute("PRAGMA foreign_keys = ON")  # outside a transaction

    def violate_at_commit(db: sqlite3.Connection) -> None:  # checked at COMMIT
        db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        db.execute(
            "CREATE TABLE child "
            "(parent REFERENCES parent DEFERRABLE INITIALLY DEFERRED)"
        )
        db.execute("INSERT INTO child VALUES (1)")

    with pytest.raises(StoreUnavailableError, match="FOREIGN KEY"):
        await store._run(violate_at_commit, write=True)
    await store.breaker_open("k", until=10.0, reason="r")  # the next write works
    record = await store.breaker_get("k")
    await store.aclose()
    assert record is not None
    assert record.open_until == 10.0


async def test_a_failing_read_fails_closed(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.sqlite3"
    store = SqliteStore(path)
    assert await store.breaker_get("k") is None
    # `with sqlite3.connect()` only commits; closing() closes.
    with contextlib.closing(sqlite3.connect(path)) as other:
        other.execute("DROP TABLE breakers")
    with pytest.raises(StoreUnavailableError, match="no such table"):
        await store.breaker_get("k")
    await store.aclose()


async def test_setting_up_a_busy_file_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from green_tg_async.stores import sqlite as module

    real_set_up = module._set_up
    attempts: list[int] = []

    def busy_twice(conn: sqlite3.Connection) -> None:
        attempts.append(1)
        if len(attempts) <= 2:
            raise sqlite3.OperationalError("database is locked")
        real_set_up(conn)

    monkeypatch.setattr(module, "_set_up", busy_twice)
    monkeypatch.setattr(module, "_nap", lambda seconds: None)
    store = SqliteStore(tmp_path / "state.sqlite3")
    assert await store.breaker_get("k") is None
    assert len(attempts) == 3
    await store.aclose()


async def test_a_file_that_stays_busy_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from green_tg_async.stores import sqlite as module

    def always_busy(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database is locked")

    clock = iter(range(0, 1000, 3))  # monotonic seconds, 3 s per reading
    monkeypatch.setattr(module, "_set_up", always_busy)
    monkeypatch.setattr(module, "_nap", lambda seconds: None)
    monkeypatch.setattr(module, "_monotonic", lambda: float(next(clock)))
    store = SqliteStore(tmp_path / "state.sqlite3", busy_timeout=5.0)
    with pytest.raises(StoreUnavailableError, match="database is locked"):
        await store.breaker_open("k", until=1.0, reason="r")
    await store.aclose()


async def test_a_file_that_is_not_a_database_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SqliteStore(path)
    assert await store.cache_get("k") is None
    await store.aclose()
    path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"state.sqlite3{suffix}").unlink(missing_ok=True)
    with pytest.raises(StoreUnavailableError, match="not a database"):
        await store.cache_get("k")
    await store.aclose()


async def test_a_corrupt_read_fails_closed(tmp_path: Path) -> None:
    import sqlite3

    store = SqliteStore(tmp_path / "state.sqlite3")
    assert await store.cache_get("k") is None

    def corrupt(db: sqlite3.Connection) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    with pytest.raises(StoreUnavailableError, match="malformed"):
        await store._run(corrupt)
    await store.aclose()


async def test_issue10_item21_every_connection_the_store_opens_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.13 warns about unclosed sqlite3 connections; none may be left."""
    import sqlite3

    opened: list[sqlite3.Connection] = []
    real_open = SqliteStore._open

    def tracking(self: SqliteStore) -> sqlite3.Connection:
        conn = real_open(self)
        opened.append(conn)
        return conn

    monkeypatch.setattr(SqliteStore, "_open", tracking)
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = SqliteStore(path)
    with pytest.raises(StoreUnavailableError, match="not a database"):
        await store.breaker_open("k", until=1.0, reason="r")
    good = SqliteStore(tmp_path / "good.sqlite3")
    await good.breaker_open("k", until=1.0, reason="r")
    assert await good.breaker_get("k") is not None
    await good.aclose()
    await store.aclose()
    assert len(opened) == 2
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")


async def test_no_sqlite_statement_runs_on_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 30: a locked file must stall a worker thread, never the loop."""
    import threading

    threads: list[int] = []
    real_open = SqliteStore._open

    def tracing(self: SqliteStore) -> sqlite3.Connection:
        conn = real_open(self)
        conn.set_trace_callback(lambda _: threads.append(threading.get_ident()))
        return conn

    monkeypatch.setattr(SqliteStore, "_open", tracing)
    store = SqliteStore(tmp_path / "state.sqlite3")
    await store.breaker_open("k", until=1.0, reason="r")
    assert await store.breaker_get("k") is not None
    assert await store.cache_get("c") is None
    assert await store.pace_get("p") is None
    assert await store.inbox_items("q") == []
    await store.aclose()
    assert threads
    assert threading.get_ident() not in threads
