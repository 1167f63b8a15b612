"""The fake's sending queue, outgoing journal and send faults (issue 31)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from green_tg_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncGreenTelegram,
    RateLimits,
    RetryPolicy,
    ServerError,
)
from green_tg_async.testing import FAKE_API_URL, FakeGreenAPI
from green_tg_async.testing._server import LoopbackServer
from tests.helpers import T0, FakeClock, RecordingSleep

CHAT = "10000000"


@pytest.fixture
def clock() -> FakeClock:
    """The fake's clock (held sends are released by it)."""
    return FakeClock(0.0)


@pytest.fixture
def wall() -> FakeClock:
    """The fake's wall clock (journal timestamps)."""
    return FakeClock(T0)


@pytest.fixture
def fake(clock: FakeClock, wall: FakeClock) -> FakeGreenAPI:
    return FakeGreenAPI(rate_limits=False, clock=clock, wall_clock=wall)


@pytest.fixture
async def tg(fake: FakeGreenAPI) -> AsyncIterator[AsyncGreenTelegram]:
    async with fake.client(
        limits=RateLimits(enabled=False), retry=RetryPolicy(sleep=RecordingSleep())
    ) as client:
        yield client


# -- the outgoing journal --


async def test_every_send_appears_in_the_outgoing_journal_with_its_content(
    tg: AsyncGreenTelegram,
) -> None:
    text = await tg.sending.send_message(CHAT, "hi")
    url = await tg.sending.send_file_by_url(
        CHAT, "https://example.com/a.jpg", "a.jpg", caption="look"
    )
    upload = await tg.sending.send_file_by_upload(
        CHAT, b"%PDF-1.4", file_name="report.pdf", caption="the report"
    )
    where = await tg.sending.send_location(CHAT, 55.75, 37.62)
    poll = await tg.sending.send_poll(CHAT, "Tea?", ["yes", "no"])

    journal = await tg.journals.last_outgoing_messages()

    assert [(m.id_message, m.type_message) for m in journal] == [
        (poll.id_message, "pollMessage"),
        (where.id_message, "locationMessage"),
        (upload.id_message, "documentMessage"),
        (url.id_message, "imageMessage"),
        (text.id_message, "textMessage"),
    ]
    assert {(m.type, m.chat_id, m.send_by_api, m.timestamp) for m in journal} == {
        ("outgoing", CHAT, True, int(T0))
    }
    item = {m.id_message: m for m in journal}
    assert item[text.id_message].text_message == "hi"
    sent_url = item[url.id_message]
    assert (sent_url.download_url, sent_url.caption, sent_url.file_name) == (
        "https://example.com/a.jpg",
        "look",
        "a.jpg",
    )
    sent_upload = item[upload.id_message]
    assert (sent_upload.caption, sent_upload.file_name) == ("the report", "report.pdf")
    assert (sent_upload.download_url or "").endswith("report.pdf")


async def test_the_journal_keeps_each_send_time_and_minutes_reach_back(
    tg: AsyncGreenTelegram, wall: FakeClock
) -> None:
    early = await tg.sending.send_message(CHAT, "early")
    wall.advance(600)
    late = await tg.sending.send_message(CHAT, "late")

    recent = await tg.journals.last_outgoing_messages(minutes=5)
    day = await tg.journals.last_outgoing_messages()

    assert [m.id_message for m in recent] == [late.id_message]
    assert [(m.id_message, m.timestamp) for m in day] == [
        (late.id_message, int(T0) + 600),
        (early.id_message, int(T0)),
    ]


async def test_chat_history_and_get_message_serve_the_sent_messages(
    tg: AsyncGreenTelegram,
) -> None:
    sent = await tg.sending.send_message(CHAT, "hello")
    await tg.sending.send_message("20000000", "elsewhere")

    history = await tg.journals.get_chat_history(CHAT)
    one = await tg.journals.get_message(CHAT, sent.id_message)

    assert [(m.id_message, m.text_message) for m in history] == [
        (sent.id_message, "hello")
    ]
    assert (one.type, one.text_message, one.send_by_api) == ("outgoing", "hello", True)


# -- the sending queue --


async def test_a_held_send_waits_in_the_queue_until_the_fakes_clock_releases_it(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI, clock: FakeClock, wall: FakeClock
) -> None:
    fake.hold_sends(30)
    sent = await tg.sending.send_message(CHAT, "later")

    queued = await tg.queues.show_messages_queue()
    assert [(q.id_message, q.type, dict(q.body)) for q in queued] == [
        (sent.id_message, "sendMessage", {"chatId": CHAT, "message": "later"})
    ]
    assert await tg.queues.get_messages_count() == 1
    assert await tg.journals.last_outgoing_messages() == []
    assert fake.sent_texts() == []

    clock.advance(29)
    assert len(await tg.queues.show_messages_queue()) == 1
    clock.advance(1)
    wall.advance(30)
    assert await tg.queues.show_messages_queue() == []
    journal = await tg.journals.last_outgoing_messages()
    assert [(m.id_message, m.timestamp) for m in journal] == [
        (sent.id_message, int(T0) + 30)
    ]
    assert fake.sent_texts() == ["later"]


