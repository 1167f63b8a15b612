"""The pipeline and lifecycle shared by the instance and partner clients."""

from __future__ import annotations

import asyncio
import copy
import enum
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from functools import cached_property, partial
from types import TracebackType
from typing import Any, Final, Self, cast

import httpx

from ._breaker import Admission, CircuitBreaker
from ._classify import classify
from ._config import (
    DEFAULT_TIMEOUT,
    BreakerPolicy,
    Clock,
    RateLimits,
    RetryPolicy,
    Sleep,
)
from ._exceptions import (
    APIConnectionError,
    CircuitOpenError,
    GreenAPIError,
    RateLimitError,
    StoreUnavailableError,
)
from ._limiter import Limiter
from ._logging import Secret, install_redaction, logger
from ._lookups import NOT_A_LOOKUP, LookupGovernor, Turn
from ._methods import MethodSpec, Verb
from ._retry import build_retrying, should_retry
from ._transport import Transport
from .hooks import Hook, Hooks, Trace
from .stores import CacheStore, StateStore, default_store
from .stores._base import Gate, GatedAdmission
from .stores._fallback import failing_open
from .stores._require import require

__all__ = ["NOT_GIVEN", "BaseClient", "NotGiven", "resolve_token", "resolve_url"]


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class NotGiven:
    """Marks an argument the caller left out (`timeout=None` means "no timeout")."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
Timeout = float | httpx.Timeout | NotGiven | None


class BaseClient:
    """One token's pipeline: breaker → limiter → breaker → transport → classify."""

    def __init__(
        self,
        *,
        key: str,
        token: str,
        prefixes: Mapping[str, str],
        methods: Mapping[str, MethodSpec],
        limits: RateLimits | None,
        breaker: BreakerPolicy | None,
        retry: RetryPolicy | None,
        store: StateStore | None,
        timeout: Timeout,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        hooks: Sequence[Hook] | None = None,
    ) -> None:
        install_redaction(token)
        self._key = key
        self._methods = methods
        self._retry = retry or RetryPolicy()
        # Our own client carries the timeout; an injected one keeps its own
        # unless the caller also passed timeout=, which then applies to each
        # request.
        self._request_options: dict[str, Any] = (
            {}
            if http_client is None or isinstance(timeout, NotGiven)
            else {"timeout": httpx.Timeout(timeout)}
        )
        if http_client is not None and transport is not None:
            raise TypeError("pass http_client or transport, not both")
        self._owns_http = http_client is None
        own_timeout = httpx.Timeout(
            DEFAULT_TIMEOUT if isinstance(timeout, NotGiven) else timeout
        )
        if transport is not None:  # ours, over the caller's transport
            http_client = httpx.AsyncClient(timeout=own_timeout, transport=transport)
        self._transport = Transport(
            http_client,
            prefixes=prefixes,
            token=Secret(token),
            # Without either, our own aiohttp pool (rebuilt if it wedges).
            timeout=own_timeout,
        )
        self._store = failing_open(store) if store is not None else default_store()
        require(self._store, "a client's store", StateStore, CacheStore)
        self._limiter = Limiter(key, limits or RateLimits(), self._store)
        policy = breaker or BreakerPolicy()
        self._breaker = CircuitBreaker(key, policy, self._store)
        self._lookups = LookupGovernor(key, self._limiter.limits, policy, self._store)
        self._limiter.on_pace = self._breaker.on_pace = self._lookups.seen_pace
        self._hooks = Hooks(key, hooks or ())
        if self._hooks.wants("on_breaker"):
            self._breaker.observers.append(self._hooks.breaker)
        self._state = _State.UNOPENED

    def with_options(
        self,
        *,
        timeout: Timeout = NOT_GIVEN,
        retry: RetryPolicy | None = None,
        limits: RateLimits | None = None,
    ) -> Self:
        """A client for the same account with some options changed.

        It shares this client's HTTP connections, breaker, store, hooks and
        (unless `limits` is given) limiter; the rest is copied. Closing it
        leaves this client and its connections open::

            slow = tg.with_options(timeout=120)
            await slow.sending.send_file_by_upload(chat_id, big_file)
        """
        if self._state is _State.CLOSED:
            raise RuntimeError("the client is closed; create a new one")
        clone = copy.copy(self)
        for klass in type(self).__mro__:  # drop the sections bound to this client
            for name, value in vars(klass).items():
                if isinstance(value, cached_property):
                    clone.__dict__.pop(name, None)
        clone._owns_http = False
        clone._state = _State.UNOPENED
        if not isinstance(timeout, NotGiven):
            clone._request_options = {"timeout": httpx.Timeout(timeout)}
        if retry is not None:
            clone._retry = retry
        if limits is not None:
            clone._limiter = Limiter(self._key, limits, self._store)
            policy = self._breaker.policy
            clone._lookups = LookupGovernor(self._key, limits, policy, self._store)
            clone._limiter.on_pace = clone._lookups.seen_pace
        return clone

    async def request(
        self,
        method: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        verb: str = "POST",
    ) -> Any:
        """Send any method through the whole pipeline; return the decoded JSON.

        For fields and methods GREEN-API added after this release. A method
        in the table travels as its row says (`verb` is then ignored); an
        unknown one is sent with `verb`, treated as not repeatable (a failure
        after sending is never retried) and limited at `RateLimits.default`::

            data = await tg.request("sendMessage", json={"chatId": 1, "message": "hi",
                                                         "newField": True})
        """
        spec = self._methods.get(method) or _unknown_method(method, verb)
        request: dict[str, Any] = {}
        if json is not None:
            request["json"] = json
        if params is not None:
            request["params"] = dict(params)
        return await self._call(spec.name, spec=spec, **request)

    def timeout_with_read(self, read: float) -> httpx.Timeout:
        """The client's timeout with its read timeout raised to at least `read`.

        For long polls: the server holds the request open for a while, and
        the user's connect, write and pool timeouts still apply.
        """
        base = self._request_options.get("timeout", self._transport.http.timeout)
        longer = None if base.read is None else max(base.read, read)
        return httpx.Timeout(
            connect=base.connect, read=longer, write=base.write, pool=base.pool
        )

    @property
    def store(self) -> StateStore:
        """The state store the instance's breaker, limiter and caches live in."""
        return self._store

    @property
    def rate_limits(self) -> RateLimits:
        """The rates, look-up cap and budget the limiter applies."""
        return self._limiter.limits

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy: attempts, back-off, and the sleep it waits with."""
        return self._retry

    @property
    def clock(self) -> Clock:
        """The library's one wall clock (`BreakerPolicy.clock`): pauses, deadlines."""
        return self._breaker.policy.clock

    @property
    def sleep(self) -> Sleep:
        """The library's one sleep (`RetryPolicy.sleep`): retries, polls, bots."""
        return self._retry.sleep

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker: `await client.breaker.state()` / `.reset()`."""
        return self._breaker

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
        try:
            await self._limiter.drain()
            await self._lookups.drain()
            await self._breaker.drain()
        finally:
            if self._owns_http:
                await self._transport.aclose()

    def _swap_token(self, token: str) -> None:
        """Use `token` from now on (after `updateApiToken`); keep it out of logs."""
        install_redaction(token)
        self._transport.use_token(Secret(token))

    # -- the pipeline --------------------------------------------------------

    async def _call(
        self, method: str, *, spec: MethodSpec | None = None, **request: Any
    ) -> Any:
        """Run one call: retry(breaker → limiter → breaker → transport → classify)."""
        if self._state is _State.CLOSED:
            raise RuntimeError("the client is closed; create a new one")
        spec = spec or self._methods[method]
        request = _encode_json(request)
        if self._request_options:
            request = {**self._request_options, **request}
        if not self._hooks:
            return await self._attempts(spec, request, None)
        trace = Trace(self._hooks, spec.name)
        try:
            return await self._attempts(spec, request, trace)
        except BaseException as exc:
            if not trace.done:  # cancelled, or failed outside an attempt
                trace.response(status=None, request_sent=False, error=exc, final=True)
            raise

    async def _attempts(
        self, spec: MethodSpec, request: dict[str, Any], trace: Trace | None
    ) -> Any:
        try:
            return await self._attempt(spec, request, trace)
        except GreenAPIError as exc:
            if not should_retry(exc, idempotent=spec.idempotent):
                raise
            first_failure = exc
        # Most calls succeed at once, so tenacity (and its per-attempt cost) is
        # only engaged after a retryable failure. It is handed that failure as
        # its first attempt, so waits, Retry-After, logs and the attempt count
        # are exactly those of running every attempt under it. Kept because
        # running every call under tenacity measured 1.70x the bare transport
        # on benchmarks/bench_pipeline.py (MockTransport), over the 1.5x bar;
        # 1.17x with it.
        replay = iter([first_failure])

        async def attempt() -> Any:
            failure = next(replay, None)
            if failure is not None:
                raise failure
            return await self._attempt(spec, request, trace)

        retrying = build_retrying(
            self._retry,
            idempotent=spec.idempotent,
            on_retry=None if trace is None else trace.retry,
        )
        return await retrying(attempt)

    async def _attempt(
        self, spec: MethodSpec, request: dict[str, Any], trace: Trace | None
    ) -> Any:
        """One attempt; every retry passes through the breaker and limiter again."""
        if trace is not None:
            trace.attempt += 1  # counted before the breaker and the limiter
        if not self._lookups.governs(spec):
            status, data = await self._exchange(spec, request, trace, NOT_A_LOOKUP)
        else:
            # A look-up holds its in-flight slot until its outcome is recorded,
            # so the next one reads a 469's pause before it can be sent.
            breaker = self._breaker
            async with self._lookups.slot(
                partial(breaker.signal, spec),
                partial(breaker.check, spec),
                gated=self._limiter.gates_in_store and breaker.policy.enabled,
            ) as turn:
                status, data = await self._exchange(spec, request, trace, turn)
        if trace is not None:
            trace.response(status=status, request_sent=True, error=None, final=True)
        return data

    async def _exchange(
        self,
        spec: MethodSpec,
        request: dict[str, Any],
        trace: Trace | None,
        turn: Turn,
    ) -> tuple[int, Any]:
        """Gates, transport, classify: the answer's status and decoded JSON."""
        breaker = self._breaker
        admission = await self._gates(spec, trace, turn)
        # From here the request may reach the server: whatever happens
        # next, the caller gets the answer, never a store error instead.
        try:
            started = time.perf_counter()
            try:
                try:
                    response = await self._transport.send(spec, **request)
                finally:
                    self._limiter.done(spec)  # the server has read it
                status = response.status_code
                if logger.isEnabledFor(logging.DEBUG):
                    ms = (time.perf_counter() - started) * 1000
                    logger.debug("%s -> HTTP %d in %.1f ms", spec.name, status, ms)
                data = classify(spec.name, response, coded=spec.coded_errors)
            except GreenAPIError as exc:
                await self._settle(spec, admission, exc)
                if trace is not None:
                    self._report_failure(trace, spec, exc)
                raise
            await breaker.record(spec, admission, None)
        except asyncio.CancelledError:
            breaker.abandon(admission)
            raise
        return status, data

    async def _gates(
        self, spec: MethodSpec, trace: Trace | None, turn: Turn
    ) -> Admission:
        """Breaker, limiter, breaker again; returns the breaker's admission.

        With a store that gates (SQLite, Redis) the first breaker read rides
        on the limiter's booking (as does a look-up's slot and budget), so a
        call that need not wait costs one round trip; one that waited reads
        the breaker again before sending.
        """
        breaker, limiter = self._breaker, self._limiter
        queues = limiter.limits.enabled
        try:
            gate = self._gate(spec, turn)
            # Read before queueing at the limiter, so a paused call never
            # queues. Without a limiter `admit` below reads it at once, and
            # only a trace must see the refusal before its request event.
            if gate is None and (queues or trace is not None):
                await breaker.check(spec)
            # A pause that begins while we wait at the limiter wakes us at
            # once; the breaker then refuses (or, after a reset, we queue again).
            # The limiter's own clock, read only for a trace.
            waited_from = 0.0 if trace is None else asyncio.get_running_loop().time()
            passed: bool | GatedAdmission = True
            if queues:
                wake, pace = partial(breaker.signal, spec), turn.pace
                while not (
                    passed := await limiter.acquire(spec, wake, gate, pace=pace)
                ):
                    await breaker.check(spec)
                    gate = self._gate(spec, turn)
            try:
                if trace is not None:
                    waited = asyncio.get_running_loop().time() - waited_from
                    if waited > _NO_WAIT:
                        trace.limiter_wait(waited)
                    trace.request()
                if gate is not None and not isinstance(passed, bool):
                    return breaker.admitted(spec, gate, passed)
                return await breaker.admit(spec)
            except BaseException:
                limiter.done(spec)  # admitted, never sent
                raise
        except CircuitOpenError as exc:
            if trace is not None:
                self._hooks.breaker(
                    "refused", spec.name, exc.retry_at.timestamp(), exc.reason
                )
                trace.response(status=None, request_sent=False, error=exc, final=True)
            raise

    def _gate(self, spec: MethodSpec, turn: Turn) -> Gate | None:
        """The breaker's part of a gated admission (with the look-up's entry)."""
        if not self._limiter.gates_in_store:
            return None
        gate = self._breaker.gate(spec)
        if gate is None or turn.entry is None:
            return gate
        return gate._replace(lookup=turn.entry)

    def _report_failure(
        self, trace: Trace, spec: MethodSpec, exc: GreenAPIError
    ) -> None:
        sent = not isinstance(exc, APIConnectionError) or exc.request_sent
        final = (
            not should_retry(exc, idempotent=spec.idempotent)
            or trace.attempt >= self._retry.max_attempts
        )
        status = getattr(exc, "status_code", None)
        trace.response(status=status, request_sent=bool(sent), error=exc, final=final)

    async def _settle(
        self, spec: MethodSpec, admission: Admission, exc: Exception
    ) -> None:
        """Feed a failed attempt to the limiter and the breaker; never raises."""
        if isinstance(exc, RateLimitError) and exc.retry_after:
            # The same cap as the retry wait: a huge Retry-After must not
            # stall this method (and, through a shared store, every worker).
            seconds = min(exc.retry_after, self._retry.retry_after_cap)
            try:
                await self._limiter.penalize(spec, seconds)
            except StoreUnavailableError as err:
                logger.warning("%s: 429 penalty not shared: %s", spec.name, err)
        await self._breaker.record(spec, admission, exc)


