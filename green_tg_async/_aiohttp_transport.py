"""An httpx transport over an aiohttp connection pool it owns.

`httpx.Request` in, `httpx.Response` out (read in full: answers are small
JSON bodies), as httpx's own transport over httpcore. aiohttp failures come
out as the httpx exceptions httpx itself would raise, with the aiohttp error
as their cause; `_transport.py` decides from them whether the request was sent.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp
import httpx
import yarl
from aiohttp import hdrs

from ._config import DEFAULT_TIMEOUT
from ._logging import logger, redact

__all__ = [
    "PLAN",
    "POOL_CONNECTIONS",
    "POOL_LIMITS",
    "AiohttpTransport",
    "Plan",
    "Proxies",
    "describe",
    "fast_http_client",
]

POOL_CONNECTIONS: Final = 100
"""Connections a pool opens at most, and keeps open while idle.

Stock httpx keeps at most 20 idle connections: at concurrency 32 and 20 ms
RTT, 195 of 200 calls opened a new TCP + TLS connection (issue 23).
"""

# Our pool's size; an idle connection closes after 5 s, as in httpx's default.
POOL_LIMITS: Final = httpx.Limits(
    max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_CONNECTIONS
)
_HTTP_11: Final = b"HTTP/1.1"
PLAN: Final = "green_tg_async.plan"
"""The request extension holding a ready `AiohttpTransport.plan()`."""
Plan = tuple[yarl.URL, dict[str, Any]]
_CACHED: Final = 256  # URLs (timeouts, routes) mapped before a cache starts over
# Not in typeshed, but public since Python 3.3: NO_PROXY's rules, as urllib has them.
_bypass: Callable[[str, Mapping[str, str]], bool] = (
    urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
)


def fast_http_client(
    *,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits | None = None,
    **options: Any,
) -> httpx.AsyncClient:
    """Return an `httpx.AsyncClient` on our aiohttp transport, to share a pool.

    A client built without `http_client=` already keeps a pool of its own;
    pass this one as `http_client=` to several clients to share one pool
    between them (you then close it yourself). It binds to the running
    event loop, so call this inside it:

        async with fast_http_client() as http:
            async with AsyncGreenTelegram(http_client=http) as tg:
                ...

    `limits` sizes the pool (`max_connections`, `keepalive_expiry`; default
    100 connections kept for 5 s). aiohttp failures still come out as
    `APIConnectionError`/`APITimeoutError`, with `request_sent` False only
    when the connection was never made.
    """
    asyncio.get_running_loop()  # RuntimeError outside a loop, as documented
    transport = AiohttpTransport(limits=limits)
    return httpx.AsyncClient(transport=transport, timeout=timeout, **options)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send each request on one aiohttp session, made on the first request.

    Certificates are verified as stock httpx verifies them (certifi, or
    `SSL_CERT_FILE` as set when the first pool connects). A connect timeout
    with every slot taken is raised as `httpx.PoolTimeout`, one that could
    not reach the server as `httpx.ConnectTimeout`.
    """

    def __init__(self, *, limits: httpx.Limits | None = None) -> None:
        self.proxies = Proxies(urllib.request.getproxies_environment())
        limits = limits or POOL_LIMITS
        self._limit = limits.max_connections or 0  # 0: aiohttp's "no limit"
        self._keepalive = limits.keepalive_expiry or 0.0
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, yarl.URL] = {}
        self._headers: dict[
            tuple[tuple[bytes, bytes], ...], tuple[tuple[str, str], ...]
        ] = {}
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, made on first use (it needs the running loop)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                keepalive_timeout=self._keepalive,
                ssl=_default_ssl_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # a thread hop per request; `Proxies` instead
                # Cookies belong to an httpx client, not to its transport.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    def wedged(self) -> bool:
        """True when every slot is held: a connect timeout then means a full pool.

        aiohttp counts a connection it is still opening with a placeholder;
        one left behind would hold its slot for ever, as httpcore's orphaned
        connections do (encode/httpcore#1093). aiohttp has no public count,
        so this reads its own (`_acquired`).
        """
        if self._session is None or not self._limit:
            return False
        acquired = getattr(self._session.connector, "_acquired", ())
        return len(acquired) >= self._limit

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, read the whole answer, and return it as httpx's."""
        try:
            data: Any = request.content or None
            plan = request.extensions.get(PLAN) or self.plan(request)
        except httpx.RequestNotRead:  # multipart: aiohttp reads the stream
            data = request.stream
            headers = httpx.Headers(request.headers)
            headers.pop("transfer-encoding", None)  # aiohttp chunks it itself
            plan = self.plan(request, headers)
        url, options = plan
        try:
            async with self.session().request(
                request.method, url, data=data, **options
            ) as answer:
                body = await answer.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = _kind(exc)
            if kind is httpx.ConnectTimeout and self.wedged():
                kind = httpx.PoolTimeout
            raise kind(describe(exc), request=request) from exc
        extensions: dict[str, Any] = {"http_version": _HTTP_11}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode("ascii", "replace")
        response = httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions=extensions,
        )
        if hdrs.CONTENT_ENCODING in answer.headers:
            response.read()  # decoded as its Content-Encoding says
        else:
            _as_read(response, body)
        return response

    def plan(
        self, request: httpx.Request, headers: httpx.Headers | None = None
    ) -> Plan:
        """What `session.request` takes for `request` besides its method and body.

        A request that carries one under `PLAN` in its extensions (the ones
        `Transport` builds, made once per URL, headers and timeout) skips this.
        """
        url = self._url(request.url)
        options = {
            **self.proxies.route(url),
            "headers": self._pairs(request.headers if headers is None else headers),
            "timeout": self._timeout(request.extensions.get("timeout")),
            "allow_redirects": False,
            "auto_decompress": False,  # the httpx.Response decodes the body
        }
        return url, options

    def _url(self, url: httpx.URL) -> yarl.URL:
        """`url` as yarl's, already encoded as httpx encoded it; parsed once."""
        text = str(url)
        mapped = self._urls.get(text)
        if mapped is None:
            if len(self._urls) >= _CACHED:  # URLs with a query string vary
                self._urls.clear()
            mapped = self._urls[text] = yarl.URL(text, encoded=True)
        return mapped

    def _pairs(self, headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
        """`headers.multi_items()`, decoded by httpx once per set of headers."""
        key = tuple(headers.raw)
        pairs = self._headers.get(key)
        if pairs is None:
            if len(self._headers) >= _CACHED:  # uploads name their files
                self._headers.clear()
            pairs = self._headers[key] = tuple(headers.multi_items())
        return pairs

    def _timeout(
        self, phases: Mapping[str, float | None] | None
    ) -> aiohttp.ClientTimeout:
        """The phase timeouts of httpx as aiohttp's; aiohttp has no write phase.

        Waiting for a slot, the connect included, is bounded by the pool
        timeout; the attempt deadline around the call bounds the whole. Each
        set of timeouts is mapped once.
        """
        phases = phases or {}
        key = (phases.get("connect"), phases.get("read"), phases.get("pool"))
        mapped = self._timeouts.get(key)
        if mapped is None:
            if len(self._timeouts) >= _CACHED:
                self._timeouts.clear()
            connect, read, pool = key
            mapped = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=pool, sock_connect=connect, sock_read=read
            )
        return mapped