async def test_a_send_held_without_a_time_waits_for_release_sends(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI, clock: FakeClock
) -> None:
    fake.hold_sends()
    first = await tg.sending.send_message(CHAT, "one")
    second = await tg.sending.send_file_by_url(CHAT, "https://x.example/b.png", "b.png")
    clock.advance(86_400)
    queued = await tg.queues.show_messages_queue()
    assert [(q.id_message, q.type) for q in queued] == [
        (first.id_message, "sendMessage"),
        (second.id_message, "sendFileByUrl"),
    ]

    assert fake.release_sends() == [first.id_message, second.id_message]

    assert await tg.queues.show_messages_queue() == []
    journal = await tg.journals.last_outgoing_messages()
    assert [m.id_message for m in journal] == [second.id_message, first.id_message]
    after = await tg.sending.send_message(CHAT, "not held any more")
    assert fake.sent_messages()[-1]["idMessage"] == after.id_message


async def test_an_upload_is_queued_as_send_file_by_url_without_the_file(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    fake.hold_sends()
    await tg.sending.send_file_by_upload(CHAT, b"abc", file_name="a.txt", caption="c")

    (queued,) = await tg.queues.show_messages_queue()

    assert queued.type == "sendFileByUrl"
    assert dict(queued.body) == {"chatId": CHAT, "fileName": "a.txt", "caption": "c"}


async def test_clearing_the_queue_drops_held_sends_for_good(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI, clock: FakeClock
) -> None:
    fake.hold_sends(10)
    await tg.sending.send_message(CHAT, "never")

    await tg.queues.clear_messages_queue()
    clock.advance(60)

    assert fake.release_sends() == []
    assert await tg.journals.last_outgoing_messages() == []
    assert fake.sent_texts() == []


def test_hold_and_fault_arguments_are_checked(fake: FakeGreenAPI) -> None:
    with pytest.raises(ValueError, match="seconds"):
        fake.hold_sends(-1)
    with pytest.raises(ValueError, match="fault"):
        fake.fail_next_send("500")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        fake.fail_next_send("500_after_apply", times=0)


# -- faults --


@pytest.mark.parametrize(
    ("fault", "error", "applied"),
    [
        ("timeout_after_apply", APITimeoutError, True),
        ("disconnect_after_apply", APIConnectionError, True),
        ("500_after_apply", ServerError, True),
        ("500_before_apply", ServerError, False),
    ],
)
async def test_a_send_fault_leaves_the_message_applied_or_not(
    tg: AsyncGreenTelegram,
    fake: FakeGreenAPI,
    fault: str,
    error: type[Exception],
    applied: bool,
) -> None:
    fake.fail_next_send(fault)  # type: ignore[arg-type]
    await tg.account.get_state_instance()  # not a send: the fault waits

    with pytest.raises(error) as raised:
        await tg.sending.send_message(CHAT, "maybe")

    if isinstance(raised.value, APIConnectionError):
        assert raised.value.request_sent
    journal = await tg.journals.last_outgoing_messages()
    assert [m.text_message for m in journal] == (["maybe"] if applied else [])
    assert fake.sent_texts() == (["maybe"] if applied else [])
    after = await tg.sending.send_message(CHAT, "next")  # one fault, one send
    assert fake.sent_messages()[-1]["idMessage"] == after.id_message


async def test_faults_apply_to_the_next_sends_in_order_and_times(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    fake.fail_next_send("500_before_apply", times=2)
    fake.fail_next_send("500_after_apply")

    for _ in range(3):
        with pytest.raises(ServerError):
            await tg.sending.send_location(CHAT, 1.0, 2.0)

    assert [m["method"] for m in fake.sent_messages()] == ["sendLocation"]


async def test_a_held_send_whose_answer_is_lost_is_in_the_queue(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    fake.hold_sends()
    fake.fail_next_send("timeout_after_apply")

    with pytest.raises(APITimeoutError):
        await tg.sending.send_message(CHAT, "queued")

    queued = await tg.queues.show_messages_queue()
    assert [q.body["message"] for q in queued] == ["queued"]


def test_a_refused_send_uses_up_its_fault_and_applies_nothing(
    fake: FakeGreenAPI,
) -> None:
    fake.fail_next_send("500_after_apply")
    url = f"{FAKE_API_URL}/waInstance{fake.id_instance}/sendMessage/{fake.api_token}"

    refused = fake.handle(httpx.Request("POST", url, json={"chatId": CHAT}))
    sent = fake.handle(
        httpx.Request("POST", url, json={"chatId": CHAT, "message": "x"})
    )

    assert (refused.status_code, sent.status_code) == (400, 200)
    assert fake.sent_texts() == ["x"]


def test_minutes_that_are_not_a_number_read_as_the_default_day(
    fake: FakeGreenAPI, wall: FakeClock
) -> None:
    fake.record_send(body={"chatId": CHAT, "message": "m"})
    wall.advance(3600)
    path = f"waInstance{fake.id_instance}/lastOutgoingMessages/{fake.api_token}"

    answer = fake.handle(httpx.Request("GET", f"{FAKE_API_URL}/{path}?minutes=x"))

    assert [item["textMessage"] for item in answer.json()] == ["m"]


async def test_a_forwarded_copy_carries_its_originals_content(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    photo = await tg.sending.send_file_by_url(
        CHAT, "https://example.com/p.png", "p.png", caption="sunset"
    )
    heard = fake.incoming_text(CHAT, "hello there")
    copies = await tg.sending.forward_messages(
        "20000000", CHAT, [photo.id_message, heard["idMessage"], "unknown"]
    )

    journal = await tg.journals.get_chat_history("20000000")

    item = {m.id_message: m for m in journal}
    ids = list(copies.messages)
    assert [m.id_message for m in journal] == ids[::-1]
    assert {m.is_forwarded for m in journal} == {True}
    assert (item[ids[0]].type_message, item[ids[0]].caption) == (
        "imageMessage",
        "sunset",
    )
    assert item[ids[0]].download_url == "https://example.com/p.png"
    assert (item[ids[1]].type_message, item[ids[1]].text_message) == (
        "textMessage",
        "hello there",
    )
    assert (item[ids[2]].type_message, item[ids[2]].text_message) == ("textMessage", "")


async def test_over_asgi_a_lost_answer_is_the_app_raising(fake: FakeGreenAPI) -> None:
    fake.fail_next_send("timeout_after_apply")
    async with AsyncGreenTelegram(
        fake.id_instance,
        fake.api_token,
        api_url=FAKE_API_URL,
        transport=httpx.ASGITransport(app=fake.asgi),
        limits=RateLimits(enabled=False),
    ) as tg:
        with pytest.raises(APITimeoutError):
            await tg.sending.send_message(CHAT, "over ASGI")
    assert fake.sent_texts() == ["over ASGI"]


async def test_history_lists_what_went_out_newest_first(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI
) -> None:
    first = await tg.sending.send_message(CHAT, "one")
    fake.hold_sends()
    await tg.sending.send_message(CHAT, "held")
    second = await tg.sending.send_location(CHAT, 1.0, 2.0)
    fake.release_sends()

    history = fake.history()

    assert [item["idMessage"] for item in history][-1] == first.id_message
    assert [item["typeMessage"] for item in history] == [
        "locationMessage",
        "textMessage",
        "textMessage",
    ]
    assert history[0]["idMessage"] == second.id_message


async def test_a_lagging_journal_shows_a_sent_message_only_later(
    tg: AsyncGreenTelegram, fake: FakeGreenAPI, clock: FakeClock
) -> None:
    fake.lag_journal(20)
    fake.fail_next_send("timeout_after_apply")
    with pytest.raises(APITimeoutError):
        await tg.sending.send_message(CHAT, "went out")

    # Neither queued nor in the journal yet: the window a settle delay covers.
    assert await tg.queues.show_messages_queue() == []
    assert await tg.journals.last_outgoing_messages() == []
    assert await tg.journals.get_chat_history(CHAT) == []
    assert fake.sent_texts() == ["went out"]
    clock.advance(20)
    journal = await tg.journals.last_outgoing_messages()
    assert [m.text_message for m in journal] == ["went out"]
    assert [m.text_message for m in await tg.journals.get_chat_history(CHAT)] == [
        "went out"
    ]


def test_a_journal_lag_must_not_be_negative(fake: FakeGreenAPI) -> None:
    with pytest.raises(ValueError, match="seconds"):
        fake.lag_journal(-1)


async def test_served_a_lost_answer_never_comes_and_a_dropped_one_closes(
    fake: FakeGreenAPI,
) -> None:
    fake.fail_next_send("timeout_after_apply")
    fake.fail_next_send("disconnect_after_apply")
    async with (
        LoopbackServer(fake.handle_async) as server,
        AsyncGreenTelegram(
            fake.id_instance,
            fake.api_token,
            api_url=server.url,
            limits=RateLimits(enabled=False),
        ) as tg,
    ):
        waiting = asyncio.create_task(tg.sending.send_message(CHAT, "lost"))
        async with asyncio.timeout(10):
            while fake.sent_texts() != ["lost"]:  # noqa: ASYNC110 - a condition
                await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()  # applied, and no answer comes
        waiting.cancel()  # as a bot killed while its answer is on the wire
        await asyncio.gather(waiting, return_exceptions=True)
        with pytest.raises(APIConnectionError) as dropped:
            await tg.sending.send_message(CHAT, "dropped")
    assert dropped.value.request_sent
    assert fake.sent_texts() == ["lost", "dropped"]
