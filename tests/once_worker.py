"""A process that makes one keyed send, for the two-process test.

Usage: python once_worker.py SQLITE_PATH API_URL KEY
Prints the idMessage it got back. Instance and token from the environment.
"""

from __future__ import annotations

import asyncio
import sys

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async.stores import SqliteStore


async def main(path: str, api_url: str, key: str) -> None:
    store = SqliteStore(path)
    limits = RateLimits(enabled=False)
    async with AsyncGreenTelegram(api_url=api_url, store=store, limits=limits) as tg:
        sent = await tg.sending.send_message("10000000", "once", idempotency_key=key)
    await store.aclose()
    sys.stdout.write(sent.id_message + "\n")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
