"""Receive typed notifications by polling, against the built-in fake (no account).

python examples/notifications.py
"""

from __future__ import annotations

import asyncio
import contextlib

from green_tg_async.models.notifications import (
    IncomingMessageReceived,
    OutgoingMessageStatus,
    TextMessage,
)
from green_tg_async.testing import FakeGreenAPI

INSTANCE = {"idInstance": 1101000001, "wid": "1", "typeInstance": "telegram"}


async def main() -> None:
    """Queue two notifications in the fake, then handle them as they come."""
    fake = FakeGreenAPI(rate_limits=False)
    fake.enqueue_notification(
        {
            "typeWebhook": "incomingMessageReceived",
            "instanceData": INSTANCE,
            "timestamp": 1700000000,
            "idMessage": "1",
            "senderData": {"chatId": "10000000", "senderName": "Ann"},
            "messageData": {
                "typeMessage": "textMessage",
                "textMessageData": {"textMessage": "hello"},
            },
        }
    )
    fake.enqueue_notification(
        {"typeWebhook": "outgoingMessageStatus", "idMessage": "2", "status": "read"}
    )
    async with fake.client() as tg:
        stream = tg.receiving.iter_notifications(receive_timeout=5)
        async with contextlib.aclosing(stream):
            async for item in stream:
                body = item.body
                if isinstance(body, IncomingMessageReceived) and isinstance(
                    body.message, TextMessage
                ):
                    print(f"{body.chat_id} says {body.message.text_message!r}")
                elif isinstance(body, OutgoingMessageStatus):
                    print(f"message {body.id_message} is {body.status}")
                if len(fake.queue) == 1:  # the last one: handled, stop polling
                    await tg.receiving.delete_notification(item.receipt_id)
                    break
    print(f"left in the queue: {len(fake.queue)}")


if __name__ == "__main__":
    asyncio.run(main())
