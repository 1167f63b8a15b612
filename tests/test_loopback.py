"""Acceptance checks against a GREEN-API stand-in on real loopback TCP.

The loop runs on looptime, so the two-hour pause, the limiter's spacing and
the client timeout take no real time; arrivals are stamped with loop time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from green_tg_async import (
    AccountCheck,
    APITimeoutError,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
)

from .helpers import (
    FakeClock,
    max_in_window,
    run_in_fake_time,
)
from .loopback import LoopbackServer, loopback_client


def test_after_a_469_nothing_reaches_the_instance_until_retry_at() -> None:
    clock = FakeClock()
    answers = iter([(469, {"message": "User get contact info limit reached"})])

    async def handler(method: str, path: str, body: bytes) -> tuple[int, Any]:
        return next(answers, (200, {"exist": True, "chatId": "10000000"}))

    async def main() -> tuple[list[AccountCheck | BaseException], LoopbackServer, bool]:
        async with (
            LoopbackServer(handler) as server,
            loopback_client(server, clock) as tg,
        ):
            # 31 checks at the default 1/s: one is sent, 30 wait at the limiter.
            results = await asyncio.gather(
                *(tg.service.check_account(79000000000 + i) for i in range(31)),
                return_exceptions=True,
            )
            clock.advance(7199)  # one second before retry_at
            with pytest.raises(CircuitOpenError):
                await tg.service.check_account(79000000000)
            assert len(server.arrivals) == 1
            clock.advance(1)
            found = await tg.service.check_account(79000000000)
            return results, server, found.exist

    results, server, exist = run_in_fake_time(main())
    assert isinstance(results[0], ContactInfoLimitError)
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 30
    assert len(server.arrivals) == 2  # the 469, then the probe after retry_at
    assert exist is True


def test_35_concurrent_checks_at_10_per_second_never_overfill_a_second() -> None:
    clock = FakeClock()

    async def handler(method: str, path: str, body: bytes) -> tuple[int, Any]:
        return 200, {"exist": False, "chatId": ""}

    async def main() -> LoopbackServer:
        limits = RateLimits(per_method={"checkAccount": 10})
        async with (
            LoopbackServer(handler) as server,
            loopback_client(server, clock, limits=limits) as tg,
        ):
            await asyncio.gather(
                *(tg.service.check_account(79000000000 + i) for i in range(35))
            )
            return server

    server = run_in_fake_time(main())
    times = [a.at for a in server.arrivals]
    assert len(times) == 35
    assert max_in_window(times) <= 10
    numbers = {json.loads(a.body)["phoneNumber"] for a in server.arrivals}
    assert numbers == {79000000000 + i for i in range(35)}


def test_a_send_message_that_times_out_is_sent_once() -> None:
    clock = FakeClock()

    async def handler(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(60)  # answer long after the client gave up
        return 200, {"idMessage": "1"}

    async def main() -> tuple[APITimeoutError, LoopbackServer]:
        async with (
            LoopbackServer(handler) as server,
            loopback_client(server, clock, timeout=5.0) as tg,
        ):
            with pytest.raises(APITimeoutError) as info:
                await tg.sending.send_message("10000000", "hello")
            await asyncio.sleep(120)  # any retry would have arrived by now
            return info.value, server

    error, server = run_in_fake_time(main())
    assert error.request_sent is True
    assert [a.path.split("/")[2] for a in server.arrivals] == ["sendMessage"]


def test_a_read_that_times_out_is_retried() -> None:
    clock = FakeClock()
    delays = iter([60.0, 0.0])

    async def handler(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(next(delays))
        return 200, {"stateInstance": "authorized"}

    async def main() -> tuple[str, LoopbackServer]:
        async with (
            LoopbackServer(handler) as server,
            loopback_client(server, clock, timeout=5.0) as tg,
        ):
            state = await tg.account.get_state_instance()
            return state.state_instance, server

    state, server = run_in_fake_time(main())
    assert state == "authorized"
    assert len(server.arrivals) == 2
