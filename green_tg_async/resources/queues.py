"""Methods of the "Queues" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from typing import Any

from green_tg_async._exceptions import ResponseDecodeError
from green_tg_async.models import ActionResult, QueuedMessage, WebhooksQueueCleared
from green_tg_async.models._decode import coerce, expect_object

from ._base import Reader, Section

__all__ = ["Queues"]


class Queues(Section):
    """The instance's outgoing message queue and its notification queue."""

    __slots__ = ()

    async def show_messages_queue(self) -> list[QueuedMessage]:
        """The messages waiting to be sent (first 500).

        Wraps `GET showMessagesQueue`.
        """
        return await self._fetch_items("showMessagesQueue", QueuedMessage)

    async def get_messages_count(self) -> int:
        """How many messages wait to be sent (refreshed about every 10 s).

        Wraps `GET getMessagesCount`.
        """
        return await self._fetch("getMessagesCount", Reader(_count))

    async def clear_messages_queue(self) -> ActionResult:
        """Drop every message waiting to be sent. Wraps `GET clearMessagesQueue`.

        `ok` is the answer's `isCleared`, None when it does not say.
        """
        return await self._fetch("clearMessagesQueue", ActionResult, flag="isCleared")

    async def get_webhooks_count(self) -> int:
        """How many notifications wait for delivery. Wraps `GET getWebhooksCount`."""
        return await self._fetch("getWebhooksCount", Reader(_count))

    async def clear_webhooks_queue(self) -> WebhooksQueueCleared:
        """Drop every undelivered notification (at most once a minute).

        Wraps `DELETE clearWebhooksQueue`. Too soon after the last call the
        API answers 200 with `is_cleared=False` and `left_time` seconds to
        wait; check `is_cleared`.
        """
        return await self._fetch("clearWebhooksQueue", WebhooksQueueCleared)


def _count(method: str, data: Any) -> int:
    obj = expect_object(method, data)
    # The Russian docs spell the key with a Cyrillic "es"; accept both.
    for key in ("count", "\u0441ount"):
        value = None if obj.get(key) is None else coerce(obj[key], int)
        if isinstance(value, int):
            return value
    raise ResponseDecodeError(f"{method} answer lacks the field 'count'", method=method)
