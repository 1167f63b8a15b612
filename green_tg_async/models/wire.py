"""The notification bodies as GREEN-API sends them, as `TypedDict`s (https://green-api.com/en/telegram/docs/api/receiving/notifications-format/).

For code that stores or forwards bodies verbatim (`notification.raw`) and wants
them typed. Every key is optional (`total=False`): the server decides what it
sends. The typed models in `notifications` read exactly these keys.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, TypedDict

__all__ = [
    "InstanceDataDict",
    "MessageDataDict",
    "MessageNotificationDict",
    "NotificationDict",
    "OutgoingMessageStatusDict",
    "QuotaDataDict",
    "QuotaExceededDict",
    "SenderDataDict",
    "StateInstanceChangedDict",
]


class InstanceDataDict(TypedDict, total=False):
    """`instanceData`: which instance sent the notification."""

    idInstance: int
    wid: str
    typeInstance: str


class SenderDataDict(TypedDict, total=False):
    """`senderData`: chat and sender of a message notification."""

    chatId: str
    chatType: str
    sender: str
    chatName: str
    senderName: str
    senderType: str
    senderContactName: str
    senderPhoneNumber: int
    """An integer; 0 when hidden (the typed model reads it as digits or None)."""


class MessageDataDict(TypedDict, total=False):
    """`typeMessage` plus one container (`textMessageData`, `fileMessageData`, …)."""

    typeMessage: str
    textMessageData: dict[str, object]
    extendedTextMessageData: dict[str, object]
    fileMessageData: dict[str, object]
    stickerMessageData: dict[str, object]
    locationMessageData: dict[str, object]
    contactMessageData: dict[str, object]
    pollMessageData: dict[str, object]
    editedMessageData: dict[str, object]
    deletedMessageData: dict[str, object]
    quotedMessage: dict[str, object]


class MessageNotificationDict(TypedDict, total=False):
    """A message received, sent from a phone, or sent by the API."""

    typeWebhook: Literal[
        "incomingMessageReceived",
        "outgoingMessageReceived",
        "outgoingAPIMessageReceived",
    ]
    instanceData: InstanceDataDict
    timestamp: int
    idMessage: str
    senderData: SenderDataDict
    messageData: MessageDataDict


class OutgoingMessageStatusDict(TypedDict, total=False):
    """`outgoingMessageStatus`: delivery status of a sent message."""

    typeWebhook: Literal["outgoingMessageStatus"]
    chatId: str
    instanceData: InstanceDataDict
    timestamp: int
    idMessage: str
    status: str
    description: str
    sendByApi: bool


class StateInstanceChangedDict(TypedDict, total=False):
    """`stateInstanceChanged`: the authorization state changed."""

    typeWebhook: Literal["stateInstanceChanged"]
    instanceData: InstanceDataDict
    timestamp: int
    stateInstance: str


class QuotaDataDict(TypedDict, total=False):
    """`quotaData`: which quota was hit."""

    method: str
    used: int
    total: int
    status: str
    description: str


class QuotaExceededDict(TypedDict, total=False):
    """`quotaExceeded`: the Developer plan's chat quota was hit."""

    typeWebhook: Literal["quotaExceeded"]
    instanceData: InstanceDataDict
    timestamp: int
    quotaData: QuotaDataDict


NotificationDict: TypeAlias = (
    MessageNotificationDict
    | OutgoingMessageStatusDict
    | StateInstanceChangedDict
    | QuotaExceededDict
)
"""Tagged by `typeWebhook`; mypy narrows on `body["typeWebhook"] == ...`."""
