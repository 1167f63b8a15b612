from __future__ import annotations

import json

import pytest
import respx

from green_tg_async import AccountCheck, AsyncGreenTelegram, ResponseDecodeError
from tests.helpers import API_TOKEN


async def test_check_account_sends_the_number_as_an_int(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/checkAccount/{API_TOKEN}").respond(
        200, json={"exist": True, "chatId": "10000000"}
    )

    found = await client.service.check_account("+7 987 654-32-10")

    assert found == AccountCheck(exist=True, chat_id="10000000")
    assert found.raw == {"exist": True, "chatId": "10000000"}
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"phoneNumber": 79876543210}


async def test_check_account_force_and_username(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/checkAccount/{API_TOKEN}").respond(
        200, json={"exist": False, "chatId": ""}
    )

    missing = await client.service.check_account(username="durov", force=True)

    assert missing.exist is False
    assert missing.chat_id is None
    assert json.loads(route.calls.last.request.content) == {
        "username": "@durov",
        "force": True,
    }


@pytest.mark.parametrize(
    "args",
    [
        ("79876abc",),
        ("",),
        ("123",),
        ("1234567890123456",),
        (-79876543210,),
    ],
)
async def test_bad_numbers_are_refused_before_any_request(
    client: AsyncGreenTelegram, api: respx.MockRouter, args: tuple[object]
) -> None:
    with pytest.raises(ValueError, match="phone number"):
        await client.service.check_account(*args)  # type: ignore[arg-type]
    assert not api.calls


async def test_exactly_one_subject_is_required(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    with pytest.raises(TypeError, match="exactly one"):
        await client.service.check_account()
    with pytest.raises(TypeError, match="exactly one"):
        await client.service.check_account(79876543210, username="@durov")
    assert not api.calls


@pytest.mark.parametrize(
    "body",
    [{"chatId": "1"}, {"exist": "yes", "chatId": "1"}, {"exist": True}, [1, 2]],
)
async def test_answers_without_the_promised_fields_raise(
    client: AsyncGreenTelegram, api: respx.MockRouter, body: object
) -> None:
    api.post(f"/checkAccount/{API_TOKEN}").respond(200, json=body)
    with pytest.raises(ResponseDecodeError, match="checkAccount"):
        await client.service.check_account(79876543210)


async def test_a_missing_chat_id_on_a_missing_account_is_none(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/checkAccount/{API_TOKEN}").respond(200, json={"exist": False})
    assert (await client.service.check_account(79876543210)).chat_id is None
