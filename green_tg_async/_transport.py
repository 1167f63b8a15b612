"""One API call → one HTTP exchange; httpx errors become ours. No loops, no sleeps."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Mapping
from typing import Any, Final

import httpx

from ._exceptions import APIConnectionError, APITimeoutError
from ._logging import Secret, redact
from ._methods import MethodSpec

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
    """Send one request for a `MethodSpec`; map httpx failures to our errors."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        prefixes: Mapping[str, str],
        token: Secret,
    ) -> None:
        self._http = http
        self._prefixes = {host: url.rstrip("/") for host, url in prefixes.items()}
        self.token = token
        """The token placed after the method name; swapped by `updateApiToken`."""

    @classmethod
    def for_instance(
        cls,
        http: httpx.AsyncClient,
        *,
        api_url: str,
        media_url: str,
        id_instance: str,
        token: Secret,
    ) -> Transport:
        """A transport for `{host}/waInstance{id}/{method}/{token}` URLs."""
        return cls(
            http,
            prefixes={
                "api": f"{api_url.rstrip('/')}/waInstance{id_instance}",
                "media": f"{media_url.rstrip('/')}/waInstance{id_instance}",
            },
            token=token,
        )

    async def send(
        self, spec: MethodSpec, *, suffix: str = "", **request: Any
    ) -> httpx.Response:
        """Send `spec` once; `request` goes to `httpx.AsyncClient.request`.

        `suffix` follows the token in the path (`deleteNotification/{token}/{id}`).
        """
        url = f"{self._prefixes[spec.host]}/{spec.name}/{self.token.reveal()}{suffix}"
        try:
            return await self._http.request(spec.http_method, url, **request)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"{spec.name} timed out: {_describe(exc)}",
                method=spec.name,
                request_sent=_maybe_sent(exc),
            ) from exc
        except httpx.RequestError as exc:
            raise APIConnectionError(
                f"{spec.name} failed: {_describe(exc)}",
                method=spec.name,
                request_sent=_maybe_sent(exc),
            ) from exc
        except Exception as exc:
            if not type(exc).__module__.startswith("aiohttp"):
                raise
            # An aiohttp error that httpx-aiohttp did not translate: we cannot
            # tell whether the request left, so it counts as sent.
            raise APIConnectionError(
                f"{spec.name} failed: {type(exc).__name__}",
                method=spec.name,
                request_sent=True,
            ) from exc

    def __repr__(self) -> str:
        return f"<Transport hosts={sorted(set(self._prefixes.values()))}>"


# aiohttp errors that mean the connection was never made. httpx-aiohttp maps
# every aiohttp connection error, a dropped connection mid-request included,
# to httpx.ConnectTimeout, so "not sent" is only believed with one of these.
_AIOHTTP_NOT_SENT: Final = frozenset(
    {
        "ClientConnectorError",
        "ClientConnectorDNSError",
        "ClientConnectorSSLError",
        "ClientConnectorCertificateError",
        "ClientProxyConnectionError",
        "ConnectionTimeoutError",
    }
)


def _maybe_sent(exc: httpx.RequestError) -> bool:
    """True unless the request certainly never reached the server."""
    if not isinstance(exc, _NOT_SENT):
        return True
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("aiohttp"):
        return type(cause).__name__ not in _AIOHTTP_NOT_SENT
    return False


def _describe(exc: httpx.RequestError) -> str:
    detail = redact(str(exc))
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
