"""Settling an ambiguous keyed send from GREEN-API's own records.

Still in the sending queue (`showMessagesQueue`): it will go out, so its id
is recorded. Else in the outgoing journal (`lastOutgoingMessages`): a message
sent by API to the same chat, of the same type and content, dated no earlier
than the intent minus `SendPolicy.clock_skew`, and not claimed by another
key. Neither, now and again `settle_delay` later: it was not sent. A record
that cannot be read: `SendOutcomeUnknownError`, the intent kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ._exceptions import GreenAPIError, SendOutcomeUnknownError
from ._json import dumps as _dumps, loads
from .hooks import OnceOutcome
from .models import HistoryMessage, QueuedMessage
from .stores import BotStore, StateStore
from .stores._journal import JournalEntry, SendJournal

if TYPE_CHECKING:
    from ._client import AsyncGreenTelegram

__all__ = ["Intent", "Settler"]

_FILES: Final = ("imageMessage", "videoMessage", "documentMessage", "audioMessage")
# The journal's typeMessage of each send method's messages.
_JOURNAL_TYPES: Final[Mapping[str, tuple[str, ...]]] = {
    "sendMessage": ("textMessage", "extendedTextMessage"),
    "sendFileByUrl": _FILES,
    "sendFileByUpload": _FILES,
    "sendLocation": ("locationMessage",),
    "sendContact": ("contactMessage",),
    "sendPoll": ("pollMessage",),
}
# The queue lists uploads as `sendFileByUrl` (docs, showMessagesQueue).
_QUEUE_TYPES: Final = {"sendFileByUpload": "sendFileByUrl"}
# Body fields that say what a message holds (not how it is shown).
_CONTENT: Final = ("message", "caption", "fileName", "latitude", "longitude", "contact")


@dataclass(frozen=True, slots=True)
class Intent:
    """What a keyed send sends: enough to tell its message in the records."""

    method: str
    chat: str
    content: Mapping[str, Any]
    """The body's content fields (`message`, `caption`, `fileName`, …)."""
    fingerprint: str
    """A digest of every argument: the key's other uses must match it."""
    text: str = field(default="", repr=False, compare=False)
    """The intent as the journal keeps it (method, chat, content)."""

    def __post_init__(self) -> None:
        if not self.text:
            record = {"method": self.method, "chat": self.chat, "content": self.content}
            object.__setattr__(self, "text", _dumps(record))

    @classmethod
    def of(cls, method: str, body: Mapping[str, Any], file: bytes = b"") -> Intent:
        """The intent of sending `body` (and an uploaded `file`) with `method`."""
        digest = hashlib.sha256(_dumps([method, body]).encode())
        if file:
            digest.update(hashlib.sha256(file).digest())
        content = {name: body[name] for name in _CONTENT if name in body}
        return cls(method, str(body.get("chatId")), content, digest.hexdigest())

    @classmethod
    def loads(cls, text: str, fingerprint: str) -> Intent:
        """The intent as the journal keeps it."""
        data = loads(text)
        return cls(data["method"], data["chat"], data["content"], fingerprint, text)

    def queued(self, item: QueuedMessage) -> bool:
        """True when `item` of the sending queue is this send."""
        body = item.body
        return (
            item.type == _QUEUE_TYPES.get(self.method, self.method)
            and str(body.get("chatId")) == self.chat
            and all(body[k] == v for k, v in self.content.items() if k in body)
        )

    def sent(self, message: HistoryMessage, since: float) -> bool:
        """True when journal `message` may be this send (dated from `since`)."""
        if not (
            message.send_by_api is True
            and message.chat_id == self.chat
            and message.timestamp is not None
            and message.timestamp >= since
            and message.type_message in _JOURNAL_TYPES.get(self.method, ())
        ):
            return False
        if self.method == "sendMessage":
            return message.text_message == self.content.get("message")
        if message.type_message in _FILES:
            caption = message.caption
            shown = message.text_message if caption is None else caption
            # A journal item that shows no caption at all is matched by type.
            return shown is None or shown == (self.content.get("caption") or "")
        return True


