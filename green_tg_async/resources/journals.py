"""Methods of the "Journals" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from green_tg_async._types import ChatId
from green_tg_async.models import HistoryMessage

from . import _validate as check
from ._base import Section, compact

__all__ = ["Journals"]


class Journals(Section):
    """Message history of chats and of the instance."""

    __slots__ = ()

    async def get_chat_history(
        self, chat_id: ChatId, *, count: int | None = None
    ) -> list[HistoryMessage]:
        """Return the chat's latest `count` messages (API default 100), newest first.

        Wraps `POST getChatHistory`.
        """
        body = compact(
            {
                "chatId": check.chat_id(chat_id),
                "count": check.integer(count, "count", low=1),
            }
        )
        return await self._fetch_items("getChatHistory", HistoryMessage, json=body)

    async def get_message(self, chat_id: ChatId, id_message: str) -> HistoryMessage:
        """Return one message of a chat. Wraps `POST getMessage`."""
        body = check.message_ref(chat_id, id_message)
        return await self._fetch("getMessage", HistoryMessage, json=body)

    async def last_incoming_messages(
        self, *, minutes: int | None = None
    ) -> list[HistoryMessage]:
        """Messages received in the last `minutes` (API default 1440).

        Wraps `GET lastIncomingMessages?minutes=`.
        """
        return await self._last("lastIncomingMessages", minutes)

    async def last_outgoing_messages(
        self, *, minutes: int | None = None
    ) -> list[HistoryMessage]:
        """Messages sent in the last `minutes` (API default 1440).

        Wraps `GET lastOutgoingMessages?minutes=`.
        """
        return await self._last("lastOutgoingMessages", minutes)

    async def _last(self, method: str, minutes: int | None) -> list[HistoryMessage]:
        params = compact({"minutes": check.integer(minutes, "minutes", low=1)})
        return await self._fetch_items(method, HistoryMessage, params=params)
