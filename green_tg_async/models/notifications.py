"""Typed notifications: webhook bodies and `receiveNotification` items (https://green-api.com/en/telegram/docs/api/receiving/notifications-format/).

`parse_notification()` picks the class from `typeWebhook`, and a message
notification's content class from `messageData.typeMessage`. Types we do not
know, or bodies we cannot read, arrive as `UnknownNotification` /
`UnknownMessage` with `.raw`, never as an error: nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from green_tg_async._exceptions import ResponseDecodeError, UnusableReceiptError

from ._decode import DECODING, RAW, Id, Phone, WireModel, coerce, expect_object, wire
from .contents import (
    _SOURCE,
    ContactMessage,
    DeletedMessage,
    EditedMessage,
    ExtendedTextMessage,
    FileMessage,
    LocationMessage,
    MessageContent,
    PollMessage,
    QuotedMessage,
    ReactionMessage,
    StickerMessage,
    TextMessage,
    UnknownMessage,
    parse_message,
)

__all__ = [
    "ContactMessage",
    "DeletedMessage",
    "EditedMessage",
    "ExtendedTextMessage",
    "FileMessage",
    "IncomingMessageReceived",
    "InstanceData",
    "LocationMessage",
    "MessageContent",
    "MessageNotification",
    "Notification",
    "NotificationBody",
    "OutgoingAPIMessageReceived",
    "OutgoingMessageReceived",
    "OutgoingMessageStatus",
    "PollMessage",
    "QuotaData",
    "QuotaExceeded",
    "QuotedMessage",
    "ReactionMessage",
    "SenderData",
    "StateInstanceChanged",
    "StickerMessage",
    "TextMessage",
    "UnknownMessage",
    "UnknownNotification",
    "parse_message",
    "parse_notification",
]


@dataclass(frozen=True, slots=True)
class InstanceData(WireModel):
    """Which instance sent the notification."""

    id_instance: int | None = wire("idInstance", int)
    wid: str | None = wire("wid", Id)
    type_instance: str | None = wire("typeInstance", str)
    """`telegram` for Telegram instances."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class SenderData(WireModel):
    """Chat and sender of a message notification."""

    chat_id: str | None = wire("chatId", Id)
    chat_type: str | None = wire("chatType", str)
    """`user`, `group`, `supergroup`, `channel`, `bot`, or a newer value."""
    sender: str | None = wire("sender", Id)
    chat_name: str | None = wire("chatName", str)
    sender_name: str | None = wire("senderName", str)
    sender_type: str | None = wire("senderType", str)
    sender_contact_name: str | None = wire("senderContactName", str)
    sender_phone_number: str | None = wire("senderPhoneNumber", Phone)
    """Digits only; None when hidden (the server sends `0`)."""
    raw: Mapping[str, Any] = RAW


# -- notifications (typeWebhook) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Envelope(WireModel):
    """What every notification carries: its type, instance and time."""

    type_webhook: str = wire("typeWebhook", str, required=True)
    instance_data: InstanceData | None = wire("instanceData", InstanceData)
    timestamp: int | None = wire("timestamp", int)
    """Unix seconds."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class MessageNotification(_Envelope):
    """A message in a chat: received, sent from a phone, or sent by the API."""

    id_message: str | None = wire("idMessage", Id)
    """Unique within its chat only."""
    sender_data: SenderData | None = wire("senderData", SenderData)
    message: MessageContent = wire("messageData", object, decode=parse_message)
    """The content, by `messageData.typeMessage`."""

    @property
    def chat_id(self) -> str | None:
        """Shortcut for `sender_data.chat_id`."""
        return self.sender_data.chat_id if self.sender_data else None


@dataclass(frozen=True, slots=True)
class IncomingMessageReceived(MessageNotification):
    """`incomingMessageReceived`: a message, file, reaction, edit or delete."""


@dataclass(frozen=True, slots=True)
class OutgoingMessageReceived(MessageNotification):
    """`outgoingMessageReceived`: sent from the phone or another client."""


@dataclass(frozen=True, slots=True)
class OutgoingAPIMessageReceived(MessageNotification):
    """`outgoingAPIMessageReceived`: sent through the API."""


@dataclass(frozen=True, slots=True)
class OutgoingMessageStatus(_Envelope):
    """`outgoingMessageStatus`: delivery status of an outgoing message."""

    chat_id: str | None = wire("chatId", Id)
    id_message: str | None = wire("idMessage", Id)
    status: str | None = wire("status", str)
    """`delivered`, `read`, `failed`, or a newer value."""
    description: str | None = wire("description", str)
    """The error text of a `failed` status."""
    send_by_api: bool | None = wire("sendByApi", bool)


@dataclass(frozen=True, slots=True)
class StateInstanceChanged(_Envelope):
    """`stateInstanceChanged`: the instance's authorization state changed."""

    state_instance: str | None = wire("stateInstance", str)


