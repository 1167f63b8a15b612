"""Handlers never answer twice: every send through `ctx` is keyed (issue 31).

The four ways a reply used to go out twice, each as a test: a handler that
answers then raises; a second answer that gets a 500; an answer whose HTTP
response is lost; and (in test_once_crash.py) a bot killed between its
answer and its done marker.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from green_tg_async import AsyncGreenTelegram, RateLimits, RetryPolicy, SendPolicy
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.stores import MemoryStore, StateStore
from green_tg_async.testing import FakeGreenAPI, incoming_text
from green_tg_async.testing._fake import FAKE_API_URL
from tests.helpers import RecordingSleep, run_in_fake_time

Handler = Callable[[Context], Awaitable[None]]


@dataclass
class Faults:
    """Sends to spoil: answered 500 unapplied (first), or applied, answer lost."""

    failing: int = 0
    lost: int = 0
    blind: int = 0
    """showMessagesQueue requests answered 500 (the records cannot be read)."""


def _client(
    fake: FakeGreenAPI, *, store: StateStore | None = None, faults: Faults | None = None
) -> AsyncGreenTelegram:
    """A client of `fake` whose sends suffer `faults`."""
    spoil = faults or Faults()

    async def handle(request: httpx.Request) -> httpx.Response:
        method = request.url.path.split("/")[2]
        is_send = method == "sendMessage"
        if method == "showMessagesQueue" and spoil.blind:
            spoil.blind -= 1
            return httpx.Response(500, text="Internal Server Error")
        if is_send and spoil.failing:
            spoil.failing -= 1
            return httpx.Response(500, text="Internal Server Error")
        response = await fake.handle_async(request)
        if is_send and spoil.lost:
            spoil.lost -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    return AsyncGreenTelegram(
        fake.id_instance,
        fake.api_token,
        api_url=FAKE_API_URL,
        transport=httpx.MockTransport(handle),
        store=store or MemoryStore(),
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(sleep=RecordingSleep()),
        send=SendPolicy(settle_delay=5.0),
    )


async def _handle_one(tg: AsyncGreenTelegram, handler: Handler, **options: Any) -> None:
    router = Router()
    router.message()(handler)
    await Dispatcher(tg, router, **options).feed(incoming_text(1, "hi"))


async def test_a_handler_that_answers_then_raises_answers_once() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    runs = [0]

    async def handler(ctx: Context) -> None:
        runs[0] += 1
        await ctx.answer("hello")
        if runs[0] == 1:
            raise RuntimeError("a failing database call")

    async with _client(fake) as tg:
        await _handle_one(tg, handler)
    assert runs[0] == 2
    assert fake.sent_texts() == ["hello"]


def test_a_second_answer_that_gets_500s_is_sent_once_on_the_retry() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    runs = [0]
    faults = Faults()

    async def handler(ctx: Context) -> None:
        runs[0] += 1
        await ctx.answer("one")
        if runs[0] == 1:
            faults.failing = 2  # the second answer and its one re-send
        await ctx.reply("two")

    async def main() -> None:
        async with _client(fake, faults=faults) as tg:
            await _handle_one(tg, handler)

    run_in_fake_time(main())
    assert runs[0] == 2  # the unknown outcome failed the first run
    assert fake.sent_texts() == ["one", "two"]


def test_a_lost_answer_is_settled_from_the_journal_not_sent_again() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    got: list[str] = []

    async def handler(ctx: Context) -> None:
        got.append((await ctx.answer("hello")).id_message)

    async def main() -> None:
        async with _client(fake, faults=Faults(lost=1)) as tg:
            await _handle_one(tg, handler)

    run_in_fake_time(main())
    assert fake.sent_texts() == ["hello"]
    assert got == [fake.sent_messages()[0]["idMessage"]]


async def test_a_rerun_with_other_text_keeps_the_recorded_send(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    runs = [0]

    async def handler(ctx: Context) -> None:
        runs[0] += 1
        await ctx.sending.send_message(ctx.chat_id or "", f"run {runs[0]}")
        if runs[0] == 1:
            raise RuntimeError("boom")

    async with _client(fake) as tg:
        with caplog.at_level(logging.INFO, logger="green_tg_async"):
            await _handle_one(tg, handler)
    assert fake.sent_texts() == ["run 1"]
    assert "the recorded send stands" in caplog.text


async def test_a_callers_own_key_in_a_handler_is_strict() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    errors: list[Exception] = []

    async def handler(ctx: Context) -> None:
        await ctx.answer("a", idempotency_key="mine")
        await ctx.answer("b", idempotency_key="mine")

    async with _client(fake) as tg:
        router = Router()
        router.message()(handler)

        @router.errors()
        async def on_error(ctx: Context, exc: Exception) -> None:
            errors.append(exc)

        await Dispatcher(tg, router, max_attempts=1).feed(incoming_text(1, "hi"))
    assert [type(e).__name__ for e in errors] == ["IdempotencyKeyReusedError"]
    assert fake.sent_texts() == ["a"]


async def test_sends_outside_ctx_are_not_keyed() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    runs = [0]

    async def handler(ctx: Context) -> None:
        runs[0] += 1
        await ctx.client.sending.send_message(ctx.chat_id or "", "raw")
        if runs[0] == 1:
            raise RuntimeError("boom")

    async with _client(fake) as tg:
        await _handle_one(tg, handler)
    assert fake.sent_texts() == ["raw", "raw"]


async def test_a_bot_store_without_a_journal_is_refused_when_the_bot_is_built() -> None:
    """The journal is part of `BotStore`: no silent fall back to unkeyed sends."""

    class NoJournal:
        durable = False

        def __init__(self) -> None:
            self._inner = MemoryStore()

        def __getattr__(self, name: str) -> Any:
            if name.startswith("journal_"):
                raise AttributeError(name)
            return getattr(self._inner, name)

    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake) as tg:
        with pytest.raises(TypeError, match=r"journal_begin.*BotStore"):
            Dispatcher(tg, Router(), store=NoJournal())
    assert fake.sent_texts() == []


def test_a_rerun_with_other_text_settles_what_the_first_run_sent() -> None:
    """The first run's send was lost and could not be settled; the re-run's text
    differs. The recorded intent is settled by its own text: found, not resent."""
    fake = FakeGreenAPI(rate_limits=False)
    runs = [0]
    faults = Faults(lost=1, blind=3)  # every attempt of the first queue look

    async def handler(ctx: Context) -> None:
        runs[0] += 1
        await ctx.sending.send_message(ctx.chat_id or "", f"run {runs[0]}")

    async def main() -> None:
        async with _client(fake, faults=faults) as tg:
            await _handle_one(tg, handler)

    run_in_fake_time(main())
    assert runs[0] == 2
    assert fake.sent_texts() == ["run 1"]
