"""A bot process for the exactly-once crash tests: answers each message once.

Usage: python once_bot.py SQLITE_PATH API_URL OUT_FILE
Each handling appends "answered <idMessage of the answer>" to OUT_FILE
(fsynced). With ONCE_BOT_HANG=1 the handler then blocks until SIGKILL, so
the process dies between its answer and its done marker. Exits when the
queue and the inbox are empty.
"""

from __future__ import annotations

import asyncio
import os
import sys

from green_tg_async import AsyncGreenTelegram, RateLimits, SendPolicy
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.stores import SqliteStore


async def main(path: str, api_url: str, out: str) -> None:
    store = SqliteStore(path)
    router = Router()
    log = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    hang = os.environ.get("ONCE_BOT_HANG") == "1"

    @router.message()
    async def handle(ctx: Context) -> None:
        sent = await ctx.answer(f"reply to {ctx.text}")
        os.write(log, f"answered {sent.id_message}\n".encode())
        os.fsync(log)
        if hang:
            await asyncio.Event().wait()  # until SIGKILL

    # Short leases: the restarted bot takes the item and the send over soon.
    send = SendPolicy(lease=2.0, settle_delay=1.0)
    limits = RateLimits(enabled=False)
    async with AsyncGreenTelegram(
        api_url=api_url, store=store, limits=limits, send=send
    ) as tg:
        await Dispatcher(tg, router, claim_lease=2.0).run_polling(until_empty=True)
    await store.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
