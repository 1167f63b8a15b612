"""Dispatcher guarantees: order, concurrency, dedupe, failures, state, shutdown."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from green_tg_async import AsyncGreenTelegram, RetryPolicy
from green_tg_async._exceptions import (
    AuthenticationError,
    CircuitOpenError,
    ContactInfoLimitError,
    StoreUnavailableError,
)
from green_tg_async.bot import Context, Dispatcher, Router, filters as f
from green_tg_async.stores import MemoryStore, SqliteStore
from green_tg_async.testing import FakeGreenAPI, incoming_text, outgoing_status
from tests.helpers import RecordingSleep, bot_client


async def test_a_conversation_with_state(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    router = Router()

    @router.message(f.command("start"))
    async def start(ctx: Context) -> None:
        await ctx.state.set("ask_name", {"step": 1})
        await ctx.answer("What is your name?")

    @router.message(f.state("ask_name"), f.text())
    async def got_name(ctx: Context) -> None:
        data = await ctx.state.update(name=ctx.text)
        assert data == {"step": 1, "name": ctx.text}
        await ctx.state.clear()
        await ctx.reply(f"Hello, {ctx.text}!")

    @router.message()
    async def other(ctx: Context) -> None:
        await ctx.answer("Say /start")

    dp = Dispatcher(tg, router)
    for text in ("/start", "Ann", "Ann again"):
        await dp.feed(incoming_text(7, text))
    await dp.feed(incoming_text(8, "Bob"))  # another chat has no state
    assert fake.sent_texts(7) == ["What is your name?", "Hello, Ann!", "Say /start"]
    assert fake.sent_texts(8) == ["Say /start"]


async def test_state_is_per_sender_in_a_group_and_expires(
    tg: AsyncGreenTelegram,
) -> None:
    clock = [1000.0]
    store = MemoryStore(clock=lambda: clock[0])
    router = Router()
    seen: list[tuple[str | None, str | None, dict[str, Any]]] = []

    @router.message(f.command("set"))
    async def set_state(ctx: Context) -> None:
        await ctx.state.set("waiting", data={"by": ctx.sender})

    @router.message()
    async def show(ctx: Context) -> None:
        seen.append((ctx.sender, await ctx.state.get(), await ctx.state.data()))

    dp = Dispatcher(tg, router, store=store, state_ttl=60)
    await dp.feed(incoming_text(-1, "/set", sender=1))
    await dp.feed(incoming_text(-1, "?", sender=1))
    await dp.feed(incoming_text(-1, "?", sender=2))
    clock[0] += 61
    await dp.feed(incoming_text(-1, "?", sender=1))
    assert seen == [
        ("1", "waiting", {"by": "1"}),
        ("2", None, {}),
        ("1", None, {}),
    ]


async def test_state_data_that_is_not_json_fails_before_the_store(
    tg: AsyncGreenTelegram,
) -> None:
    router = Router()
    errors: list[Exception] = []

    @router.message()
    async def bad(ctx: Context) -> None:
        await ctx.state.set("x", {"when": object()})

    @router.errors()
    async def failed(ctx: Context, exc: Exception) -> None:
        errors.append(exc)
        assert await ctx.state.get() is None

    await Dispatcher(tg, router, max_attempts=1).feed(incoming_text(1, "x"))
    assert len(errors) == 1
    assert isinstance(errors[0], TypeError)


async def test_one_chat_in_order_other_chats_concurrently(
    tg: AsyncGreenTelegram,
) -> None:
    router = Router()
    release = asyncio.Event()
    log: list[str] = []

    @router.message()
    async def handle(ctx: Context) -> None:
        log.append(f"start {ctx.chat_id}:{ctx.text}")
        if ctx.text == "slow":
            await release.wait()
        log.append(f"end {ctx.chat_id}:{ctx.text}")

    dp = Dispatcher(tg, router)
    await dp.start()
    fed = [
        asyncio.create_task(dp.feed(incoming_text(1, "slow"))),
        asyncio.create_task(dp.feed(incoming_text(1, "next"))),
        asyncio.create_task(dp.feed(incoming_text(2, "other"))),
    ]
    await asyncio.wait_for(_until(lambda: "end 2:other" in log), 5)
    assert "start 1:next" not in log  # chat 1 waits for its first message
    release.set()
    await asyncio.gather(*fed)
    assert log.index("end 1:slow") < log.index("start 1:next")
    await dp.shutdown()


async def test_at_most_concurrency_chats_at_once(tg: AsyncGreenTelegram) -> None:
    router = Router()
    running, peak = 0, 0
    release = asyncio.Event()

    @router.message()
    async def handle(ctx: Context) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    dp = Dispatcher(tg, router, concurrency=2)
    await dp.start()
    fed = [asyncio.create_task(dp.feed(incoming_text(chat, "x"))) for chat in range(5)]
    await asyncio.wait_for(_until(lambda: running == 2), 5)
    for _ in range(20):
        await asyncio.sleep(0)
    assert peak == 2
    release.set()
    await asyncio.gather(*fed)
    assert peak == 2
    await dp.shutdown()


async def test_a_redelivery_after_success_is_not_handled_again(
    tg: AsyncGreenTelegram,
) -> None:
    router = Router()
    handled: list[str | None] = []

    @router.message()
    async def handle(ctx: Context) -> None:
        handled.append(ctx.id_message)

    @router.outgoing_status()
    async def status(ctx: Context) -> None:
        handled.append(f"{ctx.id_message}:{ctx.status}")

    store = MemoryStore()
    dp = Dispatcher(tg, router, store=store)
    body = incoming_text(1, "hi", id_message="m1")
    await dp.feed(body)
    await dp.feed(body)
    # The same message id in another chat is another message.
    await dp.feed(incoming_text(2, "hi", id_message="m1"))
    # Statuses: a new status of the same message is new; a repeated one is not.
    for kind in ("delivered", "read", "read"):
        await dp.feed(outgoing_status(1, "s1", kind))
    # A replica sharing the store sees the done marker too.
    await Dispatcher(tg, router, store=store, replica="b").feed(body)
    assert handled == ["m1", "m1", "s1:delivered", "s1:read"]


async def test_the_done_marker_expires_after_dedupe_ttl(tg: AsyncGreenTelegram) -> None:
    clock = [0.0]
    store = MemoryStore(clock=lambda: clock[0])
    router, handled = _recording_router()

    dp = Dispatcher(tg, router, store=store, dedupe_ttl=10)
    body = incoming_text(1, "hi", id_message="m1")
    await dp.feed(body)
    clock[0] = 9.0
    await dp.feed(body)
    clock[0] = 11.0
    await dp.feed(body)
    assert handled == ["hi", "hi"]


async def test_a_failing_handler_is_retried_with_back_off(
    tg: AsyncGreenTelegram, sleep: RecordingSleep
) -> None:
    router = Router()
    attempts: list[int] = []

    @router.message()
    async def flaky(ctx: Context) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    errors: list[Exception] = []

    @router.errors()
    async def failed(ctx: Context, exc: Exception) -> None:
        errors.append(exc)

    await Dispatcher(tg, router, max_attempts=3).feed(incoming_text(1, "x"))
    assert len(attempts) == 3
    assert errors == []
    assert len(sleep.delays) == 2
    assert sleep.delays[0] > 0


async def test_after_max_attempts_the_error_handlers_run_and_the_chat_goes_on(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router()
    calls: list[str | None] = []

    @router.message()
    async def poison(ctx: Context) -> None:
        calls.append(ctx.text)
        if ctx.text == "poison":
            raise ValueError("cannot digest")
        await ctx.answer("ok")

    got: list[tuple[str | None, str]] = []

    @router.errors()
    async def first(ctx: Context, exc: Exception) -> None:
        got.append((ctx.text, repr(exc)))
        raise RuntimeError("the error handler broke too")

    @router.errors()
    async def second(ctx: Context, exc: Exception) -> None:
        got.append(("second", type(exc).__name__))

    dp = Dispatcher(tg, router, max_attempts=2)
    with caplog.at_level(logging.ERROR, "green_tg_async"):
        await dp.feed(incoming_text(1, "poison"))
        await dp.feed(incoming_text(1, "fine"))
    assert calls == ["poison", "poison", "fine"]
    assert got == [("poison", "ValueError('cannot digest')"), ("second", "ValueError")]
    assert "error handler first raised" in caplog.text
    assert fake.sent_texts(1) == ["ok"]


async def test_without_error_handlers_a_give_up_is_logged(
    tg: AsyncGreenTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router()

    @router.message()
    async def broken(ctx: Context) -> None:
        raise KeyError("boom")

    with caplog.at_level(logging.ERROR, "green_tg_async"):
        await Dispatcher(tg, router, max_attempts=1).feed(
            incoming_text(3, "x", id_message="m3")
        )
    assert "giving up on incomingMessageReceived m3 in chat 3" in caplog.text


async def test_a_raising_filter_goes_to_the_error_handlers(
    tg: AsyncGreenTelegram,
) -> None:
    router = Router()

    def broken_filter(ctx: Context) -> bool:
        raise LookupError("filter")

    @router.message(broken_filter)
    async def never(ctx: Context) -> None:
        raise AssertionError("not reached")

    got: list[Exception] = []

    @router.errors()
    async def failed(ctx: Context, exc: Exception) -> None:
        got.append(exc)

    await Dispatcher(tg, router).feed(incoming_text(1, "x"))
    assert [type(e) for e in got] == [LookupError]


async def test_a_pause_goes_to_the_error_handlers_at_once(
    fake: FakeGreenAPI, sleep: RecordingSleep
) -> None:
    fake.lookup_limit = 0
    router = Router()
    attempts = 0

    @router.message()
    async def lookup(ctx: Context) -> None:
        nonlocal attempts
        attempts += 1
        await ctx.client.service.check_account(79001234568)

    got: list[Exception] = []

    @router.errors()
    async def failed(ctx: Context, exc: Exception) -> None:
        got.append(exc)
        with pytest.raises(CircuitOpenError) as paused:
            await ctx.answer("sorry")
        got.append(paused.value)

    async with bot_client(fake, sleep) as tg:
        dp = Dispatcher(tg, router, max_attempts=3)
        await dp.feed(incoming_text(1, "x"))
        await dp.feed(incoming_text(1, "y"))
    assert attempts == 2  # one attempt per notification: no retries into a pause
    assert isinstance(got[0], ContactInfoLimitError)
    assert isinstance(got[1], CircuitOpenError)
    assert fake.sent_texts() == []


async def test_stop_lets_running_handlers_finish(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    router = Router()
    started = asyncio.Event()
    release = asyncio.Event()
    done: list[str] = []

    @router.message()
    async def slow(ctx: Context) -> None:
        started.set()
        await release.wait()
        done.append(str(ctx.text))

    fake.incoming_text(1, "a")
    fake.incoming_text(2, "b")
    dp = Dispatcher(tg, router)
    polling = asyncio.create_task(dp.run_polling(receive_timeout=5))
    await asyncio.wait_for(_until(lambda: not fake.queue), 5)
    await started.wait()
    dp.stop()
    await asyncio.sleep(0)
    assert not polling.done()  # still waiting for the handlers
    release.set()
    await asyncio.wait_for(polling, 5)
    assert sorted(done) == ["a", "b"]


async def test_handlers_past_shutdown_timeout_are_cancelled_and_kept_in_the_inbox(
    tmp_path: Any,
    fake: FakeGreenAPI,
    sleep: RecordingSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = SqliteStore(tmp_path / "bot.sqlite3")
    router = Router()
    cancelled: list[str | None] = []
    handled: list[str | None] = []

    @router.message()
    async def stuck(ctx: Context) -> None:
        if ctx.text == "stuck":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(ctx.text)
                raise
        handled.append(ctx.text)

    async with bot_client(fake, sleep, store=store) as tg:
        fake.incoming_text(1, "stuck")
        dp = Dispatcher(tg, router, shutdown_timeout=0.05)
        polling = asyncio.create_task(dp.run_polling(receive_timeout=5))
        await asyncio.wait_for(_until(lambda: not fake.queue), 5)
        dp.stop()
        with caplog.at_level(logging.WARNING, "green_tg_async"):
            await asyncio.wait_for(polling, 5)
        assert cancelled == ["stuck"]
        assert "1 notifications were not handled" in caplog.text
        assert "stay in the inbox" in caplog.text
        # The next start resumes it (the handler is fixed meanwhile).
        router2 = Router()

        @router2.message()
        async def fixed(ctx: Context) -> None:
            handled.append(ctx.text)

        await Dispatcher(tg, router2).run_polling(until_empty=True)
        assert handled == ["stuck"]
        assert await store.inbox_items("{1101000001}:bot:inbox:main") == []
    await store.aclose()


async def test_a_store_that_fails_to_record_keeps_the_item_queued(
    fake: FakeGreenAPI, sleep: RecordingSleep
) -> None:
    class Flaky(MemoryStore):
        failures = 2

        async def inbox_take(self, *args: Any, **kwargs: Any) -> Any:
            deletes_seen.append(fake.requests.count(("DELETE", "deleteNotification")))
            if self.failures:
                self.failures -= 1
                raise StoreUnavailableError("store down")
            return await super().inbox_take(*args, **kwargs)

    deletes_seen: list[int] = []
    store = Flaky()
    router, handled = _recording_router()

    async with bot_client(fake, sleep, store=store) as tg:
        fake.incoming_text(1, "a")
        await Dispatcher(tg, router).run_polling(until_empty=True)
    assert handled == ["a"]
    assert len(sleep.delays) == 2
    # Not deleted while recording failed; deleted once, after it succeeded.
    assert deletes_seen == [0, 0, 0]
    assert fake.requests.count(("DELETE", "deleteNotification")) == 1


async def test_polling_ends_with_an_error_waiting_cannot_fix(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    fake.fail_next(401)
    with pytest.raises(AuthenticationError):
        await Dispatcher(tg, Router()).run_polling(receive_timeout=5)


async def test_polling_waits_out_errors_with_back_off(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI, sleep: RecordingSleep
) -> None:
    router, handled = _recording_router()

    fake.incoming_text(1, "a")
    fake.fail_next(502, times=3)
    await Dispatcher(tg, router).run_polling(until_empty=True)
    assert handled == ["a"]
    assert len(sleep.delays) >= 3  # never a busy loop


def test_bad_arguments_are_refused(tg: AsyncGreenTelegram) -> None:
    for bad in (
        {"concurrency": 0},
        {"max_attempts": 0},
        {"dedupe_ttl": 0},
        {"shutdown_timeout": -1},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Dispatcher(tg, **bad)  # type: ignore[arg-type]

    class NoInbox:
        pass

    with pytest.raises(TypeError, match="inbox"):
        Dispatcher(tg, store=NoInbox())  # type: ignore[arg-type]


async def _until(condition: Any) -> None:
    """Let other tasks run until `condition()` holds (no time passes)."""
    while not condition():  # noqa: ASYNC110 - a condition, not an event
        await asyncio.sleep(0)


class _StopAfter:
    """A sleep that records delays and stops the dispatcher after `n` of them."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.delays: list[float] = []
        self.dp: Dispatcher | None = None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if len(self.delays) >= self.n and self.dp is not None:
            self.dp.stop()
        await asyncio.sleep(0)


