from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenTelegram,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    ResponseDecodeError,
    RetryPolicy,
    UnusableReceiptError,
)
from green_tg_async.models import Notification
from green_tg_async.models.notifications import StateInstanceChanged
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FAKE_API_URL, FakeGreenAPI
from tests.helpers import API_TOKEN, ID_INSTANCE, RecordingSleep, make_client


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
    "body", [{"receiptId": "x7", "body": {}}, [{"receiptId": 7}], "queue item"]
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


# -- iter_notifications ---------------------------------------------------------


class Gate(httpx.AsyncBaseTransport):
    """The fake over an async transport; chosen calls hang until cancelled."""

    def __init__(self, fake: FakeGreenAPI, hang: set[str] | None = None) -> None:
        self.fake = fake
        self.hang = hang or set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.split("/")[2]
        if method in self.hang or (
            method == "receiveNotification" and not self.fake.queue
        ):
            await asyncio.Event().wait()  # a long poll that never answers
        await request.aread()
        return self.fake.handle(request)


def _tg(fake: FakeGreenAPI, sleep: RecordingSleep | None = None, **gate: Any) -> Any:
    return make_client(
        api_url=FAKE_API_URL,
        transport=Gate(fake, **gate),
        sleep=sleep or RecordingSleep(),
    )


def _fake(count: int) -> tuple[FakeGreenAPI, list[int]]:
    fake = FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)
    receipts = [
        fake.enqueue_notification({"typeWebhook": "stateInstanceChanged", "n": i})
        for i in range(count)
    ]
    return fake, receipts


def _queued(fake: FakeGreenAPI) -> list[int]:
    return [receipt for receipt, _ in fake.queue]


async def test_iter_deletes_each_item_only_when_the_next_is_asked_for() -> None:
    fake, receipts = _fake(3)
    seen = []
    async with _tg(fake) as tg:
        stream = tg.receiving.iter_notifications(receive_timeout=5)
        async with contextlib.aclosing(stream):
            async for item in stream:
                # Still queued while the consumer works on it.
                assert _queued(fake)[0] == item.receipt_id
                seen.append(item.receipt_id)
                if len(seen) == 3:
                    break
    assert seen == receipts
    # The last one was not asked past, so it stays queued: at least once.
    assert _queued(fake) == [receipts[2]]
    receives = [r for r in fake.requests if r[1] == "receiveNotification"]
    assert len(receives) == 3
    assert [r for r in fake.requests if r[1] == "deleteNotification"] == [
        ("DELETE", "deleteNotification")
    ] * 2


async def test_iter_keeps_an_item_whose_handler_raised() -> None:
    fake, receipts = _fake(2)
    async with _tg(fake) as tg:

        async def consume() -> None:
            stream = tg.receiving.iter_notifications()
            async with contextlib.aclosing(stream):
                async for _item in stream:
                    raise RuntimeError("handler failed")

        with pytest.raises(RuntimeError, match="handler"):
            await consume()
    assert _queued(fake) == receipts


async def test_iter_backs_off_with_jitter_on_errors_then_recovers() -> None:
    fake, receipts = _fake(1)
    fake.fail_next(500, times=4)
    sleep = RecordingSleep()
    async with _tg(fake, sleep) as tg:
        tg._retry = RetryPolicy(
            max_attempts=1, sleep=sleep, initial_delay=1.0, max_delay=3.0
        )
        stream = tg.receiving.iter_notifications()
        async with contextlib.aclosing(stream):
            item = await anext(stream)
    assert item.receipt_id == receipts[0]
    assert len(sleep.delays) == 4
    # The retries' back-off: exponential (1, 2, 4→cap 3, 3) plus up to
    # initial_delay (1 s) of jitter.
    for delay, base in zip(sleep.delays, [1.0, 2.0, 3.0, 3.0], strict=True):
        assert base <= delay <= base + 1.0


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (400, BadRequestError),  # e.g. polling refused while a webhookUrl is set
    ],
)
async def test_iter_stops_on_errors_waiting_cannot_fix(
    status: int, error: type[Exception]
) -> None:
    fake, _ = _fake(1)
    fake.fail_next(status, json={"message": "webhook url is set"})
    sleep = RecordingSleep()
    async with _tg(fake, sleep) as tg:
        with pytest.raises(error):
            async for _item in tg.receiving.iter_notifications():
                pass
    assert sleep.delays == []


