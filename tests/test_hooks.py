"""Hooks: what each event carries, when it comes, and that hooks cannot hurt a call."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenTelegram,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    RetryPolicy,
    ServerError,
)
from green_tg_async.hooks import CallEvent
from green_tg_async.stores import MemoryStore
from tests.helpers import (
    API_TOKEN,
    ID_INSTANCE,
    FakeClock,
    RecordingSleep,
    run_in_fake_time,
)

STATE = {"stateInstance": "authorized"}


class Recorder:
    def __init__(self) -> None:
        self.events: list[CallEvent] = []

    def on_request(self, event: CallEvent) -> None:
        self.events.append(event)

    on_response = on_retry = on_limiter_wait = on_breaker = on_request

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def _client(*hooks: Any, **options: Any) -> AsyncGreenTelegram:
    options.setdefault("limits", RateLimits(enabled=False))
    options.setdefault("retry", RetryPolicy(sleep=RecordingSleep()))
    options.setdefault("breaker", BreakerPolicy(clock=FakeClock()))
    return AsyncGreenTelegram(
        ID_INSTANCE, API_TOKEN, store=MemoryStore(), hooks=list(hooks), **options
    )


async def test_request_and_response_of_a_call(api: respx.MockRouter) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").respond(200, json=STATE)
    hook = Recorder()
    async with _client(hook) as tg:
        await tg.account.get_state_instance()
    request, response = hook.events
    assert (request.kind, response.kind) == ("request", "response")
    assert request.call_id == response.call_id != 0
    assert (response.id_instance, response.method) == (ID_INSTANCE, "getStateInstance")
    assert (response.attempt, response.status, response.final) == (1, 200, True)
    assert response.request_sent is True
    assert response.error is None
    assert response.elapsed is not None
    assert response.elapsed >= 0


async def test_a_retried_call_reports_each_attempt_and_the_wait(
    api: respx.MockRouter,
) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=STATE)]
    )
    hook = Recorder()
    async with _client(hook) as tg:
        await tg.account.get_state_instance()
    assert hook.kinds() == ["request", "response", "retry", "request", "response"]
    failed, retry, done = hook.events[1], hook.events[2], hook.events[4]
    assert (failed.attempt, failed.status, failed.error, failed.final) == (
        1,
        502,
        "ServerError",
        False,
    )
    assert retry.attempt == 1
    assert retry.waited is not None
    assert retry.waited > 0
    assert (done.attempt, done.status, done.final) == (2, 200, True)
    assert len({e.call_id for e in hook.events}) == 1


async def test_a_send_that_failed_after_sending_is_final(api: respx.MockRouter) -> None:
    api.post(f"/sendMessage/{API_TOKEN}").respond(502)
    api.post(f"/readChat/{API_TOKEN}").mock(side_effect=httpx.ConnectError("refused"))
    hook = Recorder()
    async with _client(
        hook, retry=RetryPolicy(max_attempts=2, sleep=RecordingSleep())
    ) as tg:
        with pytest.raises(ServerError):
            await tg.sending.send_message(1, "hi")
        with pytest.raises(Exception, match="refused"):
            await tg.read_mark.read_chat(1)
    responses = [e for e in hook.events if e.kind == "response"]
    assert [(r.method, r.final, r.request_sent) for r in responses] == [
        ("sendMessage", True, True),
        ("readChat", False, False),  # never connected: repeated
        ("readChat", True, False),  # the last attempt
    ]


async def test_breaker_open_and_refused_events(api: respx.MockRouter) -> None:
    api.post(f"/checkAccount/{API_TOKEN}").respond(469)
    hook = Recorder()
    async with _client(hook) as tg:
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79001234568)
        with pytest.raises(CircuitOpenError):
            await tg.service.check_account(79001234568)
        await tg.breaker.reset()
    breaker = [e for e in hook.events if e.kind == "breaker"]
    assert [e.breaker_state for e in breaker] == ["open", "refused", "closed"]
    opened = breaker[0]
    assert opened.retry_at is not None
    assert opened.retry_at.timestamp() == pytest.approx(FakeClock().now + 7200)
    assert breaker[1].retry_at == opened.retry_at
    refused = hook.events[-2]
    assert (refused.kind, refused.error, refused.request_sent, refused.final) == (
        "response",
        "CircuitOpenError",
        False,
        True,
    )


def test_limiter_waits_are_reported() -> None:
    async def main() -> list[float]:
        hook = Recorder()
        with respx.mock(
            base_url=f"https://4100.api.green-api.com/waInstance{ID_INSTANCE}"
        ) as api:
            api.get(f"/getStateInstance/{API_TOKEN}").respond(200, json=STATE)
            async with _client(
                hook, limits=RateLimits(per_method={"getStateInstance": 1.0}, burst=1)
            ) as tg:
                for _ in range(3):
                    await tg.account.get_state_instance()
        return [e.waited or 0.0 for e in hook.events if e.kind == "limiter_wait"]

    waits = run_in_fake_time(main())
    assert len(waits) >= 1
    assert sum(waits) >= 0.9


async def test_a_raising_hook_is_logged_once_and_never_breaks_the_call(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").respond(200, json=STATE)

    class Broken:
        def on_request(self, event: CallEvent) -> None:
            raise RuntimeError("hook bug")

    after = Recorder()
    with caplog.at_level(logging.ERROR, "green_tg_async"):
        async with _client(Broken(), after) as tg:
            for _ in range(3):
                state = await tg.account.get_state_instance()
                assert state.state_instance == "authorized"
    assert caplog.text.count("raised in on_request") == 1
    assert after.kinds().count("response") == 3  # later hooks still run


async def test_a_cancelled_call_ends_with_a_final_event() -> None:
    started = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("not reached")

    hook = Recorder()
    async with _client(hook, transport=httpx.MockTransport(slow)) as tg:
        call = asyncio.create_task(tg.account.get_state_instance())
        await started.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
    last = hook.events[-1]
    assert (last.kind, last.error, last.final) == ("response", "CancelledError", True)


async def test_events_never_carry_the_token_or_the_url(api: respx.MockRouter) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").respond(
        401, text=f"bad token {API_TOKEN}"
    )
    hook = Recorder()
    async with _client(hook) as tg:
        with pytest.raises(Exception, match=r"401|Unauthor"):
            await tg.account.get_state_instance()
    assert hook.events
    for event in hook.events:
        text = repr(event) + str(event.reason)
        assert API_TOKEN not in text
        assert "http" not in text


def test_a_hook_without_any_hook_method_is_refused() -> None:
    with pytest.raises(TypeError, match="on_request"):
        _client(object())


async def test_the_breaker_closes_after_a_successful_probe(
    api: respx.MockRouter,
) -> None:
    clock = FakeClock()
    route = api.get(f"/getStateInstance/{API_TOKEN}").respond(503)
    hook = Recorder()
    policy = BreakerPolicy(clock=clock, failure_threshold=2, cooldown_seconds=30)
    once = RetryPolicy(max_attempts=1, sleep=RecordingSleep())
    async with _client(hook, breaker=policy, retry=once) as tg:
        for _ in range(2):
            with pytest.raises(ServerError):
                await tg.account.get_state_instance()
        clock.now += 31
        route.respond(200, json=STATE)
        await tg.account.get_state_instance()  # the half-open probe
    states = [e.breaker_state for e in hook.events if e.kind == "breaker"]
    assert states == ["open", "closed"]


async def test_the_partner_client_takes_hooks() -> None:
    from green_tg_async import AsyncGreenPartner

    partner_api = respx.mock(base_url="https://partner.example/partner")
    hook = Recorder()
    with partner_api:
        partner_api.get("/getInstances/PartnerT0ken123").respond(200, json=[])
        async with AsyncGreenPartner(
            "PartnerT0ken123",
            partner_api_url="https://partner.example",
            store=MemoryStore(),
            hooks=[hook],
        ) as partner:
            assert await partner.get_instances() == []
    assert hook.kinds() == ["request", "response"]
    assert hook.events[0].id_instance.startswith("partner-")
    assert "PartnerT0ken123" not in repr(hook.events)
