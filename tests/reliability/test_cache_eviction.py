"""Issue 10, item 15: answer caches forget what expired and stay bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async.stores import MemoryStore, SqliteStore
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import API_TOKEN, ID_INSTANCE, FakeClock


async def test_item15_expired_answers_leave_the_memory_cache() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    for i in range(20_000):
        await store.cache_set(f"k{i}", "v", ttl=0.001)
        clock.advance(0.001)
    assert len(store._cache) <= 1100
    assert await store.cache_get("k19999") is None  # expired when read


async def test_item15_the_memory_cache_is_bounded() -> None:
    store = MemoryStore(max_cache_entries=1000)
    for i in range(5000):
        await store.cache_set(f"k{i}", str(i), ttl=3600)
    assert len(store._cache) == 1000
    assert await store.cache_get("k4999") == "4999"  # the newest stay
    assert await store.cache_get("k0") is None


async def test_item15_bulk_checks_do_not_pile_up_expired_answers() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    fake = FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)

    def answer(request: httpx.Request) -> httpx.Response:
        clock.advance(0.01)
        return fake.handle(request)

    async with AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        store=store,
        limits=RateLimits(enabled=False),
        transport=httpx.MockTransport(answer),
    ) as tg:
        numbers = [79000000000 + i for i in range(3000)]
        checks = tg.service.check_accounts(numbers, found_ttl=0.001, missing_ttl=0.001)
        assert len([item async for item in checks]) == 3000
    assert len(store._cache) <= 1100


async def test_item15_expired_rows_leave_the_sqlite_cache(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SqliteStore(path)
    for i in range(4000):
        await store.cache_set(f"k{i}", "v", ttl=-1.0)  # expired at once
    await store.cache_set("live", "v", ttl=3600)
    await store.aclose()
    db = sqlite3.connect(path)
    try:
        (rows,) = db.execute("SELECT COUNT(*) FROM cache").fetchone()
    finally:
        db.close()
    assert rows <= 1
