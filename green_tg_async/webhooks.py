"""Receive notifications by webhook: parse, verify, and a small ASGI app.

GREEN-API POSTs each notification as JSON to the instance's `webhookUrl`,
with `Authorization: Bearer <webhookUrlToken>` when a token is set, and
redelivers (about once a minute, for 24 h) until it gets a 200. So the app
answers 200 only after your handler succeeded::

    from green_tg_async.webhooks import WebhookApp

    async def handle(notification):
        ...

    app = WebhookApp(handle, token=os.environ["GREEN_API_WEBHOOK_TOKEN"])
    # uvicorn module:app, or mount it in Starlette/FastAPI:
    # api.mount("/green-api", app)
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from ._json import loads
from ._logging import install_redaction, logger
from .models.notifications import NotificationBody, parse_notification

__all__ = [
    "Handler",
    "WebhookApp",
    "WebhookUnavailable",
    "parse_notification",
    "parse_webhook_body",
    "verify_authorization",
]

Handler = Callable[[NotificationBody], Awaitable[object]]
"""Your coroutine function; it gets each typed notification."""

Hook = Callable[[], Awaitable[None]]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY: Final = 1 << 20
"""Largest body the app reads (1 MiB); notifications are a few KB."""


def verify_authorization(
    header: str | None, token: str, *, scheme: str = "Bearer"
) -> bool:
    """True if `header` is `"<scheme> <token>"`, compared in constant time.

    Pass `scheme=""` to expect the bare token (the docs do not pin the
    scheme down; GREEN-API sends `Bearer`).
    """
    if not token:
        raise ValueError("token is empty")
    expected = f"{scheme} {token}" if scheme else token
    given = (header or "").strip()
    return hmac.compare_digest(given.encode(), expected.encode())


def parse_webhook_body(body: bytes | str) -> NotificationBody:
    """Decode a webhook request body and build its typed notification.

    Raises:
        ValueError: The body is not a JSON object.
    """
    try:
        data = loads(body)
    except ValueError as exc:
        raise ValueError(f"webhook body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"webhook body is a JSON {type(data).__name__}, not an object")
    return parse_notification(data)


class WebhookUnavailable(Exception):
    """Raise from a handler to answer 503: this receiver takes nothing now.

    For a receiver that is shutting down or stopped; GREEN-API delivers the
    notification again later.
    """


class WebhookApp:
    """ASGI app: verify, parse, call `handler`, answer.

    - wrong or missing `Authorization` → 401 (the handler is not called);
    - a body that is not a JSON object → 400; over `max_body` bytes → 413;
    - anything but POST → 405;
    - 200 only after `handler` returned; if it raised → 500, so GREEN-API
      delivers the notification again and nothing is lost (503 when it
      raised `WebhookUnavailable`).

    `token=None` turns the check off; do that only behind your own auth.
    `on_startup` / `on_shutdown` run on the ASGI lifespan events.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        token: str | None,
        scheme: str = "Bearer",
        max_body: int = MAX_BODY,
        on_startup: Hook | None = None,
        on_shutdown: Hook | None = None,
    ) -> None:
        if token == "":
            raise ValueError("token is empty; pass token=None to turn the check off")
        if token is not None:
            install_redaction(token)
        self._handler = handler
        self._token = token
        self._scheme = scheme
        self._max_body = max_body
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    def __repr__(self) -> str:
        guarded = "token" if self._token is not None else "no token"
        return (
            f"<WebhookApp {guarded} handler={getattr(self._handler, '__name__', '?')}>"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (HTTP, or the lifespan protocol)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self._on_startup, self._on_shutdown)
        elif scope["type"] == "http":
            await _respond(send, await self._handle(scope, receive))

    async def _handle(self, scope: Scope, receive: Receive) -> int:
        if scope["method"] != "POST":
            return 405
        if self._token is not None:
            header = _header(scope, b"authorization")
            if not verify_authorization(header, self._token, scheme=self._scheme):
                logger.warning("webhook: refused a request with a wrong token")
                return 401
        body = await _read_body(receive, self._max_body)
        if body is None:
            return 413
        try:
            notification = parse_webhook_body(body)
        except ValueError as exc:
            logger.warning("webhook: bad body: %s", exc)
            return 400
        try:
            await self._handler(notification)
        except WebhookUnavailable as exc:
            logger.warning("webhook: unavailable (%s); GREEN-API will redeliver", exc)
            return 503
        except Exception:
            logger.exception(
                "webhook: handler failed on %s; GREEN-API will redeliver",
                notification.type_webhook,
            )
            return 500
        return 200


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    body, more = bytearray(), True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        more = message.get("more_body", False)
    return bytes(body)


_REASONS: Final = {
    200: b'{"ok":true}',
    400: b'{"error":"bad request"}',
    401: b'{"error":"unauthorized"}',
    405: b'{"error":"method not allowed"}',
    413: b'{"error":"body too large"}',
    500: b'{"error":"handler failed"}',
    503: b'{"error":"unavailable"}',
}


async def _respond(send: Send, status: int) -> None:
    headers = [(b"content-type", b"application/json")]
    if status == 405:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": _REASONS[status]})


async def _lifespan(
    receive: Receive, send: Send, on_startup: Hook | None, on_shutdown: Hook | None
) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send(await _run_hook("startup", on_startup))
        elif message["type"] == "lifespan.shutdown":
            await send(await _run_hook("shutdown", on_shutdown))
            return


async def _run_hook(event: str, hook: Hook | None) -> dict[str, Any]:
    """Run a lifespan hook; a failure is reported to the server, not raised."""
    if hook is not None:
        try:
            await hook()
        except Exception as exc:
            logger.exception("webhook: %s failed", event)
            return {"type": f"lifespan.{event}.failed", "message": type(exc).__name__}
    return {"type": f"lifespan.{event}.complete"}
