"""Issue 10, items 8, 9, 10 and 16: servers that stall, pools that wedge, and
exceptions that would carry the token."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable

import httpcore
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
from green_tg_async.stores import MemoryStore
from tests.helpers import API_TOKEN, ID_INSTANCE, RecordingSleep, run_in_fake_time

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def _raw_server(serve: Serve) -> AsyncIterator[str]:
    """Serve raw bytes on loopback; every connection is closed on exit."""
    handlers: set[asyncio.Task[None]] = set()

    async def tracked(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            await serve(reader, writer)
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            return int(value)
    return 0


async def _slowloris(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    with contextlib.suppress(Exception):
        await reader.readexactly(await _read_head(reader))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(600):  # 1 byte every 0.2 s: each read is well in time
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.2)
    writer.close()


async def _never_reads(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await asyncio.sleep(3600)


def _tg(
    url: str, *, http: httpx.AsyncClient | None = None, timeout: float = 0.5
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


@contextlib.asynccontextmanager
async def _http(kind: str) -> AsyncIterator[httpx.AsyncClient | None]:
    if kind == "stock":
        yield None
        return
    async with fast_http_client(timeout=0.5) as http:
        yield http


@pytest.mark.parametrize("kind", ["stock", "fast"])
def test_item8_a_slowloris_server_cannot_hold_a_call(kind: str) -> None:
    async def main() -> tuple[APITimeoutError, float]:
        loop = asyncio.get_running_loop()
        async with (
            _raw_server(_slowloris) as url,
            _http(kind) as http,
            _tg(url, http=http) as tg,
        ):
            started = loop.time()
            with pytest.raises(APITimeoutError) as info:
                await tg.sending.send_message("1", "hi")
            return info.value, loop.time() - started

    error, elapsed = run_in_fake_time(main())
    assert error.request_sent is True
    assert "deadline" in str(error)
    assert elapsed <= 2.0 + 0.01  # connect + write + read + pool timeouts


# aiohttp advises a file object for bodies over 1 MiB; bytes are what we test.
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
@pytest.mark.parametrize("kind", ["stock", "fast"])
async def test_item9_an_upload_to_a_peer_that_never_reads_ends(kind: str) -> None:
    """Real time: under looptime aiohttp's read timer fires early and hides it."""
    async with (
        _raw_server(_never_reads) as url,
        _http(kind) as http,
        _tg(url, http=http, timeout=0.2) as tg,
    ):
        upload = tg.sending.upload_file(b"x" * (32 << 20), file_name="big.bin")
        with pytest.raises(APITimeoutError) as info:
            # Ends at the 0.8 s deadline; 15 s is only a bound for the test.
            await asyncio.wait_for(upload, 15)
    assert info.value.request_sent is True


def _wedge(tg: AsyncGreenTelegram, port: int) -> httpx.AsyncClient:
    """Fill the pool with connections a cancelled request orphaned.

    This is the state httpcore 1.0.9 leaves behind (encode/httpcore#1093): a
    connection still CONNECTING that no request owns, holding a pool slot for
    ever, so every later request ends in PoolTimeout.
    """
    http = tg._transport.http
    pool = http._transport._pool  # type: ignore[attr-defined]
    origin = httpcore.Origin(b"http", b"127.0.0.1", port)
    for _ in range(pool._max_connections):
        pool._connections.append(httpcore.AsyncHTTPConnection(origin=origin))
    return http


def test_item10_a_wedged_pool_is_replaced_without_the_users_help() -> None:
    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while True:
                await reader.readexactly(await _read_head(reader))
                body = b'{"stateInstance": "authorized"}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
                await writer.drain()

    async def main() -> None:
        async with _raw_server(ok) as url, _tg(url) as tg:
            wedged = _wedge(tg, int(url.rsplit(":", 1)[1]))
            with pytest.raises(httpx.PoolTimeout):  # the wedge is real
                await wedged.get(url + "/probe", timeout=0.1)
            state = await tg.account.get_state_instance()
            assert state.state_instance == "authorized"
            assert tg._transport.http is not wedged
            assert (await tg.account.get_state_instance()).state_instance == (
                "authorized"
            )
        assert wedged.is_closed  # retired clients are closed with ours

    run_in_fake_time(main())


async def _bad_status(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    with contextlib.suppress(Exception):
        await reader.readexactly(await _read_head(reader))
        writer.write(b"NOT-HTTP garbage\r\n\r\n")
        await writer.drain()
    writer.close()


@pytest.mark.parametrize("kind", ["stock", "fast"])
async def test_item16_no_traceback_of_a_connection_error_holds_the_token(
    kind: str,
) -> None:
    async with (
        _raw_server(_bad_status) as url,
        _http(kind) as http,
        _tg(url, http=http) as tg,
    ):
        with pytest.raises(APIConnectionError) as info:
            await tg.sending.send_message("1", "hi")
    text = "".join(traceback.format_exception(info.value))
    assert API_TOKEN not in text
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert info.value.request_sent is True
