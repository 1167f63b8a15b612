"""Our own connections (no `http_client=`): aiohttp, driven directly for plain calls.

A JSON call goes straight to one `aiohttp.ClientSession`; anything else
(multipart uploads) goes through `OwnPool.http`, an `httpx.AsyncClient`
whose transport is httpx-aiohttp over the same session, so every request
shares one pool. While something has patched httpx's transport (respx,
pytest-httpx, OpenTelemetry's httpx instrumentation), every request takes
the stock httpx path instead, so the mock or the instrumentation sees it.
"""

from __future__ import annotations

import functools
import ssl
import urllib.request
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import httpcore
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport

__all__ = ["POOL_CONNECTIONS", "OwnPool", "PooledAnswer", "httpx_is_patched"]

POOL_CONNECTIONS: Final = 100
"""Connections our own pool opens at most, and keeps open while idle.

Stock httpx keeps at most 20 idle connections: at concurrency 32 and 20 ms
RTT, 195 of 200 calls opened a new TCP + TLS connection (issue 23).
"""

KEEPALIVE_SECONDS: Final = 5.0  # as httpx: an idle connection closes after 5 s
_STOCK_LIMITS: Final = httpx.Limits(
    max_connections=POOL_CONNECTIONS,
    max_keepalive_connections=POOL_CONNECTIONS,
    keepalive_expiry=KEEPALIVE_SECONDS,
)

# What respx and pytest-httpx replace when they mock httpx, and what the
# OpenTelemetry httpx instrumentation wraps.
_POOL_SEND: Final = httpcore.AsyncConnectionPool.handle_async_request
_TRANSPORT_SEND: Final = httpx.AsyncHTTPTransport.handle_async_request
_ROUTE: Final = httpx.AsyncClient._transport_for_url


def httpx_is_patched() -> bool:
    """True while a mock or an instrumentation has replaced part of httpx."""
    return (
        httpcore.AsyncConnectionPool.handle_async_request is not _POOL_SEND
        or httpx.AsyncHTTPTransport.handle_async_request is not _TRANSPORT_SEND
        or httpx.AsyncClient._transport_for_url is not _ROUTE
    )


class OwnPool:
    """The connection pool of a client we built; bound to the first loop it serves.

    The aiohttp session is made on the first request (it needs the running
    loop); certificates are verified as stock httpx does (certifi, or
    `SSL_CERT_FILE` as set when the first pool connects), and proxies from
    the environment are honoured.
    """

    def __init__(self, timeout: httpx.Timeout) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._context: ssl.SSLContext | None = None
        self._timeouts: tuple[httpx.Timeout | None, aiohttp.ClientTimeout] = (
            None,
            aiohttp.ClientTimeout(),
        )
        self.http = httpx.AsyncClient(timeout=timeout, transport=_Switch(self))

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, made on first use."""
        if self._session is None:
            context = self._context = _default_ssl_context()
            connector = aiohttp.TCPConnector(
                limit=POOL_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS, ssl=context
            )
            # Looking proxies up on every request is costly; only if there are any.
            trust_env = bool(urllib.request.getproxies())
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=trust_env
            )
        return self._session

    def ssl_context(self) -> ssl.SSLContext:
        """The session's TLS context (for httpx-aiohttp, which would make its own)."""
        self.session()
        assert self._context is not None
        return self._context

    async def send(
        self,
        method: str,
        url: yarl.URL,
        *,
        phases: httpx.Timeout,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> PooledAnswer:
        """Send one request on the session; aiohttp errors are left to the caller."""
        async with self.session().request(
            method,
            url,
            data=content,
            headers=headers,
            params=params,
            timeout=self._timeout(phases),
            allow_redirects=False,
        ) as response:
            body = await response.read()
        return PooledAnswer(response.status, response.raw_headers, body)

    def _timeout(self, timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
        """The httpx phases as aiohttp's; the write phase is bounded by the deadline."""
        cached, mapped = self._timeouts
        if cached is not timeout:
            mapped = aiohttp.ClientTimeout(
                total=None,
                connect=timeout.pool,  # waiting for a slot, connecting included
                sock_connect=timeout.connect,
                sock_read=timeout.read,
            )
            self._timeouts = (timeout, mapped)
        return mapped

    def wedged(self) -> bool:
        """True when every slot is held: a connect timeout then means a full pool.

        aiohttp counts a connection it is still opening with a placeholder;
        one left behind would hold its slot for ever, as httpcore's orphaned
        connections do (encode/httpcore#1093). Reads aiohttp's own count.
        """
        if self._session is None:
            return False
        acquired = getattr(self._session.connector, "_acquired", ())
        return len(acquired) >= POOL_CONNECTIONS

    async def aclose(self) -> None:
        """Close the session and the httpx view of it."""
        await self.http.aclose()
        if self._session is not None:
            await self._session.close()


class PooledAnswer:
    """A response aiohttp read in full; headers and text as httpx would give them.

    A successful call only needs the status and the body; building the
    `httpx.Response` (about 10-15 µs) is left to the calls that need more.
    """

    __slots__ = ("_raw_headers", "_response", "content", "status_code")

    def __init__(
        self, status: int, raw_headers: tuple[tuple[bytes, bytes], ...], body: bytes
    ) -> None:
        self.status_code = status
        self.content = body
        self._raw_headers = raw_headers
        self._response: httpx.Response | None = None

    def response(self) -> httpx.Response:
        """The same answer as an `httpx.Response`, made once."""
        if self._response is None:
            self._response = httpx.Response(
                self.status_code, headers=self._raw_headers, content=self.content
            )
        return self._response

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.response().headers

    @property
    def text(self) -> str:
        """The body decoded as httpx decodes it."""
        return self.response().text


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The default context of httpx (certifi, or `SSL_CERT_FILE`), made once.

    Loading the CA bundle costs milliseconds and hundreds of KB; a service
    with a client per instance shares one context instead.
    """
    return httpx.create_ssl_context()


class _Switch(httpx.AsyncBaseTransport):
    """`OwnPool.http`'s transport: aiohttp, or stock httpx while httpx is patched."""

    def __init__(self, pool: OwnPool) -> None:
        self._pool = pool
        self._aiohttp: AiohttpTransport | None = None
        self._stock: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if httpx_is_patched():
            if self._stock is None:
                self._stock = httpx.AsyncHTTPTransport(limits=_STOCK_LIMITS)
            return await self._stock.handle_async_request(request)
        if self._aiohttp is None:
            pool = self._pool
            self._aiohttp = AiohttpTransport(
                verify=pool.ssl_context(), client=pool.session
            )
        return await self._aiohttp.handle_async_request(request)

    async def aclose(self) -> None:
        if self._stock is not None:
            await self._stock.aclose()
        # The aiohttp session is the pool's; OwnPool.aclose closes it.
