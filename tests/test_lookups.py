"""Contact look-ups: one on the wire at a time, a budget, and a pace that learns."""

from __future__ import annotations

import asyncio
from typing import Any

from green_tg_async import (
    AsyncGreenTelegram,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    RetryPolicy,
)
from green_tg_async.stores import MemoryStore

from .helpers import API_TOKEN, ID_INSTANCE, FakeClock, RecordingSleep, run_in_fake_time
from .loopback import LoopbackServer

LIMIT = (469, {"message": "User get contact info limit reached"})


def _client(
    server: LoopbackServer, clock: FakeClock, **options: Any
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        api_url=server.url,
        breaker=BreakerPolicy(clock=clock),
        retry=RetryPolicy(sleep=RecordingSleep()),
        store=MemoryStore(),
        **options,
    )


def test_a_burst_of_checks_meets_a_slow_469_with_exactly_one_request() -> None:
    async def slow_limit(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(0.2)  # a real round trip, in loop time
        return LIMIT

    async def main() -> tuple[list[Any], int]:
        limits = RateLimits(per_method={"checkAccount": 20})
        async with (
            LoopbackServer(slow_limit) as server,
            _client(server, FakeClock(), limits=limits) as tg,
        ):
            results = await asyncio.gather(
                *(tg.service.check_account(79000000000 + i) for i in range(200)),
                return_exceptions=True,
            )
            return results, len(server.arrivals)

    results, arrived = run_in_fake_time(main())
    assert arrived == 1
    assert sum(isinstance(r, ContactInfoLimitError) for r in results) == 1
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 199


def test_the_in_flight_cap_is_configurable() -> None:
    async def slow_found(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(0.2)
        return 200, {"exist": True, "chatId": "10000000"}

    async def main(cap: int | None) -> int:
        limits = RateLimits(per_method={"checkAccount": 100}, lookups_in_flight=cap)
        most = 0
        open_ = 0

        async def counting(method: str, path: str, body: bytes) -> tuple[int, Any]:
            nonlocal most, open_
            open_ += 1
            most = max(most, open_)
            try:
                return await slow_found(method, path, body)
            finally:
                open_ -= 1

        async with (
            LoopbackServer(counting) as server,
            _client(server, FakeClock(), limits=limits) as tg,
        ):
            await asyncio.gather(
                *(tg.service.check_account(79000000000 + i) for i in range(12))
            )
        return most

    assert run_in_fake_time(main(1)) == 1
    assert run_in_fake_time(main(3)) == 3
    assert run_in_fake_time(main(None)) > 3
