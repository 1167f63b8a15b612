"""What API calls return: frozen dataclasses that keep the raw JSON in `.raw`."""

from __future__ import annotations

from .account import (
    AccountSettings,
    ApiToken,
    AuthorizationStep,
    InstanceState,
    PictureUpdate,
    QrCode,
    Settings,
)
from .groups import ActionResult, CreatedGroup, GroupData, GroupParticipant
from .journals import HistoryMessage, QueuedMessage, WebhooksQueueCleared
from .messages import (
    ContactCard,
    DownloadLink,
    ForwardedMessages,
    SentFile,
    SentMessage,
    UploadedFile,
)
from .notifications import Notification, NotificationBody, parse_notification
from .partner import CreatedInstance, PartnerInstance
from .service import AccountCheck, Avatar, Chat, ContactInfo

__all__ = [
    "AccountCheck",
    "AccountSettings",
    "ActionResult",
    "ApiToken",
    "AuthorizationStep",
    "Avatar",
    "Chat",
    "ContactCard",
    "ContactInfo",
    "CreatedGroup",
    "CreatedInstance",
    "DownloadLink",
    "ForwardedMessages",
    "GroupData",
    "GroupParticipant",
    "HistoryMessage",
    "InstanceState",
    "Notification",
    "NotificationBody",
    "PartnerInstance",
    "PictureUpdate",
    "QrCode",
    "QueuedMessage",
    "SentFile",
    "SentMessage",
    "Settings",
    "UploadedFile",
    "WebhooksQueueCleared",
    "parse_notification",
]
