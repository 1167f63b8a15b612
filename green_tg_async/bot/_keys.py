"""Store keys of the bot layer, one place for each.

Every key carries the instance as a Redis hash tag (`{idInstance}`), like the
breaker's and limiter's keys, and none holds the token.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from green_tg_async._json import dumps, loads
from green_tg_async.models.notifications import (
    MessageNotification,
    NotificationBody,
    OutgoingMessageStatus,
)

__all__ = [
    "chat_of",
    "done_key",
    "dumps",
    "inbox_queue",
    "item_key",
    "load_object",
    "state_key",
]

INSTANCE_CHAT = "(instance)"
"""The ordering lane of notifications without a chat (state, quota)."""


def item_key(body: NotificationBody) -> str:
    """What identifies a notification across redeliveries.

    typeWebhook, chat, idMessage and, for statuses, the status; a
    notification without an idMessage is identified by its whole body.
    """
    kind = body.type_webhook or "?"
    if isinstance(body, MessageNotification) and body.id_message:
        return f"{kind}:{body.chat_id}:{body.id_message}"
    if isinstance(body, OutgoingMessageStatus) and body.id_message:
        return f"{kind}:{body.chat_id}:{body.id_message}:{body.status}"
    return f"{kind}:sha256:{_digest(body.raw)}"


def _digest(raw: Mapping[str, Any]) -> str:
    return hashlib.sha256(dumps(raw).encode()).hexdigest()[:32]


def chat_of(body: NotificationBody) -> str:
    """The ordering lane: the chat, or one lane for instance-wide notifications."""
    if isinstance(body, MessageNotification | OutgoingMessageStatus):
        return body.chat_id or INSTANCE_CHAT
    return INSTANCE_CHAT


def done_key(instance: str, item: str) -> str:
    """The marker of a notification whose handling finished."""
    return f"{{{instance}}}:bot:done:{item}"


def inbox_queue(instance: str) -> str:
    """The inbox of an instance, shared by every replica (claims keep them apart).

    The name is the one the default replica's inbox had before inboxes were
    shared, so a bot upgraded after a crash resumes what it left.
    """
    return f"{{{instance}}}:bot:inbox:main"


def load_object(text: str | None) -> dict[str, Any]:
    """A stored JSON object; {} for None, bad JSON or another JSON value."""
    try:
        value = {} if text is None else loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def state_key(instance: str, chat: str | None, sender: str | None) -> str:
    """Where a conversation's state is kept."""
    return f"{{{instance}}}:bot:state:{chat or ''}:{sender or ''}"
