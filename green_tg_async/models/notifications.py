"""Typed notifications: webhook bodies and `receiveNotification` items (spec §13).

`parse_notification()` picks the class from `typeWebhook`, and a message
notification's content class from `messageData.typeMessage`. Types we do not
know, or bodies we cannot read, arrive as `UnknownNotification` /
`UnknownMessage` with `.raw`, never as an error: nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, TypeAlias

from green_tg_async._exceptions import ResponseDecodeError

from ._decode import RAW, WireModel, expect_object, require, wire

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
    "ReactionMessage",
    "SenderData",
    "StateInstanceChanged",
    "StickerMessage",
    "TextMessage",
    "UnknownMessage",
    "UnknownNotification",
    "parse_notification",
]

_SOURCE: Final = "notification"


@dataclass(frozen=True, slots=True)
class InstanceData(WireModel):
    """Which instance sent the notification."""

    id_instance: int | None = wire("idInstance", int)
    wid: str | None = wire("wid", str)
    type_instance: str | None = wire("typeInstance", str)
    """`telegram` for Telegram instances."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class SenderData(WireModel):
    """Chat and sender of a message notification."""

    chat_id: str | None = wire("chatId", str)
    chat_type: str | None = wire("chatType", str)
    """`user`, `group`, `supergroup`, `channel`, `bot`, or a newer value."""
    sender: str | None = wire("sender", str)
    chat_name: str | None = wire("chatName", str)
    sender_name: str | None = wire("senderName", str)
    sender_type: str | None = wire("senderType", str)
    sender_contact_name: str | None = wire("senderContactName", str)
    sender_phone_number: str | None = wire("senderPhoneNumber", str)
    raw: Mapping[str, Any] = RAW


# -- message contents (messageData) -------------------------------------------


@dataclass(frozen=True, slots=True)
class TextMessage(WireModel):
    """`textMessage`: plain text."""

    text_message: str | None = wire("textMessage", str)
    type_message: str = "textMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ExtendedTextMessage(WireModel):
    """`extendedTextMessage`: text with a link preview."""

    text: str | None = wire("text", str)
    description: str | None = wire("description", str)
    title: str | None = wire("title", str)
    preview_type: str | None = wire("previewType", str)
    jpeg_thumbnail: str | None = wire("jpegThumbnail", str)
    forwarding_score: int | None = wire("forwardingScore", int)
    is_forwarded: bool | None = wire("isForwarded", bool)
    type_message: str = "extendedTextMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class FileMessage(WireModel):
    """`imageMessage`, `videoMessage`, `documentMessage` or `audioMessage`."""

    download_url: str | None = wire("downloadUrl", str)
    caption: str | None = wire("caption", str)
    file_name: str | None = wire("fileName", str)
    jpeg_thumbnail: str | None = wire("jpegThumbnail", str)
    mime_type: str | None = wire("mimeType", str)
    type_message: str = "documentMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class StickerMessage(WireModel):
    """`stickerMessage`: `.tgs` animated or `.webp` static sticker."""

    download_url: str | None = wire("downloadUrl", str)
    file_name: str | None = wire("fileName", str)
    jpeg_thumbnail: str | None = wire("jpegThumbnail", str)
    mime_type: str | None = wire("mimeType", str)
    type_message: str = "stickerMessage"
    raw: Mapping[str, Any] = RAW

    @property
    def is_animated(self) -> bool:
        """True for Telegram's animated (`application/x-tgsticker`) stickers."""
        return self.mime_type == "application/x-tgsticker"


@dataclass(frozen=True, slots=True)
class LocationMessage(WireModel):
    """`locationMessage`."""

    latitude: float | None = wire("latitude", float)
    longitude: float | None = wire("longitude", float)
    name_location: str | None = wire("nameLocation", str)
    address: str | None = wire("address", str)
    jpeg_thumbnail: str | None = wire("jpegThumbnail", str)
    type_message: str = "locationMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ContactMessage(WireModel):
    """`contactMessage`: a shared contact card."""

    display_name: str | None = wire("displayName", str)
    vcard: str | None = wire("vcard", str)
    type_message: str = "contactMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class PollMessage(WireModel):
    """`pollMessage`: a poll and its options."""

    name: str | None = wire("name", str)
    multiple_answers: bool | None = wire("multipleAnswers", bool)
    options: tuple[str, ...] = ()
    """Option texts, whether sent as `{"optionName": ...}` or as strings."""
    type_message: str = "pollMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ReactionMessage(WireModel):
    """`reactionMessage`: an emoji reaction to the message `stanza_id`."""

    text: str | None = wire("text", str)
    """The emoji; empty when a reaction was removed."""
    stanza_id: str | None = None
    """Id of the message reacted to."""
    participant: str | None = None
    type_message: str = "reactionMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class EditedMessage(WireModel):
    """`editedMessage`: the message `stanza_id` now reads `text_message`."""

    text_message: str | None = wire("textMessage", str)
    stanza_id: str | None = wire("stanzaId", str)
    type_message: str = "editedMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class DeletedMessage(WireModel):
    """`deletedMessage`: the message `stanza_id` was deleted."""

    stanza_id: str | None = wire("stanzaId", str)
    type_message: str = "deletedMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A message type this version does not model; everything is in `raw`."""

    type_message: str | None
    raw: Mapping[str, Any] = RAW


MessageContent: TypeAlias = (
    TextMessage
    | ExtendedTextMessage
    | FileMessage
    | StickerMessage
    | LocationMessage
    | ContactMessage
    | PollMessage
    | ReactionMessage
    | EditedMessage
    | DeletedMessage
    | UnknownMessage
)

