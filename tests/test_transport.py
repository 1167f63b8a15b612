from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import httpx
import pytest
import respx

from green_tg_async import APIConnectionError, APITimeoutError, AsyncGreenTelegram
from green_tg_async._logging import Secret
from green_tg_async._methods import METHODS, MethodSpec
from green_tg_async._transport import Transport, attempt_deadline

from .helpers import API_TOKEN, ID_INSTANCE, PREFIX, run_in_fake_time


@pytest.mark.parametrize(
    ("exc", "error_cls", "sent"),
    [
        (httpx.ConnectError("refused"), APIConnectionError, False),
        (httpx.ConnectTimeout("slow dns"), APITimeoutError, False),
        (httpx.PoolTimeout("pool"), APITimeoutError, False),
        (httpx.ReadTimeout("read"), APITimeoutError, True),
        (httpx.WriteTimeout("write"), APITimeoutError, True),
        (httpx.ReadError("reset by peer"), APIConnectionError, True),
        (httpx.WriteError("broken pipe"), APIConnectionError, True),
        (httpx.RemoteProtocolError("closed early"), APIConnectionError, True),
        (httpx.DecodingError("bad gzip"), APIConnectionError, True),
    ],
)
async def test_httpx_errors_become_ours_with_request_sent(
    api: respx.MockRouter,
    exc: Exception,
    error_cls: type[APIConnectionError],
    sent: bool,
) -> None:
    api.post(f"/sendMessage/{API_TOKEN}").mock(side_effect=exc)
    async with httpx.AsyncClient() as http:
        transport = _transport(http)
        with pytest.raises(error_cls) as info:
            await transport.send(METHODS["sendMessage"], json={})
    assert type(info.value) is error_cls
    assert info.value.request_sent is sent
    assert info.value.method == "sendMessage"
    # Not chained: httpx errors hold the URL (with the token); the message
    # carries a redacted description instead.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert str(info.value).startswith("sendMessage ")
    assert type(exc).__name__ in str(info.value)


async def test_media_methods_go_to_the_media_host() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        transport = _transport(http, media_url="https://media.example/")
        await transport.send(MethodSpec("uploadFile", "POST", False, host="media"))
        await transport.send(METHODS["getStateInstance"])
    assert [str(u) for u in seen] == [
        f"https://media.example/waInstance{ID_INSTANCE}/uploadFile/{API_TOKEN}",
        f"{PREFIX}/getStateInstance/{API_TOKEN}",
    ]


async def test_transport_repr_hides_the_token() -> None:
    async with httpx.AsyncClient() as http:
        assert API_TOKEN not in repr(_transport(http))


