"""Issue 14 §1: wait until authorized, and watch the state (against the fake)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import httpx
import pytest

from green_tg_async import (
    AccountRestrictedError,
    AsyncGreenTelegram,
    BreakerPolicy,
    InstanceNotReadyError,
    RateLimits,
    RetryPolicy,
)
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import API_TOKEN, ID_INSTANCE, ClockSleep, FakeClock


def _tg(fake: FakeGreenAPI, clock: FakeClock, sleep: ClockSleep) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        breaker=BreakerPolicy(clock=clock),
        retry=RetryPolicy(sleep=sleep),
        transport=httpx.MockTransport(fake.handle),
    )


def _fake() -> FakeGreenAPI:
    return FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)


def _polls(fake: FakeGreenAPI) -> int:
    return sum(1 for _, method in fake.requests if method == "getStateInstance")


async def test_waits_out_starting_and_not_authorized_then_returns() -> None:
    fake, clock = _fake(), FakeClock()
    sleep = ClockSleep(clock)
    fake.script_states("starting", "notAuthorized", "notAuthorized", "authorized")
    async with _tg(fake, clock, sleep) as tg:
        state = await tg.account.wait_until_authorized(timeout=60)
    assert state.state_instance == "authorized"
    assert _polls(fake) == 4
    assert sleep.delays == [1.0, 1.5, 2.25]  # back-off, never under 1 s


async def test_gives_up_at_the_timeout_naming_the_last_state() -> None:
    fake, clock = _fake(), FakeClock()
    sleep = ClockSleep(clock)
    fake.script_states("notAuthorized")
    async with _tg(fake, clock, sleep) as tg:
        with pytest.raises(InstanceNotReadyError, match="still notAuthorized") as info:
            await tg.account.wait_until_authorized(timeout=30)
    assert info.value.state == "notAuthorized"
    assert sum(sleep.delays) == pytest.approx(30)
    assert min(sleep.delays) >= 1.0  # at most the documented 1/s
    assert max(sleep.delays) <= 10.0
    assert _polls(fake) == len(sleep.delays) + 1


async def test_a_pending_password_says_a_password_is_expected() -> None:
    fake, clock = _fake(), FakeClock()
    fake.script_states("pendingPassword")
    async with _tg(fake, clock, ClockSleep(clock)) as tg:
        with pytest.raises(InstanceNotReadyError, match="2FA password") as info:
            await tg.account.wait_until_authorized(timeout=5)
    assert info.value.state == "pendingPassword"


async def test_blocked_on_two_polls_raises_naming_the_reboot() -> None:
    fake, clock = _fake(), FakeClock()
    sleep = ClockSleep(clock)
    fake.script_states("blocked")
    async with _tg(fake, clock, sleep) as tg:
        with pytest.raises(AccountRestrictedError, match="blocked") as info:
            await tg.account.wait_until_authorized(timeout=600)
    assert (info.value.state, info.value.until) == ("blocked", None)
    assert "reboot()" in info.value.message
    assert sleep.delays == [1.0]  # confirmed by one more poll, 1 s later
    assert _polls(fake) == 2


async def test_a_blocked_that_clears_on_the_next_poll_is_not_an_error() -> None:
    fake, clock = _fake(), FakeClock()
    fake.script_states("blocked", "authorized")
    async with _tg(fake, clock, ClockSleep(clock)) as tg:
        state = await tg.account.wait_until_authorized(timeout=600)
    assert state.state_instance == "authorized"


async def test_blocked_with_no_time_left_raises_at_once() -> None:
    fake, clock = _fake(), FakeClock()
    sleep = ClockSleep(clock)
    fake.script_states("blocked")
    async with _tg(fake, clock, sleep) as tg:
        with pytest.raises(AccountRestrictedError, match="blocked"):
            await tg.account.wait_until_authorized(timeout=0)
    assert sleep.delays == []


async def test_not_authorized_right_after_start_authorization_is_waited_out() -> None:
    fake, clock = _fake(), FakeClock()
    fake.script_login(code="24680")
    async with _tg(fake, clock, ClockSleep(clock)) as tg:
        await tg.account.start_authorization(79001234567)
        fake.script_states("notAuthorized", "notAuthorized", "authorized")
        state = await tg.account.wait_until_authorized(timeout=60)
    assert state.state_instance == "authorized"
    assert _polls(fake) == 3


async def test_suspended_raises_at_once_with_its_end() -> None:
    fake, clock = _fake(), FakeClock()
    fake.script_states("suspended")
    until = "2027-02-01T10:00:00Z"
    with respx_like(fake, {"suspendedUntil": until}):
        async with _tg(fake, clock, ClockSleep(clock)) as tg:
            with pytest.raises(AccountRestrictedError, match="suspended until") as info:
                await tg.account.wait_until_authorized(timeout=600)
    assert info.value.until == datetime(2027, 2, 1, 10, 0, tzinfo=UTC)


@contextlib.contextmanager
def respx_like(fake: FakeGreenAPI, settings: dict[str, object]):  # type: ignore[no-untyped-def]
    """Make the fake's getAccountSettings answer carry `settings`."""
    original = fake._handlers.get("getAccountSettings")

    def answer(request: httpx.Request, body: dict[str, object]) -> httpx.Response:
        return httpx.Response(200, json={"phone": "79876543210", **settings})

    fake._handlers["getAccountSettings"] = answer
    try:
        yield
    finally:
        if original is None:
            del fake._handlers["getAccountSettings"]
        else:
            fake._handlers["getAccountSettings"] = original


