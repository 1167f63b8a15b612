from __future__ import annotations

import json

import pytest
import respx

from green_tg_async import AsyncGreenTelegram
from tests.helpers import API_TOKEN


async def test_send_message_sends_wire_names(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/sendMessage/{API_TOKEN}").respond(
        200, json={"idMessage": "1769676078000"}
    )

    sent = await client.sending.send_message(
        -100123, "hi", quoted_message_id="17", typing_time=3000, typing_type="text"
    )

    assert sent.id_message == "1769676078000"
    assert json.loads(route.calls.last.request.content) == {
        "chatId": "-100123",
        "message": "hi",
        "quotedMessageId": "17",
        "typingTime": 3000,
        "typingType": "text",
    }


async def test_send_message_leaves_out_unset_options(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/sendMessage/{API_TOKEN}").respond(200, json={"idMessage": "1"})
    await client.sending.send_message("10000000", "hello")
    assert json.loads(route.calls.last.request.content) == {
        "chatId": "10000000",
        "message": "hello",
    }


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("", "hi"), {}, ValueError, "chat_id is empty"),
        ((True, "hi"), {}, TypeError, "chat_id must be"),
        (("1", "  "), {}, ValueError, "message is empty"),
        (("1", b"hi"), {}, TypeError, "message must be a str"),
        (("1", "x" * 4097), {}, ValueError, "4097 characters"),
        (("1", "hi"), {"typing_time": 999}, ValueError, "1000-20000"),
        (("1", "hi"), {"typing_time": 1.5}, TypeError, "typing_time must be an int"),
    ],
)
async def test_bad_input_is_refused_before_sending(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    args: tuple[object, ...],
    kwargs: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await client.sending.send_message(*args, **kwargs)  # type: ignore[arg-type]
    assert not api.calls
