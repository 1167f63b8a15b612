"""Models returned by the sending section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._decode import expect_object, require

__all__ = ["SentMessage"]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """Acknowledgement that GREEN-API queued an outgoing message."""

    id_message: str
    """Id assigned by GREEN-API; unique within its chat only."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The decoded JSON exactly as received."""

    @classmethod
    def from_wire(cls, method: str, data: Any) -> SentMessage:
        """Decode an `{"idMessage": ...}` answer of a send method."""
        obj = expect_object(method, data)
        return cls(id_message=require(method, obj, "idMessage", str), raw=obj)
