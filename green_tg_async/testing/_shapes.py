"""Answers of `FakeGreenAPI` in the shapes the GREEN-API Telegram docs show.

Phones are JSON integers (0 when hidden or for a group), as on the GetChats,
GetContacts and GetContactInfo pages, so code tested against the fake reads
what production sends. `tests/conformance/test_fake.py` holds each answer
against the documented examples.
"""

from __future__ import annotations

import math
import mimetypes
import time
from typing import TYPE_CHECKING, Any, Final

from green_tg_async.resources._base import camel
from green_tg_async.resources.groups import GroupSettings

if TYPE_CHECKING:
    from ._fake import FakeGreenAPI

__all__ = [
    "FILES_URL",
    "OWN_PHONE",
    "OWN_WID",
    "account_settings",
    "chat_history",
    "chat_type",
    "chat_type_of",
    "chats",
    "contact_info",
    "contacts",
    "group_data",
    "incoming_history",
    "message",
    "outgoing_history",
    "outgoing_item",
    "sending_queue",
    "settings",
]

FILES_URL: Final = "https://files.fake.green-api.invalid"
"""Where the fake's files are (`downloadUrl`s)."""
OWN_PHONE: Final = 79876543210
"""The fake account's own number."""
OWN_WID: Final = f"{OWN_PHONE}@c.us"
_NAME: Final = "Test User"
_SETTINGS: Final = {
    "wid": OWN_WID,
    "typeInstance": "telegram",
    "webhookUrl": "",
    "webhookUrlToken": "",
    "delaySendMessagesMilliseconds": 5000,
    "markIncomingMessagesReaded": "no",
    "markIncomingMessagesReadedOnReply": "no",
    "outgoingWebhook": "yes",
    "outgoingMessageWebhook": "yes",
    "outgoingAPIMessageWebhook": "yes",
    "incomingWebhook": "yes",
    "stateWebhook": "yes",
    "pollMessageWebhook": "yes",
    "editedMessageWebhook": "no",
    "deletedMessageWebhook": "no",
}


def phone_of(fake: FakeGreenAPI, chat_id: str) -> int:
    """The number the fake knows for `chat_id`; 0 (hidden) if it knows none."""
    for subject, chat in fake.accounts.items():
        digits = str(subject)
        if chat == chat_id and digits.isdigit():
            return int(digits)
    return 0


def chat_type_of(chat_id: int | str) -> str:
    """The documented `chatType` a chat id reads as when nothing else is known.

    `-100…` is a supergroup (a channel's id looks the same), another negative
    id a basic group, anything else a user; `channel` and `bot` need telling
    (`FakeGreenAPI.chat_types`).
    """
    chat = str(chat_id)
    if chat.startswith("-100"):
        return "supergroup"
    return "group" if chat.startswith("-") else "user"


def chat_type(fake: FakeGreenAPI, chat_id: str) -> str:
    """The `chatType` of a chat: as registered in `fake.chat_types`, else by id."""
    return fake.chat_types.get(chat_id) or chat_type_of(chat_id)


def settings(fake: FakeGreenAPI) -> dict[str, Any]:
    """`getSettings`: every documented setting, with what was set."""
    return {**_SETTINGS, **fake.settings}


def account_settings(fake: FakeGreenAPI) -> dict[str, Any]:
    """`getAccountSettings`; the phone is text here, "" when not logged in."""
    return {
        "avatar": "",
        "phone": str(OWN_PHONE) if fake.state == "authorized" else "",
        "stateInstance": fake.state,
    }


