"""What the server counts: arrival times at a real loopback server, in real time.

The server runs on the client's own loop and stamps each request when it has
read it. The limiter keeps a call in its one-second log until the answer
arrived, so these hold whatever the jitter on a loaded machine: they assert
the guarantee (the busiest second at the server holds at most the limit),
never a speed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from green_tg_async import AsyncGreenTelegram, BreakerPolicy, RateLimits
from green_tg_async.stores import MemoryStore

from .helpers import API_TOKEN, ID_INSTANCE, max_in_window
from .loopback import LoopbackServer


async def _found(method: str, path: str, body: bytes) -> tuple[int, Any]:
    if "sendMessage" in path:
        return 200, {"idMessage": "m1"}
    return 200, {"exist": True, "chatId": "10000000"}


def _client(server: LoopbackServer, limits: RateLimits) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        api_url=server.url,
        limits=limits,
        breaker=BreakerPolicy(),
        store=MemoryStore(),
    )


async def test_35_checks_at_10_per_second_never_put_11_in_a_server_second() -> None:
    limits = RateLimits(per_method={"checkAccount": 10}, lookups_in_flight=None)
    async with LoopbackServer(_found) as server, _client(server, limits) as tg:
        # A fresh client: the first request also opens the connection.
        await asyncio.gather(
            *(tg.service.check_account(79000000000 + i) for i in range(35))
        )
        times = [a.at for a in server.arrivals]
    assert len(times) == 35
    assert max_in_window(times) <= 10


async def test_75_sends_at_50_per_second_never_put_51_in_a_server_second() -> None:
    async with LoopbackServer(_found) as server, _client(server, RateLimits()) as tg:
        await asyncio.gather(
            *(tg.sending.send_message(10000000, f"hi {i}") for i in range(75))
        )
        times = [a.at for a in server.arrivals]
    assert len(times) == 75
    assert max_in_window(times) <= 50


async def test_the_second_after_a_long_wait_holds_the_limit_too() -> None:
    limits = RateLimits(per_method={"checkAccount": 10}, lookups_in_flight=None)
    async with LoopbackServer(_found) as server, _client(server, limits) as tg:
        for burst in range(2):
            await asyncio.gather(
                *(tg.service.check_account(79000000000 + i) for i in range(15))
            )
            if burst == 0:
                await asyncio.sleep(1.5)  # idle: the bucket is full again
        times = [a.at for a in server.arrivals]
    assert len(times) == 30
    assert max_in_window(times) <= 10


async def test_clients_at_50_and_40_per_second_never_put_51_in_a_server_second() -> (
    None
):
    """Issue 30: each used to get a full budget, up to 90 a second together."""
    fast = RateLimits(per_method={"sendMessage": 50})
    slow = RateLimits(per_method={"sendMessage": 40})
    async with (
        LoopbackServer(_found) as server,
        _client(server, fast) as a,
        _client(server, slow) as b,
    ):
        await asyncio.gather(
            *(a.sending.send_message(10000000, f"a {i}") for i in range(60)),
            *(b.sending.send_message(10000000, f"b {i}") for i in range(60)),
        )
        times = [at.at for at in server.arrivals]
    assert len(times) == 120
    assert max_in_window(times) <= 50
    # From the first answers on, the stricter rate holds for both.
    assert max_in_window([t for t in times if t >= times[0] + 1.0]) <= 40
