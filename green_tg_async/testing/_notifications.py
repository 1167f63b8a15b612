"""Notification bodies as GREEN-API sends them, for feeding bots in tests.

Each function returns the JSON dict of one webhook body (what
`Dispatcher.feed()`, `parse_notification()` and the fake's queue take)::

    await dp.feed(incoming_text(1234567, "/start"))
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Final, TypedDict, Unpack

from ._shapes import FILES_URL, OWN_WID, chat_type_of

__all__ = [
    "Sender",
    "incoming_file",
    "incoming_text",
    "outgoing_status",
    "state_changed",
]

_ids = itertools.count(1)
_INSTANCE: Final = "1101000001"
_PHONE: Final = 79001234567


def _envelope(kind: str, instance: str, **fields: Any) -> dict[str, Any]:
    return {
        "typeWebhook": kind,
        "instanceData": {
            "idInstance": int(instance),
            "wid": OWN_WID,
            "typeInstance": "telegram",
        },
        "timestamp": int(time.time()),
        **fields,
    }


class Sender(TypedDict, total=False):
    """Who sent an incoming message, and its ids (all optional)."""

    sender: int | str
    """The sender's id; default: the chat (a private chat)."""
    sender_name: str
    sender_phone_number: int
    """The sender's number as GREEN-API sends it, an int; 0 means hidden.
    Default: 79001234567."""
    id_message: str
    """Default: a fresh `in-N`."""
    chat_type: str
    """Default: `chat_type_of(chat_id)`."""
    instance: str


def _message(
    chat_id: int | str, message_data: dict[str, Any], who: Sender
) -> dict[str, Any]:
    chat = str(chat_id)
    name = who.get("sender_name", "Test User")
    return _envelope(
        "incomingMessageReceived",
        who.get("instance", _INSTANCE),
        idMessage=who.get("id_message") or f"in-{next(_ids)}",
        senderData={
            "chatId": chat,
            "chatType": who.get("chat_type", chat_type_of(chat)),
            "sender": str(who.get("sender", chat_id)),
            "chatName": name,
            "senderName": name,
            "senderType": "user",
            "senderContactName": name,
            "senderPhoneNumber": who.get("sender_phone_number", _PHONE),
        },
        messageData=message_data,
    )


def incoming_text(
    chat_id: int | str, text: str, **who: Unpack[Sender]
) -> dict[str, Any]:
    """An `incomingMessageReceived` text message (see `Sender` for `who`)."""
    data = {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}
    return _message(chat_id, data, who)


def incoming_file(
    chat_id: int | str,
    file_name: str,
    *,
    caption: str = "",
    type_message: str = "documentMessage",
    mime_type: str = "application/octet-stream",
    **who: Unpack[Sender],
) -> dict[str, Any]:
    """An `incomingMessageReceived` file (`documentMessage`, `imageMessage`, …)."""
    data = {
        "typeMessage": type_message,
        "fileMessageData": {
            "downloadUrl": f"{FILES_URL}/{file_name}",
            "caption": caption,
            "fileName": file_name,
            "jpegThumbnail": "",
            "mimeType": mime_type,
            "forwardingScore": 0,
            "isForwarded": False,
        },
    }
    return _message(chat_id, data, who)


def outgoing_status(
    chat_id: int | str,
    id_message: str,
    status: str = "delivered",
    *,
    description: str | None = None,
    instance: str = _INSTANCE,
) -> dict[str, Any]:
    """An `outgoingMessageStatus` (`delivered`, `read`, `failed`, …)."""
    fields: dict[str, Any] = {
        "chatId": str(chat_id),
        "idMessage": id_message,
        "status": status,
    }
    if description is not None:
        fields["description"] = description
    return _envelope("outgoingMessageStatus", instance, **fields)


def state_changed(state: str, *, instance: str = _INSTANCE) -> dict[str, Any]:
    """A `stateInstanceChanged` to `state` (`authorized`, `notAuthorized`, …)."""
    return _envelope("stateInstanceChanged", instance, stateInstance=state)
