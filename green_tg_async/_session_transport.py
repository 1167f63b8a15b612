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

import base64
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp
import httpx
import yarl

from ._logging import logger, redact

__all__ = ["Proxies", "SessionTransport"]

# Not in typeshed, but public since Python 3.3: NO_PROXY's rules, as urllib has them.
_bypass: Callable[[str, Mapping[str, str]], bool] = (
    urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
)
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
        proxies: Proxies | None = None,
    ) -> None:
        self._session = session
        self._wedged = wedged
        self._proxies = proxies or Proxies({})
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
        url = self._url(request.url)
        try:
            async with self._session().request(
                request.method,
                url,
                **self._proxies.route(url),
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

    @classmethod
    def from_env(cls) -> Proxies:
        """The proxies the environment names now."""
        return cls(urllib.request.getproxies_environment())

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
        where = f"{url.host}:{url.port}"
        if not named or _bypass(where, self._found):
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
