"""Pipeline overhead: our check_account against the bare httpx call it wraps.

Run: python benchmarks/bench_pipeline.py [--calls N] [--concurrency C]
Both sides use the same in-process `FakeGreenAPI` transport (an
`httpx.MockTransport`, so this is pure CPU per call):
the bare side does the POST and the JSON decode; ours adds validation, the
breaker gates, retries wiring and decoding into `AccountCheck`. The limiter is
off, so the figure is CPU, not waiting. Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics

import httpx
from _common import rate

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI

CALLS = 5000
CONCURRENCY = (1, 16)
ID, TOKEN = "4100000001", "bench-token"
URL = f"https://4100.api.green-api.com/waInstance{ID}/checkAccount/{TOKEN}"


async def measure(calls: int, conc: int) -> tuple[float, float]:
    fake = FakeGreenAPI(id_instance=ID, api_token=TOKEN, rate_limits=False)
    async with httpx.AsyncClient(transport=fake.transport) as http:

        async def bare() -> object:
            response = await http.post(URL, json={"phoneNumber": 79876543210})
            return json.loads(response.content)

        async with AsyncGreenTelegram(
            ID,
            TOKEN,
            http_client=http,
            limits=RateLimits(enabled=False),
            store=MemoryStore(),
        ) as tg:
            numbers = itertools.count(79000000000)

            async def ours() -> object:
                # Distinct numbers: identical concurrent checks would share one request.
                return await tg.service.check_account(next(numbers))

            await rate(bare, 200, 1)  # warm-up
            await rate(ours, 200, 1)
            bare_rates = [await rate(bare, calls, conc) for _ in range(3)]
            our_rates = [await rate(ours, calls, conc) for _ in range(3)]
    return statistics.median(bare_rates), statistics.median(our_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)))
    args = parser.parse_args()
    header = f"{'C':>3} {'bare req/s':>11} {'ours req/s':>11} {'µs/call bare':>13}"
    print(header + f" {'µs/call ours':>13} {'overhead':>9}")
    for conc in (int(c) for c in args.concurrency.split(",")):
        bare, ours = asyncio.run(measure(args.calls, conc))
        print(
            f"{conc:>3} {bare:>11.0f} {ours:>11.0f} {1e6 / bare:>13.1f}"
            f" {1e6 / ours:>13.1f} {bare / ours:>8.2f}x"
        )


if __name__ == "__main__":
    main()
