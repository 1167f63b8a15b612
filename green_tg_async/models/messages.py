"""Models returned by the sending section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._decode import RAW, Id, WireModel, coerce, wire

__all__ = [
    "ContactCard",
    "DownloadLink",
    "ForwardedMessages",
    "SentFile",
    "SentMessage",
    "UploadedFile",
]


@dataclass(frozen=True, slots=True)
class SentMessage(WireModel):
    """Acknowledgement that GREEN-API queued an outgoing message."""

    id_message: str = wire("idMessage", Id, required=True)
    """Id assigned by GREEN-API; unique within its chat only."""

    raw: Mapping[str, Any] = RAW
    """The decoded JSON exactly as received."""


@dataclass(frozen=True, slots=True)
class SentFile(WireModel):
    """A queued file message (`sendFileByUpload`)."""

    id_message: str = wire("idMessage", Id, required=True)
    """Id assigned by GREEN-API; unique within its chat only."""
    url_file: str | None = wire("urlFile", str)
    """GREEN-API's stored copy of the file (kept about 24 h)."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class UploadedFile(WireModel):
    """A file stored by GREEN-API (`uploadFile`), for `send_file_by_url()`."""

    url_file: str = wire("urlFile", str, required=True)
    """Where the file is kept (about 24 h)."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class DownloadLink(WireModel):
    """Where to fetch the file of a message (`downloadFile`)."""

    download_url: str = wire("downloadUrl", str, required=True)
    """Link to the file, kept about 24 h."""
    raw: Mapping[str, Any] = RAW


def _ids(items: Any) -> tuple[str, ...]:
    """Every item of `items` read as an id; none unless all of them are ids."""
    ids = [coerce(item, Id) for item in items] if isinstance(items, list) else []
    return tuple(ids) if all(isinstance(item, str) for item in ids) else ()


@dataclass(frozen=True, slots=True)
class ForwardedMessages(WireModel):
    """Ids of the forwarded copies (`forwardMessages`), in request order.

    Read `{"messages": ["<id>", ...]}` (int ids as text), leniently: no
    stored docs page shows this answer and the forward has happened, so
    anything else (another shape, an item that is no id) reads as no ids,
    with the answer in `.raw`, even in strict decoding.
    """

    lenient = True

    messages: tuple[str, ...] = wire("messages", Id, many=True, decode=_ids)
    """New `idMessage` of each copy in the destination chat, as far as known."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ContactCard:
    """A contact to send with `send_contact()`."""

    phone_contact: int
    """Phone number, international digits."""
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
