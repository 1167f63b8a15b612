"""Issue 10, items 8, 9, 10 and 16: servers that stall, pools that wedge, and
exceptions that would carry the token."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

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
from green_tg_async._aiohttp_transport import POOL_CONNECTIONS, AiohttpTransport
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
    url: str,
    *,
    http: httpx.AsyncClient | None = None,
    timeout: float = 0.5,
    attempts: int = 3,
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        api_url=url,
        http_client=http,
        timeout=timeout,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(max_attempts=attempts, sleep=RecordingSleep()),
    )


# "default": no http_client (our own aiohttp pool); "fast": fast_http_client();
# "stock": an injected stock httpx.AsyncClient.
KINDS = ["default", "fast", "stock"]


@contextlib.asynccontextmanager
async def _http(kind: str) -> AsyncIterator[httpx.AsyncClient | None]:
    if kind == "default":
        yield None
        return
    make = fast_http_client if kind == "fast" else httpx.AsyncClient
    async with make(timeout=0.5) as http:
        yield http


@pytest.mark.parametrize("kind", KINDS)
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
@pytest.mark.parametrize("kind", KINDS)
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


async def _ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        while True:
            await reader.readexactly(await _read_head(reader))
            body = b'{"stateInstance": "authorized"}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()


def _wedge(tg: AsyncGreenTelegram) -> AiohttpTransport:
    """Fill our pool's slots with placeholders no request owns.

    aiohttp holds a slot with a placeholder while it opens a connection; one
    a cancelled request left behind would hold it for ever, the state stock
    httpcore 1.0.9 leaves behind with its orphaned connections
    (encode/httpcore#1093): every later request waits for a slot in vain.
    """
    pool = tg._transport._pool
    assert pool is not None
    acquired = pool.session().connector._acquired  # type: ignore[union-attr]
    acquired.update(object() for _ in range(POOL_CONNECTIONS))  # type: ignore[misc]
    return pool


def test_item10_a_wedged_pool_is_replaced_without_the_users_help() -> None:
    async def main() -> None:
        async with _raw_server(_ok) as url, _tg(url) as tg:
            wedged = _wedge(tg)
            # Both wait for a slot in vain; the first timeout replaces the pool,
            # the second finds it replaced, and both are retried on the new one.
            states = await asyncio.gather(
                tg.account.get_state_instance(), tg.account.get_state_instance()
            )
            assert [s.state_instance for s in states] == ["authorized"] * 2
            assert tg._transport._pool is not wedged
            assert len(tg._transport._retired) == 1  # replaced once
            assert (await tg.account.get_state_instance()).state_instance == (
                "authorized"
            )
            session = wedged.session()
            wedged.session().connector._acquired.clear()  # type: ignore[union-attr]
        assert session.closed  # retired pools are closed with ours

    run_in_fake_time(main())


def test_item16_a_pool_timeout_names_the_url_without_the_token() -> None:
    """aiohttp's pool timeout message holds the URL, and with it the token."""

    async def main() -> APITimeoutError:
        async with _raw_server(_ok) as url, _tg(url, attempts=1) as tg:
            wedged = _wedge(tg)
            with pytest.raises(APITimeoutError) as info:
                await tg.account.get_state_instance()
            wedged.session().connector._acquired.clear()  # type: ignore[union-attr]
            return info.value

    error = run_in_fake_time(main())
    assert "/getStateInstance/" in str(error)  # the URL is there, redacted
    assert API_TOKEN not in "".join(traceback.format_exception(error))
    assert error.request_sent is False
    assert error.__cause__ is None
    assert error.__context__ is None


async def test_item10_a_connect_timeout_with_free_slots_keeps_the_pool() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with _tg(f"http://127.0.0.1:{port}") as tg:
        pool = tg._transport._pool
        with pytest.raises(APIConnectionError) as info:
            await tg.account.get_state_instance()
        assert tg._transport._pool is pool
    assert info.value.request_sent is False


@pytest.mark.parametrize("kind", KINDS)
async def test_a_cancellation_storm_leaves_the_pool_working(kind: str) -> None:
    """Calls cancelled at every point of their exchange; then one that is not.

    Each of 40 calls is cancelled after its own number of loop iterations
    (0..39), so the cancellations land before, during and after the
    connect, the write and the read. No slot may stay taken.
    """
    async with _raw_server(_ok) as url, _http(kind) as http, _tg(url, http=http) as tg:

        async def cancelled_after(turns: int) -> None:
            call = asyncio.ensure_future(tg.account.get_state_instance())
            for _ in range(turns):
                await asyncio.sleep(0)
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await call

        for _ in range(3):
            await asyncio.gather(*(cancelled_after(turns) for turns in range(40)))
        state = await asyncio.wait_for(tg.account.get_state_instance(), 5)
        assert state.state_instance == "authorized"
        if kind != "stock":  # aiohttp: every slot was given back
            assert not _session(tg, http).connector._acquired


def _session(tg: AsyncGreenTelegram, http: httpx.AsyncClient | None) -> Any:
    if http is None:
        pool = tg._transport._pool
        assert pool is not None
        return pool.session()
    return http._transport.session()  # type: ignore[attr-defined]


async def _bad_status(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    with contextlib.suppress(Exception):
        await reader.readexactly(await _read_head(reader))
        writer.write(b"NOT-HTTP garbage\r\n\r\n")
        await writer.drain()
    writer.close()


@pytest.mark.parametrize("kind", KINDS)
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
