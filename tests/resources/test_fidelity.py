"""Issue 19 §3: requests and answers as the Telegram docs document them."""

from __future__ import annotations

import json
import logging

import pytest
import respx

from green_tg_async import (
    APIError,
    AsyncGreenTelegram,
    AuthenticationError,
    NotFoundError,
)
from green_tg_async.resources.service import Service
from tests.helpers import API_TOKEN
from tests.test_partner import PARTNER_TOKEN, URL, _partner


async def test_set_settings_takes_poll_message_webhook(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/setSettings/{API_TOKEN}").respond(json={"saveSettings": True})
    await client.account.set_settings(incoming_webhook=True, poll_message_webhook=True)
    assert json.loads(route.calls.last.request.content) == {
        "incomingWebhook": "yes",
        "pollMessageWebhook": "yes",
    }


@pytest.mark.parametrize("answer", [{"leaveGroup": True}, {"removeAdmin": True}])
async def test_leave_group_reads_both_documented_answers(
    client: AsyncGreenTelegram, api: respx.MockRouter, answer: dict[str, bool]
) -> None:
    api.post(f"/leaveGroup/{API_TOKEN}").respond(json=answer)
    result = await client.groups.leave_group("-100123")
    assert result.ok is True
    assert bool(result)


async def test_leave_group_refused_is_not_ok(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/leaveGroup/{API_TOKEN}").respond(json={"leaveGroup": False})
    assert (await client.groups.leave_group("-100123")).ok is False


async def test_send_poll_takes_typing_time_and_type(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/sendPoll/{API_TOKEN}").respond(json={"idMessage": "1"})
    await client.sending.send_poll(
        "10000000", "Q?", ["a", "b"], typing_time=2000, typing_type="text"
    )
    assert json.loads(route.calls.last.request.content) == {
        "chatId": "10000000",
        "message": "Q?",
        "options": [{"optionName": "a"}, {"optionName": "b"}],
        "typingTime": 2000,
        "typingType": "text",
    }
    with pytest.raises(ValueError, match="typing_time"):
        await client.sending.send_poll("1", "Q?", ["a", "b"], typing_time=10)


@pytest.mark.parametrize(
    ("code", "error"), [(401, AuthenticationError), (404, NotFoundError)]
)
async def test_update_api_token_failures_in_a_200_map_to_their_class(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    code: int,
    error: type[Exception],
) -> None:
    api.get(f"/updateApiToken/{API_TOKEN}").respond(
        json={"code": code, "description": "Unauthorized"}
    )
    with pytest.raises(error, match="Unauthorized"):
        await client.account.update_api_token()


@pytest.mark.parametrize(
    ("verb", "method", "call"),
    [
        ("GET", "getInstances", lambda p: p.get_instances()),
        ("POST", "createInstance", lambda p: p.create_instance(name="x")),
        ("POST", "deleteInstanceAccount", lambda p: p.delete_instance_account(1)),
    ],
)
@pytest.mark.parametrize(
    ("code", "error"), [(401, AuthenticationError), (404, NotFoundError)]
)
async def test_partner_errors_inside_a_200_raise_their_class(
    verb: str, method: str, call: object, code: int, error: type[APIError]
) -> None:
    with respx.mock() as router:
        router.route(
            method=verb, url=f"{URL}/partner/{method}/{PARTNER_TOKEN}"
        ).respond(json={"code": code, "description": "Instance not found"})
        async with _partner() as partner:
            with pytest.raises(error, match="Instance not found") as info:
                await call(partner)  # type: ignore[operator]
    assert info.value.body == {"code": code, "description": "Instance not found"}


async def test_create_instance_takes_its_own_delay_range() -> None:
    with respx.mock() as router:
        route = router.post(f"{URL}/partner/createInstance/{PARTNER_TOKEN}").respond(
            json={"idInstance": 1101000001, "apiTokenInstance": "t0ken-of-new"}
        )
        async with _partner() as partner:
            with pytest.raises(ValueError, match="500-300000"):
                await partner.create_instance(delay_send_messages_milliseconds=300001)
            await partner.create_instance(delay_send_messages_milliseconds=300000)
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"delaySendMessagesMilliseconds": 300000}


async def test_get_instances_keeps_the_instance_tokens_out_of_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "f4f28aef69414192bb73b878c4862891b5f0856d17864"
    with respx.mock() as router:
        router.get(f"{URL}/partner/getInstances/{PARTNER_TOKEN}").respond(
            json=[{"idInstance": 1101000001, "apiTokenInstance": token}]
        )
        async with _partner() as partner:
            found = await partner.get_instances()
    assert found[0].api_token_instance == token
    with caplog.at_level(logging.DEBUG, logger="green_tg_async"):
        logging.getLogger("green_tg_async").warning("instance token %s", token)
    assert token not in caplog.text


def test_edit_message_says_the_docs_limit() -> None:
    assert "4069" in (Service.edit_message.__doc__ or "")
    assert "4096" in (Service.edit_message.__doc__ or "")


async def test_update_api_token_without_a_token_or_code_is_an_api_error(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/updateApiToken/{API_TOKEN}").respond(json={"description": "odd"})
    with pytest.raises(APIError, match="odd") as info:
        await client.account.update_api_token()
    assert type(info.value) is APIError
