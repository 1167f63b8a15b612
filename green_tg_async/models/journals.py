"""Models returned by the journals and queues sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Self

from ._decode import RAW, Id, WireModel, read_model, wire

__all__ = ["HistoryMessage", "QueuedMessage", "WebhooksQueueCleared"]


@dataclass(frozen=True, slots=True)
class HistoryMessage(WireModel):
    """One message of a chat's history or of the last-messages journals."""

    id_message: str = wire("idMessage", Id, required=True)
    """Unique within its chat only; pair it with `chat_id`."""
    type: str | None = wire("type", str)
    """`incoming` or `outgoing`."""
    timestamp: int | None = wire("timestamp", int)
    """Unix seconds."""
    type_message: str | None = wire("typeMessage", str)
    """`textMessage`, `imageMessage`, … (the notification message types)."""
    chat_id: str | None = wire("chatId", Id)
    chat_type: str | None = wire("chatType", str)
    sender_id: str | None = wire("senderId", Id)
    sender_name: str | None = wire("senderName", str)
    sender_contact_name: str | None = wire("senderContactName", str)
    """The sender's name in the account's contacts."""
    sender_type: str | None = wire("senderType", str)
    text_message: str | None = wire("textMessage", str)
    download_url: str | None = wire("downloadUrl", str)
    caption: str | None = wire("caption", str)
    file_name: str | None = wire("fileName", str)
    mime_type: str | None = wire("mimeType", str)
    status_message: str | None = wire("statusMessage", str)
    """`delivered` or `read` (outgoing messages only)."""
    send_by_api: bool | None = wire("sendByApi", bool)
    is_forwarded: bool | None = wire("isForwarded", bool)
    forwarding_score: int | None = wire("forwardingScore", int)
    """How many times the message was forwarded."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class QueuedMessage(WireModel):
    """A message waiting in the send queue (`showMessagesQueue`)."""

    id_message: str = wire("idMessage", Id, required=True, also=("messageID",))
    """The queued message's id (`idMessage`, or `messageID` on some pages)."""
    type: str | None = wire("type", str)
    """The method that queued it: `sendMessage`, `sendFileByUrl`, …"""
    body: Mapping[str, Any] = wire("body", dict)
    """The request as queued (`chatId`, `message`, …); `{}` when not given."""
    raw: Mapping[str, Any] = RAW

    @classmethod
    def from_wire(cls, method: str, data: Any, *, flag: str | None = None) -> Self:
        """Decode one queue item (`body` is `{}` when not given)."""
        item = read_model(cls, method, data)
        return replace(item, body=item.body or {})


@dataclass(frozen=True, slots=True)
class WebhooksQueueCleared(WireModel):
    """Answer of `clearWebhooksQueue`; check `is_cleared`.

    Called again too soon, the API answers 200 with `is_cleared=False`,
    `reason="Too many requests"` and `left_time`, the seconds to wait. Read
    leniently: `is_cleared` is None when the answer does not say.
    """

    lenient = True

    is_cleared: bool | None = wire("isCleared", bool)
    reason: str | None = wire("reason", str)
    left_time: int | None = wire("leftTime", int)
    raw: Mapping[str, Any] = RAW
