"""Methods of the "Groups" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, Unpack

from green_tg_async._types import ChatId
from green_tg_async.models import ActionResult, CreatedGroup, GroupData, PictureUpdate

from . import _validate as check
from ._base import Reader, Section, camel, compact
from ._files import FileInput, open_file

__all__ = ["GroupSettings", "Groups"]


class GroupSettings(TypedDict, total=False):
    """What members of a group may do (`update_group_settings`)."""

    allow_participants_send_messages: bool
    allow_participants_send_media: bool
    allow_participants_send_polls: bool
    allow_participants_send_other_messages: bool
    allow_participants_add_web_page_previews: bool
    allow_participants_edit_group_settings: bool
    allow_participants_add_members: bool
    allow_participants_pin_messages: bool


class Groups(Section):
    """Telegram groups, addressed by their (negative) chat id.

    Changes answer an `ActionResult`: `ok` is the API's flag and `reason`
    says why a change was refused.
    """

    __slots__ = ()

    async def create_group(
        self,
        group_name: str,
        chat_ids: Sequence[ChatId],
        *,
        type: str | None = None,
        message_auto_delete_time: int | None = None,
    ) -> CreatedGroup:
        """Create a group with the given members. Wraps `POST createGroup`.

        Args:
            group_name: Up to 100 characters.
            chat_ids: Users to add.
            type: `group` or `supergroup` (API default if omitted).
            message_auto_delete_time: Days (0-365) after which messages are
                deleted; 0 turns it off.
        """
        if isinstance(chat_ids, str | int):
            raise TypeError("chat_ids must be a list of chat ids")
        members = [check.chat_id(item, "chat_ids item") for item in chat_ids]
        if not members:
            raise ValueError("chat_ids must name at least one user")
        body = {
            "groupName": check.text(group_name, "group_name", limit=100),
            "chatIds": members,
            "type": check.choice(type, "type", ("group", "supergroup")),
            "messageAutoDeleteTime": check.integer(
                message_auto_delete_time, "message_auto_delete_time", low=0, high=365
            ),
        }
        return await self._fetch("createGroup", CreatedGroup, json=compact(body))

    async def update_group_name(self, chat_id: ChatId, group_name: str) -> ActionResult:
        """Rename a group. Wraps `POST updateGroupName`."""
        body = {
            "chatId": check.chat_id(chat_id),
            "groupName": check.text(group_name, "group_name", limit=100),
        }
        return await self._change("updateGroupName", body)

    async def get_group_data(self, chat_id: ChatId) -> GroupData:
        """Describe a group and its members. Wraps `POST getGroupData`."""
        body = {"chatId": check.chat_id(chat_id)}
        return await self._fetch("getGroupData", GroupData, json=body)

    async def update_group_settings(
        self, chat_id: ChatId, **settings: Unpack[GroupSettings]
    ) -> ActionResult:
        """Change what members may do. Wraps `POST updateGroupSettings`.

        Takes the `GroupSettings` keywords (bools), at least one.
        """
        unknown = sorted(set(settings) - set(GroupSettings.__annotations__))
        if unknown:
            raise TypeError(f"unknown group setting(s): {', '.join(unknown)}")
        flags = compact({camel(k): check.flag(v, k) for k, v in settings.items()})
        if not flags:
            raise ValueError("update_group_settings() needs at least one setting")
        body = {"chatId": check.chat_id(chat_id), **flags}
        return await self._change("updateGroupSettings", body)

    async def add_group_participant(
        self, chat_id: ChatId, participant_chat_id: ChatId
    ) -> ActionResult:
        """Add a user to a group. Wraps `POST addGroupParticipant`."""
        body = _pair(chat_id, participant_chat_id)
        return await self._change("addGroupParticipant", body, flag="addParticipant")

    async def remove_group_participant(
        self, chat_id: ChatId, participant_chat_id: ChatId
    ) -> ActionResult:
        """Remove a user from a group. Wraps `POST removeGroupParticipant`."""
        body = _pair(chat_id, participant_chat_id)
        return await self._change(
            "removeGroupParticipant", body, flag="removeParticipant"
        )

    async def set_group_admin(
        self,
        chat_id: ChatId,
        participant_chat_id: ChatId,
        *,
        permissions: Mapping[str, bool] | None = None,
    ) -> ActionResult:
        """Make a member an admin. Wraps `POST setGroupAdmin`.

        `permissions` maps Telegram admin rights (`can_change_info` or
        `canChangeInfo`, …) to bools; the API's defaults apply if omitted.
        """
        body: dict[str, Any] = _pair(chat_id, participant_chat_id)
        if permissions is not None:
            body["permissions"] = {
                camel(name): check.flag(value, f"permissions[{name!r}]")
                for name, value in permissions.items()
            }
        return await self._change("setGroupAdmin", body)

    async def remove_admin(
        self, chat_id: ChatId, participant_chat_id: ChatId
    ) -> ActionResult:
        """Take admin rights away. Wraps `POST removeAdmin`."""
        body = _pair(chat_id, participant_chat_id)
        return await self._change("removeAdmin", body)

    async def set_group_picture(
        self, chat_id: ChatId, file: FileInput
    ) -> PictureUpdate:
        """Set a group's picture from a JPEG. Wraps `POST setGroupPicture`."""
        fields = {"chatId": check.chat_id(chat_id)}
        with open_file(file, None, default_name="picture.jpg") as (name, handle):
            return await self._fetch(
                "setGroupPicture",
                PictureUpdate,
                flag="setGroupPicture",
                data=fields,
                files={"file": (name, handle, "image/jpeg")},
            )

    async def leave_group(self, chat_id: ChatId) -> ActionResult:
        """Leave a group. Wraps `POST leaveGroup`.

        The API answers `{"leaveGroup": true}`, or `{"removeAdmin": true}` when
        the account was an admin; both read as `ok=True`.
        """
        body = {"chatId": check.chat_id(chat_id)}
        return await self._fetch("leaveGroup", Reader(_left), json=body)

    async def _change(
        self, method: str, body: dict[str, Any], *, flag: str | None = None
    ) -> ActionResult:
        """Post `body`; `ok` is the answer's `flag` key (by default the method)."""
        return await self._fetch(method, ActionResult, flag=flag or method, json=body)


def _left(method: str, data: Any) -> ActionResult:
    was_admin = isinstance(data, Mapping) and "leaveGroup" not in data
    flag = "removeAdmin" if was_admin else "leaveGroup"
    return ActionResult.from_wire(method, data, flag=flag)


def _pair(chat_id: ChatId, participant_chat_id: ChatId) -> dict[str, Any]:
    return {
        "chatId": check.chat_id(chat_id),
        "participantChatId": check.chat_id(participant_chat_id, "participant_chat_id"),
    }
