"""Does an httpx client survive a storm of cancelled requests? (issue 10, item 10)

Run: python benchmarks/bench_cancel_storm.py [--seconds 5] [--runs 2]

Against a loopback server, 20 workers send requests through a client with
`max_connections=10`, each under `wait_for` with a random 0-10 ms deadline,
for `--seconds`. Then one plain request shows whether the pool still works.
Stock httpx (httpcore 1.0.9) can leave connections orphaned by cancelled
requests (encode/httpcore#1093); the aiohttp transport (extra `fast`) cannot.
Our client replaces its own httpx client after a pool timeout; this script
measures the bare transports.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import httpx

from green_tg_async import fast_http_client
from green_tg_async.testing._server import LoopbackServer

TIMEOUT = httpx.Timeout(2.0)
LIMITS = httpx.Limits(max_connections=10)


async def _answer(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(random.uniform(0, 0.003))
    return httpx.Response(200, json={"exist": True, "chatId": "1"})


def _client(kind: str) -> httpx.AsyncClient:
    if kind == "fast":
        return fast_http_client(timeout=TIMEOUT, limits=LIMITS)
    return httpx.AsyncClient(timeout=TIMEOUT, limits=LIMITS)


async def storm(kind: str, seconds: float) -> str:
    async with LoopbackServer(_answer) as server, _client(kind) as http:
        end = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < end:
                try:
                    post = http.post(server.url + "/x")
                    await asyncio.wait_for(post, random.uniform(0, 0.01))
                except Exception:  # the storm: timeouts are the point
                    pass

        await asyncio.gather(*(worker() for _ in range(20)))
        started = time.monotonic()
        try:
            response = await http.post(server.url + "/x")
        except httpx.PoolTimeout:
            return f"wedged (PoolTimeout after {time.monotonic() - started:.1f} s)"
        return f"ok: HTTP {response.status_code} in {time.monotonic() - started:.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(f"{'transport':>10} {'run':>4}  after the storm")
    for run in range(1, args.runs + 1):
        for kind in ("stock", "fast"):
            print(f"{kind:>10} {run:>4}  {asyncio.run(storm(kind, args.seconds))}")


if __name__ == "__main__":
    main()
