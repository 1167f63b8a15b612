"""Issue 15 §3: one store round trip per admitted call, with the breaker included.

Round trips are counted where redis-py writes a request packet (so commands run
inside a Lua script do not count), and as SQLite transactions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from green_tg_async import AsyncGreenTelegram, BreakerPolicy, RateLimits
from green_tg_async.stores import RedisStore, SqliteStore, StateStore
from green_tg_async.testing import FAKE_API_URL, FakeGreenAPI

CALLS = 200
FAST = RateLimits(default=100_000.0, burst=1_000)  # nothing ever waits


def _client(
    fake: FakeGreenAPI, store: StateStore, **options: Any
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        fake.id_instance,
        fake.api_token,
        api_url=FAKE_API_URL,
        transport=fake.transport,
        store=store,
        limits=options.pop("limits", FAST),
        **options,
    )


async def _sends(tg: AsyncGreenTelegram, count: int) -> None:
    for n in range(count):
        await tg.sending.send_message(1, f"m{n}")


def _count_packets(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, count the commands redis-py sends (one packet a round trip)."""
    from redis.asyncio.connection import AbstractConnection

    packets = [0]
    original = AbstractConnection.send_packed_command

    async def counting(self: Any, command: Any, check_health: bool = True) -> None:
        packets[0] += 1
        await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return packets


@pytest.mark.redis
async def test_redis_one_round_trip_per_admitted_call(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix, timeout=5.0)
    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake, store) as tg:
        await _sends(tg, 5)  # scripts loaded, connection made
        packets = _count_packets(monkeypatch)
        await _sends(tg, CALLS)
    await store.aclose()
    assert len(fake.sent) == CALLS + 5
    assert 1.0 <= packets[0] / CALLS <= 1.2, packets  # counted, and at most 1.2


@pytest.mark.redis
async def test_redis_one_round_trip_per_look_up(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 30: breaker, slot, budget, pace read and rate in one script; the
    slot is freed in the next look-up's script (3 round trips before)."""
    store = RedisStore(redis_url, prefix=redis_prefix, timeout=5.0)
    fake = FakeGreenAPI(rate_limits=False)
    lookups = RateLimits(default=100_000.0, burst=1_000)  # with the day's budget
    async with _client(fake, store, limits=lookups) as tg:
        for n in range(5):  # scripts loaded, connection made
            await tg.service.check_account(79000000000 + n, force=True)
        packets = _count_packets(monkeypatch)
        for n in range(CALLS):
            await tg.service.check_account(79000000000 + n, force=True)
    await store.aclose()
    assert 1.0 <= packets[0] / CALLS <= 1.2, packets  # counted, and at most 1.2


async def test_sqlite_one_transaction_per_admitted_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "trips.sqlite3")
    trips = 0
    original = store._run

    async def counting_run(work: Any, *, write: bool = False) -> Any:
        nonlocal trips
        trips += 1
        return await original(work, write=write)

    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake, store) as tg:
        await _sends(tg, 5)
        monkeypatch.setattr(store, "_run", counting_run)
        await _sends(tg, CALLS)
    await store.aclose()
    assert trips / CALLS <= 1.2, trips


async def test_a_pause_in_the_store_refuses_without_booking_a_slot(
    tmp_path: Path,
) -> None:
    from green_tg_async import CircuitOpenError
    from tests.helpers import FakeClock

    clock = FakeClock()
    store = SqliteStore(tmp_path / "pause.sqlite3")
    fake = FakeGreenAPI(rate_limits=False)
    policy = BreakerPolicy(clock=clock)
    async with _client(fake, store, breaker=policy) as tg:
        await tg.sending.send_message(1, "before")
        key = f"{{{fake.id_instance}}}:limiter:sendMessage"
        tat_before = await store._run(lambda db: _tat(db, key))
        # Another process pauses the instance.
        await store.breaker_open(
            f"{{{fake.id_instance}}}:breaker",
            until=clock.now + 60,
            reason="469 elsewhere",
        )
        with pytest.raises(CircuitOpenError, match="469 elsewhere"):
            await tg.sending.send_message(1, "refused")
        assert await store._run(lambda db: _tat(db, key)) == tat_before
        # Expired: one caller probes; a second one meanwhile is refused.
        clock.now += 61
        await tg.sending.send_message(1, "the probe")
    assert [b["message"] for b in fake.sent] == ["before", "the probe"]
    await store.aclose()


def _tat(db: Any, key: str) -> int:
    row = db.execute("SELECT tat_us FROM limiter WHERE key = ?", (key,)).fetchone()
    return int(row[0])


@pytest.mark.redis
async def test_redis_a_keyed_send_adds_one_round_trip_before_and_one_after(
    redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 31: the intent and the result, one script each; nothing else."""
    store = RedisStore(redis_url, prefix=redis_prefix, timeout=5.0)
    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake, store) as tg:
        for n in range(5):  # scripts loaded, connection made
            await tg.sending.send_message(1, f"w{n}", idempotency_key=f"w{n}")
        packets = _count_packets(monkeypatch)
        for n in range(CALLS):
            await tg.sending.send_message(1, f"m{n}", idempotency_key=f"k{n}")
    await store.aclose()
    assert len(fake.sent) == CALLS + 5
    assert 3.0 <= packets[0] / CALLS <= 3.2, packets  # admission + intent + result


async def test_sqlite_a_keyed_send_adds_one_transaction_before_and_one_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 31: the intent and the result, one transaction each."""
    store = SqliteStore(tmp_path / "keyed.sqlite3")
    trips = 0
    original = store._run

    async def counting_run(work: Any, *, write: bool = False) -> Any:
        nonlocal trips
        trips += 1
        return await original(work, write=write)

    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake, store) as tg:
        await _sends(tg, 5)
        monkeypatch.setattr(store, "_run", counting_run)
        await _sends(tg, CALLS)
        plain, trips = trips, 0
        for n in range(CALLS):
            await tg.sending.send_message(1, f"k{n}", idempotency_key=f"k{n}")
    await store.aclose()
    assert 2.0 <= (trips - plain) / CALLS <= 2.05, (plain, trips)
