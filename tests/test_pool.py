"""The default transport: httpx over our own aiohttp pool; stock httpx for mocks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
import yarl

from green_tg_async import (
    AsyncGreenTelegram,
    RateLimitError,
    RateLimits,
    RetryPolicy,
    ServerError,
)
from green_tg_async._aiohttp_transport import PLAN, AiohttpTransport
from green_tg_async._base_client import _JSON_HEADERS
from green_tg_async._transport import _Requests, httpx_is_patched
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
        "sendFileByUpload",  # multipart, streamed by aiohttp
    ]
    # Built as httpx.AsyncClient builds them, its default headers included,
    assert all(agent.startswith("python-httpx/") for agent in agents)
    assert tg._transport._stock is None  # and sent on aiohttp, never on stock httpx


async def test_every_request_of_the_default_client_is_an_httpx_exchange(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """JSON calls too: an `httpx.Request` into an httpx transport, a Response out."""
    exchanges: list[tuple[str, type, type]] = []
    handle = AiohttpTransport.handle_async_request

    async def spy(self: AiohttpTransport, request: httpx.Request) -> httpx.Response:
        response = await handle(self, request)
        exchanges.append(
            (request.url.path.split("/")[2], type(request), type(response))
        )
        return response

    monkeypatch.setattr(AiohttpTransport, "handle_async_request", spy)
    async with _served() as (_, server, _), _tg(server.url) as tg:
        assert not httpx_is_patched()
        assert (await tg.service.check_account(79876543210)).exist
        await tg.sending.send_message("10000000", "hi")
        await tg.service.get_contacts(count=5)
        await tg.sending.send_file_by_upload("10000000", b"x", file_name="a.txt")
    assert exchanges == [
        (name, httpx.Request, httpx.Response)
        for name in ("checkAccount", "sendMessage", "getContacts", "sendFileByUpload")
    ]


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


@pytest.mark.parametrize("using", ["httpcore", "httpx"])  # where respx patches
async def test_a_respx_mock_sees_the_default_clients_calls(using: str) -> None:
    assert not httpx_is_patched()
    with respx.mock(base_url="https://api.example", using=using) as router:
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
    http = httpx.AsyncClient(timeout=30)
    requests = _Requests(http)
    short, longer = httpx.Timeout(1, read=2), httpx.Timeout(3, pool=4)
    url = httpx.URL("https://api.example/m")
    assert requests.build("POST", url).extensions["timeout"] == http.timeout.as_dict()
    phases = requests.build("POST", url, timeout=short).extensions["timeout"]
    assert phases == short.as_dict()
    transport = AiohttpTransport()
    first = transport._timeout(phases)
    assert transport._timeout(short.as_dict()) is first  # mapped once per timeout
    assert (first.sock_connect, first.sock_read, first.connect) == (1, 2, 1)
    mapped = transport._timeout(longer.as_dict())
    assert (mapped.sock_connect, mapped.sock_read, mapped.connect) == (3, 3, 4)
    assert mapped.total is None  # the attempt deadline bounds the whole
    await http.aclose()


@pytest.mark.parametrize(
    "options",
    [
        {"content": b'{"chatId":"1"}', "headers": _JSON_HEADERS},
        {"content": b'{"chatId":"1"}'},
        {"content": b"x", "headers": {"Content-Type": "a/b", "GA-Filename": "a.txt"}},
        {"content": b"x", "headers": {"Content-Length": "1"}},  # httpx's own
        {"content": b""},
        {},
        {"params": {"count": 5}},
        {
            "files": {"file": ("a.txt", b"x", "text/plain")},
            "data": {"chatId": "1"},
            "headers": {"Content-Type": "multipart/form-data; boundary=b0"},
        },
    ],
)
async def test_our_requests_are_the_ones_httpx_would_build(
    options: dict[str, Any],
) -> None:
    http = httpx.AsyncClient(timeout=30)
    requests = _Requests(http)
    url = httpx.URL("https://api.example:8443/waInstance1/sendMessage/t")
    for _ in range(2):  # the second one from the caches
        ours = requests.build("POST", url, **options)
        theirs = http.build_request("POST", url, **options)
        assert (ours.method, ours.url, ours.extensions) == (
            theirs.method,
            theirs.url,
            theirs.extensions,
        )
        assert ours.headers.raw == theirs.headers.raw
        assert await ours.aread() == await theirs.aread()
    await http.aclose()


async def test_the_session_never_looks_the_environment_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Proxies are read once, into the pool; aiohttp's trust_env stays off."""
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("https_proxy", raising=False)
    pool = AiohttpTransport()
    assert pool.session().trust_env is False
    route = pool.proxies.route(yarl.URL("https://api.example/m"))
    assert route == {"proxy": yarl.URL("http://proxy.invalid:3128")}
    await pool.aclose()


