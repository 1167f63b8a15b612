"""The store contract (breaker, shared limiter, cache) on memory, SQLite and Redis."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from green_tg_async import BreakerPolicy, CircuitOpenError, StoreUnavailableError
from green_tg_async._breaker import CircuitBreaker
from green_tg_async.stores import (
    BotStore,
    BreakerRecord,
    CacheStore,
    FailOpenStore,
    MemoryStore,
    Resumed,
    SendLog,
    SharedLimiterStore,
    SqliteStore,
    StateStore,
    default_store,
)
from green_tg_async.stores._base import SLOT_POLL, LookupEntry, PaceRecord
from green_tg_async.stores.redis import RedisStore
from tests.helpers import T0, FakeClock, spec

KEY = "{1}:breaker"
# A single Redis server and a Redis Cluster (`redis_url`, `redis_cluster_url`).
REDIS = [
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=[pytest.mark.redis, pytest.mark.redis_cluster]),
]


@pytest.fixture(params=["memory", "sqlite", "fail-open", *REDIS])
async def any_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StateStore]:
    store = _make_store(request, request.param, tmp_path)
    yield store
    await store.aclose()


@pytest.fixture(params=["sqlite", "fail-open", *REDIS])
async def shared_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[SharedLimiterStore]:
    store = _make_store(request, request.param, tmp_path)
    assert isinstance(store, SharedLimiterStore)
    yield store
    await store.aclose()


_GENEROUS = 5.0


def _make_store(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path
) -> StateStore:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SqliteStore(tmp_path / "state.sqlite3")
    if kind == "fail-open":  # with its primary up, the primary's contract
        return FailOpenStore(SqliteStore(tmp_path / "state.sqlite3"))
    url = request.getfixturevalue(
        "redis_url" if kind == "redis" else "redis_cluster_url"
    )
    # The contract is about correctness; a loaded CI host may take longer
    # than the 250 ms production deadline (that one is tested in test_redis).
    return RedisStore(
        url, prefix=request.getfixturevalue("redis_prefix"), timeout=_GENEROUS
    )


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
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    stale = await store.breaker_get(KEY)
    assert stale is not None

    class StaleReads(_Without):
        async def breaker_get(self, key: str) -> BreakerRecord | None:
            return stale  # both callers read before either took the lease

    clock = FakeClock(T0 + 10)
    view: Any = StaleReads(store)
    breaker = CircuitBreaker("1", BreakerPolicy(clock=clock), view)
    assert (await breaker.admit(spec("checkAccount")))[1] == T0 + 70  # wins
    with pytest.raises(CircuitOpenError) as info:
        await breaker.admit(spec("checkAccount"))  # its stale view said "probe"
    assert info.value.retry_at == datetime.fromtimestamp(T0 + 70, tz=UTC)


async def test_a_probe_lease_is_released_only_by_its_holder(
    any_store: StateStore,
) -> None:
    store = any_store
    await store.breaker_open(KEY, until=T0 + 10, reason="469")
    assert await store.breaker_probe(KEY, now=T0 + 10, lease_until=T0 + 70)
    await store.breaker_release(KEY, lease_until=T0 + 71)  # not ours: kept
    assert not await store.breaker_probe(KEY, now=T0 + 11, lease_until=T0 + 71)
    await store.breaker_release(KEY, lease_until=T0 + 70)
    record = await store.breaker_get(KEY)
    assert record is not None
    assert (record.open_until, record.probe_until) == (T0 + 10, 0.0)
    assert await store.breaker_probe(KEY, now=T0 + 12, lease_until=T0 + 72)
    await store.breaker_release("{1}:nothing", lease_until=T0 + 72)  # no record
    assert await store.breaker_get("{1}:nothing") is None


async def test_limiter_books_consecutive_slots(
    shared_store: SharedLimiterStore,
) -> None:
    first = await shared_store.limiter_admit("{1}:limiter:m", interval=10.0, burst=1)
    second = await shared_store.limiter_admit("{1}:limiter:m", interval=10.0, burst=1)
    third = await shared_store.limiter_admit("{1}:limiter:m", interval=10.0, burst=1)
    other = await shared_store.limiter_admit("{1}:limiter:n", interval=10.0, burst=1)
    assert first == 0.0
    assert 9.0 < second <= 10.0  # the clock moved a little between the calls
    assert 19.0 < third <= 20.0
    assert other == 0.0


async def test_limiter_burst_admits_back_to_back(
    shared_store: SharedLimiterStore,
) -> None:
    waits = [
        await shared_store.limiter_admit("{1}:limiter:b", interval=10.0, burst=3)
        for _ in range(4)
    ]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 9.0 < waits[3] <= 10.0


async def test_penalty_moves_the_next_slot_for_everyone(
    shared_store: SharedLimiterStore,
) -> None:
    await shared_store.limiter_penalize("{1}:limiter:p", seconds=100.0)
    await shared_store.limiter_penalize("{1}:limiter:p", seconds=1.0)  # never back
    wait = await shared_store.limiter_admit("{1}:limiter:p", interval=0.1, burst=1)
    assert 99.0 < wait <= 100.0


async def test_cache_round_trip(any_store: StateStore) -> None:
    store = any_store
    assert isinstance(store, CacheStore)
    assert await store.cache_get("{1}:check:79876543210") is None
    await store.cache_set("{1}:check:79876543210", '{"exist": true}', ttl=60)
    assert await store.cache_get("{1}:check:79876543210") == '{"exist": true}'


async def test_memory_cache_expires() -> None:
    clock = FakeClock(T0)
    store = MemoryStore(clock=clock)
    await store.cache_set("k", "v", ttl=10)
    clock.advance(9.9)
    assert await store.cache_get("k") == "v"
    clock.advance(0.1)
    assert await store.cache_get("k") is None


async def test_sqlite_cache_expires(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s")
    await store.cache_set("k", "v", ttl=-1)  # already expired
    assert await store.cache_get("k") is None
    await store.aclose()


async def test_concurrent_failures_from_two_connections_all_count(
    request: pytest.FixtureRequest, tmp_path: Path, any_store: StateStore
) -> None:
    """Two store objects (two connections, as two processes have) never lose one."""
    kind = request.node.callspec.params["any_store"]
    other = any_store if kind == "memory" else _make_store(request, kind, tmp_path)
    try:
        await asyncio.gather(
            *(
                store.breaker_failure(KEY, threshold=100, until=T0, reason="x")
                for store in [any_store, other] * 10
            )
        )
        record = await any_store.breaker_get(KEY)
    finally:
        if other is not any_store:
            await other.aclose()
    assert record is not None
    assert record.failures == 20


async def test_a_slot_that_starts_now_is_held_in_the_same_call(
    shared_store: SharedLimiterStore,
) -> None:
    log = SendLog("{1}:window:c", 1, 10.0, "t1")
    first = await shared_store.limiter_admit(
        "{1}:limiter:c", interval=0.001, burst=1, log=log
    )
    # The log (1 per 10 s) holds that send: the next free slot must wait.
    second = await shared_store.limiter_admit(
        "{1}:limiter:d", interval=0.001, burst=1, log=log._replace(ticket="t2")
    )
    assert first == 0.0
    assert second > 0.0
    await shared_store.limiter_done(log._replace(ticket="", settle=(("t1", 0.0),)))
    wait = await shared_store.limiter_enter_pending(log._replace(ticket="t3"))
    assert 9.0 < wait <= 10.0


async def test_bot_inbox_keeps_order_refuses_repeats_and_forgets_removed(
    any_store: StateStore,
) -> None:
    from green_tg_async.stores import BotStore

    assert isinstance(any_store, BotStore)
    queue, other = "{1}:bot:inbox:main", "{1}:bot:inbox:b"
    assert await any_store.inbox_items(queue) == []
    assert await any_store.inbox_add(queue, "a", '{"n":1}')
    assert await any_store.inbox_add(queue, "b", '{"n":2}')
    assert not await any_store.inbox_add(queue, "a", '{"n":3}')  # kept as it was
    assert await any_store.inbox_add(other, "a", "x")  # queues are separate
    await any_store.inbox_remove(queue, "missing")
    assert await any_store.inbox_items(queue) == [("a", '{"n":1}'), ("b", '{"n":2}')]
    await any_store.inbox_remove(queue, "a")
    assert await any_store.inbox_items(queue) == [("b", '{"n":2}')]
    assert await any_store.inbox_add(queue, "a", "again")  # re-added at the end
    assert [item for item, _ in await any_store.inbox_items(queue)] == ["b", "a"]
    await any_store.inbox_remove(queue, "b")
    await any_store.inbox_remove(queue, "a")
    assert await any_store.inbox_items(queue) == []
    assert await any_store.inbox_items(other) == [("a", "x")]
    assert any_store.durable is not isinstance(any_store, MemoryStore)


def _bot(store: StateStore) -> BotStore:
    assert isinstance(store, BotStore)
    return store


INBOX, DONE = "{1}:bot:inbox:main", "{1}:bot:done:"


async def test_a_take_records_and_claims_once_and_a_done_item_is_not_taken(
    any_store: StateStore,
) -> None:
    store = _bot(any_store)
    take = functools.partial(store.inbox_take, INBOX, done=DONE + "a", lease=60)
    assert await take("a", "p1", owner="r1") == "claimed"
    assert await take("a", "p2", owner="r1") == "claimed"  # a retry: idempotent
    assert await take("a", "p3", owner="r2") == "held"
    assert await store.inbox_items(INBOX) == [("a", "p1")]  # recorded once
    await store.inbox_finish(INBOX, "a", done=DONE + "a", ttl=60)
    assert await store.cache_get(DONE + "a") == "1"
    assert await store.inbox_items(INBOX) == []
    # A late redelivery of a finished item is neither recorded nor claimed.
    assert await take("a", "p4", owner="r2") == "done"
    assert await store.inbox_items(INBOX) == []


async def test_an_expired_or_released_claim_can_be_taken_by_another_owner(
    any_store: StateStore,
) -> None:
    store = _bot(any_store)
    assert await store.inbox_take(INBOX, "a", "p", done=DONE + "a", owner="r1", lease=0)
    assert (
        await store.inbox_take(INBOX, "a", "p", done=DONE + "a", owner="r2", lease=60)
        == "claimed"
    )
    await store.inbox_release(INBOX, "a", owner="r1")  # not r1's any more: kept
    assert await store.inbox_take(
        INBOX, "a", "p", done=DONE + "a", owner="r3", lease=60
    ) == ("held")
    await store.inbox_release(INBOX, "a", owner="r2")
    assert (
        await store.inbox_take(INBOX, "a", "p", done=DONE + "a", owner="r3", lease=60)
        == "claimed"
    )


async def test_renew_extends_only_the_owners_claims(any_store: StateStore) -> None:
    store = _bot(any_store)
    for item in ("a", "b"):
        await store.inbox_take(INBOX, item, "p", done=DONE + item, owner="r1", lease=0)
    await store.inbox_take(INBOX, "b", "p", done=DONE + "b", owner="r2", lease=60)
    assert await store.inbox_renew(INBOX, ["a", "b", "x"], owner="r1", lease=60) == [
        "a"
    ]
    assert await store.inbox_renew(INBOX, [], owner="r1", lease=60) == []
    assert (
        await store.inbox_take(INBOX, "a", "p", done=DONE + "a", owner="r2", lease=60)
        == "held"
    )


async def test_resume_claims_unclaimed_and_expired_items_oldest_first(
    any_store: StateStore,
) -> None:
    store = _bot(any_store)
    for item in ("old", "live", "expired", "new"):
        await store.inbox_add(INBOX, item, f"p-{item}")
    await store.inbox_take(INBOX, "live", "p", done=DONE + "live", owner="r1", lease=60)
    await store.inbox_take(INBOX, "expired", "p", done=DONE + "x", owner="r1", lease=0)
    resumed = await store.inbox_resume(INBOX, owner="r2", lease=60, limit=2)
    assert resumed.items == [("old", "p-old"), ("expired", "p-expired")]
    resumed = await store.inbox_resume(INBOX, owner="r3", lease=60, limit=9)
    assert resumed.items == [("new", "p-new")]
    assert (await store.inbox_resume(INBOX, owner="r3", lease=60, limit=9)).items == []
    # Removing an item drops its claim with it.
    await store.inbox_remove(INBOX, "live")
    assert await store.inbox_add(INBOX, "live", "again")
    resumed = await store.inbox_resume(INBOX, owner="r3", lease=60, limit=9)
    assert resumed.items == [("live", "again")]


async def _resume(store: BotStore, owner: str, limit: int = 9) -> Resumed:
    return await store.inbox_resume(INBOX, owner=owner, lease=90, limit=limit)


def _about(seconds: float | None, expected: float) -> bool:
    """`seconds` is `expected` minus the time the test took to get there."""
    return seconds is not None and expected - _GENEROUS < seconds <= expected


async def test_resume_tells_when_the_next_claim_of_another_owner_runs_out(
    any_store: StateStore,
) -> None:
    store = _bot(any_store)
    assert await _resume(store, "r1") == Resumed([], None)
    for item in ("a", "b", "c", "d", "e"):
        await store.inbox_add(INBOX, item, f"p-{item}")
    await store.inbox_take(INBOX, "a", "p", done=DONE + "a", owner="r1", lease=60)
    await store.inbox_take(INBOX, "b", "p", done=DONE + "b", owner="r2", lease=30)
    for item in ("d", "e"):  # their claims ran out: not live
        await store.inbox_take(INBOX, item, "p", done=DONE + item, owner="r4", lease=0)
    # r3 takes "c" and "d"; "e" stays expired (no room), so r2's is next.
    resumed = await _resume(store, "r3", limit=2)
    assert resumed.items == [("c", "p-c"), ("d", "p-d")]
    assert _about(resumed.next_expiry_in, 30)
    # The caller's own claims do not count: r2 waits for r1's (60 s), not its own.
    resumed = await _resume(store, "r2", limit=0)
    assert resumed.items == []
    assert _about(resumed.next_expiry_in, 60)
    # Once every live claim is the caller's, there is nothing to wait for.
    for item in ("a", "b", "c", "d"):
        await store.inbox_remove(INBOX, item)
    assert await _resume(store, "r5") == Resumed([("e", "p-e")], None)


async def test_cache_delete_forgets_a_key(any_store: StateStore) -> None:
    from green_tg_async.stores import BotStore

    assert isinstance(any_store, BotStore)
    await any_store.cache_set("{1}:k", "v", ttl=60)
    await any_store.cache_delete("{1}:k")
    await any_store.cache_delete("{1}:never-set")
    assert await any_store.cache_get("{1}:k") is None


class _Down(SqliteStore):
    """A store that is down: every call raises `StoreUnavailableError`."""

    async def _run(self, work: Any, *, write: bool = False) -> Any:
        raise StoreUnavailableError("SQLite store failed: down (test)")


@pytest.fixture(params=["sqlite", *REDIS, "fallback", "fail-open-down"])
async def gated_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Any]:
    from green_tg_async.stores._local import LocalFallback

    if request.param == "fallback":
        yield LocalFallback(1.0)  # what a fail-open store uses while it is down
        return
    if request.param == "fail-open-down":  # the same, with its "last seen" hooks
        yield FailOpenStore(_Down(tmp_path / "down.sqlite3"), fallback_fraction=1.0)
        return
    store = _make_store(request, request.param, tmp_path)
    yield store
    await store.aclose()


async def test_gated_admission_reads_the_breaker_and_books_only_when_let_through(
    gated_store: Any,
) -> None:
    from green_tg_async.stores._base import Gate

    store = gated_store
    now = time.time()
    one, both = ("{1}:breaker",), ("{1}:breaker", "{1}:breaker:lookups")
    log = SendLog("{1}:window:m", 10, 1.0)

    async def admit(keys: tuple[str, ...], at: float = now) -> Any:
        gate = Gate(keys, at, at + 30)
        return await store.limiter_admit_gated(
            "{1}:limiter:m", interval=1.0, burst=1, log=log, gate=gate
        )

    first = await admit(one)
    assert (first.wait, first.records, first.refused, first.lease) == (
        0.0,
        (None,),
        -1,
        False,
    )
    await store.breaker_open("{1}:breaker:lookups", until=now + 60, reason="469")
    refused = await admit(both)
    assert refused.refused == 1
    assert refused.records[1] is not None
    assert refused.records[1].reason == "469"
    # Nothing was booked by the refusal: the next slot is one interval away.
    await store.breaker_reset("{1}:breaker:lookups")
    waited = await admit(one)
    assert 0.5 < waited.wait <= 1.0
    assert not waited.lease


async def test_gated_admission_takes_a_look_ups_slot_budget_and_pace_with_it(
    gated_store: Any,
) -> None:
    """Issue 30: a look-up's whole admission is one store step."""
    from green_tg_async.stores._base import Gate

    store = gated_store
    now = time.time()
    slots = "{1}:lookups:in_flight"
    entry = LookupEntry(slots, "a", 1, 60.0, "{1}:budget", ((2, 60.0),), PACE)

    async def admit(entry: LookupEntry) -> Any:
        gate = Gate(("{1}:breaker",), now, now + 30, entry)
        log = SendLog("{1}:window:c", 10, 1.0, entry.ticket)
        return await store.limiter_admit_gated(
            "{1}:limiter:c", interval=1e-6, burst=1, log=log, gate=gate
        )

    first = await admit(entry)
    assert (first.wait, first.refused, first.lookup_wait, first.pace) == (
        0.0,
        -1,
        0.0,
        None,
    )
    held = await admit(entry._replace(ticket="b"))
    assert held.lookup_wait == SLOT_POLL  # nothing booked: ask again soon
    cut = await store.pace_cut(PACE, now=T0, resume_at=T0 + 7200, **CUT)
    second = await admit(entry._replace(ticket="c", release=("a",)))
    assert (second.wait, second.lookup_wait, second.pace) == (0.0, 0.0, cut)
    # The budget (2 a minute) is full: a wait of about a minute, nothing taken.
    full = await admit(entry._replace(ticket="d", release=("c",)))
    assert 55.0 < full.lookup_wait <= 60.0


