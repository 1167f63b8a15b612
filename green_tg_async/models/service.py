"""Models returned by the service section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ._decode import RAW, Id, Phone, WireModel, read_model, require, wire

__all__ = ["AccountCheck", "Avatar", "Chat", "ContactInfo"]


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """Whether a phone number or username has a Telegram account (`checkAccount`)."""

    exist: bool = wire("exist", bool, required=True)
    """True when a Telegram account exists and is visible."""

    chat_id: str | None = wire("chatId", Id)
    """The chat id to use from now on; None when there is no account."""

    from_cache: bool | None = wire("fromCache", bool)
    """True: GREEN-API answered from its cache (pass `force=True` to ask live)."""

    raw: Mapping[str, Any] = RAW
    """The decoded JSON exactly as received."""

    @classmethod
    def from_wire(
        cls, method: str, data: Any, *, flag: str | None = None
    ) -> AccountCheck:
        """Decode a `checkAccount` answer (`{"exist": bool, "chatId": str}`).

        `exist` is essential, and so is `chatId` when `exist` is true.
        """
        check = read_model(cls, method, data)
        if check.exist and not check.chat_id:
            require(method, check.raw, "chatId", Id)
        if check.chat_id == "":  # documented as "" without an account
            return replace(check, chat_id=None)
        return check


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

    chat_id: str = wire("chatId", Id, required=True)
    name: str | None = wire("name", str)
    contact_name: str | None = wire("contactName", str)
    type: str | None = wire("type", str)
    """`user`, `group`, `supergroup`, `channel`, `bot`, …"""
    phone_number: str | None = wire("phoneNumber", Phone)
    """Digits only; None when hidden (the server sends `0`) or for a group."""
    username: str | None = wire("username", str)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ContactInfo(WireModel):
    """Details of a personal chat (`getContactInfo`)."""

    chat_id: str | None = wire("chatId", Id)
    name: str | None = wire("name", str)
    contact_name: str | None = wire("contactName", str)
    avatar: str | None = wire("avatar", str)
    chat_type: str | None = wire("chatType", str)
    last_seen: int | None = wire("lastSeen", int)
    """When the user was last online (Unix seconds), if shown."""
    phone_number: str | None = wire("phoneNumber", Phone)
    """Digits only; None when hidden (the server sends `0`) or for a group."""
    username: str | None = wire("username", str)
    is_premium: bool | None = wire("isPremium", bool)
    is_verified: bool | None = wire("isVerified", bool)
    is_scam: bool | None = wire("isScam", bool)
    description: str | None = wire("description", str)
    raw: Mapping[str, Any] = RAW
