"""`Dispatcher`: receive, record, route, retry, acknowledge, shut down.

The life of a notification:

1. It arrives (polling or webhook) and is parsed.
2. If its done marker is in the store, it is a redelivery of one handled
   already: it is acknowledged and nothing runs.
3. It is added to the store's inbox (a second copy of one still pending is
   dropped there), and only then deleted from GREEN-API's queue, or answered
   200 (a durable store) on the webhook.
4. It waits in its chat's lane, so one chat's notifications run in order.
5. The first matching handler runs, up to `max_attempts` times with back-off.
   After the last failure the `errors()` handlers get it.
6. Its done marker is written (kept `dedupe_ttl`), then it leaves the inbox.

A crash between 3 and 6 leaves it in the inbox: a durable store hands it to
the next `run_polling()` or webhook start-up of the same `replica`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from green_tg_async._exceptions import (
    CircuitOpenError,
    ContactInfoLimitError,
    GreenAPIError,
    QuotaExceededError,
)
from green_tg_async._json import loads
from green_tg_async._logging import logger
from green_tg_async._retry import backoff, backoff_delay
from green_tg_async.models.notifications import NotificationBody, parse_notification
from green_tg_async.stores import BotStore
from green_tg_async.webhooks import WebhookApp

from . import _keys as keys
from ._context import Context, ConversationState
from ._lanes import Lanes
from ._router import Handler, Router

if TYPE_CHECKING:
    from green_tg_async._client import AsyncGreenTelegram

__all__ = ["Dispatcher"]

_DAY = 86_400.0
# Failures that another attempt within seconds cannot fix: a pause (469) or a
# plan quota. They go straight to the error handlers.
_NOT_RETRIED = (CircuitOpenError, ContactInfoLimitError, QuotaExceededError)


class Dispatcher:
    """Run routers over a client's notifications, by polling or webhook.

    Example::

        async with AsyncGreenTelegram() as tg:
            dp = Dispatcher(tg, router)
            await dp.run_polling()  # until dp.stop(), SIGINT or SIGTERM

    Args:
        tg: The client; every answer goes through its limiter and breaker.
        routers: Routers in routing order.
        store: Inbox, done markers and conversation state. Default: the
            client's store, when it can keep them (`BotStore`). A durable
            store (SQLite, Redis) makes delivery survive a crash.
        concurrency: Chats handled at the same time.
        max_attempts: Attempts per notification before the error handlers.
        dedupe_ttl: Seconds a handled notification is remembered.
        state_ttl: Seconds a conversation's state is kept after its last change.
        shutdown_timeout: Seconds running handlers get to finish on stop.
        max_pending: Notifications taken and not yet handled, at most
            (default 4 * concurrency); receiving waits past it.
        replica: Names this dispatcher's inbox. Replicas that share a store
            need distinct, stable names (a pod ordinal), so each resumes its own.
    """

    def __init__(
        self,
        tg: AsyncGreenTelegram,
        *routers: Router,
        store: BotStore | None = None,
        concurrency: int = 16,
        max_attempts: int = 3,
        dedupe_ttl: float = _DAY,
        state_ttl: float = _DAY,
        shutdown_timeout: float = 30.0,
        max_pending: int | None = None,
        replica: str = "main",
    ) -> None:
        _check_positive(
            concurrency=concurrency,
            max_attempts=max_attempts,
            dedupe_ttl=dedupe_ttl,
            state_ttl=state_ttl,
        )
        if shutdown_timeout < 0:
            raise ValueError("shutdown_timeout must not be negative")
        self.client = tg
        self.router = Router("dispatcher")
        for router in routers:
            self.router.include_router(router)
        self.store = _bot_store(store, tg)
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._dedupe_ttl = dedupe_ttl
        self._state_ttl = state_ttl
        self._shutdown_timeout = shutdown_timeout
        self._max_pending = max_pending or 4 * concurrency
        self._instance = tg.id_instance
        self._queue = keys.inbox_queue(self._instance, replica)
        self._lanes: Lanes | None = None
        self._stopping = asyncio.Event()
        # Webhook requests (memory store) waiting for their notification.
        self._waiters: set[asyncio.Future[None]] = set()

    # -- sources -------------------------------------------------------------

    async def run_polling(
        self, *, receive_timeout: int = 20, until_empty: bool = False
    ) -> None:
        """Receive by HTTP polling until `stop()`, SIGINT or SIGTERM.

        With `until_empty`, return once the queue is empty and every handler
        finished (for tests and cron jobs); its polls leave the wait to the
        server's default (5 s) instead of `receive_timeout`. Errors that
        waiting will not fix (credentials, a `webhookUrl` that refuses
        polling) end it, after the running handlers finished.
        """
        async with self._running(signals=True):
            await self._poll(receive_timeout, until_empty)

    def webhook_app(self, *, token: str | None, **options: Any) -> WebhookApp:
        """An ASGI app that feeds this dispatcher (see `WebhookApp`).

        Answers 401 for a wrong token, 200 without calling a handler for a
        duplicate, and otherwise 200 once the notification is recorded (a
        durable store) or handled (memory). The ASGI lifespan starts the
        dispatcher (resuming its inbox) and shuts it down.
        """
        return WebhookApp(
            self._on_webhook,
            token=token,
            on_startup=self.start,
            on_shutdown=self.shutdown,
            **options,
        )

    async def feed(self, notification: NotificationBody | Mapping[str, Any]) -> None:
        """Run one notification through dedupe, routing, state and handlers.

        Takes a typed notification or its JSON dict (a webhook body) and
        returns once it is handled. For tests::

            await dp.feed(fake.incoming_text(123, "/start"))
        """
        body = _as_body(notification)
        async with self._running(signals=False):
            await self._accept(body, wait=True)

    def stop(self) -> None:
        """Stop receiving; running handlers get `shutdown_timeout` to finish."""
        self._stopping.set()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start the handler lanes and resume the inbox (done by the sources)."""
        if self._lanes is not None:
            return
        self._stopping.clear()
        self._lanes = Lanes(self._concurrency)
        for item, payload in await self.store.inbox_items(self._queue):
            self._submit(item, _load_body(payload))

    async def shutdown(self) -> None:
        """Let running handlers finish within `shutdown_timeout`, then cancel them."""
        lanes, self._lanes = self._lanes, None
        if lanes is None:
            return
        cut = await lanes.close(self._shutdown_timeout)
        for waiter in list(self._waiters):  # cut short or never started
            if not waiter.done():
                waiter.set_exception(_ShutDown("the dispatcher shut down first"))
        if cut:
            kept = "they stay in the inbox" if self.store.durable else "they are lost"
            logger.warning(
                "bot: %d notifications were not handled within %.0f s; %s",
                cut,
                self._shutdown_timeout,
                kept,
            )

    @contextlib.asynccontextmanager
    async def _running(self, *, signals: bool) -> AsyncIterator[None]:
        started = self._lanes is None
        await self.start()
        removers = _install_signals(self.stop) if signals else []
        try:
            yield
        finally:
            for remove in removers:
                remove()
            if started:
                await self.shutdown()

    # -- polling -------------------------------------------------------------

    async def _poll(self, receive_timeout: int, until_empty: bool) -> None:
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                receive = asyncio.ensure_future(
                    self._receive_pass(receive_timeout, until_empty)
                )
                done, _ = await asyncio.wait(
                    {receive, stop}, return_when=asyncio.FIRST_COMPLETED
                )
                if receive not in done:
                    receive.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await receive
                    return
                took_any = receive.result()
                if until_empty and not took_any and await self._idle_and_empty():
                    return
        finally:
            stop.cancel()

    async def _receive_pass(
        self, receive_timeout: int | None, until_empty: bool
    ) -> bool:
        """Take notifications until the queue is empty (or forever); True if any."""
        took = False
        items = self.client.receiving.iter_notifications(
            receive_timeout=None if until_empty else receive_timeout,
            until_empty=until_empty,
        )
        async with contextlib.aclosing(items):
            async for item in items:
                took = True
                await self._lanes_or_fail().wait_below(self._max_pending)
                # Leaving by an exception here closes the generator before
                # it deletes the item, so GREEN-API keeps it.
                await self._record_with_retry(item.body)
        return took

    async def _record_with_retry(self, body: NotificationBody) -> None:
        """Record `body` (the item stays in GREEN-API's queue until then)."""
        await self._until_stored(
            lambda: self._accept(body, wait=False), "record a notification"
        )

    async def _until_stored(
        self, step: Callable[[], Awaitable[None]], what: str
    ) -> None:
        """Run `step` until the store takes it, backing off on the client's sleep."""
        policy = self.client.retry_policy
        wait = backoff(policy)
        failures = 0
        while True:
            try:
                await step()
                return
            except GreenAPIError as exc:  # the store is down
                failures += 1
                delay = backoff_delay(wait, failures)
                logger.warning(
                    "bot: could not %s (%s); retrying in %.1f s", what, exc, delay
                )
                await policy.sleep(delay)

    async def _idle_and_empty(self) -> bool:
        await self._lanes_or_fail().wait_idle()
        # Handlers may have caused new notifications; one more empty pass ends it.
        return not await self._receive_pass(None, until_empty=True)

    # -- webhook ---------------------------------------------------------------

    async def _on_webhook(self, body: NotificationBody) -> None:
        if self._lanes is None:
            await self.start()  # a server without the lifespan protocol
        await self._accept(body, wait=not self.store.durable)

    # -- accepting and handling ---------------------------------------------

    async def _accept(self, body: NotificationBody, *, wait: bool) -> None:
        """Dedupe and record `body`, then queue it; with `wait`, until handled."""
        item = keys.item_key(body)
        if await self.store.cache_get(keys.done_key(self._instance, item)):
            logger.debug("bot: %s was handled already", item)
            return
        added = await self.store.inbox_add(self._queue, item, keys.dumps(body.raw))
        if not added:
            logger.debug("bot: %s is pending already", item)
            return
        waiter = self._submit(item, body, wait=wait)
        if waiter is not None:
            await waiter

    def _submit(
        self, item: str, body: NotificationBody, *, wait: bool = False
    ) -> asyncio.Future[None] | None:
        waiter: asyncio.Future[None] | None = None
        if wait:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            waiter.add_done_callback(self._waiters.discard)

        async def job() -> None:
            await self._handle(item, body)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

        self._lanes_or_fail().submit(keys.chat_of(body), job)
        return waiter

    async def _handle(self, item: str, body: NotificationBody) -> None:
        ctx = self._context(body)
        try:
            handler = await self.router.resolve(ctx)
        except Exception as exc:  # a filter raised: like a handler failing
            await self._failed(ctx, exc)
        else:
            if handler is not None:
                await self._attempts(ctx, handler)
        await self._finish(item)

    async def _attempts(self, ctx: Context, handler: Handler) -> None:
        policy = self.client.retry_policy
        wait = backoff(policy)
        for attempt in range(1, self._max_attempts + 1):
            try:
                await handler(ctx)
                return
            except _NOT_RETRIED as exc:
                await self._failed(ctx, exc)
                return
            except Exception as exc:
                if attempt == self._max_attempts:
                    await self._failed(ctx, exc)
                    return
                delay = backoff_delay(wait, attempt)
                logger.warning(
                    "bot: handler %s failed on %s (attempt %d of %d: %s); "
                    "retrying in %.1f s",
                    getattr(handler, "__name__", handler),
                    ctx.type_webhook,
                    attempt,
                    self._max_attempts,
                    type(exc).__name__,
                    delay,
                )
                await policy.sleep(delay)

    async def _failed(self, ctx: Context, exc: Exception) -> None:
        handlers = self.router.error_handlers()
        if not handlers:
            logger.error(
                "bot: giving up on %s in chat %s",
                ctx.type_webhook,
                ctx.chat_id,
                exc_info=exc,
            )
        for on_error in handlers:
            try:
                await on_error(ctx, exc)
            except Exception:
                logger.exception(
                    "bot: error handler %s raised",
                    getattr(on_error, "__name__", on_error),
                )

    async def _finish(self, item: str) -> None:
        """Mark `item` done, then drop it from the inbox; retried on store errors."""

        async def step() -> None:
            done = keys.done_key(self._instance, item)
            await self.store.cache_set(done, "1", ttl=self._dedupe_ttl)
            await self.store.inbox_remove(self._queue, item)

        await self._until_stored(step, f"mark {item} handled")

    def _context(self, body: NotificationBody) -> Context:
        chat = keys.chat_of(body)
        sender = _sender(body)
        state = ConversationState(
            self.store,
            keys.state_key(self._instance, chat, sender),
            self._state_ttl,
        )
        return Context(self.client, body, state)

    def _lanes_or_fail(self) -> Lanes:
        if self._lanes is None:
            raise RuntimeError("the dispatcher is not running")
        return self._lanes

    def __repr__(self) -> str:
        running = "running" if self._lanes is not None else "stopped"
        return (
            f"<Dispatcher {running} instance={self._instance} "
            f"concurrency={self._concurrency} store={type(self.store).__name__}>"
        )


