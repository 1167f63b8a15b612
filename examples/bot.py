"""A conversation bot, run against the built-in fake (no account, no network).

Run: python examples/bot.py
Or with your instance: green-tg bot examples.bot:router
(credentials from GREEN_API_ID_INSTANCE / GREEN_API_TOKEN).
"""

from __future__ import annotations

import asyncio

from green_tg_async import RateLimits
from green_tg_async.bot import Context, Dispatcher, Router, filters as f
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI

router = Router()


@router.message(f.command("start"))
async def start(ctx: Context) -> None:
    """Begin the conversation."""
    await ctx.state.set("ask_name")
    await ctx.answer("Hi! What is your name?")


@router.message(f.state("ask_name"), f.text())
async def got_name(ctx: Context) -> None:
    """Greet by the name just given."""
    await ctx.state.clear()
    await ctx.reply(f"Nice to meet you, {ctx.text}!")  # quotes their message


@router.message(f.text())
async def fallback(ctx: Context) -> None:
    """Anything else."""
    await ctx.answer("Send /start to begin.")


@router.outgoing_status(lambda ctx: ctx.status == "failed")
async def not_delivered(ctx: Context) -> None:
    """Report a message that could not be delivered."""
    print(f"message {ctx.id_message} was not delivered")


@router.errors()
async def failed(ctx: Context, exc: Exception) -> None:
    """Called once a notification failed every attempt."""
    print(f"could not handle {ctx.type_webhook} in {ctx.chat_id}: {exc!r}")


async def main() -> None:
    """Queue a few messages in the fake, run the bot until they are handled."""
    fake = FakeGreenAPI(rate_limits=False)
    for text in ("hello", "/start", "Ann"):
        fake.incoming_text(1234567, text)
    fake.incoming_text(7654321, "/start")
    limits = RateLimits(enabled=False)  # the fake has no rate limits to respect
    async with fake.client(store=MemoryStore(), limits=limits) as tg:
        await Dispatcher(tg, router).run_polling(until_empty=True)
    for item in fake.sent_messages():
        print(f"bot -> {item['chatId']}: {item['message']}")


if __name__ == "__main__":
    asyncio.run(main())
