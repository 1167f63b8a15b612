"""`AsyncGreenTelegram`: configuration, lifecycle, sections and the call pipeline."""

from __future__ import annotations

import enum
import logging
import os
import time
from functools import cached_property
from types import TracebackType
from typing import Any, Final, Self

import httpx

from ._breaker import CircuitBreaker
from ._classify import classify
from ._config import DEFAULT_TIMEOUT, BreakerPolicy, RateLimits, RetryPolicy
from ._exceptions import GreenAPIError, RateLimitError
from ._limiter import Limiter
from ._logging import Secret, install_redaction, logger
from ._methods import METHODS, MethodSpec
from ._retry import build_retrying, should_retry
from ._singleflight import SingleFlight
from ._transport import Transport
from .resources import Account, Receiving, Sending, Service
from .stores import StateStore, default_store

__all__ = ["AsyncGreenTelegram"]


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


_NOT_GIVEN: Final = _NotGiven()


class AsyncGreenTelegram:
    """Asyncio client for one GREEN-API Telegram instance.

    Every call is rate-limited per instance and method, refused locally while
    the instance is paused after a 469, and retried only when that is safe::

        async with AsyncGreenTelegram("4100000001", token) as tg:
            found = await tg.service.check_account(79876543210)
            sent = await tg.sending.send_message(found.chat_id, "hello")

    Credentials fall back to `GREEN_API_ID_INSTANCE` and `GREEN_API_TOKEN`,
    hosts to `GREEN_API_URL` and `GREEN_API_MEDIA_URL`. Share one client
    between tasks of a loop; clients of one instance share its limiter and
    breaker.
    """

    def __init__(
        self,
        id_instance: str | int | None = None,
        api_token: str | None = None,
        *,
        api_url: str | None = None,
        media_url: str | None = None,
        limits: RateLimits | None = None,
        breaker: BreakerPolicy | None = None,
        retry: RetryPolicy | None = None,
        store: StateStore | None = None,
        timeout: float | httpx.Timeout | _NotGiven | None = _NOT_GIVEN,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._id = _resolve_instance(id_instance)
        token = _resolve_token(api_token)
        install_redaction(token)
        self._api_url = _resolve_url(
            api_url, "api_url", "GREEN_API_URL"
        ) or _default_url(self._id)
        self._media_url = (
            _resolve_url(media_url, "media_url", "GREEN_API_MEDIA_URL") or self._api_url
        )
        self._retry = retry or RetryPolicy()
        self._request_options = _request_options(timeout, injected=http_client)
        if http_client is not None and transport is not None:
            raise TypeError("pass http_client or transport, not both")
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=_client_timeout(timeout), transport=transport
        )
        self._transport = Transport(
            self._http,
            api_url=self._api_url,
            media_url=self._media_url,
            id_instance=self._id,
            token=Secret(token),
        )
        self._store = store if store is not None else default_store()
        self._limiter = Limiter(self._id, limits or RateLimits(), self._store)
        self._breaker = CircuitBreaker(
            self._id, breaker or BreakerPolicy(), self._store
        )
        self._checks: SingleFlight[str, Any] = SingleFlight()
        self._state = _State.UNOPENED

    @property
    def id_instance(self) -> str:
        """The instance this client talks to."""
        return self._id

    @property
    def breaker(self) -> CircuitBreaker:
        """The instance's circuit breaker: `await tg.breaker.state()` / `.reset()`."""
        return self._breaker

    @cached_property
    def account(self) -> Account:
        """Methods of the "Account" section."""
        return Account(self)

    @cached_property
    def receiving(self) -> Receiving:
        """Methods of the "Receiving" section."""
        return Receiving(self)

    @cached_property
    def sending(self) -> Sending:
        """Methods of the "Sending" section."""
        return Sending(self)

    @cached_property
    def service(self) -> Service:
        """Methods of the "Service methods" section."""
        return Service(self)

    # -- lifecycle ---------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is not _State.UNOPENED:
            raise RuntimeError(
                f"cannot open a client that is {self._state.value}; create a new one"
            )
        self._state = _State.OPENED
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release connections; an injected `http_client` is left open."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        if self._owns_http:
            await self._http.aclose()

    def __repr__(self) -> str:
        return (
            f"<AsyncGreenTelegram id_instance={self._id!r} state={self._state.value}>"
        )

    # -- the pipeline --------------------------------------------------------

    async def _call(self, method: str, **request: Any) -> Any:
        """Run one call: retry(breaker → limiter → breaker → transport → classify)."""
        if self._state is _State.CLOSED:
            raise RuntimeError("the client is closed; create a new one")
        spec = METHODS[method]
        request = {**self._request_options, **request}
        try:
            return await self._attempt(spec, request)
        except GreenAPIError as exc:
            if not should_retry(exc, idempotent=spec.idempotent):
                raise
            first_failure = exc
        # Most calls succeed at once, so tenacity (and its per-attempt cost) is
        # only engaged after a retryable failure. It is handed that failure as
        # its first attempt, so waits, Retry-After, logs and the attempt count
        # are exactly those of running every attempt under it.
        replay = iter([first_failure])

        async def attempt() -> Any:
            failure = next(replay, None)
            if failure is not None:
                raise failure
            return await self._attempt(spec, request)

        return await build_retrying(self._retry, idempotent=spec.idempotent)(attempt)

    async def _attempt(self, spec: MethodSpec, request: dict[str, Any]) -> Any:
        """One attempt; every retry passes through the breaker and limiter again."""
        await self._breaker.check(spec.name)
        await self._limiter.acquire(spec.name)
        keys = await self._breaker.admit(spec.name)
        started = time.perf_counter()
        try:
            response = await self._transport.send(spec, **request)
            _log_attempt(spec.name, response.status_code, started)
            data = classify(spec.name, response)
        except GreenAPIError as exc:
            if isinstance(exc, RateLimitError) and exc.retry_after:
                await self._limiter.penalize(spec.name, exc.retry_after)
            await self._breaker.record(spec.name, keys, exc)
            raise
        await self._breaker.record(spec.name, keys, None)
        return data


