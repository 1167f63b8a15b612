"""Models returned by the service section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._decode import expect_object, require

__all__ = ["AccountCheck"]


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """Whether a phone number or username has a Telegram account (`checkAccount`)."""

    exist: bool
    """True when a Telegram account exists and is visible."""

    chat_id: str | None
    """The chat id to use from now on; None when there is no account."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The decoded JSON exactly as received."""

    @classmethod
    def from_wire(cls, data: Any) -> AccountCheck:
        """Decode a `checkAccount` answer (`{"exist": bool, "chatId": str}`)."""
        obj = expect_object("checkAccount", data)
        exist = require("checkAccount", obj, "exist", bool)
        if exist:
            chat_id: str | None = require("checkAccount", obj, "chatId", str)
        else:  # documented as "", but a missing field means the same
            chat_id = obj.get("chatId") if isinstance(obj.get("chatId"), str) else None
        return cls(exist=exist, chat_id=chat_id or None, raw=obj)
