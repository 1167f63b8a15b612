"""One API call → one HTTP exchange; httpx errors become ours. No loops, no sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx

from ._exceptions import APIConnectionError, APITimeoutError
from ._fast import is_aiohttp_error, never_connected
from ._logging import Secret, logger, redact
from ._methods import MethodSpec
from ._pool import OwnPool, httpx_is_patched

__all__ = ["Transport"]

# httpcore 1.0 imports anyio and its asyncio backend on the first request of a
# process (~25 ms), which would make that request late for its rate slot and
# bunch it with the next ones at the server. Import them up front instead.
_LAZY_IMPORTS: Final = ("anyio", "anyio._backends._asyncio", "httpcore._backends.anyio")
for _name in _LAZY_IMPORTS:
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)

# These httpx errors mean no request bytes reached the server.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Transport:
    """Send one request for a `MethodSpec`; map httpx failures to our errors.

    Every exchange ends within its deadline (`attempt_deadline()`), whatever
    the server does. With `own` (no `http_client=` or `transport=` given),
    each call is an `httpx.Request` handed straight to our pool's httpx
    transport (`OwnPool`), skipping the auth, redirect, cookie and event-hook
    layers of `httpx.AsyncClient.send`, none of which our own client uses. A
    pool timeout (every slot taken) replaces the pool: a slot left behind by
    a cancelled request must not block the client for ever (what stock
    httpcore 1.0.9 does, encode/httpcore#1093).
    """

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        *,
        prefixes: Mapping[str, str],
        token: Secret,
        own: Callable[[], OwnPool] | None = None,
    ) -> None:
        # Our own pool (`own`, when the user gave no http_client or transport)
        # has its transport driven directly and is rebuilt after a pool timeout.
        self._own = own
        self._pool = own() if own is not None else None
        self._retired: list[OwnPool] = []
        if http is None:
            assert self._pool is not None, "an httpx client or our own pool"
            http = self._pool.http
        self._http = http
        self._prefixes = {host: url.rstrip("/") for host, url in prefixes.items()}
        self._deadline: tuple[httpx.AsyncClient | None, float | None] = (None, None)
        # Each method's URL, parsed once: httpx parses a str URL on every
        # request, which costs more than anything else we add to a call.
        self._urls: dict[tuple[str, str], httpx.URL] = {}
        self._token = token

    @property
    def token(self) -> Secret:
        """The token placed after the method name; swapped by `updateApiToken`."""
        return self._token

    @token.setter
    def token(self, token: Secret) -> None:
        self._token = token
        self._urls.clear()  # they hold the old token

    def url(self, spec: MethodSpec, suffix: str = "") -> httpx.URL | str:
        """Where `spec` is sent: `{prefix}/{method}/{token}{suffix}`."""
        if suffix:
            return self._path(spec) + suffix
        key = (spec.host, spec.name)
        url = self._urls.get(key)
        if url is None:
            url = self._urls[key] = httpx.URL(self._path(spec))
        return url

    def _path(self, spec: MethodSpec) -> str:
        return f"{self._prefixes[spec.host]}/{spec.name}/{self._token.reveal()}"

    @property
    def http(self) -> httpx.AsyncClient:
        """The httpx client requests go through now."""
        return self._http

    async def aclose(self) -> None:
        """Close the client, or our pool and every pool a rebuild retired."""
        if self._pool is None:
            await self._http.aclose()
            return
        for pool in (*self._retired, self._pool):
            await pool.aclose()

    async def send(
        self, spec: MethodSpec, *, suffix: str = "", **request: Any
    ) -> httpx.Response:
        """Send `spec` once; `request` holds `httpx.AsyncClient.request` arguments.

        `suffix` follows the token in the path (`deleteNotification/{token}/{id}`).
        """
        http, pool = self._http, self._pool
        timeout = request.get("timeout", _UNSET)
        if timeout is _UNSET:
            if self._deadline[0] is not http:  # computed once per httpx client
                self._deadline = (http, attempt_deadline(http.timeout))
            deadline = self._deadline[1]
        else:
            deadline = attempt_deadline(timeout)
        # The error is raised after the `except` block, not chained: httpx
        # and aiohttp exceptions hold the URL, and the URL holds the token.
        error: APIConnectionError
        scope = asyncio.timeout(deadline)
        try:
            async with scope:
                url = self.url(spec, suffix)
                if pool is None:
                    return await http.request(spec.http_method, url, **request)
                return await _exchange(
                    pool, pool.request(spec.http_method, url, **request)
                )
        except TimeoutError as exc:
            if not scope.expired():
                error = _foreign(spec.name, exc)  # an aiohttp timeout
            else:
                error = APITimeoutError(
                    f"{spec.name} did not finish within its {deadline:g} s "
                    "attempt deadline",
                    method=spec.name,
                    request_sent=True,
                )
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.PoolTimeout) and pool is not None:
                self._replace(pool)
            error = APITimeoutError(
                f"{spec.name} timed out: {_describe(exc)}",
                method=spec.name,
                request_sent=_maybe_sent(exc),
            )
        except httpx.RequestError as exc:
            error = APIConnectionError(
                f"{spec.name} failed: {_describe(exc)}",
                method=spec.name,
                request_sent=_maybe_sent(exc),
            )
        except Exception as exc:
            error = _foreign(spec.name, exc)
        raise error

    def _replace(self, wedged: OwnPool) -> None:
        """Swap in a new pool of our own after a pool timeout (once per pool)."""
        if wedged is not self._pool:  # another call has replaced it already
            return
        assert self._own is not None, "only our own pool is replaced"
        logger.warning(
            "connection pool timed out with every slot taken; replacing it in "
            "case cancelled requests left it wedged"
        )
        self._retired.append(wedged)  # its requests in flight may finish
        self._pool = self._own()
        self._http = self._pool.http

    def __repr__(self) -> str:
        return f"<Transport hosts={sorted(set(self._prefixes.values()))}>"


_UNSET: Any = object()  # no per-request timeout: the client's applies


async def _exchange(pool: OwnPool, request: httpx.Request) -> httpx.Response:
    """Send `request` on our own pool and read the answer in full.

    While httpx is patched, through `pool.http` (`httpx.AsyncClient.send`),
    so that a mock which routes at the client (respx's httpx mocker) or at
    the transport sees it; else on the pool's transport directly.
    """
    if httpx_is_patched():
        return await pool.http.send(request)
    response = await pool.transport.handle_async_request(request)
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response


def _maybe_sent(exc: httpx.RequestError) -> bool:
    """True unless the request certainly never reached the server."""
    if not isinstance(exc, _NOT_SENT):
        return True
    cause = exc.__cause__
    if cause is not None and is_aiohttp_error(cause):
        return not never_connected(cause)
    return False


def _foreign(method: str, exc: Exception) -> APIConnectionError:
    """Map an aiohttp error a transport (httpx-aiohttp, a user's) left as it was.

    Only an error that means no connection was ever made counts as not
    sent. Anything that is neither aiohttp's nor asyncio's is re-raised.
    """
    if not (is_aiohttp_error(exc) or type(exc).__module__.startswith("asyncio")):
        raise exc
    sent = not never_connected(exc)
    if isinstance(exc, TimeoutError):
        return APITimeoutError(
            f"{method} timed out: {_describe(exc)}", method=method, request_sent=sent
        )
    return APIConnectionError(
        f"{method} failed: {_describe(exc)}", method=method, request_sent=sent
    )


def _describe(exc: BaseException) -> str:
    """`Type: message` of `exc` and of its cause, with every token redacted."""
    try:
        detail = redact(str(exc))
    except Exception:  # aiohttp errors built without a request cannot print
        detail = ""
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
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
