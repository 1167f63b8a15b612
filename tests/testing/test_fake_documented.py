"""The fake follows the Telegram pages where they are explicit (issue 28 §4).

readChat takes only `chatId`; sendPoll takes the options in both documented
shapes (the page's array of strings, the SDKs' `[{"optionName": ...}]`);
`chatType` takes the documented values, not `group` for every negative id.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from green_tg_async import RateLimits
from green_tg_async.testing import FakeGreenAPI


async def _post(
    fake: FakeGreenAPI, method: str, body: dict[str, Any]
) -> httpx.Response:
    url = f"https://fake/waInstance{fake.id_instance}/{method}/{fake.api_token}"
    async with httpx.AsyncClient(transport=fake.transport) as http:
        return await http.post(url, json=body)


async def test_read_chat_takes_only_the_chat() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    ok = await _post(fake, "readChat", {"chatId": "10000000"})
    assert (ok.status_code, ok.json()) == (200, {"setRead": True})
    refused = await _post(
        fake, "readChat", {"chatId": "10000000", "idMessage": "1769676078000"}
    )
    assert refused.status_code == 400
    body = refused.json()
    assert set(body) == {"statusCode", "timestamp", "path", "message"}  # the page's
    assert body["statusCode"] == 400
    assert "'idMessage'" in body["message"]


@pytest.mark.parametrize(
    "options",
    [
        ["green", "red", "blue"],  # the Telegram page's table
        [{"optionName": "green"}, {"optionName": "red"}],  # the official SDKs
    ],
    ids=["strings", "optionName"],
)
async def test_send_poll_takes_both_documented_shapes(options: list[Any]) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    body = {"chatId": "-10000000000000", "message": "Colour?", "options": options}
    answer = await _post(fake, "sendPoll", body)
    assert answer.status_code == 200
    assert [item["method"] for item in fake.sent_messages()] == ["sendPoll"]
    assert fake.sent_messages()[0]["idMessage"] == answer.json()["idMessage"]


@pytest.mark.parametrize(
    "options",
    [
        ["only one"],
        [1, 2],
        [{"name": "a"}, {"name": "b"}],
        "green,red",
        [str(n) for n in range(13)],
    ],
    ids=["one", "ints", "other-key", "text", "thirteen"],
)
async def test_send_poll_refuses_other_options(options: Any) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    body = {"chatId": "-10000000000000", "message": "Colour?", "options": options}
    answer = await _post(fake, "sendPoll", body)
    assert answer.status_code == 400
    assert "'options'" in answer.json()["message"]
    assert fake.sent_messages() == []


CHATS = {
    "10000000": "user",
    "-123456789": "group",
    "-1001234567890": "supergroup",
    "-1009876543210": "channel",  # registered: ids alone cannot tell
    "20000000": "bot",  # registered
}


async def test_chat_types_are_the_documented_values() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    fake.chat_types.update({"-1009876543210": "channel", "20000000": "bot"})
    async with fake.client(limits=RateLimits(enabled=False)) as tg:
        for chat in CHATS:
            await tg.sending.send_message(chat, "hi")
            fake.incoming_text(chat, "hello")
        chats = {c.chat_id: c.type for c in await tg.service.get_chats()}
        outgoing = {
            m.chat_id: m.chat_type for m in await tg.journals.last_outgoing_messages()
        }
        incoming = {
            m.chat_id: m.chat_type for m in await tg.journals.last_incoming_messages()
        }
        info = await tg.service.get_contact_info("20000000")
    notified = {
        body["senderData"]["chatId"]: body["senderData"]["chatType"]
        for body in fake.received
    }
    assert chats == outgoing == incoming == notified == CHATS
    assert info.chat_type == "bot"


def test_incoming_files_carry_the_documented_chat_type() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    fake.chat_types["-1009876543210"] = "channel"
    channel = fake.incoming_file(-1009876543210, "report.pdf")
    group = fake.incoming_file(-123456789, "photo.jpg", chat_type="group")
    assert channel["senderData"]["chatType"] == "channel"
    assert group["senderData"]["chatType"] == "group"