def outgoing_history(
    fake: FakeGreenAPI, minutes: float = math.inf
) -> list[dict[str, Any]]:
    """Sent messages as journal items, newest first (of the last `minutes`)."""
    now = fake.outbox.wall_time()
    sends = [send for send in reversed(fake.sends) if fake.outbox.shown(send[1])]
    items = [
        outgoing_item(
            method,
            id_message,
            body,
            fake.outbox.sent_at.get(id_message, now),
            chat_type(fake, str(body.get("chatId", ""))),
        )
        for method, id_message, body in sends
    ]
    originals = {item["idMessage"]: item for item in items + incoming_history(fake)}
    for (method, _, body), item in zip(sends, items, strict=True):
        if method == "forwardMessages":
            _copy_content(item, originals.get(str((body.get("messages") or [""])[0])))
    return [item for item in items if item["timestamp"] >= now - minutes * 60]


def incoming_history(fake: FakeGreenAPI) -> list[dict[str, Any]]:
    """Received text messages (as queued) as journal items, newest first."""
    return [_incoming_item(body) for body in reversed(fake.received)]


def _incoming_item(body: dict[str, Any]) -> dict[str, Any]:
    """An incoming message's notification body as its journal item."""
    sender, data = body.get("senderData", {}), body.get("messageData", {})
    return {
        "type": "incoming",
        "idMessage": body.get("idMessage"),
        "timestamp": body.get("timestamp"),
        "typeMessage": data.get("typeMessage"),
        "chatId": sender.get("chatId"),
        "chatType": sender.get("chatType"),
        "senderId": sender.get("sender"),
        "senderName": sender.get("senderName"),
        "senderContactName": sender.get("senderContactName", ""),
        "isForwarded": False,
        "forwardingScore": 0,
        "textMessage": data.get("textMessageData", {}).get("textMessage", ""),
    }


def chat_history(fake: FakeGreenAPI, body: dict[str, Any]) -> list[dict[str, Any]]:
    """`getChatHistory`: the chat's messages, both ways, newest first."""
    chat = str(body.get("chatId", ""))
    both = outgoing_history(fake) + incoming_history(fake)
    mine = [item for item in both if item["chatId"] == chat]
    return mine[: body.get("count", 100)]


def message(fake: FakeGreenAPI, body: dict[str, Any]) -> dict[str, Any]:
    """`getMessage`: the journal item of the message, or a plain incoming one."""
    wanted = str(body.get("idMessage", ""))
    for item in outgoing_history(fake) + incoming_history(fake):
        if item["idMessage"] == wanted:
            return item
    chat = str(body.get("chatId", ""))
    sender = {"chatId": chat, "chatType": chat_type(fake, chat), "sender": chat}
    return _incoming_item(
        {
            "idMessage": wanted,
            "timestamp": int(time.time()),
            "senderData": {**sender, "senderName": _NAME, "senderContactName": _NAME},
            "messageData": {"typeMessage": "textMessage"},
        }
    )


def chats(fake: FakeGreenAPI) -> list[dict[str, Any]]:
    """`getChats`: every chat the fake sent to or received from."""
    seen = [str(body.get("chatId", "")) for _, _, body in fake.sends]
    seen += [str(b.get("senderData", {}).get("chatId", "")) for b in fake.received]
    return [
        {
            "chatId": chat,
            "name": _NAME,
            "type": chat_type(fake, chat),
            "phoneNumber": phone_of(fake, chat),
            "username": "",
        }
        for chat in dict.fromkeys(seen)
        if chat
    ]


def contacts(fake: FakeGreenAPI) -> list[dict[str, Any]]:
    """`getContacts`: the registered accounts."""
    return [
        {
            "chatId": chat,
            "name": _NAME,
            "contactName": _NAME,
            "type": "user",
            "phoneNumber": phone_of(fake, chat),
            "username": _username(subject),
        }
        for subject, chat in fake.accounts.items()
    ]


def _username(subject: int | str) -> str:
    text = str(subject)
    return "" if text.isdigit() else "@" + text.lstrip("@")


