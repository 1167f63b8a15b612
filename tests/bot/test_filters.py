"""Each filter, the combinators, and callables as filters."""

from __future__ import annotations

from typing import Any

import pytest

from green_tg_async import AsyncGreenTelegram
from green_tg_async.bot import Context, filters as f
from green_tg_async.bot._context import ConversationState
from green_tg_async.models.notifications import parse_notification
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import incoming_file, incoming_text, outgoing_status


def ctx_for(
    tg: AsyncGreenTelegram, body: dict[str, Any], store: MemoryStore | None = None
) -> Context:
    state = ConversationState(store or MemoryStore(), "k", 60)
    return Context(tg, parse_notification(body), state)


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("/start", ("start",), True),
        ("/start now", ("start",), True),
        ("/START", ("start",), True),
        ("/start@my_bot", ("/start",), True),
        ("/started", ("start",), False),
        ("start", ("start",), False),
        ("/", ("start",), False),
        ("/help", ("start", "help"), True),
    ],
)
async def test_command(
    tg: AsyncGreenTelegram, text: str, names: tuple[str, ...], expected: bool
) -> None:
    assert await f.command(*names)(ctx_for(tg, incoming_text(1, text))) is expected


async def test_text_filters(tg: AsyncGreenTelegram) -> None:
    hello = ctx_for(tg, incoming_text(1, "Hello there"))
    file = ctx_for(tg, incoming_file(1, "a.pdf", caption="Hello"))
    assert await f.text()(hello)
    assert not await f.text()(file)
    assert await f.text("Hello there")(hello)
    assert not await f.text("hello there")(hello)
    assert await f.text("hello THERE", ignore_case=True)(hello)
    assert not await f.text("x", ignore_case=True)(file)
    assert await f.text_startswith("Bye", "Hell")(hello)
    assert await f.text_startswith("hell", ignore_case=True)(hello)
    assert not await f.text_startswith("Hell")(file)
    assert await f.regex(r"th\w+e")(hello)
    assert not await f.regex("x")(hello)
    assert not await f.regex("H")(file)
    with pytest.raises(ValueError, match="prefix"):
        f.text_startswith()
    with pytest.raises(ValueError, match="name"):
        f.command()


async def test_chat_sender_private_group_and_type(tg: AsyncGreenTelegram) -> None:
    private = ctx_for(tg, incoming_text(42, "hi", sender=7))
    group = ctx_for(tg, incoming_text(-100, "hi", sender=7))
    supergroup = ctx_for(tg, incoming_text(100, "hi", chat_type="supergroup"))
    status = ctx_for(tg, outgoing_status(-5, "m1"))
    state = ctx_for(tg, {"typeWebhook": "stateInstanceChanged", "stateInstance": "x"})
    assert await f.chat(42)(private)
    assert not await f.chat(43)(private)
    assert await f.sender("7")(group)
    assert not await f.sender(8)(group)
    assert await f.private()(private)
    assert not await f.group()(private)
    assert await f.group()(group)
    assert not await f.private()(group)
    assert await f.group()(supergroup)
    assert await f.group()(status)  # no chatType: the sign of the chat id decides
    assert not await f.group()(state)
    assert not await f.private()(state)
    document = ctx_for(tg, incoming_file(1, "a.pdf"))
    assert await f.message_type("documentMessage")(document)
    assert not await f.message_type("textMessage")(document)
    assert not await f.message_type("textMessage")(status)


async def test_combinators_and_callables(tg: AsyncGreenTelegram) -> None:
    ctx = ctx_for(tg, incoming_text(1, "/start"))
    seen: list[str] = []

    def sync_true(c: Context) -> bool:
        seen.append("sync")
        return True

    async def async_false(c: Context) -> bool:
        seen.append("async")
        return False

    assert await (f.command("start") & sync_true)(ctx)
    assert not await (f.command("start") & async_false)(ctx)
    assert await (f.text("no") | sync_true)(ctx)
    assert await (~f.text("no"))(ctx)
    assert not await (~f.command("start"))(ctx)
    seen.clear()
    assert not await (f.text("no") & sync_true)(ctx)
    assert seen == []  # & stops at the first failing filter
    assert await (f.command("start") | async_false)(ctx)
    assert seen == []  # | stops at the first passing one
    assert "command" in repr(f.command("start") & sync_true)
    with pytest.raises(TypeError, match="callable"):
        f.as_filter("start")  # type: ignore[arg-type]


async def test_state_filter(tg: AsyncGreenTelegram) -> None:
    store = MemoryStore()
    ctx = ctx_for(tg, incoming_text(1, "Ann"), store)
    assert await f.state(None)(ctx)
    assert not await f.state(f.ANY_STATE)(ctx)
    await ctx.state.set("ask_name")
    assert await f.state("ask_name")(ctx)
    assert await f.state(f.ANY_STATE)(ctx)
    assert not await f.state(None)(ctx)
    assert not await f.state("other")(ctx)
