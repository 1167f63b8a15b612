"""Fail-open mode logs each transition once, and never claims a write it did not do."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from green_tg_async import (
    AsyncGreenTelegram,
    ContactInfoLimitError,
    StoreUnavailableError,
)
from green_tg_async.stores import BreakerRecord, SqliteStore
from green_tg_async.stores._fallback import LocalFallback, fails_open
from tests.helpers import API_TOKEN, ID_INSTANCE, FakeClock


class _Store:
    """Just enough of a shared store for the fail-open wrapper."""

    def __init__(self) -> None:
        self._fallback: LocalFallback | None = LocalFallback(0.5)
        self.down = False
        self.opened: list[str] = []

    @fails_open
    async def breaker_get(self, key: str) -> BreakerRecord | None:
        if self.down:
            raise StoreUnavailableError("down (test)")
        return None

    @fails_open
    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        if self.down:
            raise StoreUnavailableError("down (test)")
        self.opened.append(key)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


async def test_issue11_a_down_store_is_not_reported_back_until_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _Store()
    clock = FakeClock(0.0)
    store._fallback = LocalFallback(0.5, probe_interval=1.0, clock=clock)
    caplog.set_level(logging.WARNING, logger="green_tg_async")
    store.down = True
    for _ in range(3):
        clock.advance(1.0)  # each call probes the store
        assert await store.breaker_get("k") is None  # local answer
    assert not any("answers again" in m for m in _messages(caplog))
    assert sum("continuing locally" in m for m in _messages(caplog)) == 1

    await store.breaker_open("k", until=2e9, reason="469")  # kept locally
    store.down = False
    clock.advance(1.0)
    await store.breaker_get("k")
    await store.breaker_get("k")
    back = [m for m in _messages(caplog) if "answers again" in m]
    assert back == ["state store answers again; 1 pause(s) kept locally written back"]
    assert store.opened == ["k"]


class _CountingStore(_Store):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._fallback = LocalFallback(0.5, probe_interval=5.0, clock=clock)
        self.attempts = 0

    @fails_open
    async def breaker_get(self, key: str) -> BreakerRecord | None:
        self.attempts += 1
        if self.down:
            raise StoreUnavailableError("timed out (test)")
        return None


async def test_issue11_a_hung_store_costs_one_timeout_per_probe_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(0.0)
    store = _CountingStore(clock)
    caplog.set_level(logging.WARNING, logger="green_tg_async")
    store.down = True
    for _ in range(20):  # calls in the first 5 s: one reaches the store
        await store.breaker_get("k")
        clock.advance(0.2)
    assert store.attempts == 1
    clock.advance(1.0)  # past the interval: the next call probes once
    await store.breaker_get("k")
    await store.breaker_get("k")
    assert store.attempts == 2
    store.down = False
    clock.advance(5.0)
    await store.breaker_get("k")
    assert store.attempts == 3
    messages = _messages(caplog)
    assert sum("continuing locally" in m for m in messages) == 1
    assert sum("answers again" in m for m in messages) == 1


def test_issue11_the_probe_interval_is_checked() -> None:
    with pytest.raises(ValueError, match="probe_interval"):
        LocalFallback(0.5, probe_interval=0)


# -- an idle holder writes its pause back on its own (issue 20 §4.1) ---------------


class _FlakySqlite(SqliteStore):
    """A SqliteStore whose file can be made unreachable."""

    down = False

    async def _run(self, work: Any, *, write: bool = False) -> Any:
        if self.down:
            raise StoreUnavailableError("SQLite store failed: down (test)")
        return await super()._run(work, write=write)

    async def _read(self, work: Any) -> Any:
        if self.down:
            raise StoreUnavailableError("SQLite store failed: down (test)")
        return await super()._read(work)


def _limited(request: httpx.Request) -> httpx.Response:
    return httpx.Response(469, json={"message": "User get contact info limit reached"})


async def _pause_while_down(path: Path) -> tuple[AsyncGreenTelegram, _FlakySqlite]:
    store = _FlakySqlite(path, fail_open=True, fallback_probe_interval=0.05)
    await store.cache_get("schema")  # the file and its tables exist
    store.down = True
    tg = AsyncGreenTelegram(
        ID_INSTANCE, API_TOKEN, store=store, transport=httpx.MockTransport(_limited)
    )
    with pytest.raises(ContactInfoLimitError):
        await tg.service.check_account(79000000000)
    return tg, store


async def _shared_pause(path: Path) -> BreakerRecord | None:
    other = SqliteStore(path)  # what another host reads
    try:
        return await other.breaker_get(f"{{{ID_INSTANCE}}}:breaker")
    finally:
        await other.aclose()


async def test_issue20_an_idle_process_writes_its_pause_back_once_the_store_returns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    tg, store = await _pause_while_down(path)
    assert await _shared_pause(path) is None
    store.down = False  # the store is back; this process makes no more calls
    record = None
    for _ in range(100):  # up to 5 s on a loaded machine; usually ~0.05 s
        record = await _shared_pause(path)
        if record is not None:
            break
        await asyncio.sleep(0.05)
    assert record is not None
    assert record.open_until > time.time() + 7000
    await tg.aclose()
    await store.aclose()


async def test_issue20_aclose_drains_the_write_back(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    tg, store = await _pause_while_down(path)
    store.down = False
    await tg.aclose()  # waits for the background write-back
    record = await _shared_pause(path)
    assert record is not None
    assert record.open_until > time.time() + 7000
    await store.aclose()
