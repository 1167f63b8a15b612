"""Scale: memory per idle instance, the cost per call with 10,000 instances live,
and a multi-tenant run against the stand-in server.

Run: python benchmarks/bench_scale.py [--instances N] [--calls N]
All clients share one `httpx.AsyncClient` on a MockTransport (as a service driving many
instances would share one pool), so the figures are the library's own state.

    python benchmarks/bench_scale.py --multi-tenant [--instances 1000] [--seconds 30]

1,000 instances, each polling `getStateInstance` as fast as its documented rate
(1/s) lets it, against benchmarks/standin.py in another process: each built
with no http arguments (the default, a pool of its own), or with
`--shared-http` all through one shared `fast_http_client()`. Reports total
req/s, client CPU %, memory (peak RSS, and tracemalloc while the clients are
built), and the busiest second of the busiest instance, which must never be
over its limit (send times come from a hook).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import httpx

from green_tg_async import AsyncGreenTelegram, RateLimits, fast_http_client
from green_tg_async.hooks import CallEvent
from green_tg_async.stores import MemoryStore

STANDIN = Path(__file__).resolve().with_name("standin.py")


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


class SendTimes:
    """A hook: when each instance's requests left (monotonic seconds)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)

    def on_request(self, event: CallEvent) -> None:
        self.times[event.id_instance].append(time.monotonic())


def busiest_second(times: list[float]) -> int:
    """Most requests inside any one-second window (1 µs of float slack)."""
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0 - 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


async def multi_tenant(instances: int, seconds: float, shared: bool) -> None:
    server = subprocess.Popen(  # noqa: ASYNC220 - once, before the clock starts
        [sys.executable, str(STANDIN)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    url = server.stdout.readline().decode().strip()
    http = fast_http_client() if shared else None
    hook = SendTimes()
    tracemalloc.start()
    clients = [
        AsyncGreenTelegram(
            str(4100000000 + i),
            "bench-token",
            api_url=url,
            http_client=http,
            store=MemoryStore(),
            hooks=[hook],
        )
        for i in range(instances)
    ]
    traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()  # it would slow the run itself several times over
    deadline = time.monotonic() + seconds

    async def tenant(tg: AsyncGreenTelegram) -> int:
        done = 0
        while time.monotonic() < deadline:
            await tg.account.get_state_instance()
            done += 1
        return done

    cpu, wall = time.process_time(), time.perf_counter()
    done = sum(await asyncio.gather(*(tenant(tg) for tg in clients)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    for tg in clients:
        await tg.aclose()
    if http is not None:
        await http.aclose()
    assert server.stdin is not None
    server.stdin.close()
    server.wait()
    worst = max(busiest_second(t) for t in hook.times.values())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    how = "one shared fast_http_client()" if shared else "the default, a pool each"
    print(f"instances {instances}, {seconds:g} s, getStateInstance (documented 1/s)")
    print(f"http: {how}")
    print(f"total req/s {done / wall:,.0f} (ideal {instances:,} at 1/s each)")
    print(f"client CPU {cpu / wall:.0%} of one core, {cpu / done * 1e6:,.0f} µs/call")
    print(f"peak RSS {rss_mb:,.0f} MB; {traced / instances:,.0f} B per client built")
    print(f"busiest second of any instance: {worst} (limit 1)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=None)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--multi-tenant", action="store_true")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--shared-http", action="store_true")
    args = parser.parse_args()
    if args.multi_tenant:
        asyncio.run(
            multi_tenant(args.instances or 1_000, args.seconds, args.shared_http)
        )
    else:
        asyncio.run(main(args.instances or 10_000, args.calls))