async def test_a_pool_that_never_sent_closes_without_a_session() -> None:
    pool = AiohttpTransport()
    assert not pool.wedged()
    await pool.aclose()
    assert pool._session is None


async def test_the_default_clients_httpx_side_reads_no_environment() -> None:
    """It only builds requests: proxies and .netrc are read by our pool, once."""
    async with _tg("https://api.example") as tg:
        assert tg._transport.http.trust_env is False
        assert tg._transport.http.timeout == httpx.Timeout(30.0)


async def test_our_requests_from_their_caches_stay_the_ones_httpx_would_build() -> None:
    """Bodies of several sizes, headers that change and change back."""
    http = httpx.AsyncClient(timeout=30)
    requests = _Requests(http)
    urls = [httpx.URL(f"https://api.example/waInstance1/{m}/t") for m in "ab"]
    other = {"Content-Type": "a/b"}
    for headers in (_JSON_HEADERS, other, _JSON_HEADERS):
        for url in urls:
            for body in (b"{}", b'{"chatId":"1"}', b"{}"):
                ours = requests.build("POST", url, content=body, headers=headers)
                theirs = http.build_request("POST", url, content=body, headers=headers)
                assert ours.headers.raw == theirs.headers.raw
                assert await ours.aread() == await theirs.aread()
    await http.aclose()


async def test_the_plan_a_request_carries_is_the_one_the_pool_would_make() -> None:
    """Made once per URL, headers, size and timeout; never a stale one."""
    pool = AiohttpTransport()
    http = httpx.AsyncClient(timeout=30, transport=pool, trust_env=False)
    requests = _Requests(http, pool)
    urls = [httpx.URL(f"https://api.example/waInstance1/{m}/t") for m in "ab"]
    timeouts = (None, httpx.Timeout(5.0), None)
    for timeout in timeouts:
        for headers in (_JSON_HEADERS, {"Content-Type": "a/b"}, _JSON_HEADERS):
            for url in urls:
                for body in (b"{}", b'{"chatId":"1"}', b"{}"):
                    ours = requests.build(
                        "POST", url, content=body, headers=headers, timeout=timeout
                    )
                    plan = ours.extensions.pop(PLAN)
                    assert plan == pool.plan(ours)
    twice = [
        requests.build("POST", urls[0], content=b"{}", headers=_JSON_HEADERS)
        for _ in range(2)
    ]
    assert twice[0].extensions[PLAN] is twice[1].extensions[PLAN]  # made once
    await http.aclose()


async def test_the_same_bytes_reach_the_server_on_our_pool_and_on_stock_httpx() -> None:
    """The default client's fast paths send what stock httpx sends."""
    seen: list[tuple[list[tuple[str, str]], bytes]] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers.multi_items(), await request.aread()))
        return httpx.Response(200, json={"exist": True, "chatId": "1"})

    async with LoopbackServer(handle) as server:
        async with _tg(server.url) as tg:
            for _ in range(2):  # the second from the caches
                await tg.service.check_account(79876543210)
        assert tg._transport._stock is None  # sent on our pool
        async with (
            httpx.AsyncClient() as stock,
            _tg(server.url, http_client=stock) as tg,
        ):
            await tg.service.check_account(79876543210)
    ours, cached, theirs = seen
    assert ours == cached == theirs
    assert ours[1] == b'{"phoneNumber":79876543210}'