def _log_attempt(method: str, status: int, started: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug("%s -> HTTP %d in %.1f ms", method, status, elapsed_ms)


def _resolve_instance(value: str | int | None) -> str:
    if value is None:
        value = os.environ.get("GREEN_API_ID_INSTANCE")
    if isinstance(value, bool) or not isinstance(value, str | int | None):
        raise TypeError(
            f"id_instance must be a str or an int, got {type(value).__name__}"
        )
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError(
            "id_instance is required: pass id_instance= or set GREEN_API_ID_INSTANCE"
        )
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"id_instance must be digits only, got {text!r}")
    return text


def _resolve_token(value: str | None) -> str:
    if value is None:
        value = os.environ.get("GREEN_API_TOKEN")
    if not isinstance(value, str | None):
        raise TypeError(f"api_token must be a str, got {type(value).__name__}")
    token = (value or "").strip()
    if not token:
        raise ValueError(
            "api_token is required: pass api_token= or set GREEN_API_TOKEN"
        )
    if not all(c.isascii() and (c.isalnum() or c in "-_.~") for c in token):
        # Never echo the token: it is a secret even when malformed.
        raise ValueError("api_token may only contain letters, digits and '-_.~'")
    return token


def _resolve_url(value: str | None, name: str, env: str) -> str | None:
    value = value if value is not None else os.environ.get(env)
    if value is None or not value.strip():
        return None
    url = value.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{name} must start with https:// or http://, got {url!r}")
    return url


def _default_url(id_instance: str) -> str:
    if len(id_instance) < 4:
        raise ValueError(
            f"cannot derive api_url from id_instance {id_instance!r}; pass api_url="
        )
    return f"https://{id_instance[:4]}.api.green-api.com"


def _client_timeout(timeout: float | httpx.Timeout | _NotGiven | None) -> httpx.Timeout:
    if isinstance(timeout, _NotGiven):
        return httpx.Timeout(DEFAULT_TIMEOUT)
    return httpx.Timeout(timeout)


def _request_options(
    timeout: float | httpx.Timeout | _NotGiven | None,
    *,
    injected: httpx.AsyncClient | None,
) -> dict[str, Any]:
    # Our own client carries the timeout; an injected one keeps its own unless
    # the caller also passed timeout=, which then applies to each request.
    if injected is None or isinstance(timeout, _NotGiven):
        return {}
    return {"timeout": httpx.Timeout(timeout)}
