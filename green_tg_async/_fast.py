"""The `fast` extra: httpx's API over aiohttp's connection handling (httpx-aiohttp)."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import httpx

from ._config import DEFAULT_TIMEOUT

__all__ = ["fast_http_client", "is_aiohttp_error", "never_connected"]

# aiohttp errors that mean the connection was never made. httpx-aiohttp maps
# every aiohttp connection error, a dropped connection mid-request included,
# to httpx.ConnectTimeout, so "not sent" is only believed with one of these.
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


def is_aiohttp_error(exc: BaseException) -> bool:
    """True for an exception raised by aiohttp (checked without importing it)."""
    return type(exc).__module__.startswith("aiohttp")


def never_connected(exc: BaseException) -> bool:
    """True if the aiohttp error `exc` means no connection was ever made.

    The transport uses it on the cause of an httpx error, so a request that
    may have reached the server is never reported as "not sent".
    """
    return type(exc).__name__ in _NEVER_CONNECTED


def fast_http_client(
    *, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT, **options: Any
) -> httpx.AsyncClient:
    """Return an `httpx.AsyncClient` whose transport is aiohttp (extra `fast`).

    Stock httpcore slows down under concurrency; aiohttp's pool does not. Pass
    the result as `http_client=` (you then close it yourself). It binds to
    the running event loop, so call this inside it:

        async with fast_http_client() as http:
            async with AsyncGreenTelegram(http_client=http) as tg:
                ...

    aiohttp failures still come out as `APIConnectionError`/`APITimeoutError`,
    with `request_sent` False only when the connection was never made.
    """
    asyncio.get_running_loop()  # RuntimeError outside a loop, as documented
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "fast_http_client() needs httpx-aiohttp: pip install 'green-tg-async[fast]'"
        ) from exc
    return httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout, **options)
