"""Idempotency keys on `tg.sending`: once per key, waits, reuse, and settling."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenTelegram,
    IdempotencyKeyReusedError,
    SendPolicy,
    StoreUnavailableError,
)
from green_tg_async.hooks import CallEvent
from green_tg_async.models import ContactCard
from green_tg_async.stores import MemoryStore
from green_tg_async.stores._journal import JournalEntry
from tests.helpers import API_TOKEN, PREFIX, make_client, run_in_fake_time

CHAT = "10000000"
SEND = f"/sendMessage/{API_TOKEN}"
QUEUE = f"/showMessagesQueue/{API_TOKEN}"
JOURNAL = f"/lastOutgoingMessages/{API_TOKEN}"


class Outcomes:
    """A hook that keeps how keyed sends were replayed or settled."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def on_once(self, event: CallEvent) -> None:
        self.seen.append(event.once)


def keyed(store: MemoryStore | None = None, **options: Any) -> AsyncGreenTelegram:
    options.setdefault("send", SendPolicy(settle_delay=5.0))
    return make_client(store=store or MemoryStore(), **options)


def sent(text: str, id_message: str, *, at: float | None = None) -> dict[str, Any]:
    """One outgoing journal item, as documented; dated after the intent by default.

    (Well after: the test may reach its send a while after building this.)
    """
    return {
        "type": "outgoing",
        "idMessage": id_message,
        "timestamp": int(time.time() + 30 if at is None else at),
        "statusMessage": "sent",
        "sendByApi": True,
        "typeMessage": "textMessage",
        "chatId": CHAT,
        "chatType": "user",
        "textMessage": text,
    }


def in_fake_time(
    test: Callable[[respx.MockRouter], Coroutine[Any, Any, None]],
) -> Callable[[], None]:
    """Run `test(api)` on a looptime loop with respx routes on the API."""

    def run() -> None:
        with respx.mock(base_url=PREFIX, assert_all_called=False) as api:
            run_in_fake_time(test(api))

    run.__name__ = test.__name__
    return run


async def test_same_key_and_arguments_send_once(api: respx.MockRouter) -> None:
    route = api.post(SEND).respond(200, json={"idMessage": "m1"})
    hook = Outcomes()
    async with keyed(hooks=[hook]) as tg:
        first = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
        again = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert (first.id_message, again.id_message) == ("m1", "m1")
    assert route.call_count == 1
    assert hook.seen == ["replayed"]


async def test_without_a_key_nothing_changes(api: respx.MockRouter) -> None:
    route = api.post(SEND).respond(200, json={"idMessage": "m1"})
    async with keyed() as tg:
        await tg.sending.send_message(CHAT, "hi")
        await tg.sending.send_message(CHAT, "hi")
    assert route.call_count == 2


async def test_a_reused_key_raises_before_sending(api: respx.MockRouter) -> None:
    route = api.post(SEND).respond(200, json={"idMessage": "m1"})
    async with keyed() as tg:
        await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
        with pytest.raises(IdempotencyKeyReusedError) as info:
            await tg.sending.send_message(CHAT, "hello", idempotency_key="k")
    assert info.value.idempotency_key == "k"
    assert info.value.method == "sendMessage"
    assert route.call_count == 1


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
async def test_a_bad_key_is_refused_before_anything(
    api: respx.MockRouter, key: str
) -> None:
    async with keyed() as tg:
        with pytest.raises(ValueError, match="idempotency_key"):
            await tg.sending.send_message(CHAT, "hi", idempotency_key=key)


async def test_every_send_takes_a_key(api: respx.MockRouter) -> None:
    routes = {
        name: api.post(f"/{name}/{API_TOKEN}").respond(200, json={"idMessage": name})
        for name in ("sendFileByUrl", "sendLocation", "sendContact", "sendPoll")
    }
    routes["forwardMessages"] = api.post(f"/forwardMessages/{API_TOKEN}").respond(
        200, json={"messages": ["f1"]}
    )
    upload = api.post(f"/sendFileByUpload/{API_TOKEN}").respond(
        200, json={"idMessage": "u1", "urlFile": "https://x/u1"}
    )
    async with keyed() as tg:
        s = tg.sending
        for _ in range(2):
            await s.send_file_by_url(
                CHAT, "https://x/a.png", "a.png", idempotency_key="f"
            )
            await s.send_location(CHAT, 1.0, 2.0, idempotency_key="l")
            await s.send_contact(CHAT, ContactCard(79001234567), idempotency_key="c")
            await s.send_poll(CHAT, "q?", ["a", "b"], idempotency_key="p")
            forwarded = await s.forward_messages(CHAT, "20", ["1"], idempotency_key="w")
            file = await s.send_file_by_upload(
                CHAT, b"png", file_name="a.png", idempotency_key="u"
            )
        with pytest.raises(IdempotencyKeyReusedError):  # other bytes, same key
            await s.send_file_by_upload(
                CHAT, b"gif", file_name="a.png", idempotency_key="u"
            )
    assert forwarded.messages == ("f1",)
    assert (file.id_message, file.url_file) == ("u1", "https://x/u1")
    assert [r.call_count for r in routes.values()] == [1] * 5
    assert upload.call_count == 1


