"""A bot on Redis with two replicas that share one instance.

Run the demo (the built-in fake for GREEN-API, a real Redis at REDIS_URL,
default redis://127.0.0.1:6379/15; keys under REDIS_PREFIX, default
"example-bot:"):
    python examples/redis_replicas.py

In production each replica is its own process or host, with the same store and
its own stable name, serving the bot's webhook behind a load balancer:

    store = RedisStore("redis://redis.internal:6379/0")
    dp = Dispatcher(AsyncGreenTelegram(store=store), router, replica="web-1")
    app = dp.webhook_app(token=os.environ["GREEN_API_WEBHOOK_TOKEN"])

The replicas share the pause after a 469, the rate of every method, the
conversation state and the done markers (a notification one replica handled is
acknowledged by the other without running a handler); each resumes its own
inbox after a crash. The demo plays the load balancer: it hands each
notification to one replica, and a redelivery to the other.
"""

from __future__ import annotations

import asyncio
import os

from green_tg_async import RateLimits
from green_tg_async.bot import Context, Dispatcher, Router, filters as f
from green_tg_async.stores import RedisStore
from green_tg_async.testing import FakeGreenAPI, incoming_text

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
PREFIX = os.environ.get("REDIS_PREFIX", "example-bot:")
CHATS = (1000001, 1000002, 1000003)

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
    """Two replicas, one Redis, one instance; each message answered once."""
    fake = FakeGreenAPI(rate_limits=False)
    limits = RateLimits(enabled=False)  # the fake has no rates to respect
    stores = [RedisStore(REDIS_URL, prefix=PREFIX) for _ in range(2)]
    clients = [fake.client(store=store, limits=limits) for store in stores]
    try:
        one, two = (
            Dispatcher(tg, router, replica=f"replica-{n}")
            for n, tg in enumerate(clients, 1)
        )
        for chat in CHATS:
            hello = incoming_text(chat, "/start")
            await one.feed(hello)
            await two.feed(incoming_text(chat, f"User {chat}"))
            await two.feed(hello)  # redelivered to the other replica: not again
        for chat in CHATS:
            print(f"{chat}: " + " | ".join(fake.sent_texts(chat)))
    finally:
        for tg in clients:
            await tg.aclose()
        for store in stores:
            await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
