from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import (
    AccountCheck,
    AsyncGreenTelegram,
    AuthenticationError,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
)
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import (
    API_TOKEN,
    T0,
    FakeClock,
    RecordingSleep,
    make_client,
    run_in_fake_time,
)

DAY = 86400.0


def _client(
    fake: FakeGreenAPI, store: MemoryStore | None = None, **options: object
) -> AsyncGreenTelegram:
    return fake.client(
        store=store or MemoryStore(), limits=RateLimits(enabled=False), **options
    )


async def _collect(
    tg: AsyncGreenTelegram, numbers: Sequence[object], **kw: Any
) -> list[tuple[Any, Any]]:
    stream = tg.service.check_accounts(numbers, **kw)  # type: ignore[arg-type]
    return [item async for item in stream]


async def test_bad_input_comes_out_as_value_errors_and_the_run_goes_on() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    numbers: list[object] = ["+7 987 654-32-10", "abc", 79876543211, "", -5, None]
    async with _client(fake) as tg:
        results = dict(await _collect(tg, numbers))
    assert results["+7 987 654-32-10"] == AccountCheck(True, "76543210")
    assert results[79876543211] == AccountCheck(False, None)
    for bad in ("abc", "", -5, None):
        assert isinstance(results[bad], ValueError)
    assert "not digits" in str(results["abc"])
    assert len(fake.requests) == 2


async def test_duplicates_are_checked_once_and_every_input_is_answered() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    numbers: list[object] = [
        79876543210,
        "+79876543210",
        "7 987 654 32 10",
        79876543212,
    ]
    async with _client(fake) as tg:
        results = await _collect(tg, numbers)
    assert sorted(str(n) for n, _ in results) == sorted(str(n) for n in numbers)
    assert len(fake.requests) == 2


async def test_answers_are_cached_with_their_ttls() -> None:
    clock = FakeClock(T0)
    store = MemoryStore(clock=clock)
    fake = FakeGreenAPI(rate_limits=False)
    numbers: list[object] = [79876543210, 79876543211]  # found, missing
    async with _client(fake, store) as tg:
        first = dict(await _collect(tg, numbers))
        again = dict(await _collect(tg, numbers))
        assert len(fake.requests) == 2  # the second run came from the cache
        clock.advance(DAY)  # missing answers expire after 24 h
        await _collect(tg, numbers)
        assert len(fake.requests) == 3
        clock.advance(6 * DAY)  # found answers after 7 days
        await _collect(tg, numbers)
        assert len(fake.requests) == 5
        await _collect(tg, numbers, force=True)  # force asks again
        assert len(fake.requests) == 7
    assert first == again
    assert again[79876543210].raw == {"exist": True, "chatId": "76543210"}


async def test_a_469_mid_run_stops_sending_and_answers_the_rest() -> None:
    clock = FakeClock(T0)
    fake = FakeGreenAPI(lookup_limit=3, rate_limits=False)
    numbers = [79000000000 + i for i in range(10)]
    async with _client(fake, breaker=BreakerPolicy(clock=clock)) as tg:
        results = dict(await _collect(tg, numbers, concurrency=1))
    assert len(results) == 10
    assert len(fake.requests) == 4
    outcomes = [results[n] for n in numbers]
    assert all(isinstance(o, AccountCheck) for o in outcomes[:3])
    assert isinstance(outcomes[3], ContactInfoLimitError)
    rest = outcomes[4:]
    assert all(isinstance(o, CircuitOpenError) for o in rest)
    assert {o.retry_at for o in rest} == {datetime.fromtimestamp(T0 + 7200, tz=UTC)}


async def test_a_469_stops_the_run_even_with_the_breaker_off() -> None:
    clock = FakeClock(T0)
    fake = FakeGreenAPI(lookup_limit=1, rate_limits=False)
    policy = BreakerPolicy(enabled=False, clock=clock)
    async with _client(fake, breaker=policy) as tg:
        results = dict(
            await _collect(tg, [79000000001, 79000000002, 79000000003], concurrency=1)
        )
    assert len(fake.requests) == 2
    assert isinstance(results[79000000003], CircuitOpenError)
    assert results[79000000003].retry_at == datetime.fromtimestamp(T0 + 7200, tz=UTC)


