"""A bot process for the crash tests: polls, logs each handled message, exits when done.

Usage: python crash_bot.py STORE_KIND STORE_LOCATION API_URL OUT_FILE [PREFIX]
The instance id and token come from GREEN_API_ID_INSTANCE / GREEN_API_TOKEN.
Each handled notification appends its idMessage to OUT_FILE (fsynced), so
the test sees every handling even when it kills this process with SIGKILL.
With CRASH_BOT_HANG_FIRST=1 the first handler writes "blocked <idMessage>"
instead and never returns (the test then kills the process mid-handler);
CRASH_BOT_CONCURRENCY sets the dispatcher's concurrency (default 4) and
CRASH_BOT_REPLICA its replica name.
"""

from __future__ import annotations

import asyncio
import os
import sys

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.stores import RedisStore, SqliteStore, StateStore


def _store(kind: str, location: str, prefix: str) -> StateStore:
    if kind == "sqlite":
        return SqliteStore(location)
    return RedisStore(location, prefix=prefix, timeout=2.0)


async def main(argv: list[str]) -> int:
    kind, location, api_url, out = argv[:4]
    prefix = argv[4] if len(argv) > 4 else "green_tg:"
    store = _store(kind, location, prefix)
    router = Router()
    log = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    hang = [os.environ.get("CRASH_BOT_HANG_FIRST") == "1"]
    concurrency = int(os.environ.get("CRASH_BOT_CONCURRENCY", "4"))

    def write(line: str) -> None:
        os.write(log, f"{line}\n".encode())
        os.fsync(log)

    @router.message()
    async def handle(ctx: Context) -> None:
        if hang[0]:
            write(f"blocked {ctx.id_message}")
            await asyncio.Event().wait()  # until SIGKILL
        await asyncio.sleep(0.002)  # real work takes time: kills land mid-way
        write(str(ctx.id_message))

    limits = RateLimits(enabled=False)
    async with AsyncGreenTelegram(api_url=api_url, store=store, limits=limits) as tg:
        # A short lease: a restarted or surviving bot takes over what a
        # killed one held within seconds.
        replica = os.environ.get("CRASH_BOT_REPLICA")
        dp = Dispatcher(
            tg, router, concurrency=concurrency, claim_lease=2.0, replica=replica
        )
        await dp.run_polling(until_empty=True)
    await store.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
