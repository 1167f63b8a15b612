from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenTelegram,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    ServerError,
    StoreUnavailableError,
)
from green_tg_async._breaker import CircuitBreaker
from green_tg_async.stores import BreakerRecord, MemoryStore
from green_tg_async.testing import FakeGreenAPI

from .helpers import (
    API_TOKEN,
    ID_INSTANCE,
    T0,
    FakeClock,
    make_client,
    run_in_fake_time,
    spec,
)

LIMIT_BODY = {"status": False, "reason": "User get contact info limit reached"}
FOUND = {"exist": True, "chatId": "10000000"}


def _check_route(api: respx.MockRouter) -> respx.Route:
    return api.post(f"/checkAccount/{API_TOKEN}")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(469, text="User get contact info limit reached"),
        httpx.Response(200, json=LIMIT_BODY),
    ],
)
async def test_469_in_either_form_pauses_the_instance_for_two_hours(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    clock: FakeClock,
    answer: httpx.Response,
) -> None:
    route = _check_route(api).mock(
        side_effect=[answer, httpx.Response(200, json=FOUND)]
    )

    with pytest.raises(ContactInfoLimitError):
        await client.service.check_account(79876543210)
    clock.advance(7199)
    with pytest.raises(CircuitOpenError) as info:
        await client.service.check_account(79876543211)
    with pytest.raises(CircuitOpenError):
        await client.sending.send_message("1", "hi")  # scope="instance"
    assert route.call_count == 1  # and sendMessage was never requested
    assert info.value.id_instance == ID_INSTANCE
    assert info.value.retry_at == datetime.fromtimestamp(T0 + 7200, tz=UTC)
    assert "contact info limit" in info.value.reason

    clock.advance(1)
    assert (await client.service.check_account(79876543211)).exist
    assert not (await client.breaker.state()).is_open


async def test_state_and_reset(
    client: AsyncGreenTelegram, api: respx.MockRouter, clock: FakeClock
) -> None:
    _check_route(api).mock(
        side_effect=[httpx.Response(469), httpx.Response(200, json=FOUND)]
    )
    assert (await client.breaker.state()).is_open is False
    with pytest.raises(ContactInfoLimitError):
        await client.service.check_account(79876543210)

    state = await client.breaker.state()
    assert state.is_open
    assert state.retry_at == datetime.fromtimestamp(T0 + 7200, tz=UTC)
    assert state.reason is not None

    await client.breaker.reset()
    assert await client.breaker.state() == (await client.breaker.state())
    assert not (await client.breaker.state()).is_open
    assert (await client.service.check_account(79876543210)).exist


async def test_a_new_pause_never_shortens_a_longer_one(store: MemoryStore) -> None:
    await store.breaker_open("k", until=T0 + 100, reason="long")
    await store.breaker_open("k", until=T0 + 10, reason="short")
    record = await store.breaker_get("k")
    assert record is not None
    assert (record.open_until, record.reason) == (T0 + 100, "long")
    await store.breaker_open("k", until=T0 + 200, reason="longer")
    record = await store.breaker_get("k")
    assert record is not None
    assert (record.open_until, record.reason) == (T0 + 200, "longer")


async def test_two_clients_of_one_instance_share_the_pause(
    api: respx.MockRouter, clock: FakeClock, store: MemoryStore
) -> None:
    route = _check_route(api).respond(469)
    async with (
        make_client(clock=clock, store=store) as a,
        make_client(clock=clock, store=store) as b,
    ):
        with pytest.raises(ContactInfoLimitError):
            await a.service.check_account(79876543210)
        with pytest.raises(CircuitOpenError):
            await b.service.check_account(79876543210)
    assert route.call_count == 1


async def test_contact_lookup_scope_pauses_only_lookups(
    api: respx.MockRouter, clock: FakeClock
) -> None:
    check = _check_route(api).respond(469)
    send = api.post(f"/sendMessage/{API_TOKEN}").respond(200, json={"idMessage": "1"})
    policy = BreakerPolicy(scope="contact_lookups", clock=clock)
    async with make_client(breaker=policy) as tg:
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79876543210)
        with pytest.raises(CircuitOpenError):
            await tg.service.check_account(79876543210)
        assert (await tg.sending.send_message("1", "hi")).id_message == "1"
        assert (await tg.breaker.state()).is_open
    assert check.call_count == 1
    assert send.call_count == 1