# Built once: httpx merges a ready `Headers` faster than a dict on every call.
_JSON_HEADERS: Final = httpx.Headers({"Content-Type": "application/json"})
# What `json.dumps(body, ensure_ascii=False, separators=(",", ":"),
# allow_nan=False)` makes, without building an encoder per call.
_JSON: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
)
_NO_WAIT: Final = 1e-3  # limiter waits shorter than this are not reported
_VERBS: Final = frozenset({"GET", "POST", "DELETE"})


def _unknown_method(method: str, verb: str) -> MethodSpec:
    """A table row for a method this version does not know; checked first."""
    if not isinstance(method, str) or not (method.isascii() and method.isalpha()):
        raise ValueError(
            f"method must be a GREEN-API method name (letters only), got {method!r}"
        )
    upper = verb.upper() if isinstance(verb, str) else verb
    if upper not in _VERBS:
        raise ValueError(
            f"verb must be one of {', '.join(sorted(_VERBS))}, got {verb!r}"
        )
    return MethodSpec(method, cast(Verb, upper), idempotent=False)


def _encode_json(request: dict[str, Any]) -> dict[str, Any]:
    """Encode a `json=` body once, before the breaker and the limiter run.

    What httpx would only find out while sending (a lone surrogate, a value
    JSON cannot hold) becomes a `ValueError`/`TypeError` before anything is
    spent; retries reuse the bytes. The bytes are those httpx would send.
    `request` (the call's own keyword arguments) is updated in place.
    """
    body = request.pop("json", None)
    if body is None:
        return request
    try:
        content = _JSON.encode(body).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            "the request holds text with a lone surrogate, which is not valid Unicode"
        ) from None
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"the request body cannot be sent as JSON: {exc}") from None
    extra = request.get("headers")
    request["content"] = content
    if extra is None:
        request["headers"] = _JSON_HEADERS
    else:
        request["headers"] = {**extra, "Content-Type": "application/json"}
    return request


def resolve_token(value: str | None, *, name: str, env: str) -> str:
    """The token from the argument or `env`; never echoed in an error."""
    if value is None:
        value = os.environ.get(env)
    if not isinstance(value, str | None):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    token = (value or "").strip()
    if not token:
        raise ValueError(f"{name} is required: pass {name}= or set {env}")
    if not all(c.isascii() and (c.isalnum() or c in "-_.~") for c in token):
        # Never echo the token: it is a secret even when malformed.
        raise ValueError(f"{name} may only contain letters, digits and '-_.~'")
    return token


def resolve_url(value: str | None, name: str, env: str) -> str | None:
    """The URL from the argument or `env`, without a trailing slash."""
    value = value if value is not None else os.environ.get(env)
    if value is None or not value.strip():
        return None
    url = value.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{name} must start with https:// or http://, got {url!r}")
    return url
