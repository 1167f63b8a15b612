"""Issue 10, items 3, 4, 5 and 11: a 469 or an answer must survive store faults
and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import httpx
import pytest

from green_tg_async import (
    AsyncGreenTelegram,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    RetryPolicy,
    ServerError,
    StoreUnavailableError,
)
from green_tg_async.stores import BreakerRecord, MemoryStore, SqliteStore, StateStore
from tests.helpers import (
    API_TOKEN,
    ID_INSTANCE,
    T0,
    FakeClock,
    RecordingSleep,
    run_in_fake_time,
)

KEY = f"{{{ID_INSTANCE}}}:breaker"
FOUND = {"exist": True, "chatId": "10000000"}


class FlakyStore(MemoryStore):
    """A MemoryStore whose breaker writes fail while `down`, or wait for `gate`."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.gate: asyncio.Event | None = None
        self.writes = 0

    async def _write(self) -> None:
        self.writes += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise StoreUnavailableError("store hiccup (test)")

    async def breaker_open(self, key: str, *, until: float, reason: str) -> None:
        await self._write()
        await super().breaker_open(key, until=until, reason=reason)

    async def breaker_failure(
        self, key: str, *, threshold: int, until: float, reason: str
    ) -> BreakerRecord:
        await self._write()
        return await super().breaker_failure(
            key, threshold=threshold, until=until, reason=reason
        )

    async def breaker_success(self, key: str, *, now: float) -> None:
        await self._write()
        await super().breaker_success(key, now=now)


def _client(
    store: StateStore,
    handler: httpx.MockTransport,
    clock: FakeClock | None = None,
    **options: object,
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        limits=RateLimits(enabled=False),
        breaker=BreakerPolicy(clock=clock or FakeClock()),
        retry=RetryPolicy(sleep=RecordingSleep()),
        store=store,
        transport=handler,
        **options,  # type: ignore[arg-type]
    )


def _answers(*responses: httpx.Response) -> httpx.MockTransport:
    queue = list(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        if not queue:
            raise AssertionError(f"unexpected request: {request.url.path}")
        return queue.pop(0)

    return httpx.MockTransport(answer)


def test_item3_a_469_during_a_store_hiccup_is_seen_held_and_written_later() -> None:
    async def main() -> None:
        store = FlakyStore()
        store.down = True
        tg = _client(store, _answers(httpx.Response(469)))
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79876543210)
        # This process refuses every call at once, store or no store.
        with pytest.raises(CircuitOpenError):
            await tg.service.check_account(79876543211)
        with pytest.raises(CircuitOpenError):
            await tg.sending.send_message("1", "hi")
        assert await store.breaker_get(KEY) is None
        assert (await tg.breaker.state()).is_open
        await asyncio.sleep(1.0)  # the write is retried meanwhile
        assert store.writes >= 3
        store.down = False
        await tg.aclose()  # drains the write
        record = await store.breaker_get(KEY)
        assert record is not None
        assert record.open_until == T0 + 7200

    run_in_fake_time(main())


async def test_item3_a_469_while_sqlite_is_locked_is_held_then_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    store = SqliteStore(path, busy_timeout=0.05)
    await store.cache_get("set-up")  # creates the schema
    tg = _client(store, _answers(httpx.Response(469)))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79876543210)
        with pytest.raises(CircuitOpenError):
            await tg.service.check_account(79876543211)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await tg.aclose()  # the retried write goes through now
    other = SqliteStore(path)
    record = await other.breaker_get(KEY)
    await other.aclose()
    await store.aclose()
    assert record is not None
    assert record.open_until == T0 + 7200


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (httpx.Response(200, json={"idMessage": "m1"}), None),
        (httpx.Response(502, text="bad gateway"), ServerError),
    ],
)
async def test_item4_a_send_whose_answer_cannot_be_recorded_reports_the_answer(
    answer: httpx.Response, outcome: type[Exception] | None
) -> None:
    store = FlakyStore()
    await store.breaker_failure(KEY, threshold=5, until=T0, reason="earlier")
    store.down = True
    tg = _client(store, _answers(answer))
    if outcome is None:
        sent = await tg.sending.send_message("1", "hi")
        assert sent.id_message == "m1"
    else:
        with pytest.raises(outcome):
            await tg.sending.send_message("1", "hi")
    await tg.aclose()


