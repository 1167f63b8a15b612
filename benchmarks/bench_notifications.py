"""Notification throughput: parsing, the webhook app, and iter_notifications.

    python benchmarks/bench_notifications.py --count 20000

Rows: `parse_notification` on a decoded incoming text message (pure CPU);
`WebhookApp` driven straight through its ASGI interface (verify + JSON decode
+ parse + handler, no HTTP server); `iter_notifications` against the fake
over `httpx.MockTransport` (receive + delete per item, limiter off).
GREEN-API delivers about 50 notifications per second per instance (spec §13.7).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from green_tg_async import RateLimits
from green_tg_async.models.notifications import parse_notification
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from green_tg_async.webhooks import WebhookApp

TOKEN = "WebhookT0ken"
BODY: dict[str, Any] = {
    "typeWebhook": "incomingMessageReceived",
    "instanceData": {"idInstance": 4100000001, "wid": "1", "typeInstance": "telegram"},
    "timestamp": 1700000000,
    "idMessage": "1769676078000",
    "senderData": {
        "chatId": "10000000",
        "chatType": "user",
        "sender": "10000000",
        "chatName": "Ann",
        "senderName": "Ann",
    },
    "messageData": {
        "typeMessage": "textMessage",
        "textMessageData": {"textMessage": "hello"},
    },
}


def bench_parse(count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        parse_notification(BODY)
    return count / (time.perf_counter() - started)


async def bench_webhook(count: int) -> float:
    handled = 0

    async def handler(notification: object) -> None:
        nonlocal handled
        handled += 1

    app = WebhookApp(handler, token=TOKEN)
    raw = json.dumps(BODY).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200

    started = time.perf_counter()
    for _ in range(count):
        await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    assert handled == count
    return count / elapsed


async def bench_iter(count: int) -> float:
    fake = FakeGreenAPI(rate_limits=False)
    for _ in range(count + 1):
        fake.enqueue_notification(BODY)
    seen = 0
    async with fake.client(store=MemoryStore(), limits=RateLimits(enabled=False)) as tg:
        started = time.perf_counter()
        async for _item in tg.receiving.iter_notifications():
            seen += 1
            if seen == count + 1:  # the extra one makes the last real one deleted
                break
        elapsed = time.perf_counter() - started
    assert len(fake.queue) == 1
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    args = parser.parse_args()
    rows = [
        ("parse_notification", bench_parse(args.count)),
        ("WebhookApp (ASGI, no server)", asyncio.run(bench_webhook(args.count))),
        (
            "iter_notifications (MockTransport)",
            asyncio.run(bench_iter(args.count // 10)),
        ),
    ]
    print(f"{'path':<38} {'notifications/s':>16}")
    for name, per_second in rows:
        print(f"{name:<38} {per_second:>16,.0f}")


if __name__ == "__main__":
    main()
