"""The breaker part of the store contract, on every store (Redis to follow)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from green_tg_async import BreakerPolicy, CircuitOpenError
from green_tg_async._breaker import CircuitBreaker
from green_tg_async.stores import (
    BreakerRecord,
    MemoryStore,
    SqliteStore,
    StateStore,
    default_store,
)
from tests.helpers import T0, FakeClock

KEY = "breaker:1"


@pytest.fixture(params=["memory", "sqlite"])
async def any_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StateStore]:
    store: StateStore
    if request.param == "memory":
        store = MemoryStore()
    else:
        store = SqliteStore(tmp_path / "state.sqlite3")
    yield store
    await store.aclose()


def test_stores_are_state_stores(tmp_path: Path) -> None:
    assert isinstance(MemoryStore(), StateStore)
    assert isinstance(SqliteStore(tmp_path / "s"), StateStore)
    assert default_store() is default_store()


async def test_closed_key_has_no_record(any_store: StateStore) -> None:
    store = any_store
    assert await store.breaker_get(KEY) is None
    await store.breaker_success(KEY, now=T0)  # no-op
    assert await store.breaker_get(KEY) is None


async def test_failures_count_up_and_open_at_the_threshold(
    any_store: StateStore,
) -> None:
    store = any_store
    first = await store.breaker_failure(KEY, threshold=2, until=T0 + 30, reason="r")
    assert first == BreakerRecord(failures=1)
    second = await store.breaker_failure(KEY, threshold=2, until=T0 + 30, reason="r")
    assert (second.failures, second.open_until, second.reason) == (2, T0 + 30, "r")


async def test_a_failure_does_not_shorten_a_469_pause(any_store: StateStore) -> None:
    store = any_store
    await store.breaker_open(KEY, until=T0 + 7200, reason="469")
    record = await store.breaker_failure(KEY, threshold=1, until=T0 + 30, reason="5xx")
    assert (record.open_until, record.reason) == (T0 + 7200, "469")


async def test_probe_lease_is_exclusive_until_it_expires(any_store: StateStore) -> None:
    store = any_store
    await store.breaker_open(KEY, until=T0, reason="469")
    assert await store.breaker_probe(KEY, now=T0, lease_until=T0 + 60) is True
    assert await store.breaker_probe(KEY, now=T0 + 59, lease_until=T0 + 119) is False
    assert await store.breaker_probe(KEY, now=T0 + 60, lease_until=T0 + 120) is True


async def test_success_closes_an_expired_pause_but_keeps_a_running_one(
    any_store: StateStore,
) -> None:
    store = any_store
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    await store.breaker_success(KEY, now=T0)
    assert await store.breaker_get(KEY) == BreakerRecord(T0 + 10, "469", 0, 0.0)
    await store.breaker_success(KEY, now=T0 + 10)
    assert await store.breaker_get(KEY) is None


async def test_reset_forgets_everything_and_aclose_keeps_state(
    any_store: StateStore,
) -> None:
    store = any_store
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    await store.aclose()
    assert await store.breaker_get(KEY) is not None
    await store.breaker_reset(KEY)
    assert await store.breaker_get(KEY) is None


async def test_losing_the_probe_race_is_refused(any_store: StateStore) -> None:
    store = any_store
    """Two callers read the same expired record; only one wins the lease."""
    clock = FakeClock(T0 + 10)
    breaker = CircuitBreaker("1", BreakerPolicy(clock=clock), store)
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    stale = await store.breaker_get(KEY)
    assert stale is not None
    await breaker._admit_key(KEY, stale, "checkAccount")  # wins
    with pytest.raises(CircuitOpenError) as info:
        await breaker._admit_key(KEY, stale, "checkAccount")  # same stale view
    assert info.value.retry_at == datetime.fromtimestamp(T0 + 70, tz=UTC)