def test_item5_a_cancelled_caller_does_not_drop_the_pause() -> None:
    async def main() -> None:
        store = FlakyStore()
        store.gate = asyncio.Event()  # the store stalls on the write
        tg = _client(store, _answers(httpx.Response(469)))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(tg.service.check_account(79876543210), 0.1)
        with pytest.raises(CircuitOpenError):
            await tg.service.check_account(79876543211)
        store.gate.set()
        await tg.aclose()
        record = await store.breaker_get(KEY)
        assert record is not None
        assert record.open_until == T0 + 7200

    run_in_fake_time(main())


def test_item11_a_cancelled_probe_gives_its_lease_back() -> None:
    async def main() -> None:
        store = MemoryStore()
        clock = FakeClock()
        await store.breaker_open(KEY, until=T0 - 1, reason="469 earlier")
        hang = asyncio.Event()

        async def answer(request: httpx.Request) -> httpx.Response:
            if not hang.is_set():
                hang.set()
                await asyncio.sleep(3600)
            return httpx.Response(200, json=FOUND)

        tg = _client(store, httpx.MockTransport(answer), clock=clock)
        probe = asyncio.create_task(tg.service.check_account(79876543210))
        await hang.wait()
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe
        # Not "another caller is probing" for 60 s: the next caller probes.
        assert (await tg.service.check_account(79876543210)).exist
        assert not (await tg.breaker.state()).is_open
        await tg.aclose()

    run_in_fake_time(main())


# -- a bot on FailOpenStore(RedisStore) during an outage (issue 30) ---------------


@pytest.mark.redis
async def test_a_bot_on_a_fail_open_store_neither_loses_state_nor_reruns_an_item(
    redis_url: str, redis_prefix: str
) -> None:
    """While the wrapper skips a store it saw fail, what a bot keeps still comes
    from the store: the conversation state, and a resumed item's done marker.
    (The old fail-open mode read both as empty for 5 s.)"""
    import inspect
    import json
    from typing import Any

    from green_tg_async.bot import Context, Dispatcher, Router
    from green_tg_async.bot._keys import done_key, inbox_queue, state_key
    from green_tg_async.stores import FailOpenStore, RedisStore
    from green_tg_async.testing import FakeGreenAPI, incoming_text

    class Outage(RedisStore):
        down = False

        async def _guard(self, op: Any) -> Any:
            if self.down:
                if inspect.iscoroutine(op):
                    op.close()
                raise StoreUnavailableError("Redis store failed: down (test)")
            return await super()._guard(op)

    primary = Outage(redis_url, prefix=redis_prefix, timeout=5.0)
    store = FailOpenStore(primary)
    instance = "1101000001"
    finished = incoming_text(1, "finished by another replica", id_message="k1")
    item = "incomingMessageReceived:1:k1"
    await store.inbox_add(inbox_queue(instance), item, json.dumps(finished))
    await store.cache_set(done_key(instance, item), "1", ttl=60)
    state = {"state": "ordering", "data": {"pizza": 2}}
    await store.cache_set(state_key(instance, "1", "1"), json.dumps(state), ttl=60)
    # A call fails: the wrapper limits locally and skips the store for 5 s.
    primary.down = True
    assert await store.limiter_admit("{1}:limiter:m", interval=1.0, burst=1) == 0.0
    primary.down = False

    seen: list[tuple[str | None, Any]] = []
    router = Router()

    @router.message()
    async def handle(ctx: Context) -> None:
        seen.append((ctx.text, await ctx.state.get()))

    fake = FakeGreenAPI(id_instance=instance, rate_limits=False)
    async with fake.client(store=store, limits=RateLimits(enabled=False)) as tg:
        dp = Dispatcher(tg, router, store=store)
        await dp.start()
        await dp.feed(incoming_text(1, "hi", sender="1"))
        await asyncio.wait_for(dp._lanes_or_fail().wait_idle(), 10)
        await dp.shutdown()
    # "finished ..." did not run again, and the state was read from the store.
    assert seen == [("hi", "ordering")]
    await store.aclose()
