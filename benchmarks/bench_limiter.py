"""Limiter accuracy in real time: achieved rate and the fullest one-second window.

Run: python benchmarks/bench_limiter.py [--calls N] [--rates 1,10,50]
Calls go through `Limiter.acquire` only (no HTTP), on the real asyncio clock,
so timer lateness is included. Prints one table.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from green_tg_async import RateLimits
from green_tg_async._limiter import Limiter
from green_tg_async._methods import MethodSpec

CALLS = 300
SPEC = MethodSpec("m", "POST", idempotent=False)
RATES = (1.0, 10.0, 50.0)


def max_in_window(times: list[float], window: float = 1.0) -> int:
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def measure(rate: float, calls: int) -> tuple[float, int]:
    limiter = Limiter(f"bench-{rate}", RateLimits(per_method={"m": rate}))
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire(SPEC)
        times.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(calls)))
    achieved = (len(times) - 1) / (max(times) - min(times))
    return achieved / rate, max_in_window(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--rates", default=",".join(str(r) for r in RATES))
    args = parser.parse_args()
    print(f"{'rate/s':>8} {'calls':>6} {'achieved/configured':>20} {'max in 1 s':>11}")
    for rate in (float(r) for r in args.rates.split(",")):
        calls = args.calls
        fraction, worst = asyncio.run(measure(rate, calls))
        print(f"{rate:>8g} {calls:>6} {fraction:>20.4f} {worst:>11}")


if __name__ == "__main__":
    main()