async def test_client_maps_transport_errors_through_the_pipeline(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/sendMessage/{API_TOKEN}").mock(side_effect=httpx.ReadTimeout("t"))
    with pytest.raises(APITimeoutError) as info:
        await client.sending.send_message("1", "hi")
    assert info.value.request_sent is True


def _transport(http: httpx.AsyncClient, media_url: str | None = None) -> Transport:
    host = PREFIX.split("/waInstance")[0]
    return Transport(
        http,
        prefixes={
            "api": f"{host}/waInstance{ID_INSTANCE}",
            "media": f"{(media_url or host).rstrip('/')}/waInstance{ID_INSTANCE}",
        },
        token=Secret(API_TOKEN),
    )


async def test_cached_method_urls_follow_a_new_token() -> None:
    from green_tg_async import RateLimits
    from green_tg_async.stores import MemoryStore
    from green_tg_async.testing import FakeGreenAPI

    fake = FakeGreenAPI(rate_limits=False)
    limits = RateLimits(enabled=False)
    async with fake.client(store=MemoryStore(), limits=limits) as tg:
        await tg.account.get_state_instance()  # its URL is now cached
        await tg.account.update_api_token()
        assert (await tg.account.get_state_instance()).state_instance == "authorized"
        assert await tg.receiving.delete_notification(1) is False  # a suffixed URL
    statuses = [method for _, method in fake.requests]
    assert statuses.count("getStateInstance") == 2


async def test_a_timeout_an_adapter_leaks_is_ours_and_counts_as_sent() -> None:
    """aiohttp's own timeout, which an adapter did not translate."""

    def leak(request: httpx.Request) -> httpx.Response:
        raise aiohttp.ServerTimeoutError("adapter gave up")

    async with httpx.AsyncClient(transport=httpx.MockTransport(leak)) as http:
        with pytest.raises(APITimeoutError) as info:
            await _transport(http).send(METHODS["sendMessage"], json={})
    assert info.value.request_sent is True
    assert "attempt deadline" not in str(info.value)
    assert "adapter gave up" in str(info.value)


@pytest.mark.parametrize(
    ("timeout", "deadline"),
    [
        (5.0, 20.0),
        (httpx.Timeout(1.0, read=2.0), 5.0),
        (httpx.Timeout(1.0, read=None), None),
        (None, None),
    ],
)
def test_the_attempt_deadline_sums_the_phases(
    timeout: httpx.Timeout | float | None, deadline: float | None
) -> None:
    assert attempt_deadline(timeout) == deadline


def _stalling(calls: list[float]) -> httpx.AsyncClient:
    """An httpx client whose every request waits for ever, noting when it began."""

    async def stall(request: httpx.Request) -> httpx.Response:
        calls.append(asyncio.get_running_loop().time())
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return httpx.AsyncClient(transport=httpx.MockTransport(stall))


def test_attempts_in_flight_share_one_deadline_timer() -> None:
    """One loop timer for many attempts, not one per attempt (issue 29)."""

    async def main() -> tuple[int, list[object]]:
        loop = asyncio.get_running_loop()
        scheduled = 0
        call_at = loop.call_at

        def counting(when: float, callback: Any, *args: Any, **kw: Any) -> Any:
            nonlocal scheduled
            scheduled += 1
            return call_at(when, callback, *args, **kw)

        loop.call_at = counting  # type: ignore[method-assign,assignment]
        started: list[float] = []
        async with _stalling(started) as http:
            transport = _transport(http)
            sends = [
                asyncio.create_task(transport.send(METHODS["getStateInstance"]))
                for _ in range(20)
            ]
            for _ in range(5):
                await asyncio.sleep(0)
            assert len(started) == 20
            timers, scheduled = scheduled, 0
            outcomes: list[object] = list(
                await asyncio.gather(*sends, return_exceptions=True)
            )
        return timers, outcomes

    timers, outcomes = run_in_fake_time(main())
    assert timers == 1
    assert all(isinstance(o, APITimeoutError) for o in outcomes)


def test_each_attempt_ends_at_its_own_deadline() -> None:
    async def main() -> list[tuple[float, float, str]]:
        loop = asyncio.get_running_loop()
        ended: list[tuple[float, float, str]] = []
        started: list[float] = []

        async def send(transport: Transport, seconds: float, after: float) -> None:
            await asyncio.sleep(after)
            begun = loop.time()
            with pytest.raises(APITimeoutError) as info:
                await transport.send(METHODS["getStateInstance"], timeout=seconds)
            assert info.value.request_sent is True
            ended.append((begun, loop.time(), str(info.value)))

        async with _stalling(started) as http:
            transport = _transport(http)
            # 8 s, then 4 s started later (the timer moves earlier), then 2 s
            # started after the first deadline passed.
            await asyncio.gather(
                send(transport, 2.0, 0.0),
                send(transport, 1.0, 1.0),
                send(transport, 0.5, 6.0),
            )
            assert transport._deadlines is not None
            assert transport._deadlines._timer is None  # stopped: none left
        return sorted(ended, key=lambda e: e[1])

    ended = run_in_fake_time(main())
    spans = [round(end - begun, 3) for begun, end, _ in ended]
    assert spans == [4.0, 2.0, 8.0]
    assert [round(end, 3) for _, end, _ in ended] == [5.0, 8.0, 8.0]
    assert all("attempt deadline" in text for _, _, text in ended)


def test_a_cancelled_attempt_is_cancelled_not_timed_out() -> None:
    async def main() -> tuple[bool, BaseException | None]:
        started: list[float] = []
        async with _stalling(started) as http:
            transport = _transport(http)
            first = asyncio.create_task(
                transport.send(METHODS["getStateInstance"], timeout=1.0)
            )
            for _ in range(5):
                await asyncio.sleep(0)
            assert started
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            assert transport._deadlines is not None
            stopped = transport._deadlines._timer is None
            # A later attempt still ends at its deadline.
            second = transport.send(METHODS["getStateInstance"], timeout=1.0)
            error = None
            try:
                await second
            except APITimeoutError as exc:
                error = exc
        return stopped and first.cancelled(), error

    cancelled, error = run_in_fake_time(main())
    assert cancelled
    assert isinstance(error, APITimeoutError)


async def test_the_deadline_of_a_call_outside_a_task_is_refused() -> None:
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient() as http:
        send = _transport(http).send(METHODS["getStateInstance"])
        refused: asyncio.Future[BaseException] = loop.create_future()

        def drive_by_hand() -> None:  # a callback: no current task
            try:
                send.send(None)
            except RuntimeError as exc:
                refused.set_result(exc)

        loop.call_soon(drive_by_hand)
        assert "asyncio task" in str(await refused)
