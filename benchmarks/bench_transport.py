"""Loopback throughput: stock httpx against the `fast` (aiohttp) transport.

Run: python benchmarks/bench_transport.py [--calls N] [--concurrency 1,16]
The server is FakeGreenAPI served by `python -m green_tg_async.testing serve`
in another process (a small asyncio server: it may be the ceiling at high
concurrency). Each row: the bare client doing the same POST + JSON decode,
then our `check_account` (limiter off, distinct numbers) over that client.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from green_tg_async import AsyncGreenTelegram, RateLimits, fast_http_client
from green_tg_async.stores import MemoryStore

ID, TOKEN = "1101000001", "fake-token"


async def _rate(call: Callable[[], Awaitable[object]], calls: int, conc: int) -> float:
    per_worker = calls // conc

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return per_worker * conc / (time.perf_counter() - started)


async def _pair(
    http: httpx.AsyncClient, url: str, calls: int, conc: int
) -> tuple[float, float]:
    numbers = itertools.count(79000000000)
    target = f"{url}/waInstance{ID}/checkAccount/{TOKEN}"

    async def bare() -> object:
        response = await http.post(target, json={"phoneNumber": next(numbers)})
        return json.loads(response.content)

    tg = AsyncGreenTelegram(
        ID,
        TOKEN,
        api_url=url,
        http_client=http,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
    )

    async def ours() -> object:
        return await tg.service.check_account(next(numbers))

    await _rate(bare, 200, conc)  # warm-up: connections
    bare_rate = statistics.median([await _rate(bare, calls, conc) for _ in range(3)])
    our_rate = statistics.median([await _rate(ours, calls, conc) for _ in range(3)])
    await tg.aclose()
    return bare_rate, our_rate


async def main(url: str, calls: int, levels: list[int]) -> None:
    head = f"{'transport':>10} {'C':>3} {'bare req/s':>11} {'ours req/s':>11}"
    print(head + f" {'overhead':>9}")
    for conc in levels:
        for name in ("httpx", "fast"):
            http = (
                httpx.AsyncClient(timeout=30) if name == "httpx" else fast_http_client()
            )
            async with http:
                bare, ours = await _pair(http, url, calls, conc)
            print(
                f"{name:>10} {conc:>3} {bare:>11.0f} {ours:>11.0f} {bare / ours:>8.2f}x"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", default="1,16")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "green_tg_async.testing", "serve", "--no-rate-limits"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
        levels = [int(c) for c in args.concurrency.split(",")]
        asyncio.run(main(url, args.calls, levels))
    finally:
        server.terminate()
        server.wait()
