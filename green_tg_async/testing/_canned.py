"""Plausible answers for the methods `FakeGreenAPI` has no special behaviour for.

Each entry takes the fake and the decoded JSON body and returns the answer's
JSON (None for an empty 200), or a 400 `httpx.Response` for a body its page
does not allow. They keep just enough state to be consistent: sends are
recorded and get fresh ids, settings stick, a token rotates.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from . import _shapes as shapes
from ._login import LOGIN_ANSWERS

if TYPE_CHECKING:
    from ._fake import FakeGreenAPI

__all__ = ["CANNED"]

Answer = Callable[["FakeGreenAPI", dict[str, Any]], Any]


def _sent(method: str, **extra: Any) -> Answer:
    return lambda fake, body: {"idMessage": fake.record_send(method, body), **extra}


def _invalid(fake: FakeGreenAPI, method: str, details: str) -> httpx.Response:
    """A 400 in the shape of the ReadChat page's validation error."""
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    return httpx.Response(
        400,
        json={
            "statusCode": 400,
            "timestamp": now.replace("+00:00", "Z"),
            "path": f"/waInstance{fake.id_instance}/{method}/{fake.api_token}",
            "message": f"Validation failed. Details: {details}",
        },
    )


def _read_chat(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    """The Telegram page documents only `chatId` (`idMessage` is WhatsApp's)."""
    extra = sorted(set(body) - {"chatId"})
    if extra:
        return _invalid(fake, "readChat", f"'{extra[0]}' is not allowed")
    return {"setRead": True}


def _poll_option(item: Any) -> bool:
    if isinstance(item, dict):  # the SDKs' shape: {"optionName": "..."}
        return set(item) == {"optionName"} and isinstance(item["optionName"], str)
    return isinstance(item, str)  # the page's table: an array of strings


def _poll(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    """A poll of 2-12 options in either documented shape."""
    options = body.get("options")
    if not (
        isinstance(options, list)
        and 2 <= len(options) <= 12
        and all(_poll_option(item) for item in options)
    ):
        details = "'options' must be 2-12 strings or {optionName} objects"
        return _invalid(fake, "sendPoll", details)
    return {"idMessage": fake.record_send("sendPoll", body)}


def _flag(key: str, **extra: Any) -> Answer:
    return lambda fake, body: {key: True, **extra}


def _settings(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    fake.settings.update(body)
    return {"saveSettings": True}


def _logout(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    fake.state = "notAuthorized"
    return {"isLogout": True}


def _new_token(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    fake.api_token = f"{fake.api_token.split('-r')[0]}-r{len(fake.requests)}"
    return {"apiTokenInstance": fake.api_token}


def _forward(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    """One send per forwarded message, each naming only its original."""
    ids = body.get("messages") or []
    copies = [{**body, "messages": [original]} for original in ids]
    return {"messages": [fake.record_send("forwardMessages", c) for c in copies]}


def _last_outgoing(fake: FakeGreenAPI, query: dict[str, Any]) -> Any:
    try:
        minutes = float(query.get("minutes", 1440))
    except ValueError:
        minutes = 1440.0
    return shapes.outgoing_history(fake, minutes)


def _clear_queue(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    fake.outbox.clear()
    return {"isCleared": True}


def _clear_webhooks(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    fake.queue.clear()
    return {"isCleared": True, "reason": ""}


def _group(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    chat = f"-100{abs(hash(body.get('groupName', ''))) % 10**9}"
    return {"created": True, "chatId": chat, "groupInviteLink": f"https://t.me/+{chat}"}


CANNED: Final[Mapping[str, Answer]] = {
    **LOGIN_ANSWERS,
    "getSettings": lambda fake, body: shapes.settings(fake),
    "setSettings": _settings,
    "reboot": _flag("isReboot"),
    "logout": _logout,
    "getAccountSettings": lambda fake, body: shapes.account_settings(fake),
    "setProfilePicture": _flag(
        "setProfilePicture", urlAvatar="https://fake/avatar", reason=None
    ),
    "updateApiToken": _new_token,
    "sendFileByUpload": _sent("sendFileByUpload", urlFile="https://fake/file"),
    "sendFileByUrl": _sent("sendFileByUrl"),
    "uploadFile": lambda fake, body: {"urlFile": "https://fake/file"},
    "sendLocation": _sent("sendLocation"),
    "sendContact": _sent("sendContact"),
    "sendPoll": _poll,
    "forwardMessages": _forward,
    "downloadFile": lambda fake, body: {"downloadUrl": "https://fake/file"},
    "getChatHistory": shapes.chat_history,
    "getMessage": shapes.message,
    "lastIncomingMessages": lambda fake, body: shapes.incoming_history(fake),
    "lastOutgoingMessages": _last_outgoing,
    "showMessagesQueue": lambda fake, body: shapes.sending_queue(fake),
    "getMessagesCount": lambda fake, body: {"count": len(fake.outbox.held)},
    "clearMessagesQueue": _clear_queue,
    "getWebhooksCount": lambda fake, body: {"count": len(fake.queue)},
    "clearWebhooksQueue": _clear_webhooks,
    "readChat": _read_chat,
    "createGroup": _group,
    "updateGroupName": _flag("updateGroupName"),
    "getGroupData": shapes.group_data,
    "updateGroupSettings": _flag("updateGroupSettings"),
    "addGroupParticipant": _flag("addParticipant"),
    "removeGroupParticipant": _flag("removeParticipant"),
    "setGroupAdmin": _flag("setGroupAdmin"),
    "removeAdmin": _flag("removeAdmin"),
    "setGroupPicture": _flag(
        "setGroupPicture", urlAvatar="https://fake/group", reason=""
    ),
    "leaveGroup": _flag("leaveGroup"),
    "getAvatar": lambda fake, body: {"urlAvatar": ""},
    "getContacts": lambda fake, body: shapes.contacts(fake),
    "getContactInfo": shapes.contact_info,
    "getChats": lambda fake, body: shapes.chats(fake),
    "editMessage": lambda fake, body: {"idMessage": body.get("idMessage", "")},
    "deleteMessage": lambda fake, body: None,
    "sendTyping": lambda fake, body: None,
    "archiveChat": lambda fake, body: None,
    "unarchiveChat": lambda fake, body: None,
    "addContact": _flag("addContact"),
    "editContact": _flag("editContact"),
    "deleteContact": _flag("deleteContact"),
}
