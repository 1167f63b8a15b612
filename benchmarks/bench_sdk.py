"""Throughput against the official SDK on the same loopback server, C = 1, 16, 64.

Run: python benchmarks/bench_sdk.py [--calls N]
The official SDK (telegram-api-client-python==1.0.1, async path: aiohttp with a new
session per call) is installed into a throwaway venv, never into ours; if that
fails the SDK rows are skipped with a message. The server is FakeGreenAPI served by
`python -m green_tg_async.testing serve --no-rate-limits`. With matplotlib installed,
the throughput against concurrency is saved as benchmarks/throughput.png.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
from pathlib import Path

import httpx
from _common import ID, TOKEN, rate, sdk_python, served_fake, unlimited_client

from green_tg_async import fast_http_client

LEVELS = (1, 16, 64)

SDK_LOAD = """
import asyncio, itertools, json, sys, time
from telegram_api_client_python import API
url, calls, levels = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
api = API.GreenAPI("ID", "TOKEN", host=url)
numbers = itertools.count(79000000000)
async def rate(conc):
    per = calls // conc
    async def worker():
        for _ in range(per):
            await api.serviceMethods.checkAccountAsync(next(numbers))
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return per * conc / (time.perf_counter() - started)
async def main():
    await rate(1)
    print(json.dumps({c: await rate(c) for c in levels}))
asyncio.run(main())
""".replace('"ID"', repr(ID)).replace('"TOKEN"', repr(TOKEN))


def sdk_rates(url: str, calls: int) -> dict[int, float] | None:
    """Run the SDK in a throwaway venv; None (with a message) if it cannot."""
    python = sdk_python()
    if python is None:
        return None
    done = subprocess.run(
        [python, "-c", SDK_LOAD, url, str(calls), json.dumps(LEVELS)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"skipping the official SDK: {done.stderr[-300:]}", file=sys.stderr)
        return None
    return {int(k): v for k, v in json.loads(done.stdout).items()}


async def our_rates(url: str, calls: int, fast: bool) -> dict[int, float]:
    http = fast_http_client() if fast else httpx.AsyncClient(timeout=30)
    numbers = itertools.count(79000000000)
    async with (
        http,
        unlimited_client(url, http) as tg,
    ):

        async def check() -> object:
            return await tg.service.check_account(next(numbers))

        await rate(check, calls, 1)  # warm-up
        return {c: await rate(check, calls, c) for c in LEVELS}


def plot(rows: dict[str, dict[int, float]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return
    for name, rates in rows.items():
        plt.plot(list(rates), list(rates.values()), marker="o", label=name)
    plt.xscale("log", base=2)
    plt.xlabel("concurrency")
    plt.ylabel("checkAccount req/s (loopback)")
    plt.legend()
    plt.savefig(Path(__file__).with_name("throughput.png"), dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1920)
    calls = parser.parse_args().calls
    with served_fake() as url:
        rows = {
            "green-tg-async (httpx)": asyncio.run(our_rates(url, calls, fast=False)),
            "green-tg-async (fast)": asyncio.run(our_rates(url, calls, fast=True)),
        }
        sdk = sdk_rates(url, calls)
        if sdk is not None:
            rows["official SDK 1.0.1 (async)"] = sdk
    print(f"{'client':>28} " + " ".join(f"{'C=' + str(c):>9}" for c in LEVELS))
    for name, rates in rows.items():
        print(f"{name:>28} " + " ".join(f"{rates[c]:>9.0f}" for c in LEVELS))
    plot(rows)


if __name__ == "__main__":
    main()
