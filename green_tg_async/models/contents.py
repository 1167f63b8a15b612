"""Message contents of notifications (`messageData`), one class per `typeMessage`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, TypeAlias

from ._decode import RAW, WireModel, expect_object, wire

__all__ = [
    "ContactMessage",
    "DeletedMessage",
    "EditedMessage",
    "ExtendedTextMessage",
    "FileMessage",
    "LocationMessage",
    "MessageContent",
    "PollMessage",
    "ReactionMessage",
    "StickerMessage",
    "TextMessage",
    "UnknownMessage",
    "parse_message",
]

_SOURCE: Final = "notification"


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
