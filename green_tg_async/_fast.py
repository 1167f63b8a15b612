"""httpx's API over aiohttp's connection handling (httpx-aiohttp), to share a pool."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import httpx
from httpx_aiohttp import AiohttpTransport

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
    *,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits | None = None,
    **options: Any,
) -> httpx.AsyncClient:
    """Return an `httpx.AsyncClient` whose transport is aiohttp.

    A client built without `http_client=` already keeps its own aiohttp
    pool; pass this one as `http_client=` to several clients to share one
    pool between them (you then close it yourself). It binds to the running
    event loop, so call this inside it:

        async with fast_http_client() as http:
            async with AsyncGreenTelegram(http_client=http) as tg:
                ...

    `limits` sizes aiohttp's pool (`max_connections`, `keepalive_expiry`;
    default 100 connections). aiohttp failures still come out as
    `APIConnectionError`/`APITimeoutError`, with `request_sent` False only
    when the connection was never made.
    """
    asyncio.get_running_loop()  # RuntimeError outside a loop, as documented
    if limits is None:  # httpx-aiohttp's default: 100 connections
        transport = AiohttpTransport()
    else:
        transport = AiohttpTransport(limits=limits)
    return httpx.AsyncClient(transport=transport, timeout=timeout, **options)
