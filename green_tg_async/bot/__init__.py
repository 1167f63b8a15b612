"""Bots: route notifications to handlers, in order per chat, exactly once after success.

::

    from green_tg_async.bot import Context, Dispatcher, Router, filters as f

    router = Router()

    @router.message(f.command("start"))
    async def start(ctx: Context) -> None:
        await ctx.state.set("ask_name")
        await ctx.answer("What is your name?")

    async with AsyncGreenTelegram() as tg:
        await Dispatcher(tg, router).run_polling()
"""

from __future__ import annotations

from . import filters
from ._context import Context, ConversationState
from ._dispatcher import Dispatcher, HandlerCancelledError, UntypedNotificationError
from ._router import ErrorHandler, Handler, Router
from .filters import Filter

__all__ = [
    "Context",
    "ConversationState",
    "Dispatcher",
    "ErrorHandler",
    "Filter",
    "Handler",
    "HandlerCancelledError",
    "Router",
    "UntypedNotificationError",
    "filters",
]