def test_tasks_queued_at_the_limiter_send_nothing_after_a_469(
    api: respx.MockRouter, clock: FakeClock
) -> None:
    """Tasks already waiting for a slot re-check the breaker before sending."""

    async def slow_469(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.5)  # loop time: the others queue meanwhile
        return httpx.Response(469)

    route = _check_route(api).mock(side_effect=slow_469)

    async def main() -> list[object]:
        async with make_client(clock=clock, limits=RateLimits()) as tg:  # 1/s
            return await asyncio.gather(
                *(tg.service.check_account(79876543210 + i) for i in range(10)),
                return_exceptions=True,
            )

    results = run_in_fake_time(main())
    assert isinstance(results[0], ContactInfoLimitError)
    assert all(isinstance(r, CircuitOpenError) for r in results[1:])
    assert route.call_count == 1


async def test_consecutive_failures_open_then_one_probe(
    api: respx.MockRouter, clock: FakeClock
) -> None:
    policy = BreakerPolicy(failure_threshold=3, cooldown_seconds=30, clock=clock)
    route = api.post(f"/sendMessage/{API_TOKEN}").respond(500)
    async with make_client(breaker=policy) as tg:
        for _ in range(3):
            with pytest.raises(ServerError):
                await tg.sending.send_message("1", "hi")
        with pytest.raises(CircuitOpenError, match="3 failures in a row"):
            await tg.sending.send_message("1", "hi")
        assert (await tg.breaker.state()).consecutive_failures == 3

        clock.advance(30)
        with pytest.raises(ServerError):  # the probe fails: open again
            await tg.sending.send_message("1", "hi")
        with pytest.raises(CircuitOpenError):
            await tg.sending.send_message("1", "hi")

        clock.advance(30)
        route.respond(200, json={"idMessage": "2"})
        assert (await tg.sending.send_message("1", "hi")).id_message == "2"
        assert await tg.breaker.state() == (await tg.breaker.state())
        assert (await tg.breaker.state()).consecutive_failures == 0
    assert route.call_count == 5


async def test_half_open_lets_exactly_one_probe_through(
    clock: FakeClock, store: MemoryStore
) -> None:
    policy = BreakerPolicy(clock=clock, probe_lease_seconds=60)
    breaker = CircuitBreaker(ID_INSTANCE, policy, store)
    await store.breaker_open(f"{{{ID_INSTANCE}}}:breaker", until=T0 + 10, reason="469")
    clock.advance(10)

    await breaker.check(spec("checkAccount"))  # pause over: callers may queue
    keys = await breaker.admit(spec("checkAccount"))  # the probe
    with pytest.raises(CircuitOpenError, match="probing") as info:
        await breaker.admit(spec("checkAccount"))
    with pytest.raises(CircuitOpenError, match="probing"):
        await breaker.check(spec("checkAccount"))
    assert info.value.retry_at == datetime.fromtimestamp(T0 + 70, tz=UTC)

    await breaker.record(spec("checkAccount"), keys, None)  # probe succeeded
    assert await breaker.admit(spec("checkAccount")) == ((), 0.0)


async def test_an_abandoned_probe_lease_expires(
    clock: FakeClock, store: MemoryStore
) -> None:
    breaker = CircuitBreaker(ID_INSTANCE, BreakerPolicy(clock=clock), store)
    await store.breaker_open(f"{{{ID_INSTANCE}}}:breaker", until=T0, reason="469")
    await breaker.admit(spec("checkAccount"))  # probe taken, then cancelled
    clock.advance(60)
    assert await breaker.admit(spec("checkAccount")) == (
        (f"{{{ID_INSTANCE}}}:breaker",),
        T0 + 120,
    )


async def test_success_does_not_cancel_a_pause_that_started_meanwhile(
    clock: FakeClock, store: MemoryStore
) -> None:
    breaker = CircuitBreaker(ID_INSTANCE, BreakerPolicy(clock=clock), store)
    key = f"{{{ID_INSTANCE}}}:breaker"
    await store.breaker_failure(key, threshold=5, until=T0 + 30, reason="x")
    keys = await breaker.admit(spec("checkAccount"))  # saw one failure
    await store.breaker_open(key, until=T0 + 7200, reason="469 from another task")
    await breaker.record(spec("checkAccount"), keys, None)
    state = await breaker.state()
    assert state.is_open
    assert state.consecutive_failures == 0


