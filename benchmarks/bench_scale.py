"""Scale: memory per idle instance, and the cost per call with 10,000 instances live.

Run: python benchmarks/bench_scale.py [--instances N] [--calls N]
All clients share one `httpx.AsyncClient` on a MockTransport (as a service driving many
instances would share one pool), so the figures are the library's own state.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
import tracemalloc

import httpx

from green_tg_async import AsyncGreenTelegram, RateLimits


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"exist": True, "chatId": "10000000"})


async def per_call(clients: list[AsyncGreenTelegram], calls: int) -> float:
    """Median-free mean µs per check over randomly chosen live instances."""
    rng = random.Random(7)
    started = time.perf_counter()
    for i in range(calls):
        await rng.choice(clients).service.check_account(79000000000 + i)
    return (time.perf_counter() - started) / calls * 1e6


async def main(instances: int, calls: int) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    limits = RateLimits(per_method={"checkAccount": 1e6})  # books, never waits

    def make(i: int) -> AsyncGreenTelegram:
        return AsyncGreenTelegram(
            str(4100000000 + i), "bench-token", http_client=http, limits=limits
        )

    one = [make(0)]
    await per_call(one, 200)  # warm-up
    single = await per_call(one, calls)

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    many = [make(i) for i in range(1, instances + 1)]
    gc.collect()
    idle = (tracemalloc.get_traced_memory()[0] - before) / instances
    for tg in many:  # every instance makes one call: its limiter bucket now exists
        await tg.service.check_account(79000000000)
    gc.collect()
    used = (tracemalloc.get_traced_memory()[0] - before) / instances
    tracemalloc.stop()
    spread = await per_call(many, calls)
    await http.aclose()
    head = f"{'instances':>10} {'bytes/idle':>11} {'bytes/after a call':>19}"
    print(head + f" {'µs/call':>9}")
    print(f"{1:>10} {'-':>11} {'-':>19} {single:>9.1f}")
    print(f"{instances:>10} {idle:>11.0f} {used:>19.0f} {spread:>9.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=5_000)
    args = parser.parse_args()
    asyncio.run(main(args.instances, args.calls))