def contact_info(fake: FakeGreenAPI, body: dict[str, Any]) -> dict[str, Any]:
    """`getContactInfo` of a personal chat."""
    chat = str(body.get("chatId", ""))
    return {
        "avatar": "",
        "name": _NAME,
        "contactName": _NAME,
        "chatId": chat,
        "chatType": chat_type(fake, chat),
        "lastSeen": int(time.time()),
        "phoneNumber": phone_of(fake, chat),
        "username": "",
        "isPremium": False,
        "isVerified": False,
        "isScam": False,
        "description": "",
    }


def group_data(fake: FakeGreenAPI, body: dict[str, Any]) -> dict[str, Any]:
    """`getGroupData`: a supergroup everyone may write to."""
    chat = str(body.get("chatId", ""))
    return {
        "chatId": chat,
        "owner": "10000000",
        "subject": "Test group",
        "description": "",
        "creation": int(time.time()),
        "groupInviteLink": f"https://t.me/+{chat.lstrip('-')}",
        "isSupergroup": True,
        "isChannel": False,
        **{camel(flag): True for flag in GroupSettings.__annotations__},
    }


# -- the outgoing journal and the sending queue (issue 31) --

_TYPE_MESSAGE: Final = {
    "sendMessage": "textMessage",
    "sendLocation": "locationMessage",
    "sendContact": "contactMessage",
    "sendPoll": "pollMessage",
    "forwardMessages": "textMessage",
}
_CONTENT: Final = (
    "typeMessage",
    "textMessage",
    "downloadUrl",
    "caption",
    "fileName",
    "mimeType",
)
_QUEUE_TYPE: Final = {"sendFileByUpload": "sendFileByUrl"}  # as the docs say


def outgoing_item(
    method: str,
    id_message: str,
    body: dict[str, Any],
    timestamp: int,
    kind: str,
) -> dict[str, Any]:
    """A sent message as the journals show it (lastOutgoingMessages page).

    Text carries `textMessage`, files `downloadUrl`, `caption`, `fileName`,
    `mimeType`; the Telegram pages show no content field for locations,
    contacts and polls, so their items have none. A forwarded copy gets its
    original's content in `outgoing_history()`.
    """
    chat = str(body.get("chatId", ""))
    item: dict[str, Any] = {
        "type": "outgoing",
        "idMessage": id_message,
        "timestamp": timestamp,
        "statusMessage": "delivered",
        "sendByApi": True,
        "typeMessage": _TYPE_MESSAGE.get(method, "documentMessage"),
        "chatId": chat,
        "chatType": kind,
        "isForwarded": method == "forwardMessages",
        "forwardingScore": int(method == "forwardMessages"),
    }
    if item["typeMessage"] == "textMessage":
        item["textMessage"] = str(body.get("message", ""))
    elif method not in _TYPE_MESSAGE:
        item.update(_file_fields(method, body))
    return item


def _copy_content(item: dict[str, Any], original: dict[str, Any] | None) -> None:
    """Give a forwarded copy its original's type and content, when known."""
    if original is None:
        return
    for key in _CONTENT:
        item.pop(key, None)
        if key in original:
            item[key] = original[key]


def _file_fields(method: str, body: dict[str, Any]) -> dict[str, Any]:
    name = str(body.get("fileName", "file"))
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    kind = mime.split("/")[0]
    url = body.get("urlFile") if method == "sendFileByUrl" else None
    return {
        "typeMessage": f"{kind}Message"
        if kind in ("image", "video", "audio")
        else "documentMessage",
        "downloadUrl": str(url or f"{FILES_URL}/{name}"),
        "caption": str(body.get("caption", "")),
        "fileName": name,
        "mimeType": mime,
    }


def sending_queue(fake: FakeGreenAPI) -> list[dict[str, Any]]:
    """`showMessagesQueue`: the first 500 held sends, oldest first, as sent."""
    fake.outbox.release_due()
    return [
        {
            "idMessage": h.id_message,
            "type": _QUEUE_TYPE.get(h.method, h.method),
            "body": h.body,
        }
        for h in fake.outbox.held[:500]
    ]