async def test_concurrent_identical_checks_share_one_request(
    api: respx.MockRouter,
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        for _ in range(5):
            await asyncio.sleep(0)
        return httpx.Response(200, json={"exist": True, "chatId": "1"})

    route = api.post(f"/checkAccount/{API_TOKEN}").mock(side_effect=slow)
    async with make_client(sleep=RecordingSleep()) as tg:
        single = await asyncio.gather(
            tg.service.check_account(79876543210),
            tg.service.check_account("+79876543210"),
        )
        runs = await asyncio.gather(
            _collect(tg, [79876543212, 79876543214]),
            _collect(tg, [79876543214, 79876543212]),
        )
    assert single[0] == single[1]
    assert sum(len(r) for r in runs) == 4
    assert route.call_count == 3  # one per distinct number


async def test_stopping_early_cancels_the_workers() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake) as tg:
        stream = tg.service.check_accounts(
            [79000000000 + i for i in range(50)], concurrency=2
        )
        async with contextlib.aclosing(stream) as results:
            async for _ in results:
                break
        await asyncio.sleep(0)
        assert len(fake.requests) < 50


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (True, TypeError), (1.5, TypeError)]
)
async def test_concurrency_is_checked(value: object, error: type[Exception]) -> None:
    async with _client(FakeGreenAPI()) as tg:
        with pytest.raises(error, match="concurrency"):
            await _collect(tg, [79876543210], concurrency=value)


async def test_a_paused_instance_and_api_errors_come_out_as_outcomes() -> None:
    clock = FakeClock(T0)
    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake, breaker=BreakerPolicy(clock=clock)) as tg:
        fake.fail_next(401)
        results = dict(await _collect(tg, [79000000001], concurrency=1))
        assert isinstance(results[79000000001], AuthenticationError)
        await tg.breaker._store.breaker_open(
            f"{{{fake.id_instance}}}:breaker", until=T0 + 60, reason="by hand"
        )
        paused = dict(await _collect(tg, [79000000002, 79000000003], concurrency=1))
    assert all(isinstance(o, CircuitOpenError) for o in paused.values())
    assert len(fake.requests) == 1


class _BrokenStore(MemoryStore):
    """A store whose cache read for one number raises what no store should."""

    def __init__(self, phone: int) -> None:
        super().__init__()
        self.phone = phone

    async def cache_get(self, key: str) -> str | None:
        if key.endswith(f":check:{self.phone}"):
            raise RuntimeError("unexpected store failure")
        return await super().cache_get(key)


@pytest.mark.parametrize("concurrency", [1, 3])
def test_a_worker_that_dies_ends_the_run_with_its_error(concurrency: int) -> None:
    """Fake time: a run that hangs instead meets the 60 s deadline at once."""

    async def main() -> list[Any]:
        fake = FakeGreenAPI(rate_limits=False)
        numbers = [79000000000 + i for i in range(6)]
        async with _client(fake, _BrokenStore(numbers[2])) as tg:
            seen: list[Any] = []

            async def drain() -> None:
                stream = tg.service.check_accounts(numbers, concurrency=concurrency)
                async for number, _ in stream:
                    seen.append(number)

            with pytest.raises(RuntimeError, match="unexpected store failure"):
                await asyncio.wait_for(drain(), 60)
            return seen

    seen = run_in_fake_time(main())
    assert 79000000002 not in seen
    assert set(seen) < {79000000000 + i for i in range(6)}


class _CacheWritesFail(MemoryStore):
    """The answer cache cannot be written (a store hiccup after the look-up)."""

    async def cache_set(self, key: str, value: str, *, ttl: float) -> None:
        from green_tg_async import StoreUnavailableError

        raise StoreUnavailableError("down (test)")


async def test_a_failed_cache_write_keeps_the_paid_for_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 30: the look-up reached the server; its answer must not be lost."""
    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake, _CacheWritesFail()) as tg:
        results = dict(await _collect(tg, [79876543210]))
    assert results[79876543210] == AccountCheck(True, "76543210")
    assert [m for _, m in fake.requests] == ["checkAccount"]
    assert "not cached" in caplog.text


class _CacheReadsFail(MemoryStore):
    async def cache_get(self, key: str) -> str | None:
        from green_tg_async import StoreUnavailableError

        raise StoreUnavailableError("down (test)")


async def test_a_cache_that_cannot_be_read_is_a_miss(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake, _CacheReadsFail()) as tg:
        results = dict(await _collect(tg, [79876543210]))
    assert results[79876543210] == AccountCheck(True, "76543210")
    assert "answer cache not read" in caplog.text