class Proxies:
    """The proxies of the environment, read once, as httpx reads them.

    `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`, in either case
    (lower case wins). aiohttp's own `trust_env` looks them (and `~/.netrc`)
    up in a thread on every request; here each host's route is worked out
    once. A proxy's credentials travel only in its `Proxy-Authorization`
    header, never in a URL an error could print.
    """

    def __init__(self, found: Mapping[str, str]) -> None:
        self._found = dict(found)
        self._routes: dict[tuple[str, str | None, int | None], dict[str, Any]] = {}

    def route(self, url: yarl.URL) -> dict[str, Any]:
        """`request()` arguments for `url`: its proxy and header, or none."""
        key = (url.scheme, url.host, url.port)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) >= _CACHED:
                self._routes.clear()
            route = self._routes[key] = self._lookup(url)
        return route

    def _lookup(self, url: yarl.URL) -> dict[str, Any]:
        named = self._found.get(url.scheme) or self._found.get("all")
        if not named or _bypass(f"{url.host}:{url.port}", self._found):
            return {}
        proxy = yarl.URL(named if "://" in named else f"http://{named}")
        if proxy.scheme != "http":
            logger.warning(
                "ignoring the %s proxy the environment names for %s: only "
                "HTTP proxies are supported",
                proxy.scheme,
                url.scheme,
            )
            return {}
        if proxy.user is None:
            return {"proxy": proxy}
        pair = f"{proxy.user}:{proxy.password or ''}".encode()
        auth = "Basic " + base64.b64encode(pair).decode("ascii")
        return {
            "proxy": proxy.with_user(None),
            "proxy_headers": {"Proxy-Authorization": auth},
        }


def _as_read(response: httpx.Response, body: bytes) -> None:
    """Leave `response` as `response.read()` leaves it, for a body not encoded.

    `read()` pushes the bytes through httpx's decoder and chunker machinery,
    which cost more than anything else in an answer's handling (issue 29);
    with no Content-Encoding it returns the bytes unchanged. httpx keeps
    them in `_content` and counts them in `_num_bytes_downloaded`, private
    names: `tests/test_aiohttp_transport.py` checks the result against
    `read()`'s, so an httpx that stores them otherwise fails it.
    """
    response._content = body
    response._num_bytes_downloaded = len(body)
    response.is_stream_consumed = True
    response.is_closed = True  # closing a ByteStream does nothing


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The default context of httpx (certifi, or `SSL_CERT_FILE`), made once.

    Loading the CA bundle costs milliseconds and hundreds of KB; a service
    with a client per instance shares one context instead.
    """
    return httpx.create_ssl_context()


def _kind(exc: BaseException) -> type[httpx.TransportError]:
    """Which httpx error an aiohttp error is, as httpx would name the failure."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # slot wait or TCP connect
        return httpx.ConnectTimeout
    if isinstance(exc, TimeoutError):  # a read that took too long
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS, proxy
        return httpx.ConnectError
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return httpx.ProxyError
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientConnectionError):
        return httpx.ReadError
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol
    return httpx.TransportError


def describe(exc: BaseException) -> str:
    """`Type: message` of `exc`, every token redacted (`Type` if it cannot print)."""
    try:
        detail = redact(str(exc))
    except Exception:  # aiohttp errors built without a request cannot print
        detail = ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
