"""Notification bodies as GREEN-API sends them, for feeding bots in tests.

Each function returns the JSON dict of one webhook body (what
`Dispatcher.feed()`, `parse_notification()` and the fake's queue take)::

    await dp.feed(incoming_text(1234567, "/start"))
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Final

__all__ = ["incoming_file", "incoming_text", "outgoing_status", "state_changed"]

_ids = itertools.count(1)
_INSTANCE: Final = "1101000001"


def _envelope(kind: str, instance: str, **fields: Any) -> dict[str, Any]:
    return {
        "typeWebhook": kind,
        "instanceData": {
            "idInstance": int(instance),
            "wid": "10000000",
            "typeInstance": "telegram",
        },
        "timestamp": int(time.time()),
        **fields,
    }


def _message(
    chat_id: int | str,
    message_data: dict[str, Any],
    *,
    sender: int | str | None,
    sender_name: str,
    id_message: str | None,
    instance: str,
    chat_type: str | None,
) -> dict[str, Any]:
    chat = str(chat_id)
    if chat_type is None:
        chat_type = "group" if chat.startswith("-") else "user"
    return _envelope(
        "incomingMessageReceived",
        instance,
        idMessage=id_message or f"in-{next(_ids)}",
        senderData={
            "chatId": chat,
            "chatType": chat_type,
            "sender": str(sender if sender is not None else chat_id),
            "chatName": sender_name,
            "senderName": sender_name,
        },
        messageData=message_data,
    )


def incoming_text(
    chat_id: int | str,
    text: str,
    *,
    sender: int | str | None = None,
    sender_name: str = "Test User",
    id_message: str | None = None,
    chat_type: str | None = None,
    instance: str = _INSTANCE,
) -> dict[str, Any]:
    """An `incomingMessageReceived` text message (sender = chat unless given)."""
    data = {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}}
    return _message(
        chat_id,
        data,
        sender=sender,
        sender_name=sender_name,
        id_message=id_message,
        instance=instance,
        chat_type=chat_type,
    )


def incoming_file(
    chat_id: int | str,
    file_name: str,
    *,
    caption: str = "",
    type_message: str = "documentMessage",
    mime_type: str = "application/octet-stream",
    sender: int | str | None = None,
    sender_name: str = "Test User",
    id_message: str | None = None,
    chat_type: str | None = None,
    instance: str = _INSTANCE,
) -> dict[str, Any]:
    """An `incomingMessageReceived` file (`documentMessage`, `imageMessage`, …)."""
    data = {
        "typeMessage": type_message,
        "fileMessageData": {
            "downloadUrl": f"https://files.fake.green-api.invalid/{file_name}",
            "caption": caption,
            "fileName": file_name,
            "jpegThumbnail": "",
            "mimeType": mime_type,
        },
    }
    return _message(
        chat_id,
        data,
        sender=sender,
        sender_name=sender_name,
        id_message=id_message,
        instance=instance,
        chat_type=chat_type,
    )


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
        "sendByApi": True,
    }
    if description is not None:
        fields["description"] = description
    return _envelope("outgoingMessageStatus", instance, **fields)


def state_changed(state: str, *, instance: str = _INSTANCE) -> dict[str, Any]:
    """A `stateInstanceChanged` to `state` (`authorized`, `notAuthorized`, …)."""
    return _envelope("stateInstanceChanged", instance, stateInstance=state)