class Settler:
    """Finds an ambiguous send in the queue or journal, and records outcomes."""

    __slots__ = ("_checked", "_client", "_store")

    def __init__(
        self, client: AsyncGreenTelegram, store: StateStore | BotStore | None
    ) -> None:
        self._client = client
        self._store = store
        self._checked: SendJournal | None = None

    @property
    def journal(self) -> SendJournal:
        """The store keeping the journal: the one given, else the client's."""
        if self._checked is not None:  # a Protocol check is slow: done once
            return self._checked
        store = self._store if self._store is not None else self._client.store
        if not isinstance(store, SendJournal):
            raise TypeError(
                f"{type(store).__name__} keeps no send journal, so idempotency "
                "keys cannot be used; use MemoryStore, SqliteStore or RedisStore"
            )
        self._checked = store
        return store

    def key(self, key: str) -> str:
        """The journal record of idempotency key `key` (instance hash tag).

        Apart from the message claims (`:once:msg:`), whatever the key says.
        """
        return f"{{{self._client.id_instance}}}:once:key:{key}"

    async def settle(self, key: str, intent: Intent, entry: JournalEntry) -> Any:
        """The answer of the send if it went out; None when it surely did not.

        Looks now and again after `settle_delay`; raises
        `SendOutcomeUnknownError` when the records cannot be read or cannot
        tell (forwards).
        """
        for look in range(2):
            if look:
                await asyncio.sleep(self._client.send_policy.settle_delay)
            try:
                found = await self._find(key, intent, entry)
            except GreenAPIError as exc:
                raise SendOutcomeUnknownError(
                    f"{intent.method} with idempotency key {key!r} may or may not "
                    "have been sent, and GREEN-API's records could not tell "
                    f"({exc.message}); the next call with the key settles it",
                    method=intent.method,
                    idempotency_key=key,
                    status_code=getattr(exc, "status_code", 0),
                ) from exc
            if found is not None:
                return found
        self.report(intent.method, "not_sent")
        return None

    async def _find(self, key: str, intent: Intent, entry: JournalEntry) -> Any:
        if intent.method not in _JOURNAL_TYPES:  # forwards: no content to match
            raise GreenAPIError(f"{intent.method} cannot be matched in the journal")
        for item in await self._client.queues.show_messages_queue():
            if intent.queued(item):
                found = await self._claim(key, intent, entry, item.id_message)
                if found is not None:
                    self.report(intent.method, "queue")
                    return found
        since = entry.started - self._client.send_policy.clock_skew
        minutes = math.ceil((time.time() - since) / 60) + 1
        journal = await self._client.journals.last_outgoing_messages(minutes=minutes)
        for message in sorted(journal, key=lambda m: m.timestamp or 0):
            if intent.sent(message, since):
                found = await self._claim(key, intent, entry, message.id_message)
                if found is not None:
                    self.report(intent.method, "journal")
                    return found
        return None

    async def _claim(
        self, key: str, intent: Intent, entry: JournalEntry, id_message: str
    ) -> Any:
        recorded = await self.record(
            key, intent, entry.fingerprint, {"idMessage": id_message}
        )
        return None if recorded is None else loads(recorded)

    async def record(
        self, key: str, intent: Intent, fingerprint: str, data: Any
    ) -> str | None:
        """Record `data` as the key's answer, claiming its message.

        Returns the answer that stands, or None when the message settled
        another key already.
        """
        ids = data.get("messages") if isinstance(data, Mapping) else None
        first = ids[0] if isinstance(ids, list) and ids else None
        id_message = data.get("idMessage", first) if isinstance(data, Mapping) else None
        return await self.journal.journal_finish(
            self.key(key),
            fingerprint=fingerprint,
            intent=intent.text,
            message=f"{{{self._client.id_instance}}}:once:msg:{intent.chat}:{id_message}",
            result=_dumps(data),
            ttl=self._client.send_policy.idempotency_ttl,
        )

    def report(self, method: str, outcome: OnceOutcome) -> None:
        """Tell the hooks how a keyed send ended (replayed or settled)."""
        self._client._hooks.once(method, outcome)