@in_fake_time
async def test_twenty_concurrent_calls_send_once(api: respx.MockRouter) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3)  # the others arrive while this one is on the wire
        return httpx.Response(200, json={"idMessage": "m1"})

    route = api.post(SEND).mock(side_effect=slow)
    async with keyed() as tg:
        results = await asyncio.gather(
            *(
                tg.sending.send_message(CHAT, "hi", idempotency_key="k")
                for _ in range(20)
            )
        )
    assert {r.id_message for r in results} == {"m1"}
    assert route.call_count == 1


class _DownAfterBegin(MemoryStore):
    async def journal_finish(self, key: str, **kwargs: Any) -> str | None:
        raise StoreUnavailableError("down")


async def test_a_result_the_store_cannot_keep_is_still_returned(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.post(SEND).respond(200, json={"idMessage": "m1"})
    async with keyed(store=_DownAfterBegin()) as tg:
        with caplog.at_level(logging.WARNING, logger="green_tg_async"):
            result = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert result.id_message == "m1"
    assert "was not recorded" in caplog.text


def test_send_policy_checks_its_values() -> None:
    with pytest.raises(ValueError, match="clock_skew must be at least 1"):
        SendPolicy(clock_skew=0.5)
    with pytest.raises(ValueError, match="settle_delay"):
        SendPolicy(settle_delay=0)
    assert keyed(send=SendPolicy(lease=5)).send_policy.lease == 5


def test_the_intent_holds_what_settling_matches() -> None:
    from green_tg_async._settle import Intent

    intent = Intent.of(
        "sendMessage", {"chatId": CHAT, "message": "hi", "typingTime": 1}
    )
    assert json.loads(intent.text) == {
        "method": "sendMessage",
        "chat": CHAT,
        "content": {"message": "hi"},
    }
    assert Intent.loads(intent.text, intent.fingerprint) == intent


async def test_opentelemetry_counts_replays_and_settlements(
    api: respx.MockRouter,
) -> None:
    from tests.test_otel import Telemetry

    telemetry = Telemetry()
    api.post(SEND).respond(200, json={"idMessage": "m1"})
    async with keyed(hooks=[telemetry.hook()]) as tg:
        for _ in range(3):
            await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    points = telemetry.metrics()["green_api.once"]
    assert [(p.attributes, p.value) for p in points] == [
        (
            {"green_api.method": "sendMessage", "green_api.once.outcome": "replayed"},
            2,
        )
    ]
    telemetry.meter_provider.shutdown()
    telemetry.tracer_provider.shutdown()


class _NoRelease(MemoryStore):
    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        raise StoreUnavailableError("down")


async def test_a_lease_the_store_cannot_release_is_logged(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.post(SEND).respond(400, json={"message": "bad"})
    async with keyed(store=_NoRelease()) as tg:
        with (
            caplog.at_level(logging.WARNING, logger="green_tg_async"),
            pytest.raises(Exception, match="400"),
        ):
            await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert "lease not given back" in caplog.text


class _NoJournal:
    """A store of its own make: everything but the send journal."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("journal_"):
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_a_store_without_a_journal_refuses_keys() -> None:
    async with make_client(store=_NoJournal()) as tg:
        with pytest.raises(TypeError, match="keeps no send journal"):
            await tg.sending.send_message(CHAT, "hi", idempotency_key="k")


@in_fake_time
async def test_a_long_send_keeps_its_key_past_the_lease(api: respx.MockRouter) -> None:
    """A caller arriving after `lease` waits for the send, not settles it."""
    loop = asyncio.get_running_loop()

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)  # a long wait, as at a busy limiter
        return httpx.Response(200, json={"idMessage": "m1"})

    route = api.post(SEND).mock(side_effect=slow)
    api.get(QUEUE).respond(200, json=[])
    api.get(JOURNAL).respond(200, json=[])
    store = MemoryStore(clock=loop.time)  # the lease runs on the loop's clock
    async with keyed(store=store, send=SendPolicy(lease=3.0, settle_delay=1)) as tg:

        async def late() -> str:
            await asyncio.sleep(5)
            sent = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
            return sent.id_message

        first, second = await asyncio.gather(
            tg.sending.send_message(CHAT, "hi", idempotency_key="k"), late()
        )
    assert (first.id_message, second) == ("m1", "m1")
    assert route.call_count == 1


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _RenewalsFail(MemoryStore):
    begun = 0

    async def journal_begin(self, key: str, **kwargs: Any) -> JournalEntry:
        self.begun += 1
        if self.begun > 1:
            raise StoreUnavailableError("down")
        return await super().journal_begin(key, **kwargs)


@in_fake_time
async def test_a_lease_that_cannot_be_renewed_is_logged(
    api: respx.MockRouter,
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200, json={"idMessage": "m1"})

    api.post(SEND).mock(side_effect=slow)
    store = _RenewalsFail()
    handler = _Kept()
    logger = logging.getLogger("green_tg_async")
    logger.addHandler(handler)
    try:
        async with keyed(store=store, send=SendPolicy(lease=3.0)) as tg:
            sent = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    finally:
        logger.removeHandler(handler)
    assert sent.id_message == "m1"
    assert store.begun > 1
    assert any("lease not renewed" in r.getMessage() for r in handler.records)
