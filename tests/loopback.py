"""A GREEN-API stand-in on real loopback TCP whose answers each test scripts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from green_tg_async import AsyncGreenTelegram, BreakerPolicy, RetryPolicy
from green_tg_async.stores import MemoryStore
from green_tg_async.testing._server import LoopbackServer as _Server

from .helpers import API_TOKEN, ID_INSTANCE, FakeClock, RecordingSleep

Handler = Callable[[str, str, bytes], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Arrival:
    at: float  # loop time when the server finished reading the request
    method: str
    path: str
    body: bytes


class LoopbackServer:
    """Serve `handler(method, path, body) -> (status, json)`; stamp each arrival."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.arrivals: list[Arrival] = []
        self._server = _Server(self._handle)

    @property
    def url(self) -> str:
        return self._server.url

    async def __aenter__(self) -> LoopbackServer:
        await self._server.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._server.__aexit__(exc_type, exc, tb)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        at = asyncio.get_running_loop().time()
        body = request.content
        self.arrivals.append(Arrival(at, request.method, request.url.path, body))
        status, payload = await self.handler(request.method, request.url.path, body)
        return httpx.Response(status, json=payload)


def loopback_client(
    server: LoopbackServer, clock: FakeClock, **options: Any
) -> AsyncGreenTelegram:
    """A client of `server` on `clock`, with recorded sleeps and its own store."""
    options.setdefault("store", MemoryStore())
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        api_url=server.url,
        breaker=BreakerPolicy(clock=clock),
        retry=RetryPolicy(sleep=RecordingSleep()),
        **options,
    )
