"""Proxies: read from the environment once, passed per request, never looked up."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yarl

from green_tg_async import (
    APIConnectionError,
    AsyncGreenTelegram,
    RateLimits,
    RetryPolicy,
)
from green_tg_async._aiohttp_transport import Proxies
from green_tg_async.stores import MemoryStore
from tests.helpers import API_TOKEN, ID_INSTANCE, RecordingSleep

TLS = Path(__file__).resolve().parent / "tls"  # a CA and 127.0.0.1's cert, 100 years
PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
SECRET = "pr0xyS3cretPass"


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def trust_test_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our pools verify certificates against the test CA instead of certifi."""
    context = ssl.create_default_context(cafile=str(TLS / "ca.pem"))
    monkeypatch.setattr(
        "green_tg_async._aiohttp_transport._default_ssl_context", lambda: context
    )


def _tg(url: str) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        api_url=url,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(max_attempts=1, sleep=RecordingSleep()),
    )


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer each request on a keep-alive connection with an authorized state."""
    body = b'{"stateInstance": "authorized"}'
    with contextlib.suppress(Exception):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    await reader.readexactly(int(value))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            writer.write(body)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def _api(*, tls: bool) -> AsyncIterator[str]:
    """The API stand-in on loopback, over TLS (127.0.0.1's test cert) or not."""
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    server = await asyncio.start_server(_answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


class ConnectProxy:
    """A loopback HTTP proxy that tunnels CONNECT; it records what it was asked.

    With `refuse`, it answers 407 to every CONNECT.
    """

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.targets: list[str] = []
        self.credentials: list[str] = []
        self.url = ""
        self._tasks: set[asyncio.Task[None]] = set()

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._tasks.add(task := asyncio.current_task())  # type: ignore[arg-type]
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            verb, target = head.split()[:2]
            self.targets.append(f"{verb} {target}")
            for line in head.split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "proxy-authorization":
                    encoded = value.strip().removeprefix("Basic ")
                    self.credentials.append(base64.b64decode(encoded).decode())
            if self.refuse:
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
                writer.write(b"Content-Length: 0\r\n\r\n")
                await writer.drain()
                return
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def __aenter__(self) -> ConnectProxy:
        self._server = await asyncio.start_server(self._tunnel, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.contextmanager
def _executor_submits(loop: asyncio.AbstractEventLoop) -> Iterator[list[Any]]:
    """Record every `loop.run_in_executor` call (asyncio.to_thread's too)."""
    submits: list[Any] = []
    submit: Callable[..., Any] = loop.run_in_executor

    def counted(executor: Any, func: Any, *args: Any) -> Any:
        submits.append(func)
        return submit(executor, func, *args)

    loop.run_in_executor = counted  # type: ignore[method-assign,assignment]
    try:
        yield submits
    finally:
        del loop.run_in_executor  # the class's own again


async def test_no_proxy_alone_means_no_proxy_and_no_thread_hop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NO_PROXY, as Kubernetes sets it, must not send requests through threads."""
    monkeypatch.setenv("NO_PROXY", "localhost,.svc.cluster.local")
    async with _api(tls=False) as url, _tg(url) as tg:
        with _executor_submits(asyncio.get_running_loop()) as submits:
            for _ in range(5):
                state = await tg.account.get_state_instance()
    assert state.state_instance == "authorized"
    assert submits == []  # aiohttp's netrc and proxy look-ups run in threads


@pytest.mark.usefixtures("trust_test_ca")
async def test_https_goes_through_the_proxy_https_proxy_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with ConnectProxy() as proxy, _api(tls=True) as url:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "localhost,.internal")
        async with _tg(url) as tg:
            with _executor_submits(asyncio.get_running_loop()) as submits:
                for _ in range(3):
                    state = await tg.account.get_state_instance()
    assert state.state_instance == "authorized"
    assert proxy.targets == [f"CONNECT {url.removeprefix('https://')}"]  # kept alive
    assert submits == []


@pytest.mark.usefixtures("trust_test_ca")
@pytest.mark.parametrize("name", ["NO_PROXY", "no_proxy"])
async def test_a_host_no_proxy_names_bypasses_the_proxy(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    async with ConnectProxy() as proxy, _api(tls=True) as url:
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv(name, ".internal,127.0.0.1")
        async with _tg(url) as tg:
            state = await tg.account.get_state_instance()
    assert state.state_instance == "authorized"
    assert proxy.targets == []


@pytest.mark.usefixtures("trust_test_ca")
async def test_all_proxy_serves_every_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    async with ConnectProxy() as proxy, _api(tls=True) as url:
        monkeypatch.setenv("ALL_PROXY", f"127.0.0.1:{proxy.port}")  # no scheme: http
        async with _tg(url) as tg:
            await tg.account.get_state_instance()
    assert proxy.targets == [f"CONNECT {url.removeprefix('https://')}"]


@pytest.mark.usefixtures("trust_test_ca")
async def test_the_proxys_credentials_are_sent_but_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with ConnectProxy(refuse=True) as proxy, _api(tls=True) as url:
        monkeypatch.setenv(
            "HTTPS_PROXY", f"http://agent:{SECRET}@127.0.0.1:{proxy.port}"
        )
        async with _tg(url) as tg:
            with pytest.raises(APIConnectionError) as info:
                await tg.account.get_state_instance()
            shown = repr(tg) + repr(tg._transport) + repr(vars(tg._transport))
    assert proxy.credentials == [f"agent:{SECRET}"]
    text = "".join(traceback.format_exception(info.value)) + shown
    assert "407" in str(info.value)
    assert SECRET not in text
    assert SECRET not in caplog.text


async def test_an_unsupported_proxy_is_ignored_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp speaks to HTTP proxies only; a SOCKS one is named, not used."""
    monkeypatch.setenv("ALL_PROXY", f"socks5://agent:{SECRET}@127.0.0.1:1080")
    async with _api(tls=False) as url, _tg(url) as tg:
        state = await tg.account.get_state_instance()
    assert state.state_instance == "authorized"
    assert "socks5" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.usefixtures("trust_test_ca")
async def test_the_environment_is_read_once_when_the_pool_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with ConnectProxy() as proxy, _api(tls=True) as url, _tg(url) as before:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        await before.account.get_state_instance()
        assert proxy.targets == []  # made before the variable was set
        async with _tg(url) as after:
            await after.account.get_state_instance()
    assert proxy.targets == [f"CONNECT {url.removeprefix('https://')}"]


def test_routes_are_worked_out_once_per_host_and_stay_bounded() -> None:
    proxies = Proxies({"https": "http://proxy.invalid:3128", "no": ".internal"})
    first = proxies.route(yarl.URL("https://api.example/a"))
    assert proxies.route(yarl.URL("https://api.example/b")) is first
    assert proxies.route(yarl.URL("https://api.internal/a")) == {}
    for n in range(300):
        proxies.route(yarl.URL(f"https://host{n}.example/"))
    assert len(proxies._routes) <= 256
