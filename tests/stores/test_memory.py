"""The breaker part of the store contract, on MemoryStore (SQLite/Redis to follow)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from green_tg_async import BreakerPolicy, CircuitOpenError
from green_tg_async._breaker import CircuitBreaker
from green_tg_async.stores import BreakerRecord, MemoryStore, StateStore, default_store
from tests.helpers import T0, FakeClock

KEY = "breaker:1"


def test_memory_store_is_a_state_store() -> None:
    assert isinstance(MemoryStore(), StateStore)
    assert default_store() is default_store()


async def test_closed_key_has_no_record() -> None:
    store = MemoryStore()
    assert await store.breaker_get(KEY) is None
    await store.breaker_success(KEY, now=T0)  # no-op
    assert await store.breaker_get(KEY) is None


async def test_failures_count_up_and_open_at_the_threshold() -> None:
    store = MemoryStore()
    first = await store.breaker_failure(KEY, threshold=2, until=T0 + 30, reason="r")
    assert first == BreakerRecord(failures=1)
    second = await store.breaker_failure(KEY, threshold=2, until=T0 + 30, reason="r")
    assert (second.failures, second.open_until, second.reason) == (2, T0 + 30, "r")


async def test_a_failure_does_not_shorten_a_469_pause() -> None:
    store = MemoryStore()
    await store.breaker_open(KEY, until=T0 + 7200, reason="469")
    record = await store.breaker_failure(KEY, threshold=1, until=T0 + 30, reason="5xx")
    assert (record.open_until, record.reason) == (T0 + 7200, "469")


async def test_probe_lease_is_exclusive_until_it_expires() -> None:
    store = MemoryStore()
    await store.breaker_open(KEY, until=T0, reason="469")
    assert await store.breaker_probe(KEY, now=T0, lease_until=T0 + 60) is True
    assert await store.breaker_probe(KEY, now=T0 + 59, lease_until=T0 + 119) is False
    assert await store.breaker_probe(KEY, now=T0 + 60, lease_until=T0 + 120) is True


async def test_success_closes_an_expired_pause_but_keeps_a_running_one() -> None:
    store = MemoryStore()
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    await store.breaker_success(KEY, now=T0)
    assert await store.breaker_get(KEY) == BreakerRecord(T0 + 10, "469", 0, 0.0)
    await store.breaker_success(KEY, now=T0 + 10)
    assert await store.breaker_get(KEY) is None


async def test_reset_forgets_everything_and_aclose_keeps_state() -> None:
    store = MemoryStore()
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    await store.aclose()
    assert await store.breaker_get(KEY) is not None
    await store.breaker_reset(KEY)
    assert await store.breaker_get(KEY) is None


async def test_losing_the_probe_race_is_refused() -> None:
    """Two callers read the same expired record; only one wins the lease."""
    clock = FakeClock(T0 + 10)
    store = MemoryStore()
    breaker = CircuitBreaker("1", BreakerPolicy(clock=clock), store)
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    stale = await store.breaker_get(KEY)
    assert stale is not None
    await breaker._admit_key(KEY, stale, "checkAccount")  # wins
    with pytest.raises(CircuitOpenError) as info:
        await breaker._admit_key(KEY, stale, "checkAccount")  # same stale view
    assert info.value.retry_at == datetime.fromtimestamp(T0 + 70, tz=UTC)
