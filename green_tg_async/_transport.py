"""One API call → one HTTP exchange; a failed exchange becomes our error.

The one place that decides whether a request was sent (`request_sent`) and
maps httpx's (and a leaked aiohttp's) failures to our exceptions. No loops,
no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import math
from collections.abc import Mapping
from typing import Any, Final

import httpcore
import httpx

from ._aiohttp_transport import (
    _CACHED,
    PLAN,
    POOL_LIMITS,
    AiohttpTransport,
    Plan,
    describe,
)
from ._config import DEFAULT_TIMEOUT
from ._exceptions import APIConnectionError, APITimeoutError
from ._logging import Secret, logger
from ._methods import MethodSpec

__all__ = ["Transport", "attempt_deadline"]

# httpcore 1.0 imports anyio and its asyncio backend on the first request of a
# process (~25 ms), which would make that request late for its rate slot and
# bunch it with the next ones at the server. Import them up front instead.
_LAZY_IMPORTS: Final = ("anyio", "anyio._backends._asyncio", "httpcore._backends.anyio")
for _name in _LAZY_IMPORTS:
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)

# These httpx errors mean no request bytes reached the server.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# aiohttp errors that mean the connection was never made (by name: a user's
# adapter may leak them, and httpx-aiohttp calls a connection dropped
# mid-request a ConnectTimeout, so its "not sent" is believed only with one).
_NEVER_CONNECTED: Final = frozenset(
    {
        "ClientConnectorError",
        "ClientConnectorDNSError",
        "ClientConnectorSSLError",
        "ClientConnectorCertificateError",
        "ClientProxyConnectionError",
        "ConnectionTimeoutError",
    }
)
# What respx and pytest-httpx replace when they mock httpx, and what the
# OpenTelemetry httpx instrumentation wraps. respx's `using="httpx"` mocker
# patches `_transport_for_url`, a private name: there is no public one.
_POOL_SEND: Final = httpcore.AsyncConnectionPool.handle_async_request
_TRANSPORT_SEND: Final = httpx.AsyncHTTPTransport.handle_async_request
_ROUTE: Final = httpx.AsyncClient._transport_for_url
_DEFAULT_TIMEOUT: Final = httpx.Timeout(DEFAULT_TIMEOUT)


def httpx_is_patched() -> bool:
    """True while a mock or an instrumentation has replaced part of httpx."""
    return (
        httpcore.AsyncConnectionPool.handle_async_request is not _POOL_SEND
        or httpx.AsyncHTTPTransport.handle_async_request is not _TRANSPORT_SEND
        or httpx.AsyncClient._transport_for_url is not _ROUTE
    )


class Transport:
    """Send one request for a `MethodSpec`; map its failure to our errors.

    Every exchange ends within its deadline (`attempt_deadline()`), whatever
    the server does. Without `http` (no `http_client=` or `transport=`), the
    pool is ours: an `AiohttpTransport`, driven directly with the requests
    `httpx.AsyncClient.build_request` would make (`_Requests`), skipping the
    auth, redirect, cookie and event-hook layers of `send`, none of which
    our client uses. While a mock or an instrumentation has patched httpx,
    those requests go through a stock `httpx.AsyncClient` instead, so that
    it sees them. A pool timeout (every slot taken) replaces our pool: a slot
    left behind by a cancelled request must not block the client for ever
    (what stock httpcore 1.0.9 does, encode/httpcore#1093).
    """

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        *,
        prefixes: Mapping[str, str],
        token: Secret,
        timeout: httpx.Timeout = _DEFAULT_TIMEOUT,
    ) -> None:
        self._pool: AiohttpTransport | None = None
        if http is None:
            self._pool, http = _own_pool(timeout)
        self._http = http
        self._retired: list[httpx.AsyncClient] = []
        self._stock: httpx.AsyncClient | None = None
        self._requests = _Requests(http, self._pool)
        self._prefixes = {host: url.rstrip("/") for host, url in prefixes.items()}
        self._deadline: tuple[httpx.AsyncClient | None, float | None] = (None, None)
        # Each method's URL, parsed once: httpx parses a str URL on every
        # request, which costs more than anything else we add to a call.
        self._urls: dict[tuple[str, str], httpx.URL] = {}
        self._token = token
        self._deadlines: _Deadlines | None = None

    def use_token(self, token: Secret) -> None:
        """Put `token` after the method name from now on (after `updateApiToken`)."""
        self._token = token
        self._urls.clear()  # they hold the old token

    def url(self, spec: MethodSpec, suffix: str = "") -> httpx.URL | str:
        """Where `spec` is sent: `{prefix}/{method}/{token}{suffix}`."""
        key = (spec.host, spec.name)
        url = self._urls.get(key)
        if url is None:
            path = f"{self._prefixes[spec.host]}/{spec.name}/{self._token.reveal()}"
            url = self._urls[key] = httpx.URL(path)
        return f"{url}{suffix}" if suffix else url

    @property
    def http(self) -> httpx.AsyncClient:
        """The httpx client requests go through now."""
        return self._http

    async def aclose(self) -> None:
        """Close the client, and every pool of ours a rebuild retired."""
        for http in (*self._retired, self._http, self._stock):
            if http is not None:
                await http.aclose()

    async def send(
        self, spec: MethodSpec, *, suffix: str = "", **request: Any
    ) -> httpx.Response:
        """Send `spec` once; `request` holds `httpx.AsyncClient.request` arguments.

        `suffix` follows the token in the path (`deleteNotification/{token}/{id}`).
        """
        http, pool = self._http, self._pool
        if "timeout" in request:
            deadline = attempt_deadline(request["timeout"])
        else:  # the client's, computed once per httpx client
            if self._deadline[0] is not http:
                self._deadline = (http, attempt_deadline(http.timeout))
            deadline = self._deadline[1]
        # The error is raised after the `except` block, not chained: httpx
        # and aiohttp exceptions hold the URL, and the URL holds the token.
        error: APIConnectionError
        attempt = None if deadline is None else self._attempt(deadline)
        expired = False
        try:
            try:
                url = self.url(spec, suffix)
                if pool is None:
                    return await http.request(spec.http_method, url, **request)
                built = self._requests.build(spec.http_method, url, **request)
                if not httpx_is_patched():
                    return await pool.handle_async_request(built)  # read in full
                if self._stock is None:  # patched: stock httpx, so that it sees them
                    self._stock = httpx.AsyncClient(limits=POOL_LIMITS)
                return await self._stock.send(built)
            finally:
                expired = attempt is not None and attempt.end()
        except asyncio.CancelledError:
            if not expired:
                raise
            error = APITimeoutError(
                f"{spec.name} did not finish within its {deadline:g} s "
                "attempt deadline",
                method=spec.name,
                request_sent=True,
            )
        except httpx.RequestError as exc:
            if isinstance(exc, httpx.PoolTimeout) and pool is self._pool is not None:
                # Once per pool: another call may have replaced it already.
                logger.warning(
                    "connection pool timed out with every slot taken; replacing it "
                    "in case cancelled requests left it wedged"
                )
                self._retired.append(self._http)  # its requests in flight may finish
                self._pool, self._http = _own_pool(self._http.timeout)
                self._requests = _Requests(self._http, self._pool)
            error = _failed(spec.name, exc)
        except Exception as exc:  # a user's transport left aiohttp's or asyncio's
            if not type(exc).__module__.startswith(("aiohttp", "asyncio")):
                raise
            error = _failed(spec.name, exc)  # an aiohttp timeout among them
        raise error

    def _attempt(self, seconds: float) -> _Attempt:
        """Start the deadline of an attempt of the current task, `seconds` from now."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a call must run in an asyncio task")
        loop = task.get_loop()
        deadlines = self._deadlines
        if deadlines is None or deadlines.loop is not loop:
            deadlines = self._deadlines = _Deadlines(loop)
        return deadlines.start(task, loop.time() + seconds)

    def __repr__(self) -> str:
        return f"<Transport hosts={sorted(set(self._prefixes.values()))}>"