async def test_iter_retries_a_failed_delete_and_gives_up_on_a_refused_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, receipts = _fake(3)
    sleep = RecordingSleep()
    async with _tg(fake, sleep) as tg:
        tg._retry = RetryPolicy(max_attempts=1, sleep=sleep)
        stream = tg.receiving.iter_notifications()
        async with contextlib.aclosing(stream):
            await anext(stream)
            fake.fail_next(502)  # the delete of item 1 fails once, then succeeds
            second = await anext(stream)
            assert second.receipt_id == receipts[1]
            assert receipts[0] not in _queued(fake)
            assert len(sleep.delays) == 1
            fake.fail_next(400, json={"message": "bad receipt"})
            with caplog.at_level(logging.WARNING):
                third = await anext(stream)
    assert "could not delete notification" in caplog.text
    # The refused delete left item 2 queued (it comes again later), but the
    # iterator moved on instead of looping on it.
    assert third.receipt_id == receipts[1]


async def test_cancelling_while_polling_leaves_the_queue_consistent() -> None:
    fake, receipts = _fake(1)
    got: list[int] = []
    async with _tg(fake) as tg:

        async def consume() -> None:
            async for item in tg.receiving.iter_notifications():
                got.append(item.receipt_id)

        task = asyncio.create_task(consume())
        for _ in range(50):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # Handled item deleted (the consumer asked for the next one); nothing else.
    assert got == receipts
    assert fake.queue == deque()


async def test_cancelling_during_a_delete_redelivers_instead_of_losing() -> None:
    fake, receipts = _fake(1)
    async with _tg(fake, hang={"deleteNotification"}) as tg:
        stream = tg.receiving.iter_notifications()
        first = await anext(stream)
        task = asyncio.create_task(anext(stream))
        for _ in range(20):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await stream.aclose()
    assert first.receipt_id == receipts[0]
    assert _queued(fake) == receipts  # not deleted: it will come again


async def test_download_file_refuses_bad_ids(client: AsyncGreenTelegram) -> None:
    with pytest.raises(ValueError, match="id_message is empty"):
        await client.receiving.download_file("1", " ")
    with pytest.raises(ValueError, match="5-60"):
        async for _ in client.receiving.iter_notifications(receive_timeout=1):
            pass


class Stop(Exception):
    pass


class StopAfter(RecordingSleep):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    async def __call__(self, seconds: float) -> None:
        await super().__call__(seconds)
        if len(self.delays) >= self.count:
            raise Stop


async def test_iter_waits_out_an_instance_that_is_starting() -> None:
    fake, receipts = _fake(1)
    fake.fail_next(400, json={"message": "instance in starting process try later"})
    sleep = RecordingSleep()
    async with _tg(fake, sleep) as tg:
        tg._retry = RetryPolicy(max_attempts=1, sleep=sleep)
        stream = tg.receiving.iter_notifications()
        item = await anext(stream)
        await stream.aclose()
    assert item.receipt_id == receipts[0]
    assert len(sleep.delays) == 1


async def test_iter_waits_out_a_pause_instead_of_hammering() -> None:
    fake, _ = _fake(1)
    fake.fail_next(469)  # opens the breaker for the whole instance
    sleep = StopAfter(2)
    async with _tg(fake, sleep) as tg:
        tg._retry = RetryPolicy(max_attempts=1, sleep=sleep, initial_delay=0.5)
        with pytest.raises(Stop):
            async for _item in tg.receiving.iter_notifications(max_backoff=120.0):
                pass
    first, second = sleep.delays
    assert 0.5 <= first <= 1.0  # the 469 itself: an ordinary back-off
    assert second == 120.0  # then refused locally: wait (capped) for retry_at
    assert [r[1] for r in fake.requests] == ["receiveNotification"]


