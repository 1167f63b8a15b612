"""Limiter accuracy as the server sees it: arrival times at a loopback server.

Run: python benchmarks/bench_limiter.py [--stores memory,sqlite,redis]
         [--rates 1,10,50] [--seconds 3] [--processes 2] [--redis URL]

A stand-in GREEN-API on 127.0.0.1 stamps each `sendMessage` when it has read
it (time.monotonic, system-wide). Every call is queued at once, from a fresh
client (so the first request also opens its connection). With `memory` one
client in this process sends them; with `sqlite` and `redis`, `--processes`
worker processes share the limit through the store. Per row: the busiest
one-second window at the server (the target: at most the limit) and the
throughput, (arrivals - 1) / (last - first) / limit. Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async.stores import MemoryStore, RedisStore, SqliteStore, StateStore
from green_tg_async.testing._server import LoopbackServer

ID_INSTANCE, TOKEN = "4100000001", "bench" * 5
RATES = (1.0, 10.0, 50.0)
ROOT = Path(__file__).resolve().parents[1]


def busiest_second(times: list[float]) -> int:
    """Most arrivals in any half-open one-second window."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= 1.0 - 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


def _store(kind: str, location: str) -> StateStore:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SqliteStore(location)
    url, prefix = location.split(" ", 1)
    return RedisStore(url, prefix=prefix, timeout=2.0)


async def _send(kind: str, location: str, url: str, rate: float, calls: int) -> None:
    store = _store(kind, location)
    limits = RateLimits(per_method={"sendMessage": rate})
    async with AsyncGreenTelegram(
        ID_INSTANCE, TOKEN, api_url=url, store=store, limits=limits
    ) as tg:
        await asyncio.gather(
            *(tg.sending.send_message(10000000, f"m{i}") for i in range(calls))
        )
    await store.aclose()


async def _workers(
    kind: str, location: str, url: str, rate: float, calls: int, processes: int
) -> None:
    share = [calls // processes + (i < calls % processes) for i in range(processes)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            json.dumps([kind, location, url, rate, n]),
            env=env,
        )
        for n in share
    ]
    await asyncio.gather(*(p.wait() for p in procs))


async def measure(
    kind: str, rate: float, seconds: float, processes: int, redis_url: str
) -> tuple[int, int, float]:
    arrivals: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.monotonic())
        return httpx.Response(200, json={"idMessage": "1769676078000"})

    calls = max(15, math.ceil(rate * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        location = {
            "memory": "",
            "sqlite": str(Path(tmp) / "bench.sqlite3"),
            "redis": f"{redis_url} bench_limiter:{uuid.uuid4().hex}:",
        }[kind]
        async with LoopbackServer(handler) as server:
            if kind == "memory":
                await _send(kind, location, server.url, rate, calls)
            else:
                await _workers(kind, location, server.url, rate, calls, processes)
    span = max(arrivals) - min(arrivals)
    throughput = (len(arrivals) - 1) / span / rate if span else float("nan")
    return len(arrivals), busiest_second(arrivals), throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", default="memory,sqlite,redis")
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in RATES))
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_send(*json.loads(args.worker)))
        return
    print(
        f"{'store':>7} {'procs':>5} {'rate/s':>7} {'calls':>6} "
        f"{'busiest 1 s at server':>22} {'throughput/limit':>17}"
    )
    for kind in args.stores.split(","):
        procs = 1 if kind == "memory" else args.processes
        for rate in (float(r) for r in args.rates.split(",")):
            seconds = max(args.seconds, 15.0 / rate)
            n, busiest, share = asyncio.run(
                measure(kind, rate, seconds, procs, args.redis)
            )
            print(
                f"{kind:>7} {procs:>5} {rate:>7g} {n:>6} {busiest:>22} {share:>17.4f}"
            )


if __name__ == "__main__":
    main()
