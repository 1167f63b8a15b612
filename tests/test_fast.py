"""`fast_http_client()`: our aiohttp transport under httpx, to share a pool."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
import pytest

from green_tg_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncGreenTelegram,
    RateLimits,
    RetryPolicy,
    fast_http_client,
)
from green_tg_async._base_client import NOT_GIVEN, NotGiven
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from green_tg_async.testing._server import LoopbackServer
from tests.helpers import API_TOKEN, ID_INSTANCE, RecordingSleep, run_in_fake_time


async def _timed_out(tg: AsyncGreenTelegram) -> APITimeoutError:
    with pytest.raises(APITimeoutError) as info:
        await tg.sending.send_message("1", "hi")
    return info.value


def _tg(
    http: httpx.AsyncClient | None, url: str, timeout: float | NotGiven = NOT_GIVEN
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        api_url=url,
        http_client=http,
        timeout=timeout,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(sleep=RecordingSleep()),
    )


async def test_checks_work_over_aiohttp() -> None:
    fake = FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)

    async def handle(request: httpx.Request) -> httpx.Response:
        return fake.handle(request)

    async with (
        LoopbackServer(handle) as server,
        fast_http_client() as http,
        _tg(http, server.url) as tg,
    ):
        found = await tg.service.check_account(79876543210)
    assert found.exist
    assert fake.requests == [("POST", "checkAccount")]


async def test_a_refused_connection_was_not_sent() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with fast_http_client() as http, _tg(http, f"http://127.0.0.1:{port}") as tg:
        with pytest.raises(APIConnectionError) as info:
            await tg.sending.send_message("1", "hi")
    assert info.value.request_sent is False


async def test_a_dropped_connection_may_have_been_sent_and_is_not_repeated() -> None:
    arrivals: list[str] = []

    async def drop(request: httpx.Request) -> httpx.Response:
        arrivals.append(request.url.path)
        raise ConnectionError("server goes away after reading the request")

    async with (
        LoopbackServer(drop) as server,
        fast_http_client() as http,
        _tg(http, server.url) as tg,
    ):
        with pytest.raises(APIConnectionError) as info:
            await tg.sending.send_message("1", "hi")
    assert info.value.request_sent is True
    assert len(arrivals) == 1


@pytest.mark.parametrize("kind", ["fast", "default"])
def test_a_read_timeout_was_sent(kind: str) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(60)
        return httpx.Response(200, json={"idMessage": "1"})

    async def main() -> APITimeoutError:
        async with LoopbackServer(slow) as server:
            if kind == "fast":
                async with (
                    fast_http_client(timeout=5.0) as http,
                    _tg(http, server.url) as tg,
                ):
                    return await _timed_out(tg)
            async with _tg(None, server.url, timeout=5.0) as tg:  # our own pool
                return await _timed_out(tg)

    error = run_in_fake_time(main())
    assert error.request_sent is True
    assert "deadline" not in str(error)  # the read timeout, well before it


async def test_untranslated_aiohttp_errors_count_as_sent() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise aiohttp.ClientResponseError(None, (), status=500)  # type: ignore[arg-type]

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(boom)) as http,
        _tg(http, "https://x.invalid") as tg,
    ):
        with pytest.raises(APIConnectionError) as info:
            await tg.account.get_state_instance()
    assert info.value.request_sent is True


async def test_other_exceptions_are_not_swallowed() -> None:
    def bug(request: httpx.Request) -> httpx.Response:
        raise KeyError("a bug, not a network error")

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(bug)) as http,
        _tg(http, "https://x.invalid") as tg,
    ):
        with pytest.raises(KeyError):
            await tg.account.get_state_instance()


def test_the_fast_client_must_be_made_inside_the_loop() -> None:
    with pytest.raises(RuntimeError):
        fast_http_client()


async def test_limits_size_the_aiohttp_pool() -> None:
    fake = FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)

    async def handle(request: httpx.Request) -> httpx.Response:
        return fake.handle(request)

    limits = httpx.Limits(max_connections=3)
    async with (
        LoopbackServer(handle) as server,
        fast_http_client(limits=limits) as http,
        _tg(http, server.url) as tg,
    ):
        await tg.account.get_state_instance()
        session = http._transport.session()  # type: ignore[attr-defined]
        assert session.connector.limit == 3
