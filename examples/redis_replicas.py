"""A bot on Redis with two replicas that poll one instance.

Run the demo (the built-in fake for GREEN-API, a real Redis at REDIS_URL,
default redis://127.0.0.1:6379/15; keys under REDIS_PREFIX, default
"example-bot:", then a run id of their own):
    python examples/redis_replicas.py
It prints each chat's replies and exits 1 if a chat did not get both. Each run
keeps its keys under a fresh run id: the done markers outlive the run (24 h)
and a new fake numbers its messages from in-1 again, so a second run with the
same keys would take its messages for ones already handled.

In production each replica is its own process or host with the same store; it
needs no name of its own (`replica=` only names it in logs). Poll:

    store = RedisStore("redis://redis.internal:6379/0")
    async with AsyncGreenTelegram(store=store) as tg:
        await Dispatcher(tg, router).run_polling()

or serve the bot's webhook behind a load balancer:

    dp = Dispatcher(AsyncGreenTelegram(store=store), router)
    app = dp.webhook_app(token=os.environ["GREEN_API_WEBHOOK_TOKEN"])

The replicas share the pause after a 469, the rate of every method, the
conversation state, the inbox and its claims: the first replica to record a
notification claims it, so each is handled once, and any live replica takes
over what a killed one held once its claim runs out. The demo runs both
replicas polling the same queue at once, in two rounds (every chat's /start,
then every chat's answer), so the state set on one replica is read on
whichever handles the next message.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from green_tg_async import RateLimits
from green_tg_async.bot import Context, Dispatcher, Router, filters as f
from green_tg_async.stores import RedisStore
from green_tg_async.testing import FakeGreenAPI

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
PREFIX = os.environ.get("REDIS_PREFIX", "example-bot:")
CHATS = (1000001, 1000002, 1000003)


def expected_replies(chat: int) -> list[str]:
    """What the bot says to one chat in the demo."""
    return ["Hi! What is your name?", f"Nice to meet you, User {chat}!"]


router = Router()


@router.message(f.command("start"))
async def start(ctx: Context) -> None:
    """Begin the conversation, on whichever replica gets the message."""
    await ctx.state.set("ask_name")
    await ctx.answer("Hi! What is your name?")


@router.message(f.state("ask_name"), f.text())
async def got_name(ctx: Context) -> None:
    """The state may have been set by the other replica: it lives in Redis."""
    await ctx.state.clear()
    await ctx.answer(f"Nice to meet you, {ctx.text}!")


async def main() -> None:
    """Two polling replicas, one Redis, one instance; each message answered once."""
    fake = FakeGreenAPI(rate_limits=False)
    limits = RateLimits(enabled=False)  # the fake has no rates to respect
    prefix = f"{PREFIX}{uuid.uuid4().hex[:12]}:"  # this run's keys (see above)
    stores = [RedisStore(REDIS_URL, prefix=prefix) for _ in range(2)]
    clients = [fake.client(store=store, limits=limits) for store in stores]
    try:
        replicas = [Dispatcher(tg, router) for tg in clients]
        # One chat's messages run in order on one replica, not across two:
        # the demo queues each chat's answer only once its /start is handled.
        for texts in (["/start"] * len(CHATS), [f"User {chat}" for chat in CHATS]):
            for chat, text in zip(CHATS, texts, strict=True):
                fake.incoming_text(chat, text)
            await asyncio.gather(*(r.run_polling(until_empty=True) for r in replicas))
        for chat in CHATS:
            print(f"{chat}: " + " | ".join(fake.sent_texts(chat)))
    finally:
        for tg in clients:
            await tg.aclose()
        for store in stores:
            await store.aclose()
    check(fake)


def check(fake: FakeGreenAPI) -> None:
    """Exit 1 unless every chat got its two replies, each once."""
    wrong = [c for c in CHATS if fake.sent_texts(c) != expected_replies(c)]
    if wrong:
        sys.exit(f"not answered as expected: chats {wrong}")


if __name__ == "__main__":
    asyncio.run(main())
