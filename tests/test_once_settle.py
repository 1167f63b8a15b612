"""Settling an ambiguous keyed send: queue, journal, not sent, unknown (issue 31)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx

from green_tg_async import SendOutcomeUnknownError
from tests.helpers import API_TOKEN
from tests.test_once import (
    CHAT,
    JOURNAL,
    QUEUE,
    SEND,
    Outcomes,
    in_fake_time,
    keyed,
    sent,
)


@in_fake_time
async def test_a_lost_answer_is_settled_from_the_journal(
    api: respx.MockRouter,
) -> None:
    route = api.post(SEND).mock(side_effect=httpx.ReadTimeout("lost"))
    api.get(QUEUE).respond(200, json=[])
    api.get(JOURNAL).respond(200, json=[sent("hi", "m1")])
    hook = Outcomes()
    async with keyed(hooks=[hook]) as tg:
        result = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
        again = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert (result.id_message, again.id_message) == ("m1", "m1")
    assert route.call_count == 1
    assert hook.seen == ["journal", "replayed"]


@in_fake_time
async def test_a_500_after_applying_is_settled_from_the_queue(
    api: respx.MockRouter,
) -> None:
    route = api.post(SEND).respond(500, text="oops")
    queued = {"idMessage": "m3", "type": "sendMessage"}
    api.get(QUEUE).respond(
        200,
        json=[
            {**queued, "idMessage": "other", "body": {"chatId": CHAT, "message": "x"}},
            {**queued, "body": {"chatId": CHAT, "message": "hi"}},
        ],
    )
    journal = api.get(JOURNAL).respond(200, json=[])
    hook = Outcomes()
    async with keyed(hooks=[hook]) as tg:
        result = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert result.id_message == "m3"
    assert (route.call_count, journal.call_count) == (1, 0)
    assert hook.seen == ["queue"]


@in_fake_time
async def test_a_500_before_applying_is_sent_again_after_the_delay(
    api: respx.MockRouter,
) -> None:
    route = api.post(SEND)
    route.side_effect = [
        httpx.Response(500, text="oops"),
        httpx.Response(200, json={"idMessage": "m2"}),
    ]
    api.get(QUEUE).respond(200, json=[])
    early = time.time() - 60  # the same text, sent before the intent
    journal = api.get(JOURNAL).respond(200, json=[sent("hi", "m0", at=early)])
    hook = Outcomes()
    loop = asyncio.get_running_loop()
    async with keyed(hooks=[hook]) as tg:
        began = loop.time()
        result = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
        waited = loop.time() - began
    assert result.id_message == "m2"
    assert route.call_count == 2
    assert journal.call_count == 2  # at once, and after settle_delay
    assert waited >= 5.0
    assert hook.seen == ["not_sent"]


@in_fake_time
async def test_unreadable_records_raise_unknown_then_the_next_call_settles(
    api: respx.MockRouter,
) -> None:
    route = api.post(SEND).mock(side_effect=httpx.RemoteProtocolError("dropped"))
    queue = api.get(QUEUE)
    queue.side_effect = [httpx.Response(403, text="no")] + [
        httpx.Response(200, json=[])
    ] * 2
    api.get(JOURNAL).respond(200, json=[sent("hi", "m1")])
    hook = Outcomes()
    async with keyed(hooks=[hook]) as tg:
        with pytest.raises(SendOutcomeUnknownError) as info:
            await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
        assert info.value.idempotency_key == "k"
        assert info.value.status_code == 403
        again = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert again.id_message == "m1"
    assert route.call_count == 1
    assert hook.seen == ["unknown", "journal"]


@in_fake_time
async def test_one_journal_message_settles_one_key(api: respx.MockRouter) -> None:
    route = api.post(SEND)
    route.side_effect = [
        httpx.Response(502, text="bad gateway"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json={"idMessage": "m2"}),
    ]
    api.get(QUEUE).respond(200, json=[])
    api.get(JOURNAL).respond(200, json=[sent("hi", "m1")])
    async with keyed() as tg:
        first = await tg.sending.send_message(CHAT, "hi", idempotency_key="a")
        second = await tg.sending.send_message(CHAT, "hi", idempotency_key="b")
    assert (first.id_message, second.id_message) == ("m1", "m2")
    assert route.call_count == 3


@in_fake_time
async def test_a_second_doubt_is_raised_and_settled_later(
    api: respx.MockRouter,
) -> None:
    api.post(SEND).respond(500, text="oops")
    api.get(QUEUE).respond(200, json=[])
    api.get(JOURNAL).respond(200, json=[])
    async with keyed() as tg:
        with pytest.raises(SendOutcomeUnknownError, match="failed twice"):
            await tg.sending.send_message(CHAT, "hi", idempotency_key="k")


async def test_a_definite_failure_forgets_the_intent(api: respx.MockRouter) -> None:
    route = api.post(SEND)
    route.side_effect = [
        httpx.Response(400, json={"message": "bad"}),
        httpx.Response(200, json={"idMessage": "m1"}),
    ]
    async with keyed() as tg:
        with pytest.raises(Exception, match="400"):
            await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
        result = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert result.id_message == "m1"


@in_fake_time
async def test_an_ambiguous_forward_cannot_be_settled(api: respx.MockRouter) -> None:
    api.post(f"/forwardMessages/{API_TOKEN}").respond(500, text="oops")
    async with keyed() as tg:
        with pytest.raises(SendOutcomeUnknownError, match="could not tell"):
            await tg.sending.forward_messages(CHAT, "20", ["1"], idempotency_key="w")


@in_fake_time
async def test_a_resend_refused_for_good_is_raised_and_forgotten(
    api: respx.MockRouter,
) -> None:
    route = api.post(SEND)
    route.side_effect = [
        httpx.Response(500, text="oops"),
        httpx.Response(400, json={"message": "bad"}),
        httpx.Response(200, json={"idMessage": "m9"}),
    ]
    api.get(QUEUE).respond(200, json=[])
    api.get(JOURNAL).respond(200, json=[])
    async with keyed() as tg:
        with pytest.raises(Exception, match="400"):
            await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
        again = await tg.sending.send_message(CHAT, "hi", idempotency_key="k")
    assert again.id_message == "m9"


@in_fake_time
async def test_files_and_locations_are_matched_in_the_journal(
    api: respx.MockRouter,
) -> None:
    api.post(f"/sendFileByUrl/{API_TOKEN}").mock(side_effect=httpx.ReadTimeout("x"))
    api.post(f"/sendLocation/{API_TOKEN}").mock(side_effect=httpx.ReadTimeout("x"))
    api.get(QUEUE).respond(200, json=[])
    file = {**sent("", "f1"), "typeMessage": "imageMessage", "caption": "look"}
    other = {**file, "idMessage": "f0", "caption": "other"}
    place = {**sent("", "l1"), "typeMessage": "locationMessage"}
    bare = {**file, "idMessage": "f2", "textMessage": None, "caption": None}
    api.get(JOURNAL).respond(200, json=[other, file, place, bare])
    async with keyed() as tg:
        got = await tg.sending.send_file_by_url(
            CHAT, "https://x/a.png", "a.png", caption="look", idempotency_key="f"
        )
        where = await tg.sending.send_location(CHAT, 1.0, 2.0, idempotency_key="l")
        # An item that shows no caption is matched by its type.
        shown = await tg.sending.send_file_by_url(
            CHAT, "https://x/b.png", "b.png", caption="any", idempotency_key="g"
        )
    assert (got.id_message, where.id_message, shown.id_message) == ("f1", "l1", "f2")


@in_fake_time
async def test_a_claimed_journal_message_is_passed_over(api: respx.MockRouter) -> None:
    api.post(SEND).mock(side_effect=httpx.ReadTimeout("x"))
    api.get(QUEUE).respond(200, json=[])
    api.get(JOURNAL).respond(200, json=[sent("hi", "m1"), sent("hi", "m2")])
    async with keyed() as tg:
        first = await tg.sending.send_message(CHAT, "hi", idempotency_key="a")
        second = await tg.sending.send_message(CHAT, "hi", idempotency_key="b")
    assert (first.id_message, second.id_message) == ("m1", "m2")


@in_fake_time
async def test_a_queued_message_settles_one_key(api: respx.MockRouter) -> None:
    route = api.post(SEND)
    route.side_effect = [
        httpx.Response(500, text="oops"),
        httpx.Response(500, text="oops"),
        httpx.Response(200, json={"idMessage": "m2"}),
    ]
    body = {"chatId": CHAT, "message": "hi"}
    api.get(QUEUE).respond(
        200, json=[{"idMessage": "q1", "type": "sendMessage", "body": body}]
    )
    api.get(JOURNAL).respond(200, json=[])
    async with keyed() as tg:
        first = await tg.sending.send_message(CHAT, "hi", idempotency_key="a")
        second = await tg.sending.send_message(CHAT, "hi", idempotency_key="b")
    assert (first.id_message, second.id_message) == ("q1", "m2")
