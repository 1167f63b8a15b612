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

import httpx
from _common import ID, TOKEN, rate, served_fake, unlimited_client

from green_tg_async import fast_http_client


async def _pair(
    http: httpx.AsyncClient, url: str, calls: int, conc: int
) -> tuple[float, float]:
    numbers = itertools.count(79000000000)
    target = f"{url}/waInstance{ID}/checkAccount/{TOKEN}"

    async def bare() -> object:
        response = await http.post(target, json={"phoneNumber": next(numbers)})
        return json.loads(response.content)

    tg = unlimited_client(url, http)

    async def ours() -> object:
        return await tg.service.check_account(next(numbers))

    await rate(bare, 200, conc)  # warm-up: connections
    bare_rate = statistics.median([await rate(bare, calls, conc) for _ in range(3)])
    our_rate = statistics.median([await rate(ours, calls, conc) for _ in range(3)])
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
    with served_fake() as url:
        levels = [int(c) for c in args.concurrency.split(",")]
        asyncio.run(main(url, args.calls, levels))
