"""One clock and one sleep for the library: `client.clock` and `client.sleep`.

Injected once (`BreakerPolicy(clock=)`, `RetryPolicy(sleep=)`), they reach
polling back-off, `wait_until_authorized`, the CLI login and the bot's retries.
"""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path

import httpx
import pytest

from green_tg_async import (
    AsyncGreenTelegram,
    BreakerPolicy,
    ContactInfoLimitError,
    InstanceNotReadyError,
    RetryPolicy,
)
from green_tg_async._cli_check import _pace
from green_tg_async._cli_login import _settle
from green_tg_async.bot import Context, Dispatcher, Router
from green_tg_async.testing import FakeGreenAPI, incoming_text
from tests.helpers import (
    API_TOKEN,
    ID_INSTANCE,
    T0,
    ClockSleep,
    FakeClock,
    RecordingSleep,
    make_client,
)

PACKAGE = Path(__file__).parents[1] / "green_tg_async"
# Where the pair is owned (the client, the policies, the retry wiring), and
# the breaker's own modules (issue 30 is rewriting them).
# The policies' own users: the client, the retrying, and the breaker and the
# look-up governor, which keep the pause and the pace on the breaker's clock.
OWNERS = {
    "_base_client.py",
    "_config.py",
    "_retry.py",
    "_breaker.py",
    "_lookups.py",
    "_bulk.py",
}


def _client(fake: FakeGreenAPI, clock: FakeClock) -> AsyncGreenTelegram:
    transport = httpx.MockTransport(fake.handle)
    return make_client(clock=clock, sleep=ClockSleep(clock), transport=transport)


def test_the_client_has_one_clock_and_one_sleep_from_its_policies() -> None:
    clock, sleep, other = FakeClock(), RecordingSleep(), RecordingSleep()
    tg = AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        breaker=BreakerPolicy(clock=clock),
        retry=RetryPolicy(sleep=sleep),
    )
    assert tg.clock is clock
    assert tg.sleep is sleep
    assert tg.with_options(retry=RetryPolicy(sleep=other)).sleep is other


def _borrowed(tree: ast.Module) -> list[str]:
    """`….policy.clock`, `….retry_policy.sleep` and `policy.sleep` reads."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or node.attr not in ("clock", "sleep"):
            continue
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else None
        name = owner.id if isinstance(owner, ast.Name) else name
        if name in ("policy", "retry_policy", "_retry", "_policy"):
            found.append(f"{name}.{node.attr}")
    return found


def test_only_the_client_reads_the_policies_clock_and_sleep() -> None:
    sample = "clock = tg.breaker.policy.clock\nawait policy.sleep(1)\n"
    assert _borrowed(ast.parse(sample)) == ["policy.clock", "policy.sleep"]
    borrowers = {
        str(path.relative_to(PACKAGE)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name not in OWNERS and (found := _borrowed(ast.parse(path.read_text())))
    }
    assert borrowers == {}


async def test_one_injected_clock_and_sleep_reach_every_waiting_loop() -> None:
    fake = FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)
    clock = FakeClock()
    router, attempts = Router(), []

    @router.message()
    async def flaky(ctx: Context) -> None:
        attempts.append(clock())
        if len(attempts) < 2:
            raise RuntimeError("not yet")

    async with _client(fake, clock) as tg:
        sleep = tg.sleep
        assert isinstance(sleep, ClockSleep)
        # wait_until_authorized: polls on the sleep, gives up on the clock.
        fake.script_states("notAuthorized")
        with pytest.raises(InstanceNotReadyError):
            await tg.account.wait_until_authorized(timeout=3)
        assert sleep.delays == [1.0, 1.5, 1.0]  # the last one ends at 3 s
        assert clock() == T0 + 3.5
        # The CLI login's settling loop (then wait_until_authorized again).
        sleep.delays.clear()
        fake.script_states("notAuthorized", "authorized")
        assert (await _settle(tg, 10)).state_instance == "authorized"
        assert sleep.delays == [1.0]
        # Polling back-off after a failed poll (its 3 attempts wait twice).
        sleep.delays.clear()
        fake.fail_next(500, times=3)
        fake.incoming_text(1, "hi")
        stream = tg.receiving.iter_notifications(receive_timeout=5)
        async with contextlib.aclosing(stream):
            await anext(stream)
        assert len(sleep.delays) == 3
        # The bot's retry of a failing handler.
        sleep.delays.clear()
        await Dispatcher(tg, router, max_attempts=2).feed(incoming_text(1, "x"))
        assert len(sleep.delays) == 1
        assert attempts[1] - attempts[0] == pytest.approx(sleep.delays[0])


async def test_check_file_reads_a_running_pause_on_the_client_clock() -> None:
    fake = FakeGreenAPI(id_instance=ID_INSTANCE, api_token=API_TOKEN, rate_limits=False)
    clock = FakeClock()
    fake.fail_next(469)
    async with _client(fake, clock) as tg:
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79876543210)
        clock.advance(600)
        pace = await _pace(tg)
    assert pace.paused_for == tg.breaker.policy.pause_seconds - 600