async def test_gated_admission_takes_the_probe_lease_of_an_expired_pause_once(
    gated_store: Any,
) -> None:
    from green_tg_async.stores._base import Gate

    store = gated_store
    now = time.time()
    await store.breaker_open("{2}:breaker", until=now - 1, reason="old pause")
    log = SendLog("{2}:window:m", 10, 1.0)

    async def admit(limiter: str) -> Any:
        gate = Gate(("{2}:breaker",), now, now + 30)
        return await store.limiter_admit_gated(
            limiter, interval=0.001, burst=10, log=log, gate=gate
        )

    probe = await admit("{2}:limiter:a")
    assert (probe.refused, probe.lease, probe.wait) == (-1, True, 0.0)
    record = await store.breaker_get("{2}:breaker")
    assert record is not None
    assert record.probe_until == now + 30
    other = await admit("{2}:limiter:b")
    assert (other.refused, other.lease) == (0, False)  # another caller probes


# -- look-up pace and budget (issue 20 §3) -----------------------------------------

PACE = "{1}:pace:contact_lookups"
CUT = {"decrease": 0.5, "floor": 0.1, "climb": 0.1}


async def test_the_pace_halves_at_a_469_and_climbs_from_the_pause_end(
    any_store: StateStore,
) -> None:
    store = any_store
    assert await store.pace_get(PACE) is None
    first = await store.pace_cut(PACE, now=T0, resume_at=T0 + 7200, **CUT)
    assert first == PaceRecord(0.5, T0 + 7200)
    assert await store.pace_get(PACE) == first
    # An hour after the pause ended the pace is 0.6; a 469 then halves that.
    second = await store.pace_cut(PACE, now=T0 + 10800, resume_at=T0 + 18000, **CUT)
    assert second.factor == pytest.approx(0.3)
    assert second.since == T0 + 18000
    third = await store.pace_cut(PACE, now=T0 + 18000, resume_at=T0 + 25200, **CUT)
    fourth = await store.pace_cut(PACE, now=T0 + 25200, resume_at=T0 + 32400, **CUT)
    assert third.factor == pytest.approx(0.15)
    assert fourth.factor == 0.1  # the floor
    await store.pace_reset(PACE)
    assert await store.pace_get(PACE) is None