async def test_iter_backs_off_on_a_failed_delete_and_stops_on_a_401_there() -> None:
    fake, receipts = _fake(2)
    sleep = RecordingSleep()
    async with _tg(fake, sleep) as tg:
        tg._retry = RetryPolicy(max_attempts=1, sleep=sleep)
        stream = tg.receiving.iter_notifications()
        await anext(stream)
        fake.fail_next(401)
        with pytest.raises(AuthenticationError):
            await anext(stream)
    assert _queued(fake) == receipts


async def test_iter_retries_a_delete_that_never_left() -> None:
    fake, receipts = _fake(2)
    sleep = RecordingSleep()
    gate = Gate(fake)
    attempts = {"n": 0}
    real = gate.handle_async_request

    async def flaky(request: httpx.Request) -> httpx.Response:
        if "deleteNotification" in request.url.path and attempts["n"] == 0:
            attempts["n"] += 1
            raise httpx.ConnectError("refused")
        return await real(request)

    gate.handle_async_request = flaky  # type: ignore[method-assign]
    async with make_client(api_url=FAKE_API_URL, transport=gate, sleep=sleep) as tg:
        tg._retry = RetryPolicy(max_attempts=1, sleep=sleep)
        stream = tg.receiving.iter_notifications()
        await anext(stream)
        second = await anext(stream)
        await stream.aclose()
    assert second.receipt_id == receipts[1]
    assert len(sleep.delays) == 1
    assert _queued(fake) == [receipts[1]]


async def test_issue11_a_long_poll_keeps_the_users_timeouts_and_lengthens_read() -> (
    None
):
    with respx.mock(base_url="https://4100.api.green-api.com") as api:
        route = api.get(url__regex=r"/receiveNotification/").respond(
            200, content=b"null"
        )
        async with make_client(timeout=httpx.Timeout(5.0, connect=2.0)) as tg:
            assert await tg.receiving.receive_notification(receive_timeout=20) is None
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout == {"connect": 2.0, "read": 30.0, "write": 5.0, "pool": 5.0}


# -- queue heads that cannot be read (issue 20 §4.3, issue 21 item 14) ------------


def _poll_answers(api: respx.MockRouter, *answers: bytes) -> respx.Route:
    """receiveNotification answers `answers` in turn, then an empty queue."""
    queue = deque(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=queue.popleft() if queue else b"null")

    return api.get(f"/receiveNotification/{API_TOKEN}").mock(side_effect=answer)


@pytest.mark.parametrize("head", [b'[{"receiptId": 7}]', b'"queue item"', b"42"])
async def test_iter_ends_at_a_queue_item_that_is_not_an_object(
    client: AsyncGreenTelegram, api: respx.MockRouter, head: bytes
) -> None:
    polls = _poll_answers(api, *[head] * 50)
    with pytest.raises(UnusableReceiptError):
        async for _ in client.receiving.iter_notifications(until_empty=True):
            pass
    assert polls.call_count == 1  # never polled again silently


def _deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


async def test_iter_deletes_a_head_nested_too_deeply_and_goes_on(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deep = b'{"receiptId": 77, "body": {"x": ' + _deep(100_000) + b"}}"
    fine = b'{"receiptId": 78, "body": {"typeWebhook": "stateInstanceChanged"}}'
    polls = _poll_answers(api, deep, fine)
    deleted = api.delete(url__regex=r"/deleteNotification/.*").respond(
        200, json={"result": True}
    )
    with caplog.at_level(logging.ERROR, logger="green_tg_async"):
        seen = [
            item.receipt_id
            async for item in client.receiving.iter_notifications(until_empty=True)
        ]
    assert seen == [78]
    assert [c.request.url.path.rsplit("/", 1)[1] for c in deleted.calls] == [
        "77",
        "78",
    ]
    assert polls.call_count == 3
    assert "notification 77 could not be decoded" in caplog.text


async def test_iter_ends_at_a_deep_head_whose_receipt_cannot_be_found(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    # The receipt comes after the body, past what the error keeps of it.
    deep = b'{"body": ' + _deep(100_000) + b', "receiptId": 77}'
    polls = _poll_answers(api, *[deep] * 50)
    with pytest.raises(UnusableReceiptError):
        async for _ in client.receiving.iter_notifications(until_empty=True):
            pass
    assert polls.call_count == 1
