"""Our own connections (no `http_client=`): one aiohttp session under httpx.

Every request is an `httpx.Request` handed to `OwnPool.transport`, an httpx
transport over one `aiohttp.ClientSession` (`SessionTransport`), and comes
back as an `httpx.Response`. `OwnPool.http` is an `httpx.AsyncClient` on the
same transport. While something has patched httpx's transport (respx,
pytest-httpx, OpenTelemetry's httpx instrumentation), requests go through
`OwnPool.http` and stock httpx instead, so the mock or the instrumentation
sees them.
"""

from __future__ import annotations

import functools
import ssl
from typing import Final

import aiohttp
import httpcore
import httpx

from ._request_builder import RequestBuilder
from ._session_transport import Proxies, SessionTransport

__all__ = ["POOL_CONNECTIONS", "OwnPool", "httpx_is_patched"]

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
    `SSL_CERT_FILE` as set when the first pool connects), and the proxies
    the environment names when the pool is made are used (`Proxies`).
    """

    def __init__(self, timeout: httpx.Timeout) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.proxies = Proxies.from_env()
        self.transport: httpx.AsyncBaseTransport = _Switch(self)
        self.http = httpx.AsyncClient(timeout=timeout, transport=self.transport)
        self.request = RequestBuilder(self.http).build
        """Build the `httpx.Request` `http.build_request` would, faster."""

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, made on first use."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=POOL_CONNECTIONS,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=_default_ssl_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # a thread hop per request; Proxies instead
                # Cookies belong to an httpx client, not to its transport.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

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
        self._aiohttp = SessionTransport(
            pool.session, wedged=pool.wedged, proxies=pool.proxies
        )
        self._stock: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if httpx_is_patched():
            if self._stock is None:
                self._stock = httpx.AsyncHTTPTransport(limits=_STOCK_LIMITS)
            return await self._stock.handle_async_request(request)
        return await self._aiohttp.handle_async_request(request)

    async def aclose(self) -> None:
        if self._stock is not None:
            await self._stock.aclose()
        # The aiohttp session is the pool's; OwnPool.aclose closes it.