def _entry(ticket: str, windows: tuple[tuple[int, float], ...] = ()) -> LookupEntry:
    return LookupEntry(
        "{1}:lookups:in_flight", ticket, 1, 60.0, "{1}:budget", windows, PACE
    )


async def test_a_look_up_slot_is_held_until_it_is_freed(any_store: StateStore) -> None:
    store = any_store
    assert await store.lookup_enter(_entry("a")) == (0.0, None)
    assert await store.lookup_enter(_entry("b")) == (SLOT_POLL, None)  # held
    await store.lookup_exit("{1}:lookups:in_flight", ("someone else's",))
    assert (await store.lookup_enter(_entry("b")))[0] == SLOT_POLL
    await store.lookup_exit("{1}:lookups:in_flight", ("a",))
    assert (await store.lookup_enter(_entry("b")))[0] == 0.0
    # Freed in the same step as the next one is taken (`release`).
    taken = await store.lookup_enter(_entry("c")._replace(release=("b",)))
    assert taken[0] == 0.0
    cut = await store.pace_cut(PACE, now=T0, resume_at=T0 + 7200, **CUT)
    assert (await store.lookup_enter(_entry("d")))[1] == cut  # read with it


async def test_a_dead_holders_slot_frees_when_its_lease_ends(
    any_store: StateStore,
) -> None:
    store = any_store
    # A lease of 0 has run out by the store's next reading of its own clock.
    assert (await store.lookup_enter(_entry("dead")._replace(lease=0.0)))[0] == 0.0
    assert (await store.lookup_enter(_entry("alive")))[0] == 0.0
    assert (await store.lookup_enter(_entry("next")))[0] == SLOT_POLL


