"""Message contents of notifications (`messageData`), one class per `typeMessage`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, TypeAlias

from ._decode import RAW, Id, Phone, WireModel, expect_object, misfit, nested, wire

__all__ = [
    "ContactMessage",
    "DeletedMessage",
    "EditedMessage",
    "ExtendedTextMessage",
    "FileMessage",
    "LocationMessage",
    "MessageContent",
    "PollMessage",
    "QuotedMessage",
    "ReactionMessage",
    "StickerMessage",
    "TextMessage",
    "UnknownMessage",
    "parse_message",
]

_SOURCE: Final = "notification"


@dataclass(frozen=True, slots=True)
class QuotedMessage(WireModel):
    """`messageData.quotedMessage`: the message a reply (or reaction) refers to.

    The Telegram pages do not show its inner fields; these are the ones the
    reaction and WhatsApp pages document. Everything else is in `raw`.
    """

    stanza_id: str | None = wire("stanzaId", Id)
    """Id of the quoted message."""
    participant: str | None = wire("participant", Id)
    """Chat id of the quoted message's author."""
    type_message: str | None = wire("typeMessage", str)
    text_message: str | None = wire("textMessage", str)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True, kw_only=True)
class _Shared(WireModel):
    """What every content type may carry (keyword-only fields)."""

    forwarding_score: int | None = wire("forwardingScore", int)
    """How many times the message was forwarded."""
    is_forwarded: bool | None = wire("isForwarded", bool)
    quoted_message: QuotedMessage | None = None
    """The message this one replies to (`messageData.quotedMessage`), if any."""


@dataclass(frozen=True, slots=True)
class TextMessage(_Shared):
    """`textMessage`: plain text."""

    text_message: str | None = wire("textMessage", str)
    type_message: str = "textMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ExtendedTextMessage(_Shared):
    """`extendedTextMessage`: text with a link preview."""

    text: str | None = wire("text", str)
    description: str | None = wire("description", str)
    title: str | None = wire("title", str)
    preview_type: str | None = wire("previewType", str)
    jpeg_thumbnail: str | None = wire("jpegThumbnail", str)
    thumbnail_url: str | None = wire("thumbnailUrl", str)
    """Link to the preview image."""
    source_id: str | None = wire("sourceId", Id)
    """Ad id (advertising messages only)."""
    type_message: str = "extendedTextMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class FileMessage(_Shared):
    """`imageMessage`, `videoMessage`, `documentMessage` or `audioMessage`."""

    download_url: str | None = wire("downloadUrl", str)
    caption: str | None = wire("caption", str)
    file_name: str | None = wire("fileName", str)
    jpeg_thumbnail: str | None = wire("jpegThumbnail", str)
    mime_type: str | None = wire("mimeType", str)
    type_message: str = "documentMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class StickerMessage(_Shared):
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
class LocationMessage(_Shared):
    """`locationMessage`."""

    latitude: float | None = wire("latitude", float)
    longitude: float | None = wire("longitude", float)
    name_location: str | None = wire("nameLocation", str)
    address: str | None = wire("address", str)
    jpeg_thumbnail: str | None = wire("jpegThumbnail", str)
    type_message: str = "locationMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ContactMessage(_Shared):
    """`contactMessage`: a shared contact card."""

    phone_contact: str | None = wire("phoneContact", Phone)
    """The contact's number, digits only; None when not shared."""
    first_name: str | None = wire("firstName", str)
    last_name: str | None = wire("lastName", str)
    vcard: str | None = wire("vcard", str)
    chat_id: str | None = wire("chatId", Id)
    """The contact's Telegram chat id, when it has one."""
    type_message: str = "contactMessage"
    raw: Mapping[str, Any] = RAW


def _poll_options(items: Any) -> tuple[str, ...]:
    """`pollMessageData.options`: items `{"optionName": ...}` or plain strings."""
    if not isinstance(items, list):
        return ()
    names = (i.get("optionName") if isinstance(i, Mapping) else i for i in items)
    return tuple(name for name in names if isinstance(name, str))


@dataclass(frozen=True, slots=True)
class PollMessage(_Shared):
    """`pollMessage`: a poll and its options."""

    name: str | None = wire("name", str)
    multiple_answers: bool | None = wire("multipleAnswers", bool)
    options: tuple[str, ...] = wire("options", object, decode=_poll_options)
    """Option texts, whether sent as `{"optionName": ...}` or as strings."""
    type_message: str = "pollMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ReactionMessage(_Shared):
    """`reactionMessage`: an emoji reaction to the message `stanza_id`."""

    text: str | None = wire("text", str)
    """The emoji; empty when a reaction was removed."""
    stanza_id: str | None = None
    """Id of the message reacted to."""
    participant: str | None = None
    type_message: str = "reactionMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class EditedMessage(_Shared):
    """`editedMessage`: the message `stanza_id` now reads `text_message`."""

    text_message: str | None = wire("textMessage", str)
    stanza_id: str | None = wire("stanzaId", Id)
    type_message: str = "editedMessage"
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class DeletedMessage(_Shared):
    """`deletedMessage`: the message `stanza_id` was deleted."""

    stanza_id: str | None = wire("stanzaId", Id)
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
    if not isinstance(inner, Mapping):
        misfit(f"{_SOURCE}: {cls.__name__}", container, inner, dict)
        inner = {}
    where, value = f"{_SOURCE}: messageData", obj.get("quotedMessage")
    quoted = nested(_SOURCE, where, "quotedMessage", value, QuotedMessage)
    extra = {"raw": obj, "type_message": kind, "quoted_message": quoted}
    if cls is ReactionMessage and quoted is not None:
        extra.update(stanza_id=quoted.stanza_id, participant=quoted.participant)
    content: Any = replace(cls.from_wire(_SOURCE, inner), **extra)  # type: ignore[type-var]
    return content  # type: ignore[no-any-return]
