"""`httpx.Request`s as `httpx.AsyncClient.build_request` makes them, made faster.

Our own pool's client has no cookies, auth, base URL or default parameters,
so a request is its default headers, the call's own, and the timeout. Both
are merged once per headers mapping and per timeout (a JSON call passes the
same two every time). A body of bytes, what every JSON call sends, skips
httpx's re-parsing of every header: the two headers httpx would add (Host
first, Content-Length last) are added here; `tests/test_pool.py` checks the
result against `build_request`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["RequestBuilder"]

_AUTO: frozenset[str] = frozenset({"host", "content-length", "transfer-encoding"})


class RequestBuilder:
    """Build the requests `client` would build, for a client without cookies."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._headers = self._merge(None)
        self._phases: tuple[httpx.Timeout, dict[str, float | None]] = (
            client.timeout,
            client.timeout.as_dict(),
        )

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
        extensions = {"timeout": self._timeout(timeout)}
        content = options.get("content")
        if (
            raw is not None
            and isinstance(url, httpx.URL)
            and isinstance(content, bytes)
            and content
            and len(options) == 1
        ):
            size = b"%d" % len(content)
            request = httpx.Request(
                method,
                url,
                headers=[(b"Host", url.netloc), *raw, (b"Content-Length", size)],
                stream=httpx.ByteStream(content),
                extensions=extensions,
            )
            request.read()  # as httpx reads a body of bytes
            return request
        return httpx.Request(
            method, url, headers=merged, extensions=extensions, **options
        )

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
        auto = _AUTO.intersection(key.lower() for key in merged)
        return headers, merged, None if auto else merged.raw

    def _timeout(self, timeout: httpx.Timeout | None) -> dict[str, float | None]:
        """The `timeout` extension: `timeout`, else the client's, as a dict."""
        if timeout is None:
            timeout = self._client.timeout
        given, phases = self._phases
        if timeout is not given:
            phases = httpx.Timeout(timeout).as_dict()
            self._phases = (timeout, phases)
        return phases