async def test_the_budget_records_in_every_window_or_nothing(
    any_store: StateStore,
) -> None:
    store = any_store
    windows = ((2, 60.0), (3, 3600.0))

    async def enter(ticket: str, windows: tuple[tuple[int, float], ...]) -> float:
        wait, _ = await store.lookup_enter(_entry(ticket, windows))
        await store.lookup_exit("{1}:lookups:in_flight", (ticket,))
        return wait

    assert await enter("1", windows) == 0.0
    assert await enter("2", windows) == 0.0
    # The minute is full: a wait of about a minute, and nothing recorded.
    wait = await enter("3", windows)
    assert 55.0 < wait <= 60.0
    # With the minute left out the hour still has room for exactly one.
    hour = ((3, 3600.0),)
    assert await enter("4", hour) == 0.0
    assert await enter("5", hour) > 3500.0


# -- held sends: the shared log counts what the server saw (issue 20 §1) ------------


async def test_a_held_send_counts_until_it_is_settled(
    shared_store: SharedLimiterStore,
) -> None:
    store = shared_store
    log = SendLog("{1}:window:h", 1, 10.0, "t1")
    assert await store.limiter_enter_pending(log) == 0.0
    # In flight: the log is full for everyone, and they ask again soon.
    assert 0.0 < await store.limiter_enter_pending(log._replace(ticket="t2")) <= 0.05
    # Its answer came 3 s ago: the next send waits the rest of the window.
    await store.limiter_done(log._replace(ticket="", settle=(("t1", 3.0),)))
    wait = await store.limiter_enter_pending(log._replace(ticket="t2"))
    assert 6.0 < wait <= 7.0


