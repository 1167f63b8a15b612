from __future__ import annotations

import pytest
import respx

from green_tg_async import AsyncGreenTelegram, ResponseDecodeError
from green_tg_async.models import Notification
from green_tg_async.models.notifications import StateInstanceChanged
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import API_TOKEN


async def test_receive_long_polls_with_a_longer_read_timeout(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.get(f"/receiveNotification/{API_TOKEN}").respond(
        200, json={"receiptId": 7, "body": {"typeWebhook": "stateInstanceChanged"}}
    )
    item = await client.receiving.receive_notification(receive_timeout=20)
    assert isinstance(item, Notification)
    assert item.receipt_id == 7
    assert isinstance(item.body, StateInstanceChanged)
    assert item.body.raw == {"typeWebhook": "stateInstanceChanged"}
    assert item.type_webhook == "stateInstanceChanged"
    request = route.calls.last.request
    assert request.url.params["receiveTimeout"] == "20"
    assert request.extensions["timeout"]["read"] == 30.0


async def test_an_empty_queue_is_none_and_delete_uses_the_path(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/receiveNotification/{API_TOKEN}").respond(200, content=b"null")
    route = api.delete(f"/deleteNotification/{API_TOKEN}/7").respond(
        200, json={"result": True}
    )
    assert await client.receiving.receive_notification() is None
    assert await client.receiving.delete_notification(7) is True
    assert route.called


@pytest.mark.parametrize(
    "body", [{"receiptId": "7", "body": {}}, {"receiptId": 7, "body": []}]
)
async def test_bad_notifications_raise(
    client: AsyncGreenTelegram, api: respx.MockRouter, body: object
) -> None:
    api.get(f"/receiveNotification/{API_TOKEN}").respond(200, json=body)
    with pytest.raises(ResponseDecodeError):
        await client.receiving.receive_notification()


async def test_bad_arguments_are_refused(client: AsyncGreenTelegram) -> None:
    with pytest.raises(ValueError, match="5-60"):
        await client.receiving.receive_notification(receive_timeout=61)
    with pytest.raises(TypeError, match="receipt_id"):
        await client.receiving.delete_notification("7")  # type: ignore[arg-type]


async def test_receive_and_delete_against_the_fake() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    receipt = fake.enqueue_notification({"typeWebhook": "incomingMessageReceived"})
    async with fake.client(store=MemoryStore()) as tg:
        item = await tg.receiving.receive_notification()
        assert item is not None
        assert item.receipt_id == receipt
        assert await tg.receiving.delete_notification(receipt) is True
        assert await tg.receiving.receive_notification() is None
        assert await tg.receiving.delete_notification(receipt) is False