_CONTENTS: Final[Mapping[str, tuple[type[WireModel], str]]] = {
    "textMessage": (TextMessage, "textMessageData"),
    "extendedTextMessage": (ExtendedTextMessage, "extendedTextMessageData"),
    "imageMessage": (FileMessage, "fileMessageData"),
    "videoMessage": (FileMessage, "fileMessageData"),
    "documentMessage": (FileMessage, "fileMessageData"),
    "audioMessage": (FileMessage, "fileMessageData"),
    "stickerMessage": (StickerMessage, "stickerMessageData"),
    "locationMessage": (LocationMessage, "locationMessageData"),
    "contactMessage": (ContactMessage, "contactMessageData"),
    "pollMessage": (PollMessage, "pollMessageData"),
    "reactionMessage": (ReactionMessage, "extendedTextMessageData"),
    "editedMessage": (EditedMessage, "editedMessageData"),
    "deletedMessage": (DeletedMessage, "deletedMessageData"),
}


def parse_message(data: Any) -> MessageContent:
    """Decode `messageData` by its `typeMessage`; unknown types keep `raw`."""
    obj = expect_object(_SOURCE, data)
    kind = obj.get("typeMessage")
    known = _CONTENTS.get(kind) if isinstance(kind, str) else None
    if known is None:
        return UnknownMessage(kind if isinstance(kind, str) else None, raw=obj)
    cls, container = known
    # Stickers were seen in `fileMessageData` too (the WhatsApp container).
    inner = obj.get(container, obj.get("fileMessageData", {}))
    extra: dict[str, Any] = {"raw": obj, "type_message": kind}
    if cls is PollMessage:
        extra["options"] = _poll_options(inner)
    elif cls is ReactionMessage:
        extra.update(_reaction_target(obj.get("quotedMessage")))
    content: Any = replace(cls.from_wire(_SOURCE, inner), **extra)  # type: ignore[type-var]
    return content  # type: ignore[no-any-return]


def _reaction_target(quoted: Any) -> dict[str, str | None]:
    """The reacted-to message (`quotedMessage.stanzaId`) and its author."""
    if not isinstance(quoted, Mapping):
        return {}
    stanza, who = quoted.get("stanzaId"), quoted.get("participant")
    return {
        "stanza_id": stanza if isinstance(stanza, str) else None,
        "participant": who if isinstance(who, str) else None,
    }


def _poll_options(inner: Any) -> tuple[str, ...]:
    items = inner.get("options") if isinstance(inner, Mapping) else None
    if not isinstance(items, list):
        return ()
    names = (i.get("optionName") if isinstance(i, Mapping) else i for i in items)
    return tuple(name for name in names if isinstance(name, str))


# -- notifications (typeWebhook) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageNotification:
    """A message in a chat: received, sent from a phone, or sent by the API."""

    type_webhook: str
    instance_data: InstanceData | None
    timestamp: int | None
    """Unix seconds."""
    id_message: str | None
    """Unique within its chat only."""
    sender_data: SenderData | None
    message: MessageContent
    """The content, by `messageData.typeMessage`."""
    raw: Mapping[str, Any] = RAW

    @property
    def chat_id(self) -> str | None:
        """Shortcut for `sender_data.chat_id`."""
        return self.sender_data.chat_id if self.sender_data else None

    @classmethod
    def from_wire(cls, method: str, data: Any) -> MessageNotification:
        """Decode a message notification body."""
        obj = expect_object(method, data)
        return cls(
            type_webhook=require(method, obj, "typeWebhook", str),
            instance_data=_nested(InstanceData, obj, "instanceData"),
            timestamp=_optional_int(obj, "timestamp"),
            id_message=_optional_str(obj, "idMessage"),
            sender_data=_nested(SenderData, obj, "senderData"),
            message=parse_message(obj.get("messageData", {})),
            raw=obj,
        )


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
class _Envelope(WireModel):
    """What every notification carries: its type, instance and time."""

    type_webhook: str = wire("typeWebhook", str, required=True)
    instance_data: InstanceData | None = wire("instanceData", InstanceData)
    timestamp: int | None = wire("timestamp", int)
    """Unix seconds."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class OutgoingMessageStatus(_Envelope):
    """`outgoingMessageStatus`: delivery status of an outgoing message."""

    chat_id: str | None = wire("chatId", str)
    id_message: str | None = wire("idMessage", str)
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

    Raises `ResponseDecodeError` only when `body` is not a JSON object; an
    unknown or unreadable notification becomes `UnknownNotification`.
    """
    obj = expect_object(_SOURCE, body)
    kind = obj.get("typeWebhook")
    cls = _BODIES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return UnknownNotification(kind if isinstance(kind, str) else None, raw=obj)
    try:
        return cls.from_wire(_SOURCE, obj)  # type: ignore[no-any-return]
    except ResponseDecodeError:
        return UnknownNotification(kind, raw=obj)


def _nested(cls: type[Any], obj: Mapping[str, Any], key: str) -> Any:
    value = obj.get(key)
    return cls.from_wire(_SOURCE, value) if isinstance(value, Mapping) else None


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


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
    def from_wire(cls, data: Any) -> Notification | None:
        """Decode a `receiveNotification` answer; None for an empty queue."""
        if data is None:
            return None
        obj = expect_object("receiveNotification", data)
        receipt = require("receiveNotification", obj, "receiptId", int)
        body = expect_object("receiveNotification", obj.get("body"))
        return cls(receipt_id=receipt, body=parse_notification(body), raw=obj)
