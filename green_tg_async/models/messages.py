"""Models returned by the sending section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from green_tg_async._exceptions import ResponseDecodeError

from ._decode import RAW, Id, WireModel, coerce, expect_object, require, wire

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

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
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


@dataclass(frozen=True, slots=True)
class ForwardedMessages:
    """Ids of the forwarded copies (`forwardMessages`), in request order."""

    messages: tuple[str, ...] = wire("messages", Id, many=True, required=True)
    """New `idMessage` of each copy in the destination chat."""
    raw: Mapping[str, Any] = RAW

    @classmethod
    def from_wire(
        cls, method: str, data: Any, *, flag: str | None = None
    ) -> ForwardedMessages:
        """Decode `{"messages": ["<id>", ...]}` (int ids read as text)."""
        obj = expect_object(method, data)
        ids = [coerce(item, Id) for item in require(method, obj, "messages", list)]
        if not all(isinstance(item, str) for item in ids):
            raise ResponseDecodeError(
                f"{method} answer field 'messages' holds an item that is no id",
                method=method,
            )
        return cls(messages=tuple(ids), raw=obj)


@dataclass(frozen=True, slots=True)
class ContactCard:
    """A contact to send with `send_contact()`."""

    phone_contact: int
    """Phone number, international digits."""
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
