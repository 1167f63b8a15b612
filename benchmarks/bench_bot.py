"""Bot throughput: notifications handled per second by the Dispatcher.

    python benchmarks/bench_bot.py --count 2000 --runs 3

Rows, each at concurrency 1 and 16, with a handler that answers every message
(`ctx.answer`, so each notification costs one send too; limiter off):
- `feed()`: the dispatcher alone (dedupe, inbox, routing, state, answer) with
  the fake on `httpx.MockTransport`; notifications come from 16 chats.
- polling: `run_polling(until_empty=True)` against the fake served on
  loopback TCP in the same process and loop (receive + delete + the answer
  over real HTTP; the server's CPU is counted too).
Prints the median of `--runs` runs per row.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI, incoming_text
from green_tg_async.testing._server import LoopbackServer

CHATS = 16


def _router() -> Router:
    router = Router()

    @router.message()
    async def echo(ctx: Context) -> None:
        await ctx.answer("ok")

    return router


async def bench_feed(count: int, concurrency: int) -> float:
    fake = FakeGreenAPI(rate_limits=False)
    bodies = [
        incoming_text(n % CHATS + 1, "hi", id_message=f"f{n}") for n in range(count)
    ]
    limits = RateLimits(enabled=False)
    async with fake.client(store=MemoryStore(), limits=limits) as tg:
        dp = Dispatcher(tg, _router(), concurrency=concurrency)
        await dp.start()
        started = time.perf_counter()
        await asyncio.gather(*(dp.feed(body) for body in bodies))
        elapsed = time.perf_counter() - started
        await dp.shutdown()
    assert len(fake.sends) == count
    return count / elapsed


async def bench_polling(count: int, concurrency: int) -> float:
    """Queue `count` messages in a fake served on loopback, then poll them all."""
    fake = FakeGreenAPI(rate_limits=False)
    for n in range(count):
        fake.incoming_text(n % CHATS + 1, "hi", id_message=f"p{n}")
    limits = RateLimits(enabled=False)
    async with LoopbackServer(fake.handle_async) as server:
        tg = AsyncGreenTelegram(
            fake.id_instance,
            fake.api_token,
            api_url=server.url,
            limits=limits,
            store=MemoryStore(),
        )
        async with tg:
            dp = Dispatcher(tg, _router(), concurrency=concurrency)
            started = time.perf_counter()
            await dp.run_polling(until_empty=True)
            elapsed = time.perf_counter() - started
    assert len(fake.sends) == count
    assert not fake.queue
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| path | concurrency | notifications/s |")
    print("|---|---:|---:|")
    for conc in (1, 16):
        runs = [asyncio.run(bench_feed(args.count, conc)) for _ in range(args.runs)]
        print(f"| feed() | {conc} | {statistics.median(runs):,.0f} |")
    for conc in (1, 16):
        runs = [asyncio.run(bench_polling(args.count, conc)) for _ in range(args.runs)]
        print(f"| run_polling (loopback) | {conc} | {statistics.median(runs):,.0f} |")


if __name__ == "__main__":
    main()
