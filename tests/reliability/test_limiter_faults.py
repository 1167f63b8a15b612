"""Issue 10, items 6, 7 and 12: the limiter under 429s, cancellation and pauses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from green_tg_async import (
    AsyncGreenTelegram,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimitError,
    RateLimits,
    RetryPolicy,
)
from green_tg_async.stores import MemoryStore, SqliteStore, StateStore
from tests.helpers import API_TOKEN, ID_INSTANCE, FakeClock, run_in_fake_time

FOUND = {"exist": True, "chatId": "10000000"}
SENT = {"idMessage": "m1"}


def _client(
    store: StateStore,
    transport: httpx.MockTransport,
    limits: RateLimits,
    retry: RetryPolicy | None = None,
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        limits=limits,
        breaker=BreakerPolicy(clock=FakeClock()),
        retry=retry or RetryPolicy(max_attempts=1),
        store=store,
        transport=transport,
    )


def _always(body: Mapping[str, object]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json=body))


def _retry_after(kind: str) -> str:
    if kind == "date":
        return format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    return kind


def _first_429(retry_after: str) -> httpx.MockTransport:
    answers = iter([httpx.Response(429, headers={"Retry-After": retry_after})])

    def answer(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json=FOUND))

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("retry_after", ["3600", "1e12", "date"])
def test_item6_a_huge_retry_after_is_capped_for_the_limiter_too(
    retry_after: str,
) -> None:
    async def main() -> float:
        tg = _client(
            MemoryStore(),
            _first_429(_retry_after(retry_after)),
            RateLimits(per_method={"checkAccount": 10}),
            RetryPolicy(max_attempts=1, retry_after_cap=1),
        )
        with pytest.raises(RateLimitError):
            await tg.service.check_account(79876543210)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await tg.service.check_account(79876543210)
        await tg.aclose()
        return loop.time() - started

    assert run_in_fake_time(main()) <= 1.0 + 1e-6


@pytest.mark.parametrize("retry_after", ["3600", "1e12", "date"])
async def test_item6_the_shared_penalty_is_capped(
    tmp_path: Path, retry_after: str
) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    tg = _client(
        store,
        _first_429(_retry_after(retry_after)),
        RateLimits(per_method={"checkAccount": 10}),
        RetryPolicy(max_attempts=1, retry_after_cap=1),
    )
    with pytest.raises(RateLimitError):
        await tg.service.check_account(79876543210)
    key = f"{{{ID_INSTANCE}}}:limiter:checkAccount"
    wait = await store.limiter_admit(key, interval=0.1, burst=1)
    await tg.aclose()
    await store.aclose()
    assert wait <= 1.0


def test_item7_cancelled_waiters_give_their_slots_back() -> None:
    async def main() -> float:
        tg = _client(
            MemoryStore(), _always(FOUND), RateLimits(per_method={"checkAccount": 10})
        )
        calls = [
            asyncio.wait_for(tg.service.check_account(79000000000 + i), 0.05)
            for i in range(100)
        ]
        await asyncio.gather(*calls, return_exceptions=True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await tg.service.check_account(79876543210)
        await tg.aclose()
        return loop.time() - started

    assert run_in_fake_time(main()) <= 0.1 + 1e-6


def test_item7_a_cancelled_task_group_does_not_slow_the_next_sends() -> None:
    async def main() -> float:
        tg = _client(
            MemoryStore(), _always(SENT), RateLimits(per_method={"sendMessage": 20})
        )

        async def storm() -> None:
            async with asyncio.TaskGroup() as group:
                for _ in range(200):
                    group.create_task(tg.sending.send_message("1", "hi"))
                await asyncio.sleep(0.01)
                raise RuntimeError("cancel the group")

        with pytest.raises(ExceptionGroup):
            await storm()
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(10):
            await tg.sending.send_message("1", "hi")
        await tg.aclose()
        return loop.time() - started

    # 10 sends at 20/s: 9 intervals of 50 ms after the first.
    assert run_in_fake_time(main()) <= 0.5 + 1e-6


def test_item12_a_469_wakes_every_caller_queued_at_the_limiter() -> None:
    async def main() -> list[float]:
        answers = iter([httpx.Response(469)])

        async def answer(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.5)  # the others queue at the limiter meanwhile
            return next(answers, httpx.Response(200, json=FOUND))

        tg = _client(
            MemoryStore(),
            httpx.MockTransport(answer),
            RateLimits(per_method={"checkAccount": 1}),
        )
        loop = asyncio.get_running_loop()
        refused_at: list[float] = []

        async def check(number: int) -> None:
            with contextlib.suppress(ContactInfoLimitError):
                try:
                    await tg.service.check_account(number)
                except CircuitOpenError:
                    refused_at.append(loop.time())

        await asyncio.gather(*(check(79000000000 + i) for i in range(30)))
        await tg.aclose()
        return refused_at

    refused_at = run_in_fake_time(main())
    assert len(refused_at) == 29
    assert max(refused_at) <= 0.5 + 1e-6  # when the 469 arrived
