"""`Dispatcher`: receive, record, claim, route, retry, acknowledge, shut down.

The life of a notification:

1. It arrives (polling or webhook), is parsed, and takes its place in its
   chat's lane at once, so one chat's notifications run in arrival order.
2. One atomic store call (`inbox_take`) records it in the instance's inbox
   and claims it: "being handled by this dispatcher until now + claim_lease".
   It answers "done" for a redelivery of one handled already (acknowledged,
   nothing runs) and "held" when another replica's live claim holds it (the
   holder handles it). Only then is it deleted from GREEN-API's queue, or
   answered 200 on the webhook (a durable store).
3. The first matching handler runs, up to `max_attempts` times with back-off,
   each attempt at most `handler_timeout`. An unavailable store is waited out
   without spending attempts. After the last failure the `errors()` handlers
   get it. The claim is renewed meanwhile.
4. One atomic store call (`inbox_finish`) writes its done marker (kept
   `dedupe_ttl`) and drops it and its claim from the inbox.

A crash between 2 and 4 leaves it in the inbox with a claim that runs out:
any live dispatcher on the same store then resumes it (checking its done
marker first). An idle dispatcher looks for such items every third of a lease
and, while it finds them, takes more as fast as its slots free up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from green_tg_async._exceptions import (
    CircuitOpenError,
    ContactInfoLimitError,
    QuotaExceededError,
    StoreUnavailableError,
)
from green_tg_async._logging import logger
from green_tg_async.models.notifications import (
    NotificationBody,
    UnknownNotification,
    parse_notification,
)
from green_tg_async.stores import BotStore, Resumed
from green_tg_async.stores._require import require
from green_tg_async.webhooks import WebhookApp, WebhookUnavailable

from . import _keys as keys
from ._context import Context, ConversationState
from ._lanes import Lanes, cancelling
from ._router import Handler, Router

if TYPE_CHECKING:
    from green_tg_async._client import AsyncGreenTelegram

__all__ = ["Dispatcher", "HandlerCancelledError", "UntypedNotificationError"]

T = TypeVar("T")
_DAY = 86_400.0
# Failures that another attempt within seconds cannot fix: a pause (469) or a
# plan quota. They go straight to the error handlers.
_NOT_RETRIED = (CircuitOpenError, ContactInfoLimitError, QuotaExceededError)


class HandlerCancelledError(RuntimeError):
    """A handler, filter or error handler raised `CancelledError` on its own.

    That is a failure of the handler (its cause is the `CancelledError`), not
    the end of its chat: only the dispatcher's shutdown cancels handling.
    """


class UntypedNotificationError(ValueError):
    """A notification could not be typed and no `notification()` handler took it.

    The error handlers get it with the notification (`ctx.notification` is an
    `UnknownNotification`; `.raw` holds the body as received).
    """


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
        replica: A name for this dispatcher in logs and claims (default:
            host and process id). The inbox belongs to the store, so replicas
            need no stable names: any of them resumes what another left.
        claim_lease: Seconds a claim holds a notification for this dispatcher
            without renewal. It is renewed every third of it while handled;
            after a crash, others take the notification over once it ran out.
        handler_timeout: Seconds one attempt of a handler may take (None: no
            limit). A timeout is a failed attempt, and the chat goes on.
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
        replica: str | None = None,
        claim_lease: float = 30.0,
        handler_timeout: float | None = 300.0,
    ) -> None:
        _check_positive(
            concurrency=concurrency,
            max_attempts=max_attempts,
            dedupe_ttl=dedupe_ttl,
            state_ttl=state_ttl,
            claim_lease=claim_lease,
        )
        if handler_timeout is not None:
            _check_positive(handler_timeout=handler_timeout)
        if shutdown_timeout < 0:
            raise ValueError("shutdown_timeout must not be negative")
        self.client = tg
        self.router = Router("dispatcher")
        for router in routers:
            self.router.include_router(router)
        chosen = store if store is not None else tg.store
        require(chosen, "a bot's store", BotStore)
        self.store = cast(BotStore, chosen)
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._dedupe_ttl = dedupe_ttl
        self._state_ttl = state_ttl
        self._shutdown_timeout = shutdown_timeout
        self._max_pending = max_pending or 4 * concurrency
        self._lease = claim_lease
        self._handler_timeout = handler_timeout
        self._instance = tg.id_instance
        self._queue = keys.inbox_queue(self._instance)
        self.replica = replica or f"{socket.gethostname()}:{os.getpid()}"
        """This dispatcher's name in logs."""
        # Unique per dispatcher object: a restart under the same name never
        # mistakes the claims of its previous life for its own.
        self._owner = f"{self.replica}:{secrets.token_hex(4)}"
        self._lanes: Lanes | None = None
        self._closed = False  # shut down: webhooks answer 503 until start()
        self._stopping = asyncio.Event()
        # Items this dispatcher took and has not finished, with their outcome
        # (a duplicate arriving meanwhile waits for it).
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._held: set[str] = set()  # of those, the ones whose claim we took
        self._background: list[asyncio.Task[None]] = []  # renewal and takeover
        self._untyped_seen: set[str | None] = set()

    # -- sources -------------------------------------------------------------

    async def run_polling(
        self,
        *,
        receive_timeout: int = 20,
        until_empty: bool = False,
        handle_signals: bool = True,
    ) -> None:
        """Receive by HTTP polling until `stop()`, SIGINT or SIGTERM.

        With `handle_signals=False`, SIGINT and SIGTERM are left to the
        application that embeds the dispatcher (its handler calls `stop()`).

        With `until_empty`, return once the queue and the store's inbox are
        empty and every handler finished (for tests and cron jobs; items a
        killed replica left are taken over once their claims ran out); its
        polls leave the wait to the server's default (5 s) instead of
        `receive_timeout`. Errors that
        waiting will not fix (credentials, a `webhookUrl` that refuses
        polling) end it, after the running handlers finished.
        """
        async with self._running(signals=handle_signals):
            await self._poll(receive_timeout, until_empty)

    def webhook_app(self, *, token: str | None, **options: Any) -> WebhookApp:
        """An ASGI app that feeds this dispatcher (see `WebhookApp`).

        Answers 401 for a wrong token; 200 without calling a handler for a
        duplicate of one handled already, or of one pending (once recorded,
        with a durable store; with memory, once the first copy is handled);
        otherwise 200 once the notification is recorded (a durable store) or
        handled (memory); 503 after `stop()` or shutdown. The ASGI lifespan
        starts the dispatcher (resuming the inbox) and shuts it down.
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
        body = notification
        if isinstance(body, Mapping):
            body = parse_notification(body)
        async with self._running(signals=False):
            await self._accept(body, wait=True)

    def stop(self) -> None:
        """Stop receiving; running handlers get `shutdown_timeout` to finish."""
        self._stopping.set()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Start the handler lanes and resume the inbox (done by the sources).

        Either everything starts or nothing does: when the store fails here,
        the error is raised, the dispatcher stays stopped, and calling
        `start()` again resumes the inbox.
        """
        if self._lanes is not None:
            return
        resumed = await self.store.inbox_resume(
            self._queue, owner=self._owner, lease=self._lease, limit=self._max_pending
        )
        self._stopping.clear()
        self._closed = False
        self._lanes = Lanes(self._concurrency)
        self._resume(resumed.items)
        wait = self._next_look(resumed, self._max_pending)
        self._background = [
            asyncio.create_task(self._keep_claims(), name="green-tg-bot"),
            asyncio.create_task(self._take_over(wait), name="green-tg-bot:takeover"),
        ]

    async def shutdown(self) -> None:
        """Let running handlers finish within `shutdown_timeout`, then cancel them."""
        lanes, self._lanes = self._lanes, None
        if lanes is None:
            return
        self._closed = True
        background, self._background = self._background, []
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        cut = await lanes.close(self._shutdown_timeout)
        left, self._inflight = self._inflight, {}
        self._held.clear()
        for item, outcome in left.items():  # cut short or never started
            _settle(outcome, _NotHandled("the dispatcher shut down first"))
            await self._release(item)
        if cut:
            kept = "they stay in the inbox" if self.store.durable else "they are lost"
            logger.warning(
                "bot: %d notifications were not handled within %s s; %s",
                cut,
                f"{self._shutdown_timeout:g}",
                kept,
            )

    @contextlib.asynccontextmanager
    async def _running(self, *, signals: bool) -> AsyncIterator[None]:
        started = self._lanes is None
        await self.start()
        loop = asyncio.get_running_loop()
        installed = []  # SIGINT and SIGTERM call stop() meanwhile
        for sig in (signal.SIGINT, signal.SIGTERM) if signals else ():
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or not supported (Windows)
            installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
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
                await self._until_stored(
                    functools.partial(self._accept, item.body, wait=False),
                    "record a notification",
                )
        return took

    async def _until_stored(self, step: Callable[[], Awaitable[T]], what: str) -> T:
        """Run `step` until the store takes it, backing off on the client's sleep."""
        delay_for = self.client.retry_policy.delay
        failures = 0
        while True:
            try:
                return await step()
            except StoreUnavailableError as exc:
                failures += 1
                delay = delay_for(failures)
                logger.warning(
                    "bot: could not %s (%s); retrying in %.1f s", what, exc, delay
                )
                await self.client.sleep(delay)

    async def _idle_and_empty(self) -> bool:
        await self._lanes_or_fail().wait_idle()
        # Handlers may have caused new notifications; one more empty pass ends it.
        if await self._receive_pass(None, until_empty=True):
            return False
        # Items another replica holds, or a killed one left (taken over once
        # their claims run out), are still to be handled.
        left = await self._until_stored(
            lambda: self.store.inbox_items(self._queue), "read the inbox"
        )
        if left:
            await asyncio.sleep(min(1.0, self._lease / 6))
        return not left

    # -- webhook ---------------------------------------------------------------

    async def _on_webhook(self, body: NotificationBody) -> None:
        if self._closed or self._stopping.is_set():
            raise _Closed("the dispatcher is stopped")
        if self._lanes is None:
            await self.start()  # a server without the lifespan protocol
        await self._accept(body, wait=not self.store.durable)

    # -- accepting -------------------------------------------------------------

    async def _accept(self, body: NotificationBody, *, wait: bool) -> None:
        """Record and claim `body`, then queue it; with `wait`, until handled."""
        lanes = self._lanes_or_fail()
        item = keys.item_key(body)
        local = self._inflight.get(item)
        if local is not None:  # a copy of one this dispatcher has in hand
            logger.debug("bot: %s is pending already", item)
            if wait:
                await asyncio.shield(local)
            return
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[item] = outcome
        slot = lanes.reserve(keys.chat_of(body))  # arrival order, before any await
        try:
            claim = await self.store.inbox_take(
                self._queue,
                item,
                keys.dumps(body.raw),
                done=keys.done_key(self._instance, item),
                owner=self._owner,
                lease=self._lease,
            )
        except BaseException as exc:
            slot.set_result(None)
            self._forget(item, outcome, exc)
            raise
        if claim == "claimed" and self._lanes is lanes:
            self._held.add(item)
            slot.set_result(functools.partial(self._handle, item, body, outcome))
            if wait:
                await asyncio.shield(outcome)
            return
        slot.set_result(None)
        self._forget(item, outcome)
        if claim == "claimed":  # shut down while recording: someone resumes it
            await self._release(item)
            raise _Closed("the dispatcher is shutting down")
        state = "handled already" if claim == "done" else "held by another replica"
        logger.debug("bot: %s is %s", item, state)
        if claim == "held" and wait and not self.store.durable:
            raise _NotHandled(f"{item} is being handled by another dispatcher")

    def _forget(
        self, item: str, outcome: asyncio.Future[None], exc: BaseException | None = None
    ) -> None:
        """Drop `item` from hand; settle `outcome` for waiting duplicates."""
        if self._inflight.get(item) is outcome:
            del self._inflight[item]
            self._held.discard(item)
        if exc is not None:
            _settle(outcome, exc)
        elif not outcome.done():
            outcome.set_result(None)

    def _resume(self, resumed: list[tuple[str, str]]) -> None:
        """Queue items taken over from the inbox (their done markers unchecked)."""
        lanes = self._lanes_or_fail()
        for item, payload in resumed:
            if item in self._inflight:
                continue  # in hand here already (our claim ran out meanwhile)
            body = parse_notification(keys.load_object(payload))
            outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._inflight[item] = outcome
            self._held.add(item)
            job = functools.partial(self._handle, item, body, outcome, resumed=True)
            lanes.submit(keys.chat_of(body), job)
        if resumed:
            logger.info("bot: %s resumed %d notifications", self.replica, len(resumed))

    async def _keep_claims(self) -> None:
        """Renew this dispatcher's claims every third of a lease."""
        while True:
            await asyncio.sleep(self._lease / 3)
            items = sorted(self._held)
            if not items:
                continue
            try:
                renewed = await self.store.inbox_renew(
                    self._queue, items, owner=self._owner, lease=self._lease
                )
            except StoreUnavailableError as exc:
                logger.warning("bot: could not renew claims (%s)", exc)
                continue
            lost = self._held.intersection(items).difference(renewed)
            if lost:
                logger.warning(
                    "bot: lost the claim of %d notifications still in hand (the "
                    "store was unreachable for longer than claim_lease); another "
                    "replica may handle them too",
                    len(lost),
                )

    async def _take_over(self, wait: float) -> None:
        """Take over items whose claims ran out (a dead replica's backlog).

        While the inbox has more, the next batch is claimed as soon as
        `concurrency` slots are free, so a backlog costs its handling time;
        otherwise the inbox is looked at again when the next claim of another
        owner runs out, or a third of a lease later, whichever comes first.
        """
        lanes = self._lanes_or_fail()
        while True:
            if wait > 0:
                await asyncio.sleep(wait)
            await lanes.wait_below(max(1, self._max_pending - self._concurrency + 1))
            room = self._max_pending - lanes.pending
            try:
                resumed = await self.store.inbox_resume(
                    self._queue, owner=self._owner, lease=self._lease, limit=room
                )
            except StoreUnavailableError as exc:
                logger.warning("bot: could not take over claims that ran out (%s)", exc)
                wait = self._lease / 3
                continue
            self._resume(resumed.items)
            wait = self._next_look(resumed, room)

    def _next_look(self, resumed: Resumed, room: int) -> float:
        """0 when `resumed` filled the room (there may be more), else the wait.

        The wait ends when the next claim of another owner runs out (the
        store's clock says when), or a third of a lease later at most, so an
        item given back meanwhile is noticed too.
        """
        if len(resumed.items) == room:
            return 0.0
        look = self._lease / 3
        expiry = resumed.next_expiry_in
        return look if expiry is None else min(look, expiry)

    async def _release(self, item: str) -> None:
        """Give the claim of `item` back, so another replica resumes it at once."""
        try:
            await self.store.inbox_release(self._queue, item, owner=self._owner)
        except StoreUnavailableError as exc:
            logger.debug(
                "bot: could not release %s (%s); its claim runs out", item, exc
            )

    # -- handling ----------------------------------------------------------------

    async def _handle(
        self,
        item: str,
        body: NotificationBody,
        outcome: asyncio.Future[None],
        *,
        resumed: bool = False,
    ) -> None:
        done = keys.done_key(self._instance, item)
        try:
            # A resumed item's done marker is set when its handler finished
            # and the dispatcher was killed before removing it.
            marker = None
            if resumed:
                marker = await self._until_stored(
                    functools.partial(self.store.cache_get, done), f"check {item}"
                )
            if marker is not None:
                logger.info("bot: %s was handled before the restart", item)
            else:
                sender = getattr(getattr(body, "sender_data", None), "sender", None)
                key = keys.state_key(self._instance, keys.chat_of(body), sender)
                state = ConversationState(self.store, key, self._state_ttl)
                await self._route(Context(self.client, body, state, journal=self.store))
            await self._until_stored(  # the done marker, and `item` dropped
                functools.partial(
                    self.store.inbox_finish,
                    self._queue,
                    item,
                    done=done,
                    ttl=self._dedupe_ttl,
                ),
                f"mark {item} handled",
            )
        except BaseException:  # cancelled by shutdown, which releases its claim
            _settle(outcome, _NotHandled("the dispatcher shut down first"))
            raise
        self._forget(item, outcome)

    async def _route(self, ctx: Context) -> None:
        untyped = isinstance(ctx.notification, UnknownNotification)
        if untyped and ctx.type_webhook not in self._untyped_seen:
            self._untyped_seen.add(ctx.type_webhook)
            logger.warning(
                "bot: a %s notification could not be typed; it goes to "
                "notification() handlers of its type, else to the error "
                "handlers (logged once per type)",
                ctx.type_webhook,
            )
        try:
            handler = await self.router.resolve(ctx)
        except (Exception, asyncio.CancelledError) as exc:  # a filter raised
            await self._failed(ctx, _as_failure(exc))
            return
        if handler is not None:
            await self._attempts(ctx, handler)
        elif untyped:
            error = f"a {ctx.type_webhook} notification could not be typed"
            await self._failed(ctx, UntypedNotificationError(error))

    async def _attempts(self, ctx: Context, handler: Handler) -> None:
        delay_for = self.client.retry_policy.delay
        attempt = outages = 0
        while True:
            try:
                ctx._sends = 0  # keyed sends count from the first in each run
                async with asyncio.timeout(self._handler_timeout):  # None: no limit
                    await handler(ctx)
                return
            except StoreUnavailableError as exc:
                # Not the message's fault: wait it out; shutdown bounds the wait.
                outages += 1
                delay = delay_for(outages)
                logger.warning(
                    "bot: the store is unavailable while handling %s (%s); "
                    "retrying in %.1f s without spending an attempt",
                    _describe(ctx),
                    exc,
                    delay,
                )
            except (Exception, asyncio.CancelledError) as exc:
                failure = _as_failure(exc)  # raises shutdown's cancellation
                attempt += 1
                if attempt >= self._max_attempts or isinstance(exc, _NOT_RETRIED):
                    await self._failed(ctx, failure)
                    return
                delay = delay_for(attempt)
                logger.warning(
                    "bot: handler %s failed on %s (attempt %d of %d: %s); "
                    "retrying in %.1f s",
                    getattr(handler, "__name__", handler),
                    _describe(ctx),
                    attempt,
                    self._max_attempts,
                    type(exc).__name__,
                    delay,
                )
            await self.client.sleep(delay)

    async def _failed(self, ctx: Context, exc: Exception) -> None:
        handlers = self.router.error_handlers()
        if not handlers:
            logger.error(
                "bot: giving up on %s in chat %s",
                _describe(ctx),
                ctx.chat_id,
                exc_info=exc,
            )
        for on_error in handlers:
            try:
                await on_error(ctx, exc)
            except (Exception, asyncio.CancelledError):
                if cancelling():
                    raise
                logger.exception(
                    "bot: error handler %s raised",
                    getattr(on_error, "__name__", on_error),
                )

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


class _NotHandled(RuntimeError):
    """A notification was not handled here (the webhook answers 500).

    Shutdown cut it short, or (memory store) another dispatcher holds it.
    """


class _Closed(WebhookUnavailable):
    """The dispatcher takes nothing now (the webhook answers 503)."""


def _settle(outcome: asyncio.Future[None], exc: BaseException) -> None:
    """Fail `outcome` for whoever waits on it, without an unretrieved warning."""
    if outcome.done():
        return
    outcome.set_exception(exc if isinstance(exc, Exception) else _NotHandled(str(exc)))
    outcome.exception()  # retrieved: nobody may be waiting


def _as_failure(exc: BaseException) -> Exception:
    """`exc` as user code's failure; a cancellation by shutdown is raised again."""
    if isinstance(exc, Exception):
        return exc
    if cancelling():
        raise exc
    cancelled = HandlerCancelledError("user code raised CancelledError")
    cancelled.__cause__ = exc
    return cancelled


def _describe(ctx: Context) -> str:
    """The notification type and idMessage, for logs."""
    if ctx.id_message:
        return f"{ctx.type_webhook} {ctx.id_message}"
    return str(ctx.type_webhook)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
