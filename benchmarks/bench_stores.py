"""State stores: Redis round trips per call, latency per call, multi-process accuracy.

Run from the repository root, with Redis at REDIS_URL (default 127.0.0.1:6379/15):
    python benchmarks/bench_stores.py [--calls N]
Prints three tables. Uses tests/loopback.py and tests/stores/worker.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from green_tg_async import AsyncGreenTelegram, LookupBudget, RateLimits  # noqa: E402
from green_tg_async.stores import MemoryStore, RedisStore, SqliteStore  # noqa: E402
from green_tg_async.testing import FakeGreenAPI  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
ID, TOKEN = "4100000001", "bench-token"
WORKER = str(ROOT / "tests" / "stores" / "worker.py")


def _client(store: Any, http: httpx.AsyncClient) -> AsyncGreenTelegram:
    # Rates (and a look-up budget) high enough that the limiter books every
    # call but never waits.
    limits = RateLimits(
        per_method={"sendMessage": 1e6, "checkAccount": 1e6},
        lookup_budget=LookupBudget(per_day=10**9),
    )
    return AsyncGreenTelegram(ID, TOKEN, http_client=http, store=store, limits=limits)


async def per_call(
    store: Any, calls: int, lookups: bool = False
) -> tuple[float, float | None]:
    """Median µs per admitted call (a send, or a look-up), and Redis round trips.

    Round trips are the request packets redis-py writes (a pipeline or a Lua
    script is one, however many commands it runs).
    """
    from redis.asyncio.connection import AbstractConnection

    counted = [0]
    original = AbstractConnection.send_packed_command

    async def counting(self: Any, command: Any, check_health: bool = True) -> None:
        counted[0] += 1
        await original(self, command, check_health)

    fake = FakeGreenAPI(id_instance=ID, api_token=TOKEN, rate_limits=False)
    async with httpx.AsyncClient(transport=fake.transport) as http:
        tg = _client(store, http)

        async def call() -> None:
            if lookups:  # force: past the answer cache, so each one is sent
                await tg.service.check_account(79001234567, force=True)
            else:
                await tg.sending.send_message(1, "hello")

        for _ in range(50):  # warm-up: connections, script loading
            await call()
        AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
        samples = []
        try:
            for _ in range(calls):
                started = time.perf_counter()
                await call()
                samples.append((time.perf_counter() - started) * 1e6)
        finally:
            AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
        await tg.aclose()
    await store.aclose()
    redis = isinstance(store, RedisStore)
    return statistics.median(samples), (counted[0] / calls if redis else None)


async def processes(kind: str, location: str, n: int, rate: float, each: int) -> str:
    async def found(method: str, path: str, body: bytes) -> tuple[int, Any]:
        return 200, {"exist": True, "chatId": "1"}

    env = {**os.environ, "GREEN_API_ID_INSTANCE": ID, "GREEN_API_TOKEN": TOKEN}
    prefix = f"bench:{uuid.uuid4().hex}:"
    async with LoopbackServer(found) as server:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                WORKER,
                kind,
                location,
                server.url,
                str(rate),
                str(each),
                prefix,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(n)
        ]
        for proc in procs:  # all imported and ready, then start together
            assert proc.stdout is not None
            await proc.stdout.readline()
        await asyncio.gather(*(p.communicate(b"go\n") for p in procs))
    times = sorted(a.at for a in server.arrivals)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    worst = max(
        sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)
    )
    limit = int(rate)
    tightest = min(b - a for a, b in zip(times, times[limit:], strict=False))
    return (
        f"{kind:>6} {n:>5} {rate:>7g} {len(times):>6} {achieved / rate:>20.4f}"
        f" {worst:>11} {tightest * 1000:>14.1f}"
    )


async def main(calls: int, latency_only: bool = False) -> None:
    tmp = tempfile.mkdtemp()
    print(
        f"{'store':>7} {'call':>7} {'µs/call (median)':>17}"
        f" {'Redis round trips/call':>23}"
    )
    for lookups in (False, True):
        for name, store in [
            ("memory", MemoryStore()),
            ("sqlite", SqliteStore(Path(tmp) / f"bench-{lookups}.sqlite3")),
            ("redis", RedisStore(REDIS_URL, prefix=f"bench:{uuid.uuid4().hex}:")),
        ]:
            micros, commands = await per_call(store, calls, lookups)
            shown = "-" if commands is None else f"{commands:.2f}"
            kind = "look-up" if lookups else "send"
            print(f"{name:>7} {kind:>7} {micros:>17.1f} {shown:>23}")
    if latency_only:
        return
    print()
    print(
        f"{'store':>6} {'procs':>5} {'rate/s':>7} {'calls':>6}"
        f" {'achieved/configured':>20} {'max in 1 s':>11}"
    )
    print(await processes("sqlite", str(Path(tmp) / "mp.sqlite3"), 2, 10, 50))
    print(await processes("redis", REDIS_URL, 2, 10, 50))
    print(await processes("redis", REDIS_URL, 4, 50, 100))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument(
        "--latency-only", action="store_true", help="only the first table"
    )
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.latency_only))
