"""Models returned by the groups and contacts sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._decode import FLAG, RAW, Id, WireModel, wire

__all__ = ["ActionResult", "CreatedGroup", "GroupData", "GroupParticipant"]


@dataclass(frozen=True, slots=True)
class ActionResult(WireModel):
    """A change the API confirms with a flag and, on refusal, a reason.

    `{"addParticipant": false, "reason": "..."}` → `ok=False, reason="..."`.
    Read leniently: an odd answer gives `ok=None`, with the answer in `raw`.
    """

    lenient = True

    ok: bool | None = wire(FLAG, bool)
    """The API's flag; None if it sent none (see `reason`)."""
    reason: str | None = wire("reason", str, also=("error",))
    """Why the change was refused, when the API says (`reason` or `error`)."""
    raw: Mapping[str, Any] = RAW

    def __bool__(self) -> bool:
        """True only when the API confirmed the change (`ok is True`)."""
        return self.ok is True

    @classmethod
    def from_message(cls, method: str, data: Any, *, flag: str) -> ActionResult:
        """Like `from_wire`, also reading a `{"message": ...}` refusal (contacts).

        One contacts page spells the key `messsage`; both are read.
        """
        result = cls.from_wire(method, data, flag=flag)
        for key in ("message", "messsage"):
            message = result.raw.get(key)
            if result.ok is None and isinstance(message, str):
                return cls(ok=False, reason=message, raw=result.raw)
        return result


@dataclass(frozen=True, slots=True)
class CreatedGroup(WireModel):
    """A new group (`createGroup`)."""

    created: bool = wire("created", bool, required=True)
    chat_id: str | None = wire("chatId", Id)
    """The group's chat id (negative)."""
    group_invite_link: str | None = wire("groupInviteLink", str)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class GroupParticipant(WireModel):
    """One member of a group (`getGroupData`)."""

    id: str | None = wire("id", Id)
    chat_id: str | None = wire("chatId", Id)
    is_admin: bool | None = wire("isAdmin", bool)
    is_super_admin: bool | None = wire("isSuperAdmin", bool)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class GroupData(WireModel):
    """A group's description and members (`getGroupData`)."""

    chat_id: str | None = wire("chatId", Id)
    owner: str | None = wire("owner", Id)
    subject: str | None = wire("subject", str)
    description: str | None = wire("description", str)
    creation: int | None = wire("creation", int)
    group_invite_link: str | None = wire("groupInviteLink", str)
    is_supergroup: bool | None = wire("isSupergroup", bool)
    is_channel: bool | None = wire("isChannel", bool)
    allow_participants_send_messages: bool | None = wire(
        "allowParticipantsSendMessages", bool
    )
    allow_participants_send_media: bool | None = wire(
        "allowParticipantsSendMedia", bool
    )
    allow_participants_send_polls: bool | None = wire(
        "allowParticipantsSendPolls", bool
    )
    allow_participants_send_other_messages: bool | None = wire(
        "allowParticipantsSendOtherMessages", bool
    )
    allow_participants_add_web_page_previews: bool | None = wire(
        "allowParticipantsAddWebPagePreviews", bool
    )
    allow_participants_edit_group_settings: bool | None = wire(
        "allowParticipantsEditGroupSettings", bool
    )
    allow_participants_add_members: bool | None = wire(
        "allowParticipantsAddMembers", bool
    )
    allow_participants_pin_messages: bool | None = wire(
        "allowParticipantsPinMessages", bool
    )
    participants: tuple[GroupParticipant, ...] = wire(
        "participants", GroupParticipant, many=True
    )
    raw: Mapping[str, Any] = RAW
