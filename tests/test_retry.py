from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import httpx
import pytest
import respx

from green_tg_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncGreenTelegram,
    BadRequestError,
    CircuitOpenError,
    ContactInfoLimitError,
    GreenAPIError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
)
from green_tg_async._retry import should_retry

from .helpers import API_TOKEN, PREFIX, RecordingSleep, make_client


def _status(cls: type[APIError], status: int) -> APIError:
    return cls("x", method="m", status_code=status)


NOT_SENT = APIConnectionError("x", method="m", request_sent=False)
SENT = APIConnectionError("x", method="m", request_sent=True)
TIMEOUT_SENT = APITimeoutError("x", method="m", request_sent=True)
TIMEOUT_NOT_SENT = APITimeoutError("x", method="m", request_sent=False)
PAUSED = CircuitOpenError("1", "469", datetime(2030, 1, 1, tzinfo=UTC))

# (exception, retried when idempotent, retried when not idempotent)
TRUTH_TABLE = [
    (_status(RateLimitError, 429), True, True),
    (NOT_SENT, True, True),
    (TIMEOUT_NOT_SENT, True, True),
    (SENT, True, False),
    (TIMEOUT_SENT, True, False),
    (_status(ServerError, 500), True, False),
    (_status(ServerError, 502), True, False),
    (_status(ServerError, 503), True, False),
    (_status(APIError, 499), True, False),
    (_status(BadRequestError, 400), False, False),
    (_status(APIError, 401), False, False),
    (_status(APIError, 403), False, False),
    (_status(APIError, 404), False, False),
    (_status(QuotaExceededError, 466), False, False),
    (_status(ContactInfoLimitError, 469), False, False),
    (_status(APIError, 418), False, False),
    (ResponseDecodeError("x"), False, False),
    (PAUSED, False, False),
    (asyncio.CancelledError(), False, False),
    (KeyboardInterrupt(), False, False),
    (ValueError("bug"), False, False),
]


@pytest.mark.parametrize(("exc", "idempotent", "not_idempotent"), TRUTH_TABLE)
def test_should_retry_truth_table(
    exc: BaseException, idempotent: bool, not_idempotent: bool
) -> None:
    assert should_retry(exc, idempotent=True) is idempotent
    assert should_retry(exc, idempotent=False) is not_idempotent


@pytest.mark.parametrize(
    ("method", "path", "outcome", "attempts"),
    [
        ("send", "sendMessage", httpx.Response(503), 1),
        ("send", "sendMessage", httpx.ReadTimeout("t"), 1),
        ("send", "sendMessage", httpx.RemoteProtocolError("eof"), 1),
        ("send", "sendMessage", httpx.ConnectError("refused"), 3),
        ("send", "sendMessage", httpx.Response(429), 3),
        ("send", "sendMessage", httpx.Response(400), 1),
        ("send", "sendMessage", httpx.Response(466), 1),
        ("state", "getStateInstance", httpx.Response(503), 3),
        ("state", "getStateInstance", httpx.Response(499), 3),
        ("state", "getStateInstance", httpx.ReadTimeout("t"), 3),
        ("state", "getStateInstance", httpx.Response(401), 1),
        ("state", "getStateInstance", httpx.Response(404), 1),
        ("check", "checkAccount", httpx.Response(469), 1),
        ("check", "checkAccount", httpx.Response(403), 1),
    ],
)
async def test_attempt_counts(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    method: str,
    path: str,
    outcome: httpx.Response | Exception,
    attempts: int,
) -> None:
    verb = "get" if path == "getStateInstance" else "post"
    route = getattr(api, verb)(f"/{path}/{API_TOKEN}").mock(side_effect=outcome)
    with pytest.raises(GreenAPIError):
        await _invoke(client, method)
    assert route.call_count == attempts


async def test_a_retry_that_succeeds_returns_the_answer(
    client: AsyncGreenTelegram, api: respx.MockRouter, sleep: RecordingSleep
) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}")
    route.side_effect = [
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"stateInstance": "authorized"}),
    ]
    state = await client.account.get_state_instance()
    assert state.state_instance == "authorized"
    assert route.call_count == 3
    assert len(sleep.delays) == 2
    assert 0.5 <= sleep.delays[0] <= 1.0  # initial_delay + jitter
    assert 1.0 <= sleep.delays[1] <= 1.5


async def test_429_honours_retry_after_capped(api: respx.MockRouter) -> None:
    sleep = RecordingSleep()
    route = api.post(f"/sendMessage/{API_TOKEN}")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(429, headers={"Retry-After": "3600"}),
        httpx.Response(200, json={"idMessage": "9"}),
    ]
    async with make_client(sleep=sleep) as tg:
        tg._retry = RetryPolicy(sleep=sleep, retry_after_cap=10.0)
        sent = await tg.sending.send_message("1", "hi")
    assert sent.id_message == "9"
    assert sleep.delays == [2.0, 10.0]


async def test_max_attempts_one_turns_retries_off(api: respx.MockRouter) -> None:
    route = api.post(f"/sendMessage/{API_TOKEN}").respond(429)
    async with make_client() as tg:
        tg._retry = RetryPolicy(max_attempts=1, sleep=RecordingSleep())
        with pytest.raises(RateLimitError):
            await tg.sending.send_message("1", "hi")
    assert route.call_count == 1


async def test_cancellation_is_never_retried(client: AsyncGreenTelegram) -> None:
    arrived: list[httpx.Request] = []
    arrived_event = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        arrived.append(request)
        arrived_event.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    # respx counts a call only once its side effect returns, so count here.
    with respx.mock(base_url=PREFIX, assert_all_called=False) as api:
        api.get(f"/getStateInstance/{API_TOKEN}").mock(side_effect=hang)
        task = asyncio.create_task(client.account.get_state_instance())
        await arrived_event.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(5):
            await asyncio.sleep(0)
    assert len(arrived) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_delay": -1}, "initial_delay"),
        ({"retry_after_cap": -1}, "retry_after_cap"),
    ],
)
def test_bad_retry_policy_is_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


async def _invoke(client: AsyncGreenTelegram, method: str) -> object:
    if method == "send":
        return await client.sending.send_message("1", "hi")
    if method == "check":
        return await client.service.check_account(79876543210)
    return await client.account.get_state_instance()


async def test_issue11_retries_are_logged_at_info_not_warning(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json={"stateInstance": "authorized"}),
        ]
    )
    caplog.set_level(logging.DEBUG, logger="green_tg_async")
    async with make_client() as tg:
        await tg.account.get_state_instance()
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.INFO]


def test_the_library_has_one_back_off() -> None:
    """The bot backs off with `RetryPolicy.delay`, not a copy of its own."""
    import importlib.util

    assert importlib.util.find_spec("green_tg_async.bot._backoff") is None


@pytest.mark.parametrize("failures", [1, 2, 5, 80])
def test_the_back_off_doubles_to_its_ceiling_plus_jitter(failures: int) -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=4.0)
    for cap, ceiling in ((None, 4.0), (1.0, 1.0)):
        base = min(ceiling, 0.5 * 2 ** min(failures - 1, 62))
        assert base <= policy.delay(failures, cap=cap) <= base + 0.5
