"""Methods of the "Sending" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from green_tg_async._types import ChatId
from green_tg_async.models import SentMessage

from ._base import Section, compact

__all__ = ["Sending"]


class Sending(Section):
    """Send messages. Sends are never repeated after an ambiguous failure."""

    __slots__ = ()

    async def send_message(
        self,
        chat_id: ChatId,
        message: str,
        *,
        quoted_message_id: str | None = None,
        typing_time: int | None = None,
        typing_type: str | None = None,
    ) -> SentMessage:
        """Send a text message to a personal or group chat.

        Wraps `POST sendMessage`.
        Docs: https://green-api.com/en/telegram/docs/api/sending/SendMessage/

        Args:
            chat_id: Telegram chat id (negative for groups), `phone@c.us`, or
                an int.
            message: Text, up to 4096 characters.
            quoted_message_id: Id of a message in the chat to reply to.
            typing_time: Show "typing…" for this many milliseconds (1000-20000)
                before sending.
            typing_type: Which activity to show (`text`, `record_voice_note`, …).
        """
        body = compact(
            {
                "chatId": _chat_id(chat_id),
                "message": _message(message),
                "quotedMessageId": quoted_message_id,
                "typingTime": _typing_time(typing_time),
                "typingType": typing_type,
            }
        )
        data = await self._client._call("sendMessage", json=body)
        return SentMessage.from_wire("sendMessage", data)


_MAX_MESSAGE = 4096


def _chat_id(chat_id: ChatId) -> str:
    if isinstance(chat_id, bool) or not isinstance(chat_id, int | str):
        raise TypeError(
            f"chat_id must be a str or an int, got {type(chat_id).__name__}"
        )
    text = str(chat_id).strip()
    if not text:
        raise ValueError("chat_id is empty")
    return text


def _message(message: str) -> str:
    if not isinstance(message, str):
        raise TypeError(f"message must be a str, got {type(message).__name__}")
    if not message.strip():
        raise ValueError("message is empty")
    if len(message) > _MAX_MESSAGE:
        raise ValueError(
            f"message is {len(message)} characters long; the limit is {_MAX_MESSAGE}"
        )
    return message


def _typing_time(typing_time: int | None) -> int | None:
    if typing_time is None:
        return None
    if isinstance(typing_time, bool) or not isinstance(typing_time, int):
        raise TypeError(f"typing_time must be an int, got {type(typing_time).__name__}")
    if not 1000 <= typing_time <= 20000:
        raise ValueError(f"typing_time must be 1000-20000 ms, got {typing_time}")
    return typing_time
