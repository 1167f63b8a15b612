"""Issue 10, items 1, 2, 13, 17 and 20: answers that are odd, absurd or hostile."""

from __future__ import annotations

import contextlib

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenTelegram,
    BadRequestError,
    CircuitOpenError,
    ContactInfoLimitError,
    ResponseDecodeError,
    ServerError,
)
from green_tg_async._classify import error_for_response
from green_tg_async.models.notifications import UnknownNotification
from green_tg_async.webhooks import WebhookApp
from tests.helpers import API_TOKEN, RecordingSleep, make_client

BOMB = b"[" * 3000 + b"]" * 3000


def _check(api: respx.MockRouter) -> respx.Route:
    return api.post(f"/checkAccount/{API_TOKEN}")


@pytest.mark.parametrize(
    "reason",
    [
        "User  get contact info limit reached",  # double space
        "User\tget contact info limit reached",
        "User get contact\ninfo limit reached",
        "  USER GET CONTACT INFO LIMIT REACHED. ",
        "user get contact info limit reached, try later",
    ],
)
async def test_item1_a_200_body_469_with_odd_spacing_pauses(
    client: AsyncGreenTelegram, api: respx.MockRouter, reason: str
) -> None:
    route = _check(api).respond(200, json={"status": False, "reason": reason})
    with pytest.raises(ContactInfoLimitError):
        await client.service.check_account(79876543210)
    assert (await client.breaker.state()).is_open
    with pytest.raises(CircuitOpenError):
        await client.service.check_account(79876543211)
    assert route.call_count == 1


async def test_item1_other_status_false_reasons_are_not_a_469(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    _check(api).respond(200, json={"status": False, "reason": "something else"})
    with pytest.raises(ResponseDecodeError):
        await client.service.check_account(79876543210)
    assert not (await client.breaker.state()).is_open


async def test_item2_a_469_with_an_absurd_body_still_pauses(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    _check(api).respond(469, content=BOMB)
    with pytest.raises(ContactInfoLimitError):
        await client.service.check_account(79876543210)
    assert (await client.breaker.state()).is_open


@pytest.mark.parametrize(
    ("status", "error"),
    [(200, ResponseDecodeError), (400, BadRequestError), (500, ServerError)],
)
async def test_item2_an_absurd_body_is_a_typed_error_not_a_recursion_error(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    status: int,
    error: type[Exception],
) -> None:
    _check(api).respond(status, content=BOMB)
    with pytest.raises(error):
        await client.service.check_account(79876543210)


def test_item2_a_deep_but_parsable_error_body_is_summarised() -> None:
    body = b"[" * 900 + b"]" * 900
    error = error_for_response("checkAccount", httpx.Response(500, content=body))
    assert isinstance(error, ServerError)


def test_item17_a_cut_body_never_ends_with_part_of_the_token() -> None:
    make_client()  # registers API_TOKEN for redaction
    for offset in range(4060, 4100):
        page = "x" * offset + f"/checkAccount/{API_TOKEN} not found"
        error = error_for_response("checkAccount", httpx.Response(404, text=page))
        text = str(error.body)
        assert len(text) <= 4096
        for size in range(4, len(API_TOKEN) + 1):
            assert API_TOKEN[:size] not in text, (offset, size)


async def test_item20_the_webhook_answers_400_to_a_recursion_bomb() -> None:
    calls: list[object] = []

    async def handler(notification: object) -> None:
        calls.append(notification)

    app = WebhookApp(handler, token="hook-token")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hook") as http:
        response = await http.post(
            "/",
            content=b"[" * 100000 + b"]" * 100000,
            headers={"Authorization": "Bearer hook-token"},
        )
    assert response.status_code == 400
    assert calls == []


@pytest.mark.parametrize(
    "item",
    [
        {"receiptId": 1, "body": None},
        {"receiptId": 1, "body": "text"},
        {"receiptId": 1, "body": [1, 2]},
        {"receiptId": 1},
        {"receiptId": "1", "body": {"typeWebhook": "stateInstanceChanged"}},
    ],
)
async def test_item13_a_malformed_queue_head_is_delivered_and_deleted(
    item: dict[str, object],
) -> None:
    sleep = RecordingSleep()
    with respx.mock(base_url="https://4100.api.green-api.com") as api:
        receive = api.get(url__regex=r"/receiveNotification/").respond(200, json=item)
        delete = api.delete(url__regex=r"/deleteNotification/.*/1$").respond(
            200, json={"result": True}
        )
        async with make_client(sleep=sleep) as tg:
            stream = tg.receiving.iter_notifications(receive_timeout=5)
            async with contextlib.aclosing(stream):
                first = await anext(stream)
                await anext(stream)
    assert first.receipt_id == 1
    assert first.raw == item
    if item.get("receiptId") == 1:
        assert isinstance(first.body, UnknownNotification)
    assert delete.call_count == 1
    assert receive.call_count == 2
    assert sleep.delays == []


@pytest.mark.parametrize(
    "item",
    [{"receiptId": "abc", "body": {}}, {"body": {}}, {"receiptId": True, "body": {}}],
)
async def test_item13_an_item_without_a_usable_receipt_ends_the_iteration(
    item: dict[str, object],
) -> None:
    sleep = RecordingSleep()
    with respx.mock(base_url="https://4100.api.green-api.com") as api:
        receive = api.get(url__regex=r"/receiveNotification/").respond(200, json=item)
        async with make_client(sleep=sleep) as tg:
            stream = tg.receiving.iter_notifications(receive_timeout=5)
            async with contextlib.aclosing(stream):
                with pytest.raises(ResponseDecodeError, match="receiptId"):
                    await anext(stream)
    assert receive.call_count == 1
