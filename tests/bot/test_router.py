"""Routing: notification types, first match wins, include order."""

from __future__ import annotations

import pytest

from green_tg_async import AsyncGreenTelegram
from green_tg_async.bot import Context, Dispatcher, Router, filters as f
from green_tg_async.testing import (
    FakeGreenAPI,
    incoming_text,
    outgoing_status,
    state_changed,
)


async def test_types_route_to_their_decorators(tg: AsyncGreenTelegram) -> None:
    router = Router()
    got: list[str] = []

    @router.message()
    async def incoming(ctx: Context) -> None:
        got.append(f"in:{ctx.text}")

    @router.outgoing_message()
    async def outgoing(ctx: Context) -> None:
        got.append(f"out:{ctx.text}")

    @router.outgoing_status()
    async def status(ctx: Context) -> None:
        got.append(f"status:{ctx.status}")

    @router.state_changed()
    async def state(ctx: Context) -> None:
        got.append(f"state:{ctx.instance_state}")

    @router.notification("quotaExceeded")
    async def quota(ctx: Context) -> None:
        got.append("quota")

    dp = Dispatcher(tg, router)
    await dp.feed(incoming_text(1, "a"))
    sent = {**incoming_text(1, "b"), "typeWebhook": "outgoingAPIMessageReceived"}
    await dp.feed(sent)
    await dp.feed(outgoing_status(1, "m1", "read"))
    await dp.feed(state_changed("notAuthorized"))
    await dp.feed(
        {"typeWebhook": "quotaExceeded", "quotaData": {"method": "sendMessage"}}
    )
    await dp.feed({"typeWebhook": "somethingNew"})  # unmatched: acknowledged
    assert got == ["in:a", "out:b", "status:read", "state:notAuthorized", "quota"]


async def test_first_match_wins_own_handlers_before_included_in_order(
    tg: AsyncGreenTelegram,
) -> None:
    root, first, second = Router("root"), Router("first"), Router("second")
    got: list[str] = []

    @second.message(f.text("x"))
    async def in_second(ctx: Context) -> None:
        got.append("second")

    @first.message(f.text("x"))
    async def in_first(ctx: Context) -> None:
        got.append("first")

    @root.message(f.text("root"))
    async def in_root(ctx: Context) -> None:
        got.append("root")

    @first.message()
    async def fallback(ctx: Context) -> None:
        got.append("fallback")

    root.include_router(first)
    root.include_router(second)
    dp = Dispatcher(tg, root)
    for text in ("x", "root", "other"):
        await dp.feed(incoming_text(1, text))
    assert got == ["first", "root", "fallback"]


def test_include_router_refuses_cycles_and_repeats() -> None:
    a, b = Router("a"), Router("b")
    a.include_router(b)
    with pytest.raises(ValueError, match="cycle"):
        b.include_router(a)
    with pytest.raises(ValueError, match="cycle"):
        a.include_router(a)
    with pytest.raises(ValueError, match="already"):
        a.include_router(b)
    with pytest.raises(ValueError, match="type_webhook"):
        a.notification("")
    with pytest.raises(TypeError, match="handler"):
        a.message()("not a function")  # type: ignore[type-var]
    assert "handlers=0" in repr(a)


async def test_context_answer_and_reply(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    router = Router()

    @router.message(f.text("a"))
    async def answer(ctx: Context) -> None:
        await ctx.answer("plain")

    @router.message(f.text("r"))
    async def reply(ctx: Context) -> None:
        await ctx.reply("quoted")

    @router.state_changed()
    async def nowhere(ctx: Context) -> None:
        await ctx.answer("no chat")

    errors: list[Exception] = []

    @router.errors()
    async def failed(ctx: Context, exc: Exception) -> None:
        errors.append(exc)

    dp = Dispatcher(tg, router)
    await dp.feed(incoming_text(5, "a", id_message="m-a"))
    await dp.feed(incoming_text(5, "r", id_message="m-r"))
    await dp.feed(state_changed("authorized"))
    sent = fake.sent_messages(5)
    assert [(m["message"], m.get("quotedMessageId")) for m in sent] == [
        ("plain", None),
        ("quoted", "m-r"),
    ]
    assert fake.sent_texts() == ["plain", "quoted"]
    assert len(errors) == 1
    assert "no chat" in str(errors[0])