@dataclass(frozen=True, slots=True)
class QuotaData(WireModel):
    """What quota was hit (`quotaExceeded`)."""

    method: str | None = wire("method", str)
    used: int | None = wire("used", int)
    total: int | None = wire("total", int)
    status: str | None = wire("status", str)
    description: str | None = wire("description", str)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class QuotaExceeded(_Envelope):
    """`quotaExceeded`: the Developer plan's chat quota was hit."""

    quota_data: QuotaData | None = wire("quotaData", QuotaData)


@dataclass(frozen=True, slots=True)
class UnknownNotification:
    """A notification this version cannot model; everything is in `raw`."""

    type_webhook: str | None
    raw: Mapping[str, Any] = RAW


NotificationBody: TypeAlias = (
    IncomingMessageReceived
    | OutgoingMessageReceived
    | OutgoingAPIMessageReceived
    | OutgoingMessageStatus
    | StateInstanceChanged
    | QuotaExceeded
    | UnknownNotification
)

_BODIES: Final[Mapping[str, Any]] = {
    "incomingMessageReceived": IncomingMessageReceived,
    "outgoingMessageReceived": OutgoingMessageReceived,
    "outgoingAPIMessageReceived": OutgoingAPIMessageReceived,
    "outgoingMessageStatus": OutgoingMessageStatus,
    "stateInstanceChanged": StateInstanceChanged,
    "quotaExceeded": QuotaExceeded,
}


def parse_notification(body: Any) -> NotificationBody:
    """Build the typed notification for a webhook body (a decoded JSON object).

    Raises `ResponseDecodeError` only when `body` is not a JSON object. A
    type we do not model, or a body whose essential part is unusable (a
    message without a `messageData` object), becomes `UnknownNotification`;
    any other field that does not fit reads as None (see `models._decode`).
    In strict decoding mode the unusable body raises instead.
    """
    obj = expect_object(_SOURCE, body)
    kind = obj.get("typeWebhook")
    cls = _BODIES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return UnknownNotification(kind if isinstance(kind, str) else None, raw=obj)
    try:
        return cls.from_wire(_SOURCE, obj)  # type: ignore[no-any-return]
    except ResponseDecodeError:
        if DECODING.is_strict:
            raise
        return UnknownNotification(kind, raw=obj)


@dataclass(frozen=True, slots=True)
class Notification:
    """One item of the notification queue; delete it once it is handled."""

    receipt_id: int
    """Pass to `Receiving.delete_notification()` after handling the item."""

    body: NotificationBody
    """The typed notification; `body.raw` is the body exactly as sent."""

    raw: Mapping[str, Any] = RAW
    """The decoded JSON exactly as received."""

    @property
    def type_webhook(self) -> str | None:
        """The notification type (`incomingMessageReceived`, ...), if given."""
        return self.body.type_webhook

    @classmethod
    def from_wire(
        cls, method: str, data: Any, *, flag: str | None = None
    ) -> Notification | None:
        """Decode a `receiveNotification` answer; None for an empty queue.

        A body that is missing or not an object arrives as an
        `UnknownNotification` whose `raw` is the whole item, so it can still
        be deleted. Without a usable `receiptId` the item can be neither
        handled nor deleted: that raises `UnusableReceiptError`.
        """
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise UnusableReceiptError(
                f"{method} answered a queue item that is a "
                f"{type(data).__name__}, not an object; it has no receipt, so it "
                "cannot be deleted and the queue is stuck at it",
                method=method,
            )
        value = data.get("receiptId")
        receipt = None if value is None else coerce(value, int)  # or its digits
        if not isinstance(receipt, int):
            raise UnusableReceiptError(
                f"receiveNotification answered an item whose receiptId is {value!r}; "
                "it cannot be deleted, so the queue is stuck at it",
                method="receiveNotification",
            )
        body = data.get("body")
        if not isinstance(body, Mapping):
            return cls(receipt, UnknownNotification(None, data), data)
        return cls(receipt, parse_notification(body), data)


def receipt_in_text(text: str) -> int | None:
    """The top-level `receiptId` of a queue item's JSON text, without decoding it.

    For an item nested too deeply to decode: the receipt is found by scanning
    the text (strings skipped, depth counted), so the item can still be
    deleted. None when the text is not an object or holds no usable receipt.
    """
    if not text.lstrip().startswith("{"):
        return None
    depth, i, end = 0, 0, len(text)
    while i < end:
        char = text[i]
        if char == '"':
            close = _string_end(text, i)
            if depth == 1 and text[i + 1 : close] == "receiptId":
                found = _RECEIPT_VALUE.match(text, close + 1)
                return None if found is None else int(found.group(1))
            i = close + 1
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        i += 1
    return None


_RECEIPT_VALUE: Final = re.compile(r'\s*:\s*"?(\d+)"?\s*[,}]')


def _string_end(text: str, start: int) -> int:
    """Index of the quote that closes the JSON string opening at `start`."""
    i = start + 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i