class _Attempt:
    """One attempt's deadline: the task it cancels, and when."""

    __slots__ = ("cancelling", "deadlines", "expired", "task", "when")

    def __init__(self, deadlines: _Deadlines, task: asyncio.Task[Any], when: float):
        self.deadlines = deadlines
        self.task = task
        self.when = when
        self.cancelling = task.cancelling()
        self.expired = False

    def end(self) -> bool:
        """Forget the deadline; True if it cancelled the task, as `asyncio.timeout`.

        The cancellation the deadline asked for is then taken back
        (`uncancel`), and a `CancelledError` it caused means "timed out".
        """
        self.deadlines.forget(self)
        return self.expired and self.task.uncancel() <= self.cancelling


class _Deadlines:
    """The attempt deadlines of one event loop, kept by one timer.

    `asyncio.timeout` schedules a timer per attempt and cancels it when the
    attempt ends; the cancelled timer stays in the loop's heap until a clean
    pass. At 64 calls in flight that cost about 33k instructions a call
    (issue 29). Here an attempt is an entry in a dict, and one timer waits
    for the earliest deadline: an attempt started later with the same
    timeout ends later, so the timer rarely moves. It fires when the first
    deadline passes, cancels every attempt past its deadline, and waits for
    the next; it is stopped while no attempt runs.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._running: dict[_Attempt, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._at = math.inf

    def start(self, task: asyncio.Task[Any], when: float) -> _Attempt:
        """An attempt of `task` that is cancelled at loop time `when`."""
        attempt = _Attempt(self, task, when)
        self._running[attempt] = None
        if when < self._at:
            self._wake_at(when)
        return attempt

    def forget(self, attempt: _Attempt) -> None:
        """Stop watching `attempt`; stop the timer when none is left."""
        del self._running[attempt]
        if not self._running:
            self._wake_at(math.inf)

    def _wake_at(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._at = when
        self._timer = None if when == math.inf else self.loop.call_at(when, self._fire)

    def _fire(self) -> None:
        """Cancel every attempt due (the loop may run a timer a tick early)."""
        due, after = max(self.loop.time(), self._at), math.inf
        for attempt in self._running:
            if attempt.expired:
                continue
            if attempt.when <= due:
                attempt.expired = True
                attempt.task.cancel()
            else:
                after = min(after, attempt.when)
        self._timer = None
        self._wake_at(after)


def _own_pool(timeout: httpx.Timeout) -> tuple[AiohttpTransport, httpx.AsyncClient]:
    """A pool of our own, and the httpx client whose requests it is sent.

    The client only builds requests (headers, timeout); `trust_env=False`
    spares it reading proxies and `.netrc` it would never use.
    """
    pool = AiohttpTransport()
    return pool, httpx.AsyncClient(timeout=timeout, transport=pool, trust_env=False)


class _Requests:
    """The `httpx.Request`s `client.build_request` makes, built faster.

    Our own client has no cookies, auth, base URL or default parameters, so
    a request is its default headers, the call's own, and the timeout. Both
    are merged once per headers mapping and per timeout (a JSON call passes
    the same two every time). A body of bytes, what every JSON call sends,
    skips httpx's re-parsing of every header: the two headers httpx would
    add (Host first, Content-Length last) are added here, and the pool's
    `plan()` for them rides in the request's extensions, made once too;
    `tests/test_pool.py` checks the result against `build_request`.
    """

    _AUTO: Final = frozenset({"host", "content-length", "transfer-encoding"})

    def __init__(
        self, client: httpx.AsyncClient, pool: AiohttpTransport | None = None
    ) -> None:
        self._client = client
        self._pool = pool
        self._headers = self._merge(None)
        self._phases = (client.timeout, client.timeout.as_dict())
        self._built: dict[tuple[int, int], _Built] = {}

    def build(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        **options: Any,
    ) -> httpx.Request:
        """The request `client.build_request(method, url, ...)` would return."""
        given, merged, raw = self._headers
        if headers is not given:
            given, merged, raw = self._headers = self._merge(headers)
        if timeout is None:
            timeout = self._client.timeout
        given_timeout, phases = self._phases  # the `timeout` extension: a dict
        if timeout is not given_timeout:
            phases = httpx.Timeout(timeout).as_dict()
            self._phases = (timeout, phases)
        extensions: dict[str, Any] = {"timeout": phases}
        content = options.get("content")
        if not (
            raw is not None
            and isinstance(url, httpx.URL)
            and isinstance(content, bytes)
            and content
            and len(options) == 1
        ):
            return httpx.Request(
                method, url, headers=merged, extensions=extensions, **options
            )
        built = self._sized(url, raw, len(content))
        request = httpx.Request(
            method,
            url,
            headers=built.headers,
            stream=httpx.ByteStream(content),
            extensions=extensions,
        )
        request.read()  # as httpx reads a body of bytes
        if self._pool is not None:
            if built.phases is not phases:
                built.phases, built.plan = phases, self._pool.plan(request)
            request.extensions[PLAN] = built.plan
        return request

    def _sized(
        self, url: httpx.URL, raw: list[tuple[bytes, bytes]], size: int
    ) -> _Built:
        """Host, then `raw`, then Content-Length: made once per URL, `raw` and size.

        Keyed by the URL object (`Transport` keeps one per method), which the
        cache holds, so its id is not reused while it is cached.
        """
        key = (id(url), size)
        found = self._built.get(key)
        if found is None or found.url is not url or found.raw is not raw:
            if len(self._built) >= _CACHED:  # bodies of many sizes
                self._built.clear()
            pairs = [(b"Host", url.netloc), *raw, (b"Content-Length", b"%d" % size)]
            found = self._built[key] = _Built(url, raw, httpx.Headers(pairs))
        return found

    def _merge(
        self, headers: Mapping[str, str] | None
    ) -> tuple[
        Mapping[str, str] | None, httpx.Headers, list[tuple[bytes, bytes]] | None
    ]:
        """The client's headers updated by `headers`, and their raw form.

        The raw form is None when they hold a header httpx would add itself.
        """
        merged = httpx.Headers(self._client.headers)
        if headers is not None:
            merged.update(headers)
        auto = self._AUTO.intersection(key.lower() for key in merged)
        return headers, merged, None if auto else merged.raw


class _Built:
    """The headers of one URL, header set and body size, and the pool's plan."""

    __slots__ = ("headers", "phases", "plan", "raw", "url")

    def __init__(
        self, url: httpx.URL, raw: list[tuple[bytes, bytes]], headers: httpx.Headers
    ) -> None:
        self.url, self.raw, self.headers = url, raw, headers
        self.phases: object = None
        self.plan: Plan | None = None