async def test_a_settle_rides_on_the_next_booking(
    shared_store: SharedLimiterStore,
) -> None:
    store = shared_store
    log = SendLog("{1}:window:r", 1, 10.0, "a")
    assert (
        await store.limiter_admit("{1}:limiter:r", interval=0.001, burst=1, log=log)
        == 0
    )
    later = log._replace(ticket="b", settle=(("a", 9.5),))
    # "a" is logged 9.5 s ago, in the same round trip: "b" waits ~0.5 s, not 10.
    wait = await store.limiter_admit(
        "{1}:limiter:r", interval=0.001, burst=1, log=later
    )
    assert 0.0 < wait <= 0.5


def _runtime_imports(module: str) -> set[str]:
    """Modules of the package `module` imports at run time (not for typing)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    typing_only = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.dump(guard.test)
        for node in ast.walk(guard)
    }
    package = module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and id(node) not in typing_only:
            base = node.module or ""
            found.add(f"{package}.{base}" if node.level else base)
    return {name.rstrip(".") for name in found if name.startswith("green_tg_async")}


def test_the_process_state_and_the_memory_store_do_not_import_each_other() -> None:
    """Issue 30: one direction only (the memory store asks the process state)."""
    assert "green_tg_async._process" in _runtime_imports("green_tg_async.stores.memory")
    assert _runtime_imports("green_tg_async._process") == set()


class _Without:
    """A store of one's own: `inner`'s methods, less those named in `drop`."""

    def __init__(self, inner: object, *drop: str) -> None:
        self._inner = inner
        self._drop = drop

    def __getattr__(self, name: str) -> Any:
        if name in self._drop:
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_custom_store_lacking_a_capability_is_refused_at_construction(
    tmp_path: Path,
) -> None:
    """Issue 30: never a silent downgrade (the pace once moved into a private
    MemoryStore per breaker; the look-up slot was per process)."""
    from green_tg_async import AsyncGreenTelegram

    def client(store: object) -> AsyncGreenTelegram:
        return AsyncGreenTelegram("1101000001", "t0ken", store=store)  # type: ignore[arg-type]

    with pytest.raises(TypeError, match=r"lookup_enter, lookup_exit of StateStore"):
        client(_Without(MemoryStore(), "lookup_enter", "lookup_exit"))
    with pytest.raises(TypeError, match=r"lacks cache_delete of CacheStore"):
        client(_Without(MemoryStore(), "cache_delete"))
    # Half a shared limiter would limit each process on its own.
    half = _Without(SqliteStore(tmp_path / "s"), "limiter_done")
    with pytest.raises(TypeError, match=r"limiter_done of SharedLimiterStore"):
        client(half)
    assert client(_Without(MemoryStore())).store is not None  # complete: fine


def test_a_bot_store_lacking_the_inbox_is_refused_at_construction() -> None:
    from green_tg_async.bot import Dispatcher
    from green_tg_async.testing import FakeGreenAPI

    tg = FakeGreenAPI().client(store=MemoryStore())
    with pytest.raises(TypeError, match=r"inbox_resume of BotStore"):
        Dispatcher(tg, store=_Without(MemoryStore(), "inbox_resume"))


def test_a_fail_open_store_has_what_its_primary_has(tmp_path: Path) -> None:
    """`FailOpenStore` adds no capability: around a primary that lacks the cache
    or the inbox, it is refused at construction too, not at its first call."""
    from green_tg_async import AsyncGreenTelegram
    from green_tg_async.bot import Dispatcher
    from green_tg_async.stores import FailOpenStore

    def wrapped(*drop: str) -> FailOpenStore:
        primary = _Without(SqliteStore(tmp_path / "s"), *drop)
        return FailOpenStore(primary)

    with pytest.raises(TypeError, match=r"FailOpenStore .* lacks cache_get of Cache"):
        AsyncGreenTelegram("1101000001", "t0ken", store=wrapped("cache_get"))
    tg = AsyncGreenTelegram("1101000001", "t0ken", store=wrapped())
    with pytest.raises(TypeError, match=r"FailOpenStore .* lacks inbox_take of Bot"):
        Dispatcher(tg, store=wrapped("inbox_take"))
