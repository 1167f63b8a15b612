"""`FakeGreenAPI`: a stateful, in-memory GREEN-API Telegram instance for tests."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, Final, Literal

import httpx

from green_tg_async._client import AsyncGreenTelegram
from green_tg_async._config import DOCUMENTED_RATES

from . import _notifications as build, _shapes as shapes
from ._accounts import check_account
from ._canned import CANNED
from ._login import LoginScript
from ._outbox import Outbox, SendFault
from ._requests import (
    asgi_request,
    asgi_respond,
    fields_of as _body,
    long_poll_seconds as _long_poll_seconds,
)

__all__ = ["FAKE_API_URL", "FakeGreenAPI"]

FAKE_API_URL: Final = "https://fake.green-api.invalid"
_Handler = Callable[[httpx.Request, dict[str, Any]], httpx.Response]


class FakeGreenAPI:
    """One GREEN-API Telegram instance in memory: no network, no sleeps.

    Accounts exist by a deterministic rule (a number ending in an even digit
    has one, chat id = its last 8 digits) unless registered explicitly. It
    answers 429 when a method exceeds its documented rate, 469 after
    `lookup_limit` distinct numbers within `lookup_window` seconds, 401 for a
    wrong token and 404 for an unknown method. `receiveNotification` with a
    `receiveTimeout` waits for a notification up to that long on the loop's
    clock (`long_poll=False`: answers at once). Every other documented method
    gets a plausible answer of the right shape (sends get fresh ids, settings
    stick, `updateApiToken` rotates the token). Sends go out at once, into
    the outgoing journal, unless `hold_sends()` keeps them in the sending
    queue; `fail_next_send()` scripts a lost answer or a 500::

        fake = FakeGreenAPI(lookup_limit=3)
        async with fake.client() as tg:
            found = await tg.service.check_account(79876543210)
    """

    def __init__(
        self,
        *,
        id_instance: str = "1101000001",
        api_token: str = "fake-token",
        accounts: Mapping[int | str, str] | None = None,
        lookup_limit: int | None = None,
        lookup_window: float = 300.0,
        limit_form: Literal["http", "body"] = "http",
        rate_limits: bool = True,
        chat_quota: int | None = None,
        long_poll: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.id_instance = id_instance
        self.api_token = api_token
        self.accounts: dict[int | str, str] = dict(accounts or {})
        self.lookup_limit = lookup_limit
        self.lookup_window = lookup_window
        self.limit_form = limit_form
        self.rate_limits = rate_limits
        self.chat_quota = chat_quota
        self.long_poll = long_poll
        self.state = "authorized"
        self._states: deque[str] = deque()
        self.login: LoginScript | None = None
        self.requests: list[tuple[str, str]] = []  # (verb, method) in arrival order
        self.sent: list[dict[str, Any]] = []  # bodies of sendMessage, in order
        self.sends: list[tuple[str, str, dict[str, Any]]] = []  # (method, id, body)
        self.settings: dict[str, Any] = {"webhookUrl": "", "incomingWebhook": "no"}
        self.queue: deque[tuple[int, dict[str, Any]]] = deque()
        self.received: list[dict[str, Any]] = []  # incoming messages, as queued
        # chatType by chat id, for what an id cannot tell ("channel", "bot")
        self.chat_types: dict[str, str] = {}
        self._clock = clock
        self.outbox: Outbox = Outbox(self.sends, clock, wall_clock)
        """The sending queue and the send faults (see `hold_sends`)."""
        self._lookups: dict[int | str, float] = {}
        self._chats: set[str] = set()
        self._recent: dict[str, deque[float]] = {}
        self._scripted: deque[httpx.Response] = deque()
        self._receipts = itertools.count(1)
        self._ids = itertools.count(1_769_676_078_000)
        self._handlers: dict[str, _Handler] = {
            "getStateInstance": self._on_get_state_instance,
            "checkAccount": lambda request, body: check_account(self, body),
            "sendMessage": self._on_send_message,
            "receiveNotification": self._on_receive_notification,
            "deleteNotification": self._on_delete_notification,
        }
        self._arrived = asyncio.Event()  # binds to a loop at its first wait()
        self.transport = httpx.MockTransport(self.handle_async)

    # -- scripting -----------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests with `status` instead of handling them."""
        for _ in range(times):
            self._scripted.append(httpx.Response(status, json=json, headers=headers))

    def enqueue_notification(self, body: Mapping[str, Any]) -> int:
        """Queue a notification for `receiveNotification`; return its receipt id."""
        receipt = next(self._receipts)
        self.queue.append((receipt, dict(body)))
        if body.get("typeWebhook") == "incomingMessageReceived":
            self.received.append(dict(body))
        self._arrived.set()
        return receipt

    def incoming_text(
        self, chat_id: int | str, text: str, **fields: Any
    ) -> dict[str, Any]:
        """Queue an incoming text message (see `testing.incoming_text`); return it."""
        fields.setdefault("chat_type", shapes.chat_type(self, str(chat_id)))
        body = build.incoming_text(chat_id, text, instance=self.id_instance, **fields)
        self.enqueue_notification(body)
        return body

    def incoming_file(
        self, chat_id: int | str, file_name: str, **fields: Any
    ) -> dict[str, Any]:
        """Queue an incoming file (see `testing.incoming_file`); return it."""
        fields.setdefault("chat_type", shapes.chat_type(self, str(chat_id)))
        body = build.incoming_file(
            chat_id, file_name, instance=self.id_instance, **fields
        )
        self.enqueue_notification(body)
        return body

    def outgoing_status(
        self, chat_id: int | str, id_message: str, status: str = "delivered"
    ) -> dict[str, Any]:
        """Queue a delivery status of a sent message; return it."""
        body = build.outgoing_status(
            chat_id, id_message, status, instance=self.id_instance
        )
        self.enqueue_notification(body)
        return body

    def state_changed(self, state: str) -> dict[str, Any]:
        """Set the instance state and queue its `stateInstanceChanged`; return it."""
        self.state = state
        body = build.state_changed(state, instance=self.id_instance)
        self.enqueue_notification(body)
        return body

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """What was sent (any send method), oldest first, to one chat or all.

        Each item is the request body plus `method` and the new `idMessage`.
        """
        self.outbox.release_due()
        wanted = None if chat_id is None else str(chat_id)
        return [
            {**body, "method": method, "idMessage": id_message}
            for method, id_message, body in self.sends
            if wanted is None or str(body.get("chatId")) == wanted
        ]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """The texts of `sendMessage` calls, oldest first, to one chat or all."""
        return [
            item["message"]
            for item in self.sent_messages(chat_id)
            if item["method"] == "sendMessage"
        ]

    def add_accounts(
        self, found: Iterable[int | str], *, chat_prefix: str = ""
    ) -> None:
        """Register numbers or usernames that have an account (chat id derived)."""
        for subject in found:
            self.accounts[subject] = chat_prefix + str(subject).lstrip("@")[-8:]

    def client(self, **options: Any) -> AsyncGreenTelegram:
        """Return a client wired to this fake; `options` go to the constructor."""
        options.setdefault("api_url", FAKE_API_URL)
        return AsyncGreenTelegram(
            self.id_instance, self.api_token, transport=self.transport, **options
        )

    # -- dispatch ------------------------------------------------------------

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        """Answer like `handle()`, but long-poll an empty queue as GREEN-API does.

        `receiveNotification` with `receiveTimeout` waits (on the event
        loop's clock) until a notification is queued or the time is up.
        """
        wait = _long_poll_seconds(request) if self.long_poll else 0.0
        if wait and not self.queue and not self._scripted:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
        return self.handle(request)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as GREEN-API would."""
        parts = request.url.path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != f"waInstance{self.id_instance}":
            return httpx.Response(403, text="Forbidden")
        method, token = parts[1], parts[2]
        self.requests.append((request.method, method))
        if token != self.api_token:
            return httpx.Response(401, text="Unauthorized")
        if self._scripted:
            return self._scripted.popleft()
        handler = self._handlers.get(method)
        if handler is None and method not in CANNED:
            return httpx.Response(404, json={"message": f"method {method} not found"})
        if self._over_rate(method):
            return httpx.Response(429, headers={"Retry-After": "1"})
        self.outbox.release_due()
        apply = functools.partial(self._apply, request, method, handler)
        return self.outbox.answer(method, request, apply)

    def _apply(
        self, request: httpx.Request, method: str, handler: _Handler | None
    ) -> httpx.Response:
        if handler is None:
            answer = CANNED[method](self, _body(request))
            if isinstance(answer, httpx.Response):  # the answer refused the body
                return answer
            if answer is None:
                return httpx.Response(200)
            return httpx.Response(200, json=answer)
        return handler(request, _body(request))

    def _over_rate(self, method: str) -> bool:
        if not self.rate_limits:
            return False
        now = self._clock()
        recent = self._recent.setdefault(method, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        recent.append(now)
        return len(recent) > DOCUMENTED_RATES.get(method, 1.0)

    # -- methods -------------------------------------------------------------

    def script_states(self, *states: str) -> None:
        """Answer the next `getStateInstance` calls with `states`, in order.

        `state` follows them (so look-ups see the same instance); the last
        one stays. For testing start-up code such as `wait_until_authorized`.
        """
        self._states.extend(states)

    def script_login(
        self,
        *,
        code: str = "12345",
        password: str | None = None,
        qr_scans_after: int = 2,
    ) -> LoginScript:
        """Make the instance wait for a login, by phone code or QR.

        The state becomes `notAuthorized`. `startAuthorization` then
        `sendAuthorizationCode(code)` log in; with a `password` (2FA) the
        state becomes `pendingPassword` until `sendAuthorizationPassword`.
        The QR code counts as scanned after `qr_scans_after` images. Wrong
        input answers `{status: false, data: {reason}}` as GREEN-API does
        (`invalid_password`, `authorization_not_started`, …).
        """
        self.state = "notAuthorized"
        self.login = LoginScript(code, password, qr_scans_after)
        return self.login

    def _on_get_state_instance(
        self, request: httpx.Request, body: dict[str, Any]
    ) -> httpx.Response:
        if self._states:
            self.state = self._states.popleft()
        return httpx.Response(200, json={"stateInstance": self.state})

    def _on_send_message(
        self, request: httpx.Request, body: dict[str, Any]
    ) -> httpx.Response:
        chat_id = str(body.get("chatId", ""))
        if not chat_id or not isinstance(body.get("message"), str):
            return httpx.Response(400, json={"message": "Validation failed"})
        if self.chat_quota is not None and chat_id not in self._chats:
            if len(self._chats) >= self.chat_quota:
                return httpx.Response(
                    466, json=_quota(self.chat_quota, len(self._chats))
                )
            self._chats.add(chat_id)
        self.sent.append(body)
        return httpx.Response(200, json={"idMessage": self.record_send(body=body)})

    def record_send(self, method: str = "sendMessage", body: Any = None) -> str:
        """Apply a send (any method; sent, or held) and return its `idMessage`."""
        id_message = str(next(self._ids))
        self.outbox.accept(method, id_message, dict(body or {}))
        return id_message

    # -- the sending queue and send faults -------------------------------------

    def hold_sends(self, seconds: float | None = None) -> None:
        """Keep each following send in the sending queue (`showMessagesQueue`).

        The queue goes out in order, into the journal, each `seconds` later
        on the fake's `clock`, or at `release_sends()` when `seconds` is None.
        """
        self.outbox.hold(seconds)

    def release_sends(self) -> list[str]:
        """Send every held message now and stop holding; return their ids."""
        return self.outbox.release()

    def fail_next_send(self, fault: SendFault, *, times: int = 1) -> None:
        """Answer the next `times` sends (any send method) with `fault`.

        A lost answer or a 500, before or after the send was applied: see
        `SendFault`.
        """
        self.outbox.add_fault(fault, times)

    def lag_journal(self, seconds: float) -> None:
        """Show each message going out from now on in the journals `seconds` later."""
        self.outbox.lag(seconds)

    def history(self) -> list[dict[str, Any]]:
        """Sent messages as `getChatHistory` items (documented shape), newest first."""
        return shapes.outgoing_history(self)

    def _on_receive_notification(
        self, request: httpx.Request, body: dict[str, Any]
    ) -> httpx.Response:
        if not self.queue:
            return httpx.Response(200, content=b"null")
        receipt, notification = self.queue[0]
        return httpx.Response(200, json={"receiptId": receipt, "body": notification})

    def _on_delete_notification(
        self, request: httpx.Request, body: dict[str, Any]
    ) -> httpx.Response:
        receipt = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        before = len(self.queue)
        self.queue = deque(item for item in self.queue if str(item[0]) != receipt)
        found = len(self.queue) < before
        reason = "" if found else "Notification not found"
        return httpx.Response(200, json={"result": found, "reason": reason})

    async def asgi(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        """The fake as an ASGI app, for uvicorn, hypercorn or `httpx.ASGITransport`."""
        if scope["type"] == "http":
            request = await asgi_request(scope, receive)
            await asgi_respond(send, await self.handle_async(request))

    def __repr__(self) -> str:
        return (
            f"<FakeGreenAPI id_instance={self.id_instance!r} state={self.state!r} "
            f"requests={len(self.requests)}>"
        )


def _quota(total: int, used: int) -> dict[str, Any]:
    return {
        "correspondentsStatus": {
            "used": used,
            "total": total,
            "status": "CORRESPONDENTS_QUOTA_EXCEEDED",
            "description": "Developer plan: chats with at most 3 correspondents",
        }
    }
