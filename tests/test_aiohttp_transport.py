"""Our httpx transport over an aiohttp pool: the httpx transport contract."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from yarl import URL

from green_tg_async._aiohttp_transport import AiohttpTransport
from green_tg_async._logging import install_redaction
from tests.helpers import API_TOKEN

_KEY = aiohttp.client_reqrep.ConnectionKey(
    "h", 1, False, True, None, None, None
)  # what aiohttp's connector errors name


def _connector_error(kind: type[aiohttp.ClientConnectorError]) -> Exception:
    return kind(_KEY, OSError(111, "refused"))


# aiohttp's failure → the httpx error httpx itself would raise. The first
# three kinds are the "never sent" ones: only errors raised before any
# connection existed may map to them.
MAPPED = [
    (aiohttp.ConnectionTimeoutError("slot or connect"), httpx.ConnectTimeout),
    (_connector_error(aiohttp.ClientConnectorError), httpx.ConnectError),
    (_connector_error(aiohttp.ClientConnectorDNSError), httpx.ConnectError),
    (_connector_error(aiohttp.ClientProxyConnectionError), httpx.ConnectError),
    (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError("read"), httpx.ReadTimeout),
    (TimeoutError(), httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
    (
        aiohttp.ClientResponseError(None, (), status=400, message="bad"),  # type: ignore[arg-type]
        httpx.RemoteProtocolError,
    ),
    (
        aiohttp.ClientHttpProxyError(None, (), status=407),  # type: ignore[arg-type]
        httpx.ProxyError,
    ),
    (aiohttp.ClientPayloadError("cut short"), httpx.ReadError),
    (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
    (aiohttp.ClientConnectionResetError("reset"), httpx.ReadError),
    (aiohttp.InvalidURL("x"), httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError("ftp://x"), httpx.UnsupportedProtocol),
    (aiohttp.UploadAbortedError(), httpx.TransportError),
]


class _Failing:
    """A stand-in session whose every request raises `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def request(self, *args: Any, **kwargs: Any) -> _Failing:
        return self

    async def __aenter__(self) -> None:
        raise self.error

    async def __aexit__(self, *args: object) -> None:
        raise AssertionError("never entered")


def _transport(session: Any, *, wedged: bool = False) -> AiohttpTransport:
    """Our transport on `session` (a stand-in, or a real one it then owns)."""
    transport = AiohttpTransport()
    transport._session = session
    transport.wedged = lambda: wedged  # type: ignore[method-assign]
    return transport


@pytest.mark.parametrize(("error", "expected"), MAPPED)
async def test_aiohttp_failures_become_httpx_errors(
    error: Exception, expected: type[httpx.TransportError]
) -> None:
    request = httpx.Request("POST", "https://api.example/m", content=b"{}")
    with pytest.raises(httpx.TransportError) as info:
        await _transport(_Failing(error)).handle_async_request(request)
    assert type(info.value) is expected
    assert info.value.request is request
    assert info.value.__cause__ is error  # read by `request_sent`
    assert str(info.value).startswith(type(error).__name__)


async def test_a_connect_timeout_with_every_slot_taken_is_a_pool_timeout() -> None:
    request = httpx.Request("GET", "https://api.example/m")
    error = aiohttp.ConnectionTimeoutError("slot")
    with pytest.raises(httpx.PoolTimeout):
        await _transport(_Failing(error), wedged=True).handle_async_request(request)


async def test_no_error_message_holds_the_token() -> None:
    install_redaction(API_TOKEN)
    url = f"https://api.example/m/{API_TOKEN}"
    error = aiohttp.ClientResponseError(
        aiohttp.RequestInfo(URL(url), "POST", {}, URL(url)),  # type: ignore[arg-type]
        (),
        status=400,
        message="bad",
    )
    assert API_TOKEN in str(error)
    with pytest.raises(httpx.RemoteProtocolError) as info:
        await _transport(_Failing(error)).handle_async_request(
            httpx.Request("POST", url)
        )
    assert API_TOKEN not in str(info.value)
    assert "***" in str(info.value)


async def test_an_error_that_cannot_print_still_names_its_kind() -> None:
    class Unprintable(aiohttp.ClientError):
        def __str__(self) -> str:
            raise RuntimeError("built without a request")

    with pytest.raises(httpx.TransportError) as info:
        await _transport(_Failing(Unprintable())).handle_async_request(
            httpx.Request("GET", "https://api.example/m")
        )
    assert str(info.value) == "Unprintable"


@contextlib.asynccontextmanager
async def _served(handler: Any) -> AsyncIterator[str]:
    """An aiohttp web server on loopback (it reads chunked bodies, sends gzip)."""
    app = web.Application()
    app.router.add_route("*", "/{path}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _answer(request: web.Request) -> web.Response:
    body = gzip.compress(b'{"echo": "%s"}' % request.method.encode())
    return web.Response(status=201, body=body, headers={"Content-Encoding": "gzip"})


async def test_an_answer_comes_back_as_httpx_would_give_it() -> None:
    async with _served(_answer) as base:
        transport = AiohttpTransport()
        try:
            url = httpx.URL(base + "/m")
            for _ in range(2):  # the second one maps the URL from the cache
                request = httpx.Request("PUT", url, content=b"{}")
                response = await transport.handle_async_request(request)
                assert response.status_code == 201
                assert response.json() == {"echo": "PUT"}  # gzip decoded
                assert response.headers["content-encoding"] == "gzip"
                assert response.request is request
                assert response.http_version == "HTTP/1.1"
                assert response.reason_phrase == "Created"
                assert response.is_closed
        finally:
            await transport.aclose()
        assert transport.session().closed  # the transport owns its session


async def test_the_url_cache_stays_bounded() -> None:
    transport = AiohttpTransport()
    urls = [httpx.URL(f"https://api.example/m?n={n}") for n in range(300)]
    mapped = [transport._url(url) for url in urls]
    assert [str(url) for url in mapped] == [str(url) for url in urls]
    assert len(transport._urls) <= 256
    assert transport._url(httpx.URL(urls[-1])) is mapped[-1]  # a copy, same parse


async def test_many_timeouts_keep_the_timeout_cache_bounded() -> None:
    transport = AiohttpTransport()
    for read in range(300):
        assert transport._timeout({"read": float(read)}).sock_read == read
    assert len(transport._timeouts) <= 256
    assert transport._timeout(None).sock_read is None


async def _stream_echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "length": len(body),
            "chunked": "chunked" in request.headers.get("Transfer-Encoding", ""),
        }
    )


async def test_an_upload_streams_through_the_transport() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a" * 10
        yield b"b" * 5

    async with _served(_stream_echo) as base:
        transport = AiohttpTransport()
        try:
            request = httpx.Request("POST", base + "/up", content=chunks())
            assert request.headers["transfer-encoding"] == "chunked"
            response = await transport.handle_async_request(request)
            assert response.json() == {"length": 15, "chunked": True}
            assert request.headers["transfer-encoding"] == "chunked"  # not changed
        finally:
            await transport.aclose()


async def _plain(request: web.Request) -> web.Response:
    return web.Response(
        status=200,
        body=b'{"exist": true, "chatId": "\xc3\xa9"}',
        headers={"Content-Type": "application/json", "X-Extra": "1"},
    )


async def test_a_plain_answer_is_left_as_read_would_leave_it() -> None:
    """The fast path for a body without Content-Encoding, against `read()`."""
    async with _served(_plain) as base:
        transport = AiohttpTransport()
        try:
            request = httpx.Request("POST", base + "/m", content=b"{}")
            ours = await transport.handle_async_request(request)
        finally:
            await transport.aclose()
    theirs = httpx.Response(
        ours.status_code,
        headers=ours.headers.raw,
        stream=httpx.ByteStream(b'{"exist": true, "chatId": "\xc3\xa9"}'),
        request=request,
        extensions=ours.extensions,
    )
    theirs.read()
    for response in (ours, theirs):
        assert response.content == b'{"exist": true, "chatId": "\xc3\xa9"}'
    assert ours.text == theirs.text
    assert ours.json() == theirs.json() == {"exist": True, "chatId": "é"}
    assert ours.headers.raw == theirs.headers.raw
    assert ours.num_bytes_downloaded == theirs.num_bytes_downloaded
    assert (ours.is_closed, ours.is_stream_consumed) == (True, True)
    assert (theirs.is_closed, theirs.is_stream_consumed) == (True, True)
    assert ours.read() == await ours.aread() == theirs.content
    assert b"".join(ours.iter_bytes()) == theirs.content
    assert ours.reason_phrase == theirs.reason_phrase == "OK"