async def test_4xx_answers_do_not_count_as_failures(
    api: respx.MockRouter, clock: FakeClock
) -> None:
    policy = BreakerPolicy(failure_threshold=2, clock=clock)
    route = api.post(f"/sendMessage/{API_TOKEN}")
    route.side_effect = [httpx.Response(500), httpx.Response(400), httpx.Response(500)]
    async with make_client(breaker=policy) as tg:
        for _ in range(3):
            with pytest.raises(Exception, match="HTTP"):
                await tg.sending.send_message("1", "hi")
        assert not (await tg.breaker.state()).is_open


async def test_disabled_breaker_never_refuses(
    api: respx.MockRouter, clock: FakeClock
) -> None:
    route = _check_route(api).respond(469)
    async with make_client(breaker=BreakerPolicy(enabled=False, clock=clock)) as tg:
        for _ in range(2):
            with pytest.raises(ContactInfoLimitError):
                await tg.service.check_account(79876543210)
        assert not (await tg.breaker.state()).is_open
    assert route.call_count == 2


async def test_trips_and_resets_are_logged(
    client: AsyncGreenTelegram, api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    _check_route(api).respond(469)
    with caplog.at_level(logging.WARNING, logger="green_tg_async"):
        with pytest.raises(ContactInfoLimitError):
            await client.service.check_account(79876543210)
        await client.breaker.reset()
    assert "469 on checkAccount, pausing every call for 7200 s" in caplog.text
    assert "breaker reset by hand" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pause_seconds": 0}, "pause_seconds"),
        ({"cooldown_seconds": -1}, "cooldown_seconds"),
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"scope": "chat"}, "scope must be"),
    ],
)
def test_bad_breaker_policy_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BreakerPolicy(**kwargs)  # type: ignore[arg-type]


def test_reprs_name_the_instance(store: MemoryStore) -> None:
    breaker = CircuitBreaker(ID_INSTANCE, BreakerPolicy(), store)
    assert repr(breaker) == (
        f"<CircuitBreaker instance={ID_INSTANCE} scope=instance store=MemoryStore>"
    )
    assert repr(store) == "<MemoryStore breakers=0>"


