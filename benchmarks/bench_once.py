"""Keyed sends: store round trips on Redis, CPU per call, and how long settling takes.

Run: python benchmarks/bench_once.py [--calls N] [--redis URL]
Sends go to the in-process `FakeGreenAPI` (an `httpx.MockTransport`), with the
limiter on (as in production) unless said otherwise. Prints three tables:

1. Store round trips per send on Redis (each counted where `RedisStore` awaits
   redis-py), without and with `idempotency_key`: the key adds the intent
   before the request and the result after it.
2. CPU per send (process time) on `MemoryStore`, limiter off, without and with
   a key: what the journal costs on the call path.
3. Settling an ambiguous send (its answer lost after GREEN-API applied it,
   or a 500 before it did), with `settle_delay` set to SETTLE_DELAY.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx

from green_tg_async import AsyncGreenTelegram, RateLimits, SendPolicy
from green_tg_async.stores import MemoryStore, StateStore
from green_tg_async.testing import FakeGreenAPI

CALLS = 2000
ROUND_TRIP_CALLS = 200
SETTLE_DELAY = 1.0
SETTLES = 5
ID, TOKEN = "4100000001", "bench-token"
T = TypeVar("T")


def _client(
    fake: FakeGreenAPI, store: StateStore, transport: Any = None, **options: Any
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID,
        TOKEN,
        api_url="https://4100.api.green-api.com",
        transport=transport or fake.transport,
        store=store,
        **options,
    )


async def round_trips(url: str) -> tuple[float, float]:
    """Redis round trips per send: (without a key, with one)."""
    from green_tg_async.stores import RedisStore

    store = RedisStore(url, prefix=f"bench_once:{time.time_ns()}:", timeout=5.0)
    count = [0]
    guard = store._guard

    async def counted(op: Awaitable[T]) -> T:
        count[0] += 1
        return await guard(op)

    store._guard = counted  # type: ignore[method-assign]
    fake = FakeGreenAPI(id_instance=ID, api_token=TOKEN, rate_limits=False)
    per_send = []
    limits = RateLimits(per_method={"sendMessage": 1e6})  # on, never waiting
    async with _client(fake, store, limits=limits) as tg:
        await tg.sending.send_message(1, "warm-up")
        for keyed in (False, True):
            count[0] = 0
            for n in range(ROUND_TRIP_CALLS):
                key = f"k{n}" if keyed else None
                await tg.sending.send_message(1, f"m{n}", idempotency_key=key)
            per_send.append(count[0] / ROUND_TRIP_CALLS)
    await store.aclose()
    return per_send[0], per_send[1]


async def cpu(calls: int) -> tuple[float, float]:
    """Process-time microseconds per send: (without a key, with one)."""
    fake = FakeGreenAPI(id_instance=ID, api_token=TOKEN, rate_limits=False)
    results = []
    limits = RateLimits(enabled=False)
    async with _client(fake, MemoryStore(), limits=limits) as tg:
        for keyed in (False, True):
            started = time.process_time()
            for n in range(calls):
                key = f"c{n}" if keyed else None
                await tg.sending.send_message(1, f"m{n}", idempotency_key=key)
            results.append((time.process_time() - started) / calls * 1e6)
    return results[0], results[1]


async def settling() -> dict[str, float]:
    """Median seconds per keyed send whose outcome was ambiguous, by case."""
    fake = FakeGreenAPI(id_instance=ID, api_token=TOKEN, rate_limits=False)
    mode = ["lost"]

    async def spoil(request: httpx.Request) -> httpx.Response:
        if request.url.path.split("/")[2] == "sendMessage" and mode[0]:
            if mode[0] == "500":
                mode[0] = ""  # the re-send goes through
                return httpx.Response(500, text="Internal Server Error")
            await fake.handle_async(request)  # applied, then the answer is lost
            raise httpx.ReadTimeout("lost", request=request)
        return await fake.handle_async(request)

    timings: dict[str, list[float]] = {
        "lost answer (journal)": [],
        "500 (not sent)": [],
    }
    send = SendPolicy(settle_delay=SETTLE_DELAY)
    limits = RateLimits(enabled=False)
    transport = httpx.MockTransport(spoil)
    async with _client(fake, MemoryStore(), transport, limits=limits, send=send) as tg:
        for n in range(SETTLES):
            for case, how in (
                ("lost answer (journal)", "lost"),
                ("500 (not sent)", "500"),
            ):
                mode[0] = how
                started = time.perf_counter()
                await tg.sending.send_message(
                    1, f"s{case}{n}", idempotency_key=f"{how}{n}"
                )
                timings[case].append(time.perf_counter() - started)
    return {case: sorted(values)[len(values) // 2] for case, values in timings.items()}


async def main(calls: int, redis_url: str | None) -> None:
    if redis_url:
        plain, keyed = await round_trips(redis_url)
        print("Redis round trips per send (limiter and breaker on)")
        print(f"  without a key   {plain:6.2f}")
        print(f"  with a key      {keyed:6.2f}   (+{keyed - plain:.2f})")
    plain_us, keyed_us = await cpu(calls)
    print(f"CPU per send, MemoryStore, limiter off ({calls} sends)")
    print(f"  without a key   {plain_us:8.1f} us")
    print(f"  with a key      {keyed_us:8.1f} us   (x{keyed_us / plain_us:.2f})")
    print(f"Settling an ambiguous keyed send (settle_delay={SETTLE_DELAY} s, median)")
    for case, seconds in (await settling()).items():
        print(f"  {case:24s}{seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--redis", default=None, help="redis:// URL for table 1")
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.redis))
