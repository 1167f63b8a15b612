"""Methods of the "Read mark" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from green_tg_async._types import ChatId
from green_tg_async.models import ActionResult

from . import _validate as check
from ._base import Section

__all__ = ["ReadMark"]


class ReadMark(Section):
    """Mark chats and messages as read."""

    __slots__ = ()

    async def read_chat(self, chat_id: ChatId) -> ActionResult:
        """Mark the messages of a chat read. Wraps `POST readChat`.

        The Telegram ReadChat page documents only `chatId`: the `idMessage`
        of WhatsApp's readChat (mark one message) is not sent, and not taken.

        Returns:
            The API's `setRead` flag.
        """
        body = {"chatId": check.chat_id(chat_id)}
        return await self._fetch("readChat", ActionResult, flag="setRead", json=body)
