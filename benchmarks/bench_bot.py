"""Bot throughput: notifications handled per second by the Dispatcher.

    python benchmarks/bench_bot.py --count 2000 --runs 3

Rows, each at concurrency 1 and 16, with a handler that answers every message
(`ctx.answer`, so each notification costs one send too; limiter off):
- `feed()`: the dispatcher alone (dedupe, claim, inbox, routing, state, answer)
  with the fake on `httpx.MockTransport`; notifications come from 16 chats.
  With `--stores memory,sqlite,redis` also on those stores (`--redis URL`).
- webhook: the same notifications POSTed concurrently to `dp.webhook_app()`
  through `httpx.ASGITransport` (no sockets; the ASGI app and its answers).
- polling: `run_polling(until_empty=True)` against the fake served on
  loopback TCP in the same process and loop (receive + delete + the answer
  over real HTTP; the server's CPU is counted too).
Prints the median of `--runs` runs per row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
from redis.asyncio import BlockingConnectionPool, Redis

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.stores import BotStore, MemoryStore, RedisStore, SqliteStore
from green_tg_async.testing import FakeGreenAPI, incoming_text
from green_tg_async.testing._server import LoopbackServer

CHATS = 16


def _router() -> Router:
    router = Router()

    @router.message()
    async def echo(ctx: Context) -> None:
        await ctx.answer("ok")

    return router


Feeder = Callable[[Dispatcher, list[dict[str, object]]], Awaitable[None]]


def _store(kind: str, tmp: str, redis_url: str) -> BotStore:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SqliteStore(os.path.join(tmp, f"{uuid.uuid4().hex}.sqlite3"))
    prefix = f"green_tg_bench:{uuid.uuid4().hex}:"
    # A blocking pool of our own, so every row measures the same client.
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=64, timeout=5)
    return OwnedRedisStore(Redis(connection_pool=pool), prefix=prefix, timeout=5.0)


class OwnedRedisStore(RedisStore):
    """A RedisStore that closes the injected client it was given."""

    async def aclose(self) -> None:
        await self._redis.aclose()


async def _by_feed(dp: Dispatcher, bodies: list[dict[str, object]]) -> None:
    await asyncio.gather(*(dp.feed(body) for body in bodies))


async def _by_webhook(dp: Dispatcher, bodies: list[dict[str, object]]) -> None:
    app = dp.webhook_app(token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        answers = await asyncio.gather(*(http.post("/", json=b) for b in bodies))
    assert all(a.status_code == 200 for a in answers)


async def bench_source(
    count: int, concurrency: int, kind: str, feeder: Feeder, redis_url: str
) -> float:
    """Notifications per second through `feeder` on a `kind` store."""
    fake = FakeGreenAPI(rate_limits=False)
    bodies = [
        dict(incoming_text(n % CHATS + 1, "hi", id_message=f"f{n}"))
        for n in range(count)
    ]
    limits = RateLimits(enabled=False)
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(kind, tmp, redis_url)
        async with fake.client(store=store, limits=limits) as tg:
            dp = Dispatcher(tg, _router(), concurrency=concurrency)
            await dp.start()
            started = time.perf_counter()
            await feeder(dp, bodies)
            await dp.shutdown()  # a durable store answers webhooks before handling
            elapsed = time.perf_counter() - started
        await store.aclose()
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
    parser.add_argument("--stores", default="memory")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--no-polling", action="store_true")
    args = parser.parse_args()
    print("| path | store | concurrency | notifications/s |")
    print("|---|---|---:|---:|")
    sources: list[tuple[str, Feeder]] = [("feed()", _by_feed), ("webhook", _by_webhook)]
    for name, feeder in sources:
        for kind in args.stores.split(","):
            for conc in (1, 16):
                options = (args.count, conc, kind, feeder, args.redis)
                runs = [asyncio.run(bench_source(*options)) for _ in range(args.runs)]
                median = statistics.median(runs)
                print(f"| {name} | {kind} | {conc} | {median:,.0f} |")
    if args.no_polling:
        return
    for conc in (1, 16):
        runs = [asyncio.run(bench_polling(args.count, conc)) for _ in range(args.runs)]
        median = statistics.median(runs)
        print(f"| run_polling (loopback) | memory | {conc} | {median:,.0f} |")


if __name__ == "__main__":
    main()
