"""`ctx.answer` / `ctx.reply` take the send options by name and type (issue 29).

mypy checks this file (`mypy tests`, strict): an option that is not one of
`MessageOptions` is an error, so the `type: ignore` below would be unused, and
itself an error, if the options were `**Any` again.
"""

from __future__ import annotations

from typing import Unpack, get_type_hints

import pytest

from green_tg_async import MessageOptions
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.testing import FakeGreenAPI, incoming_text


def test_answer_and_reply_take_typed_options() -> None:
    for method in (Context.answer, Context.reply):
        hints = get_type_hints(method, include_extras=True)
        assert hints["options"] == Unpack[MessageOptions]
    assert set(MessageOptions.__annotations__) == {
        "quoted_message_id",
        "typing_time",
        "typing_type",
        "idempotency_key",
    }


async def test_an_unknown_option_is_refused_before_anything_is_sent() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    router = Router()
    failures: list[BaseException] = []

    @router.message()
    async def handler(ctx: Context) -> None:
        await ctx.answer("hi", typing_time=1000, typing_type="text")
        with pytest.raises(TypeError, match="colour"):
            await ctx.reply("x", colour="red")  # type: ignore[call-arg]

    @router.errors()
    async def failed(ctx: Context, exc: Exception) -> None:
        failures.append(exc)

    fake.enqueue_notification(incoming_text(10000000, "hello"))
    async with fake.client() as tg:
        await Dispatcher(tg, router).run_polling(until_empty=True)
    assert failures == []
    assert fake.sent_texts(10000000) == ["hi"]