class _ShutDown(RuntimeError):
    """A notification was not handled before shutdown (the webhook answers 500)."""


def _sender(body: NotificationBody) -> str | None:
    sender_data = getattr(body, "sender_data", None)
    return getattr(sender_data, "sender", None)


def _as_body(notification: NotificationBody | Mapping[str, Any]) -> NotificationBody:
    if isinstance(notification, Mapping):
        return parse_notification(notification)
    return notification


def _load_body(payload: str) -> NotificationBody:
    try:
        data = loads(payload)
    except ValueError:
        data = {}
    return parse_notification(data if isinstance(data, dict) else {})


def _bot_store(store: BotStore | None, tg: AsyncGreenTelegram) -> BotStore:
    chosen = store if store is not None else tg.store
    if not isinstance(chosen, BotStore):
        raise TypeError(
            f"{type(chosen).__name__} cannot keep a bot's inbox and state; "
            "pass store=MemoryStore(), SqliteStore(...) or RedisStore(...)"
        )
    return chosen


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")


def _install_signals(stop: Any) -> list[Any]:
    """Make SIGINT and SIGTERM call `stop`; return the undo functions."""
    loop = asyncio.get_running_loop()
    removers = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # not the main thread, or not supported (Windows)
        removers.append(lambda sig=sig: loop.remove_signal_handler(sig))
    return removers
