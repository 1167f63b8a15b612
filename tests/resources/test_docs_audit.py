"""What the stored GREEN-API Telegram pages say, applied (issue 28 §4).

readChat takes only chatId; editMessage's limit is the page's 4069
characters; forwardMessages takes typingTime and never fails on an answer
it cannot read (the forward happened); archiveChat/unarchiveChat raise the
page's 400 when the chat is already in that state.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import AsyncGreenTelegram, BadRequestError
from green_tg_async.resources import ReadMark, Sending, Service
from tests.helpers import API_TOKEN


async def test_read_chat_sends_only_the_chat(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/readChat/{API_TOKEN}").respond(json={"setRead": True})
    assert (await client.read_mark.read_chat("10000000")).ok
    assert json.loads(route.calls.last.request.content) == {"chatId": "10000000"}


async def test_read_chat_takes_no_message_id(client: AsyncGreenTelegram) -> None:
    read_chat: Any = client.read_mark.read_chat  # idMessage is WhatsApp's
    with pytest.raises(TypeError, match="id_message"):
        await read_chat("10000000", id_message="1769676078000")
    assert "idMessage" in (ReadMark.read_chat.__doc__ or "")


async def test_edit_message_takes_the_pages_4069_characters(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/editMessage/{API_TOKEN}").respond(json={"idMessage": "2"})
    await client.service.edit_message("1", "2", "x" * 4069)
    with pytest.raises(ValueError, match="limit is 4069"):
        await client.service.edit_message("1", "2", "x" * 4070)
    assert route.call_count == 1
    assert "4069" in (Service.edit_message.__doc__ or "")


async def test_forward_messages_takes_typing_time(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/forwardMessages/{API_TOKEN}").respond(json={"messages": ["11"]})
    forwarded = await client.sending.forward_messages(
        "10000000", "20000000", ["7"], typing_time=3000
    )
    assert forwarded.messages == ("11",)
    assert json.loads(route.calls.last.request.content) == {
        "chatId": "10000000",
        "chatIdFrom": "20000000",
        "messages": ["7"],
        "typingTime": 3000,
    }
    with pytest.raises(ValueError, match="typing_time"):
        await client.sending.forward_messages("1", "2", ["7"], typing_time=999)
    assert route.call_count == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"messages": [{}]}),
        httpx.Response(200, json={"messages": "11"}),
        httpx.Response(200, json={"idMessage": "11"}),
        httpx.Response(200, json=["11"]),
        httpx.Response(200),
        httpx.Response(200, text="<html>ok</html>"),
    ],
    ids=["item", "text", "send-shape", "array", "empty", "not-json"],
)
async def test_a_forward_that_happened_never_raises_a_decode_error(
    client: AsyncGreenTelegram, api: respx.MockRouter, answer: httpx.Response
) -> None:
    api.post(f"/forwardMessages/{API_TOKEN}").mock(return_value=answer)
    forwarded = await client.sending.forward_messages("1", "2", ["7"])
    assert forwarded.messages == ()
    assert "typingTime" in (Sending.forward_messages.__doc__ or "")


@pytest.mark.parametrize(
    ("method", "text"),
    [
        ("archiveChat", "archiveChatError: chat with id 1 already archive=true"),
        ("unarchiveChat", "unarchiveChatError: chat with id 1 already archive=false"),
    ],
)
async def test_archiving_a_chat_already_in_that_state_raises_the_pages_400(
    client: AsyncGreenTelegram, api: respx.MockRouter, method: str, text: str
) -> None:
    api.post(f"/{method}/{API_TOKEN}").respond(400, text=text)
    call = (
        client.service.archive_chat
        if method == "archiveChat"
        else client.service.unarchive_chat
    )
    with pytest.raises(BadRequestError) as info:
        await call("1")
    assert info.value.body == text
    doc = getattr(Service, call.__name__).__doc__ or ""
    assert "already" in doc
    assert "BadRequestError" in doc


def test_send_poll_says_what_the_page_says() -> None:
    doc = " ".join((Sending.send_poll.__doc__ or "").split())
    assert "anonymous by default" in doc
    assert "Non-anonymous polls cannot go to channels" in doc
    assert "array of strings" in doc
    assert '[{"optionName": ...}]' in doc