def _sent(exc: Exception) -> bool:
    """True unless the request certainly never reached the server.

    An aiohttp error (an httpx error's cause, or one a user's transport
    left as it was) decides by itself: only one that means no connection
    was ever made counts as not sent.
    """
    aio = exc.__cause__ if isinstance(exc, httpx.RequestError) else exc
    if aio is not None and type(aio).__module__.startswith("aiohttp"):
        return type(aio).__name__ not in _NEVER_CONNECTED
    return not isinstance(exc, _NOT_SENT)


def _failed(method: str, exc: Exception) -> APIConnectionError:
    """Our error for the failed exchange `exc`: a timeout, or a connection error."""
    error, what = APIConnectionError, "failed"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        error, what = APITimeoutError, "timed out"
    text = f"{method} {what}: {_describe(exc)}"
    return error(text, method=method, request_sent=_sent(exc))


def _describe(exc: BaseException) -> str:
    """`Type: message` of `exc` and of its cause, with every token redacted."""
    text = describe(exc)
    cause = exc.__cause__
    if cause is not None and cause is not exc:
        text += f" ({_describe(cause)})"
    return text


def attempt_deadline(timeout: httpx.Timeout | Any) -> float | None:
    """The longest one attempt may take: connect + write + read + pool timeouts.

    httpx timeouts are per operation, so a server that trickles a byte just
    before each read timeout could hold a call for ever; the sum of the
    phases bounds the whole exchange (4 times a float `timeout`; 120 s by
    default). None when any phase is unlimited.
    """
    if not isinstance(timeout, httpx.Timeout):
        timeout = httpx.Timeout(timeout)
    phases = (timeout.connect, timeout.write, timeout.read, timeout.pool)
    if any(phase is None for phase in phases):
        return None
    return float(sum(phase for phase in phases if phase is not None))