@pytest.mark.parametrize("scope", ["instance", "contact_lookups"])
async def test_a_pause_stops_receiving_only_when_its_scope_covers_it(
    fake: FakeGreenAPI, scope: str
) -> None:
    from green_tg_async import BreakerPolicy

    fake.lookup_limit = 0
    sleep = _StopAfter(3)
    router = Router()
    seen: list[str | None] = []

    @router.message()
    async def handle(ctx: Context) -> None:
        seen.append(ctx.text)

    policy = BreakerPolicy(scope=scope)  # type: ignore[arg-type]
    async with bot_client(fake, sleep, breaker=policy) as tg:
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79001234568)  # trips the pause
        fake.incoming_text(1, "while paused")
        receives = fake.requests.count(("GET", "receiveNotification"))
        dp = Dispatcher(tg, router)
        sleep.dp = dp
        if scope == "instance":
            await asyncio.wait_for(dp.run_polling(receive_timeout=5), 5)
            # Receiving waited (never a busy loop), without asking GREEN-API.
            assert len(sleep.delays) >= 3
            # Each wait is the longest back-off: the pause runs for 2 hours.
            assert set(sleep.delays) == {RetryPolicy().max_delay}
            assert fake.requests.count(("GET", "receiveNotification")) == receives
            assert seen == []
            assert len(fake.queue) == 1
        else:
            await asyncio.wait_for(dp.run_polling(until_empty=True), 5)
            assert seen == ["while paused"]


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
async def test_a_signal_stops_polling_gracefully(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI, signame: str
) -> None:
    import os
    import signal

    router, handled = _recording_router()

    fake.incoming_text(1, "before the signal")
    dp = Dispatcher(tg, router)
    polling = asyncio.create_task(dp.run_polling(receive_timeout=5))
    await asyncio.wait_for(_until(lambda: bool(handled)), 5)
    os.kill(os.getpid(), getattr(signal, signame))
    await asyncio.wait_for(polling, 5)  # returned: the signal only stopped it
    assert handled == ["before the signal"]
    # The handlers are removed again: the default SIGINT handler is back.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.redis
async def test_replicas_sharing_a_redis_store_handle_a_redelivery_once(
    fake: FakeGreenAPI, sleep: RecordingSleep, any_redis_url: str, redis_prefix: str
) -> None:
    from green_tg_async.stores import RedisStore

    store = RedisStore(any_redis_url, prefix=redis_prefix, timeout=5.0)
    router = Router()
    handled: list[str] = []

    @router.message()
    async def handle(ctx: Context) -> None:
        handled.append(f"{ctx.text}")

    body = incoming_text(9, "once", id_message="r1")
    async with bot_client(fake, sleep, store=store) as tg:
        await Dispatcher(tg, router, replica="a").feed(body)
        await Dispatcher(tg, router, replica="b").feed(body)  # GREEN-API redelivers
        await Dispatcher(tg, router, replica="b").feed(incoming_text(9, "next"))
    await store.aclose()
    assert handled == ["once", "next"]


def _recording_router() -> tuple[Router, list[str | None]]:
    """A router whose one handler records the text of each incoming message."""
    router = Router()
    handled: list[str | None] = []

    @router.message()
    async def handle(ctx: Context) -> None:
        handled.append(ctx.text)

    return router, handled
