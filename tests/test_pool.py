"""The default transport: our own aiohttp pool, and httpx when a mock needs it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenTelegram,
    RateLimitError,
    RateLimits,
    RetryPolicy,
    ServerError,
)
from green_tg_async._pool import OwnPool, httpx_is_patched
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from green_tg_async.testing._server import LoopbackServer
from tests.helpers import API_TOKEN, ID_INSTANCE, RecordingSleep


def _tg(url: str, **options: object) -> AsyncGreenTelegram:
    settings: dict[str, object] = {
        "store": MemoryStore(),
        "limits": RateLimits(enabled=False),
        "retry": RetryPolicy(sleep=RecordingSleep()),
        **options,
    }
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        api_url=url,
        **settings,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def _served() -> AsyncIterator[tuple[FakeGreenAPI, LoopbackServer, list[str]]]:
    """A FakeGreenAPI on loopback TCP; also records each User-Agent."""
    fake = FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)
    agents: list[str] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers.get("user-agent", ""))
        return fake.handle(request)

    async with LoopbackServer(handle) as server:
        yield fake, server, agents


async def test_every_kind_of_request_travels_on_the_default_pool() -> None:
    async with _served() as (fake, server, agents), _tg(server.url) as tg:
        switch: Any = tg._transport.http._transport
        assert (await tg.service.check_account(79876543210)).exist
        await tg.sending.send_message("10000000", "hi")
        await tg.service.get_contacts(count=5)  # a query string
        await tg.receiving.delete_notification(7)  # a path suffix
        await tg.sending.upload_file(b"x" * 10, file_name="a.txt")  # raw bytes
        await tg.sending.send_file_by_upload("10000000", b"x", file_name="a.txt")
    assert [name for _, name in fake.requests] == [
        "checkAccount",
        "sendMessage",
        "getContacts",
        "deleteNotification",
        "uploadFile",
        "sendFileByUpload",  # multipart, through httpx-aiohttp on the same pool
    ]
    assert all("aiohttp" in agent for agent in agents[:5])  # aiohttp's own requests
    assert switch._aiohttp is not None  # the upload went over httpx-aiohttp
    assert switch._stock is None  # and nothing over stock httpx


async def test_error_answers_keep_their_headers_and_text() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, json={}),
            httpx.Response(500, text="upstream \u00e9chec"),
        ]
    )

    async def handle(request: httpx.Request) -> httpx.Response:
        return next(answers)

    retry = RetryPolicy(max_attempts=1)
    async with LoopbackServer(handle) as server, _tg(server.url, retry=retry) as tg:
        with pytest.raises(RateLimitError) as limited:
            await tg.account.get_state_instance()
        with pytest.raises(ServerError) as failed:
            await tg.account.get_state_instance()
    assert limited.value.retry_after == 7
    assert failed.value.body == "upstream \u00e9chec"


async def test_concurrent_calls_reuse_their_connections() -> None:
    opened = 0

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened
        opened += 1
        with contextlib.suppress(Exception):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = head.lower().split(b"content-length:")[1].split(b"\r\n")[0]
                await reader.readexactly(int(length))
                await asyncio.sleep(0.001)  # every call of a round is in flight
                body = b'{"idMessage": "1"}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n" + body)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(ok, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    rounds = []
    try:
        async with _tg(url) as tg:
            for _ in range(3):
                await asyncio.gather(
                    *(tg.sending.send_message("1", "hi") for _ in range(64))
                )
                rounds.append(opened)
    finally:
        server.close()
        await server.wait_closed()
    assert rounds[0] <= 64
    assert rounds[1:] == [rounds[0]] * 2  # no new connection after the first round


async def test_a_respx_mock_sees_the_default_clients_calls() -> None:
    assert not httpx_is_patched()
    with respx.mock(base_url="https://api.example") as router:
        assert httpx_is_patched()
        route = router.post(path__regex=r"/sendMessage/").respond(
            json={"idMessage": "1"}
        )
        async with _tg("https://api.example") as tg:
            sent = await tg.sending.send_message("1", "hi")
    assert sent.id_message == "1"
    assert route.call_count == 1
    assert not httpx_is_patched()


async def test_a_patched_httpx_transport_sees_uploads_and_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What pytest-httpx does: replace `AsyncHTTPTransport.handle_async_request`."""
    seen: list[str] = []

    async def handle(
        self: httpx.AsyncHTTPTransport, request: httpx.Request
    ) -> httpx.Response:
        seen.append(request.url.path.split("/")[2])
        return httpx.Response(200, json={"idMessage": "1", "urlFile": "u"})

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
    async with _tg("https://api.example") as tg:
        await tg.sending.send_message("1", "hi")
        await tg.sending.upload_file(b"x", file_name="a.txt")
    assert seen == ["sendMessage", "uploadFile"]


async def test_a_per_call_timeout_reaches_aiohttp() -> None:
    pool = OwnPool(httpx.Timeout(30))
    short, longer = httpx.Timeout(1, read=2), httpx.Timeout(3, pool=4)
    first = pool._timeout(short)
    assert pool._timeout(short) is first  # mapped once per timeout
    assert (first.sock_connect, first.sock_read, first.connect) == (1, 2, 1)
    mapped = pool._timeout(longer)
    assert (mapped.sock_connect, mapped.sock_read, mapped.connect) == (3, 3, 4)
    await pool.aclose()


async def test_proxies_in_the_environment_are_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    plain = OwnPool(httpx.Timeout(30))
    assert plain.session().trust_env is False  # no look-up on every request
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    proxied = OwnPool(httpx.Timeout(30))
    assert proxied.session().trust_env is True
    for pool in (plain, proxied):
        await pool.aclose()


async def test_a_pool_that_never_sent_closes_without_a_session() -> None:
    pool = OwnPool(httpx.Timeout(30))
    assert not pool.wedged()
    await pool.aclose()
    assert pool._session is None