class _SlowStore(MemoryStore):
    """A store that is not process-local, whose reads wait for a release."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.release = asyncio.Event()
        self.fail = False

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        self.reads += 1
        await self.release.wait()
        if self.fail:
            raise StoreUnavailableError("down")
        return await super().breaker_get(key)


async def _paused_slow_breaker(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> tuple[_SlowStore, CircuitBreaker]:
    """A paused breaker over a store that is not process-local and reads slowly."""
    monkeypatch.setattr("green_tg_async._breaker.MemoryStore", type(None))
    store = _SlowStore()
    await store.breaker_open(f"{{{ID_INSTANCE}}}:breaker", until=T0 + 60, reason="469")
    return store, CircuitBreaker(ID_INSTANCE, BreakerPolicy(clock=clock), store)


async def test_concurrent_checks_share_one_read(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, breaker = await _paused_slow_breaker(clock, monkeypatch)
    checks = [
        asyncio.create_task(breaker.check(spec("sendMessage"))) for _ in range(20)
    ]
    await asyncio.sleep(0)
    checks[1].cancel()  # a waiter giving up does not disturb the shared read
    store.release.set()
    results = await asyncio.gather(*checks, return_exceptions=True)
    assert store.reads == 1
    assert isinstance(results[1], asyncio.CancelledError)
    assert all(isinstance(r, CircuitOpenError) for r in [results[0], *results[2:]])
    assert len(breaker._reads) == 0


async def test_when_the_reader_is_cancelled_a_waiter_reads_instead(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, breaker = await _paused_slow_breaker(clock, monkeypatch)
    checks = [asyncio.create_task(breaker.check(spec("sendMessage"))) for _ in range(3)]
    await asyncio.sleep(0)
    checks[0].cancel()  # the caller doing the read gives up
    for _ in range(10):  # until a waiter has taken over the read
        await asyncio.sleep(0)
    assert store.reads == 2
    store.release.set()
    results = await asyncio.gather(*checks, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert all(isinstance(r, CircuitOpenError) for r in results[1:])
    assert store.reads == 2  # the cancelled read, then one shared by the rest


async def test_a_failed_shared_read_reaches_every_caller(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("green_tg_async._breaker.MemoryStore", type(None))
    store = _SlowStore()
    store.fail = True
    breaker = CircuitBreaker(ID_INSTANCE, BreakerPolicy(clock=clock), store)
    checks = [asyncio.create_task(breaker.check(spec("sendMessage"))) for _ in range(3)]
    await asyncio.sleep(0)
    store.release.set()
    results = await asyncio.gather(*checks, return_exceptions=True)
    assert store.reads == 1
    assert all(isinstance(r, StoreUnavailableError) for r in results)


# -- one admission rule, in Python and its Lua copy (issue 30) ---------------------

_R = BreakerRecord
VERDICTS = [
    # records, now, (index of the record refusing or -1, must probe)
    ((None,), 100.0, (-1, False)),
    ((_R(failures=3),), 100.0, (-1, False)),  # failures only: closed
    ((_R(open_until=150.0),), 100.0, (0, False)),  # a pause running
    ((_R(open_until=100.0),), 100.0, (-1, True)),  # over at `now`: probe
    ((_R(open_until=90.0, probe_until=130.0),), 100.0, (0, False)),  # leased
    ((_R(open_until=90.0, probe_until=100.0),), 100.0, (-1, True)),  # lease over
    ((None, _R(open_until=150.0)), 100.0, (1, False)),  # the look-up scope
    ((_R(open_until=90.0), _R(open_until=150.0)), 100.0, (1, False)),
    ((_R(open_until=90.0), _R(open_until=80.0)), 100.0, (-1, True)),
    ((_R(open_until=150.0), _R(open_until=90.0, probe_until=130.0)), 100.0, (0, False)),
]


@pytest.mark.parametrize(("records", "now", "expected"), VERDICTS)
def test_the_admission_rule(
    records: tuple[BreakerRecord | None, ...], now: float, expected: tuple[int, bool]
) -> None:
    from green_tg_async.stores._transitions import gate_verdict

    assert gate_verdict(records, now) == expected


@pytest.mark.redis
def test_the_lua_copy_of_the_admission_rule_gives_the_same_verdicts(
    redis_url: str,
) -> None:
    from green_tg_async.stores._transitions import GATE_VERDICT_LUA
    from tests.conftest import sync_redis

    harness = (
        GATE_VERDICT_LUA
        + """
local records = {}
for i = 2, #ARGV, 3 do
  table.insert(records, {ARGV[i] == '1', tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])})
end
local refused, probe = gate_verdict(records, tonumber(ARGV[1]))
return {refused, probe and 1 or 0}
"""
    )
    client = sync_redis(redis_url)
    try:
        for records, now, expected in VERDICTS:
            args: list[str | float] = [now]
            for r in records:
                args += (
                    ["0", 0.0, 0.0] if r is None else ["1", r.open_until, r.probe_until]
                )
            refused, probe = client.eval(harness, 0, *map(str, args))
            assert (int(refused), bool(probe)) == expected, (records, now)
    finally:
        client.close()


async def test_without_a_limiter_a_call_reads_the_breaker_once() -> None:
    """No queue to keep a paused call out of: `admit` alone reads it (issue 29)."""

    class Counting(MemoryStore):
        reads = 0

        async def breaker_get(self, key: str) -> BreakerRecord | None:
            Counting.reads += 1
            return await super().breaker_get(key)

    store = Counting()
    fake = FakeGreenAPI(rate_limits=False)
    async with fake.client(store=store, limits=RateLimits(enabled=False)) as tg:
        await tg.account.get_state_instance()
        assert Counting.reads == 1
        await store.breaker_open(
            f"{{{fake.id_instance}}}:breaker", until=time.time() + 60, reason="test"
        )
        with pytest.raises(CircuitOpenError):
            await tg.account.get_state_instance()
    assert len(fake.requests) == 1
