"""Models returned by the service section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._decode import RAW, WireModel, expect_object, require, wire

__all__ = ["AccountCheck", "Avatar", "Chat", "ContactInfo"]


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


@dataclass(frozen=True, slots=True)
class Avatar(WireModel):
    """A chat's avatar (`getAvatar`)."""

    url_avatar: str | None = wire("urlAvatar", str)
    """Link to the picture; empty or None when there is none."""
    available: bool | None = wire("available", bool)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class Chat(WireModel):
    """One chat of `getChats`, or one contact of `getContacts`."""

    chat_id: str = wire("chatId", str, required=True)
    name: str | None = wire("name", str)
    contact_name: str | None = wire("contactName", str)
    type: str | None = wire("type", str)
    """`user`, `group`, `supergroup`, `channel`, `bot`, …"""
    phone_number: str | None = wire("phoneNumber", str)
    username: str | None = wire("username", str)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ContactInfo(WireModel):
    """Details of a personal chat (`getContactInfo`)."""

    chat_id: str | None = wire("chatId", str)
    name: str | None = wire("name", str)
    contact_name: str | None = wire("contactName", str)
    avatar: str | None = wire("avatar", str)
    chat_type: str | None = wire("chatType", str)
    last_seen: Any = wire("lastSeen", object)
    phone_number: str | None = wire("phoneNumber", str)
    username: str | None = wire("username", str)
    is_premium: bool | None = wire("isPremium", bool)
    is_verified: bool | None = wire("isVerified", bool)
    is_scam: bool | None = wire("isScam", bool)
    description: str | None = wire("description", str)
    raw: Mapping[str, Any] = RAW
