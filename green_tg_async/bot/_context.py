"""`Context`: what a handler gets, and `ConversationState`, its memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Unpack

from green_tg_async._once import Once
from green_tg_async._settle import Intent
from green_tg_async.models import SentMessage
from green_tg_async.models.contents import (
    ExtendedTextMessage,
    MessageContent,
    TextMessage,
)
from green_tg_async.models.notifications import (
    MessageNotification,
    NotificationBody,
    OutgoingMessageStatus,
    StateInstanceChanged,
)
from green_tg_async.resources.sending import MessageOptions, Sending
from green_tg_async.stores import BotStore

from ._keys import dumps, item_key, load_object

if TYPE_CHECKING:
    from green_tg_async._client import AsyncGreenTelegram

__all__ = ["Context", "ConversationState"]

# Notifications about one message: they carry its chat and idMessage.
_ABOUT_A_MESSAGE = (MessageNotification, OutgoingMessageStatus)


class ConversationState:
    """The state of one conversation: a name and a dict of data.

    Kept in the dispatcher's store per (instance, chat, sender) for
    `state_ttl` seconds after the last change, so with SQLite or Redis it
    survives restarts and is shared by replicas.
    """

    __slots__ = ("_cached", "_key", "_store", "_ttl")

    def __init__(self, store: BotStore, key: str, ttl: float) -> None:
        self._store = store
        self._key = key
        self._ttl = ttl
        self._cached: dict[str, Any] | None = None

    async def get(self) -> str | None:
        """The current state name, or None."""
        name = (await self._load()).get("state")
        return name if isinstance(name, str) else None

    async def data(self) -> dict[str, Any]:
        """A copy of the data kept with the state (empty when none)."""
        data = (await self._load()).get("data")
        return dict(data) if isinstance(data, Mapping) else {}

    async def set(
        self, name: str | None, data: Mapping[str, Any] | None = None
    ) -> None:
        """Move to state `name`; with `data`, replace the data too."""
        record = {**await self._load(), "state": name}
        if data is not None:
            record["data"] = dict(data)
        await self._save(record)

    async def update(self, **data: Any) -> dict[str, Any]:
        """Merge `data` into the kept data; return the result."""
        record = await self._load()
        merged = {**(record.get("data") or {}), **data}
        await self._save({**record, "data": merged})
        return dict(merged)

    async def clear(self) -> None:
        """Forget the state and its data."""
        self._cached = {}
        await self._store.cache_delete(self._key)

    async def _load(self) -> dict[str, Any]:
        if self._cached is None:
            self._cached = load_object(await self._store.cache_get(self._key))
        return self._cached

    async def _save(self, record: dict[str, Any]) -> None:
        # Encoded first: data that is not JSON fails here, before the store.
        encoded = dumps(record)
        await self._store.cache_set(self._key, encoded, ttl=self._ttl)
        self._cached = record

    def __repr__(self) -> str:
        return f"<ConversationState cached={self._cached!r}>"


class Context:
    """One notification on its way through a handler.

    `answer()`, `reply()` and `sending.*` send through the client's pipeline:
    limiter, breaker and safe retries. A pause (469) raises `CircuitOpenError`
    out of them, which the dispatcher hands to the `errors()` handlers.

    Each of those sends is keyed by the notification and its ordinal in this
    run of the handler, in the `journal` store's send journal: a handler that
    runs again (a retry, a resume after a crash, another replica) gets the
    results of the sends it made before, and sends only the rest. A send
    through `client.sending` directly is not keyed.
    """

    __slots__ = ("_once", "_sending", "_sends", "client", "notification", "state")

    def __init__(
        self,
        client: AsyncGreenTelegram,
        notification: NotificationBody,
        state: ConversationState,
        *,
        journal: BotStore | None = None,
    ) -> None:
        self.client = client
        """The client the dispatcher runs on."""
        self.notification = notification
        """The typed notification (`body.raw` has it exactly as sent)."""
        self.state = state
        """The conversation's state (see `ConversationState`)."""
        self._once = None if journal is None else Once(client, journal)
        self._sending: Sending | None = None
        self._sends = 0

    @property
    def sending(self) -> Sending:
        """`client.sending`, each send keyed as `answer()` is (see the class)."""
        if self._sending is None:
            self._sending = (
                _KeyedSending(self) if self._once is not None else self.client.sending
            )
        return self._sending

    @property
    def type_webhook(self) -> str | None:
        """The notification type (`incomingMessageReceived`, …)."""
        return self.notification.type_webhook

    @property
    def message(self) -> MessageContent | None:
        """The message content of a message notification, else None."""
        body = self.notification
        return body.message if isinstance(body, MessageNotification) else None

    @property
    def id_message(self) -> str | None:
        """The message id (a message or a status notification), else None."""
        body = self.notification
        return body.id_message if isinstance(body, _ABOUT_A_MESSAGE) else None

    @property
    def chat_id(self) -> str | None:
        """The chat of a message or status notification, else None."""
        body = self.notification
        return body.chat_id if isinstance(body, _ABOUT_A_MESSAGE) else None

    @property
    def chat_type(self) -> str | None:
        """`user`, `group`, `supergroup`, … when the notification says."""
        body = self.notification
        data = body.sender_data if isinstance(body, MessageNotification) else None
        return data.chat_type if data else None

    @property
    def sender(self) -> str | None:
        """Who sent the message (`senderData.sender`), else None."""
        body = self.notification
        data = body.sender_data if isinstance(body, MessageNotification) else None
        return data.sender if data else None

    @property
    def text(self) -> str | None:
        """The text of a text message (plain or with a preview), else None."""
        message = self.message
        if isinstance(message, TextMessage):
            return message.text_message
        if isinstance(message, ExtendedTextMessage):
            return message.text
        return None

    @property
    def status(self) -> str | None:
        """The delivery status of an `outgoingMessageStatus`, else None."""
        body = self.notification
        return body.status if isinstance(body, OutgoingMessageStatus) else None

    @property
    def instance_state(self) -> str | None:
        """The new state of a `stateInstanceChanged`, else None."""
        body = self.notification
        return body.state_instance if isinstance(body, StateInstanceChanged) else None

    async def answer(self, text: str, **options: Unpack[MessageOptions]) -> SentMessage:
        """Send `text` to this chat (`sending.send_message` options apply)."""
        chat_id = self.chat_id
        if chat_id is None:
            raise ValueError(
                f"a {self.type_webhook} notification has no chat to answer in"
            )
        return await self.sending.send_message(chat_id, text, **options)

    async def reply(self, text: str, **options: Unpack[MessageOptions]) -> SentMessage:
        """Send `text` to this chat, quoting the message being handled."""
        options.setdefault("quoted_message_id", self.id_message)
        return await self.answer(text, **options)

    def __repr__(self) -> str:
        return (
            f"<Context {self.type_webhook} chat={self.chat_id!r} "
            f"id_message={self.id_message!r}>"
        )


class _KeyedSending(Sending):
    """`Sending` whose sends are keyed by a handler's context (lenient)."""

    __slots__ = ("_ctx", "_issued")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx.client)
        self._ctx = ctx
        self._issued: set[str] = set()  # keys made here, not by the caller

    def _key(self, idempotency_key: str | None) -> str | None:
        if idempotency_key is not None:  # the caller's own key: strict, as usual
            return super()._key(idempotency_key)
        ctx = self._ctx
        ctx._sends += 1  # the dispatcher sets it to 0 for each run of the handler
        key = f"bot:{item_key(ctx.notification)}:{ctx._sends}"
        self._issued.add(key)
        return key

    async def _send_once(
        self, key: str, intent: Intent, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        once = self._ctx._once
        assert once is not None
        return await once.send(key, intent, call, lenient=key in self._issued)