async def test_a_starting_400_and_a_5xx_are_waited_out() -> None:
    fake, clock = _fake(), FakeClock()
    sleep = ClockSleep(clock)
    fake.fail_next(400, json={"message": "instance in starting process"})
    fake.fail_next(502, json={"message": "bad gateway"})
    async with _tg(fake, clock, sleep) as tg:
        state = await tg.account.wait_until_authorized(timeout=60)
    assert state.state_instance == "authorized"


async def test_bad_timeouts_are_refused() -> None:
    fake, clock = _fake(), FakeClock()
    async with _tg(fake, clock, ClockSleep(clock)) as tg:
        with pytest.raises(ValueError, match="negative"):
            await tg.account.wait_until_authorized(timeout=-1)
        with pytest.raises(TypeError, match="number"):
            await tg.account.wait_until_authorized(timeout="60")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least"):
            await anext(tg.account.watch_state(interval=0.1))
    assert fake.requests == []


async def test_watch_state_yields_changes_only() -> None:
    fake, clock = _fake(), FakeClock()
    sleep = ClockSleep(clock)
    fake.script_states("starting", "starting", "authorized", "authorized", "blocked")
    seen: list[str] = []
    async with _tg(fake, clock, sleep) as tg:
        stream = tg.account.watch_state(interval=2.0)
        async with contextlib.aclosing(stream):
            async for state in stream:
                seen.append(state.state_instance)
                if len(seen) == 3:
                    break
    assert seen == ["starting", "authorized", "blocked"]
    assert set(sleep.delays) == {2.0}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_800_000_000, datetime.fromtimestamp(1_800_000_000, tz=UTC)),
        (1_800_000_000_000, datetime.fromtimestamp(1_800_000_000, tz=UTC)),  # ms
        ("2027-02-01T10:00:00", datetime(2027, 2, 1, 10, 0, tzinfo=UTC)),
        ("2027-02-01T10:00:00+03:00", datetime(2027, 2, 1, 7, 0, tzinfo=UTC)),
        ("soon", None),
        (True, None),
        (None, None),
    ],
)
def test_suspension_ends_are_read_tolerantly(
    value: object, expected: datetime | None
) -> None:
    from green_tg_async.resources._lifecycle import _as_datetime

    assert _as_datetime(value) == expected


async def test_a_state_that_cannot_be_read_is_said_so() -> None:
    fake, clock = _fake(), FakeClock()
    sleep = ClockSleep(clock)
    fake.fail_next(503, json={"message": "down"}, times=20)
    async with _tg(fake, clock, sleep) as tg:
        with pytest.raises(InstanceNotReadyError, match="could not be read") as info:
            await tg.account.wait_until_authorized(timeout=3)
    assert info.value.state is None
