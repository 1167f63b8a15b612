"""Methods of the "Read mark" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from green_tg_async._types import ChatId
from green_tg_async.models import ActionResult

from . import _validate as check
from ._base import Section, compact

__all__ = ["ReadMark"]


class ReadMark(Section):
    """Mark chats and messages as read."""

    __slots__ = ()

    async def read_chat(
        self, chat_id: ChatId, *, id_message: str | None = None
    ) -> ActionResult:
        """Mark the whole chat read, or only `id_message`. Wraps `POST readChat`.

        Returns:
            The API's `setRead` flag.
        """
        body = compact(
            {
                "chatId": check.chat_id(chat_id),
                "idMessage": None
                if id_message is None
                else check.id_message(id_message),
            }
        )
        return await self._fetch("readChat", ActionResult, flag="setRead", json=body)
