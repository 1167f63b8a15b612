"""A worker process for the multi-process tests: N checks through a shared store.

Usage: python worker.py STORE_KIND STORE_LOCATION API_URL RATE CALLS [PREFIX]
The instance id and token come from GREEN_API_ID_INSTANCE / GREEN_API_TOKEN.
It prints "ready", waits for a line on stdin, runs, then prints how many
checks succeeded.
"""

from __future__ import annotations

import asyncio
import sys

from green_tg_async import AsyncGreenTelegram, GreenAPIError, RateLimits
from green_tg_async.stores import RedisStore, SqliteStore, StateStore


def _store(kind: str, location: str, prefix: str) -> StateStore:
    if kind == "sqlite":
        return SqliteStore(location)
    return RedisStore(location, prefix=prefix, timeout=2.0)


async def main(argv: list[str]) -> int:
    kind, location, api_url, rate, calls = argv[:5]
    prefix = argv[5] if len(argv) > 5 else "green_tg:"
    store = _store(kind, location, prefix)
    limits = RateLimits(per_method={"checkAccount": float(rate)})
    async with AsyncGreenTelegram(api_url=api_url, store=store, limits=limits) as tg:
        # Start together: a process still importing would otherwise compete
        # for the CPU with the ones already sending.
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        results = await asyncio.gather(
            *(tg.service.check_account(79000000000 + i) for i in range(int(calls))),
            return_exceptions=True,
        )
    await store.aclose()
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors:
        print(type(error).__name__, error, file=sys.stderr)
    print(len(results) - len(errors))
    return 0 if not errors or all(isinstance(e, GreenAPIError) for e in errors) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
