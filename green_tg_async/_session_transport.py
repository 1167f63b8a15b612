"""An httpx transport over one aiohttp session: httpx.Request in, httpx.Response out.

httpx-aiohttp's `AiohttpTransport` does the same, but streams every answer
through an async generator, parses the URL again on every request and makes
a new `aiohttp.ClientTimeout` for each. Our answers are small JSON bodies,
read in full here; the URL and the timeouts are mapped once. aiohttp
failures come out as the httpx exceptions httpx itself would raise, a
"not sent" kind (`ConnectError`, `ConnectTimeout`, `PoolTimeout`) only when
no connection was ever made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp
import httpx
import yarl

from ._logging import redact

__all__ = ["SessionTransport"]

_HTTP_11: Final = b"HTTP/1.1"
_CACHED: Final = 256  # URLs (or timeouts) mapped before a cache starts over


class SessionTransport(httpx.AsyncBaseTransport):
    """Send each request on the aiohttp session `session()` returns.

    `wedged()` tells a connect timeout with every slot taken (raised as
    `httpx.PoolTimeout`) from one that could not reach the server
    (`httpx.ConnectTimeout`). The session is not ours: `aclose` leaves it open.
    """

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        *,
        wedged: Callable[[], bool],
    ) -> None:
        self._session = session
        self._wedged = wedged
        # id of the parsed httpx URL → (that URL, kept alive; the yarl form).
        self._urls: dict[int, tuple[Any, yarl.URL]] = {}
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, read the whole answer, and return it as httpx's."""
        headers = request.headers
        try:
            data: Any = request.content or None
        except httpx.RequestNotRead:  # multipart: aiohttp reads the stream
            data = request.stream
            headers = httpx.Headers(headers)
            headers.pop("transfer-encoding", None)  # aiohttp chunks it itself
        try:
            async with self._session().request(
                request.method,
                self._url(request.url),
                data=data,
                headers=headers.multi_items(),
                timeout=self._timeout(request.extensions.get("timeout")),
                allow_redirects=False,
                auto_decompress=False,  # the httpx.Response decodes the body
            ) as answer:
                body = await answer.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._error(exc, request) from exc
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
        response.read()  # decoded as its Content-Encoding says
        return response

    def _url(self, url: httpx.URL) -> yarl.URL:
        """`url` as yarl's, already encoded as httpx encoded it; parsed once."""
        # httpx's parsed form, shared by every copy httpx makes of a URL.
        parsed = getattr(url, "_uri_reference", url)
        cached = self._urls.get(id(parsed))
        if cached is not None and cached[0] is parsed:
            return cached[1]
        if len(self._urls) >= _CACHED:  # URLs with a query string vary
            self._urls.clear()
        mapped = yarl.URL(str(url), encoded=True)
        self._urls[id(parsed)] = (parsed, mapped)
        return mapped

    def _timeout(
        self, phases: Mapping[str, float | None] | None
    ) -> aiohttp.ClientTimeout:
        """The phase timeouts of httpx as aiohttp's; aiohttp has no write phase.

        Waiting for a slot, the connect included, is bounded by the pool
        timeout; the attempt deadline around the call bounds the whole.
        """
        phases = phases or {}
        key = (phases.get("connect"), phases.get("read"), phases.get("pool"))
        mapped = self._timeouts.get(key)
        if mapped is None:
            if len(self._timeouts) >= _CACHED:
                self._timeouts.clear()
            connect, read, pool = key
            mapped = aiohttp.ClientTimeout(
                total=None, connect=pool, sock_connect=connect, sock_read=read
            )
            self._timeouts[key] = mapped
        return mapped

    def _error(
        self, exc: BaseException, request: httpx.Request
    ) -> httpx.TransportError:
        """The httpx exception for the aiohttp failure `exc`, its text redacted."""
        kind = _kind(exc)
        if kind is httpx.ConnectTimeout and self._wedged():
            kind = httpx.PoolTimeout
        return kind(f"{type(exc).__name__}: {_text(exc)}", request=request)


def _kind(exc: BaseException) -> type[httpx.TransportError]:
    """Which httpx error an aiohttp error is; "not sent" only if it never connected."""
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


def _text(exc: BaseException) -> str:
    """`str(exc)` with every token redacted; some aiohttp errors cannot print."""
    try:
        return redact(str(exc))
    except Exception:
        return ""
