"""Contact look-ups: one on the wire at a time, a budget, and a pace that learns."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from green_tg_async import (
    AccountCheck,
    AdaptivePace,
    AsyncGreenTelegram,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    LookupBudget,
    RateLimits,
)
from green_tg_async.stores import MemoryStore, SqliteStore

from .helpers import (
    API_TOKEN,
    ID_INSTANCE,
    FakeClock,
    max_in_window,
    run_in_fake_time,
)
from .loopback import LoopbackServer, loopback_client

ROOT = Path(__file__).resolve().parents[1]
LIMIT = (469, {"message": "User get contact info limit reached"})


def test_a_burst_of_checks_meets_a_slow_469_with_exactly_one_request() -> None:
    async def slow_limit(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(0.2)  # a real round trip, in loop time
        return LIMIT

    async def main() -> tuple[list[Any], int]:
        limits = RateLimits(per_method={"checkAccount": 20})
        async with (
            LoopbackServer(slow_limit) as server,
            loopback_client(server, FakeClock(), limits=limits) as tg,
        ):
            results = await asyncio.gather(
                *(tg.service.check_account(79000000000 + i) for i in range(200)),
                return_exceptions=True,
            )
            return results, len(server.arrivals)

    results, arrived = run_in_fake_time(main())
    assert arrived == 1
    assert sum(isinstance(r, ContactInfoLimitError) for r in results) == 1
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 199


def test_the_in_flight_cap_is_configurable() -> None:
    async def slow_found(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(0.2)
        return 200, {"exist": True, "chatId": "10000000"}

    async def main(cap: int | None) -> int:
        limits = RateLimits(per_method={"checkAccount": 100}, lookups_in_flight=cap)
        most = 0
        open_ = 0

        async def counting(method: str, path: str, body: bytes) -> tuple[int, Any]:
            nonlocal most, open_
            open_ += 1
            most = max(most, open_)
            try:
                return await slow_found(method, path, body)
            finally:
                open_ -= 1

        async with (
            LoopbackServer(counting) as server,
            loopback_client(server, FakeClock(), limits=limits) as tg,
        ):
            await asyncio.gather(
                *(tg.service.check_account(79000000000 + i) for i in range(12))
            )
        return most

    assert run_in_fake_time(main(1)) == 1
    assert run_in_fake_time(main(3)) == 3
    assert run_in_fake_time(main(None)) > 3


# -- adaptive pace (AIMD after a 469) -------------------------------------------


def _scripted(*answers: tuple[int, Any]) -> Any:
    queue = list(answers)

    async def handler(method: str, path: str, body: bytes) -> tuple[int, Any]:
        return queue.pop(0) if queue else (200, {"exist": True, "chatId": "1"})

    return handler


def _gaps(server: LoopbackServer) -> list[float]:
    times = [a.at for a in server.arrivals]
    return [b - a for a, b in itertools.pairwise(times)]


def test_after_a_469_look_ups_resume_at_half_pace_and_climb_back() -> None:
    clock = FakeClock()

    async def main() -> tuple[list[float], list[float], list[float]]:
        async with (
            LoopbackServer(_scripted(LIMIT)) as server,
            loopback_client(server, clock) as tg,
        ):
            with pytest.raises(ContactInfoLimitError):
                await tg.service.check_account(79000000000)
            paces = [(await tg.breaker.state()).pace]
            clock.advance(7200)  # the pause is over
            for i in range(4):
                await tg.service.check_account(79000000001 + i)
            paces.append((await tg.breaker.state()).pace)
            clock.advance(3600)  # an hour without a 469
            paces.append((await tg.breaker.state()).pace)
            gaps = _gaps(server)[1:]
            return paces, gaps, [a.at for a in server.arrivals]

    paces, gaps, _ = run_in_fake_time(main())
    assert paces == [0.5, 0.5, pytest.approx(0.6)]
    # checkAccount's rate is 1/s: at half pace the look-ups are 2 s apart.
    assert len(gaps) == 3
    assert min(gaps) >= 2.0 - 1e-6


def test_a_second_469_halves_the_pace_again() -> None:
    clock = FakeClock()

    async def main() -> float:
        async with (
            LoopbackServer(_scripted(LIMIT, LIMIT)) as server,
            loopback_client(server, clock) as tg,
        ):
            for _ in range(2):
                with pytest.raises(ContactInfoLimitError):
                    await tg.service.check_account(79000000000)
                clock.advance(7200)
            return (await tg.breaker.state()).pace

    assert run_in_fake_time(main()) == 0.25


def test_the_pace_can_be_switched_off_and_reset() -> None:
    clock = FakeClock()

    async def main(adaptive: AdaptivePace | None) -> tuple[float, float]:
        policy = BreakerPolicy(clock=clock, adaptive_pace=adaptive)
        async with (
            LoopbackServer(_scripted(LIMIT)) as server,
            AsyncGreenTelegram(
                ID_INSTANCE,
                API_TOKEN,
                api_url=server.url,
                breaker=policy,
                store=MemoryStore(),
            ) as tg,
        ):
            with pytest.raises(ContactInfoLimitError):
                await tg.service.check_account(79000000000)
            before = (await tg.breaker.state()).pace
            await tg.breaker.reset()
            return before, (await tg.breaker.state()).pace

    assert run_in_fake_time(main(None)) == (1.0, 1.0)
    assert run_in_fake_time(main(AdaptivePace(decrease=0.25))) == (0.25, 1.0)


async def test_a_restart_and_another_process_read_the_stored_pace(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    clock = FakeClock()

    async def limited(method: str, path_: str, body: bytes) -> tuple[int, Any]:
        return LIMIT

    store = SqliteStore(path)
    async with (
        LoopbackServer(limited) as server,
        AsyncGreenTelegram(
            ID_INSTANCE,
            API_TOKEN,
            api_url=server.url,
            breaker=BreakerPolicy(clock=clock),
            store=store,
        ) as tg,
    ):
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79000000000)
    await store.aclose()
    # A restart: a new store object on the same file.
    restarted = SqliteStore(path)
    async with AsyncGreenTelegram(
        ID_INSTANCE, API_TOKEN, breaker=BreakerPolicy(clock=clock), store=restarted
    ) as tg:
        assert (await tg.breaker.state()).pace == 0.5
    await restarted.aclose()
    # Another process, one hour after the pause ended.
    later = clock() + 7200 + 3600
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _READ_PACE,
        str(path),
        repr(later),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert float(out) == pytest.approx(0.6)


_READ_PACE = """
import asyncio, sys
from green_tg_async import AsyncGreenTelegram, BreakerPolicy
from green_tg_async.stores import SqliteStore

async def main():
    store = SqliteStore(sys.argv[1])
    policy = BreakerPolicy(clock=lambda: float(sys.argv[2]))
    async with AsyncGreenTelegram("4100000001", "t" * 20, breaker=policy,
                                  store=store) as tg:
        print((await tg.breaker.state()).pace)
    await store.aclose()

asyncio.run(main())
"""


# -- look-up budget ------------------------------------------------------------


def test_check_accounts_waits_for_the_budget_instead_of_failing() -> None:
    clock = FakeClock()

    async def found(method: str, path: str, body: bytes) -> tuple[int, Any]:
        return 200, {"exist": True, "chatId": "1"}

    async def main() -> tuple[list[Any], list[float]]:
        limits = RateLimits(lookup_budget=LookupBudget(per_minute=3, per_day=None))
        async with (
            LoopbackServer(found) as server,
            loopback_client(server, clock, limits=limits) as tg,
        ):
            numbers = [79000000000 + i for i in range(5)]
            outcomes = [o async for _, o in tg.service.check_accounts(numbers)]
            return outcomes, [a.at for a in server.arrivals]

    outcomes, times = run_in_fake_time(main())
    assert all(isinstance(o, AccountCheck) for o in outcomes)
    assert len(times) == 5
    assert max_in_window(times, window=60.0) == 3
    assert times[3] >= 60.0 - 1e-6


# -- the one-second log when every slot is in flight --------------------------------


def test_when_every_slot_is_in_flight_the_next_call_waits_for_an_answer() -> None:
    async def slow(method: str, path: str, body: bytes) -> tuple[int, Any]:
        await asyncio.sleep(2.0)  # longer than the bucket takes to refill
        return 200, {"idMessage": "m"}

    async def main() -> tuple[list[float], list[float]]:
        done: list[float] = []
        loop = asyncio.get_running_loop()
        limits = RateLimits(per_method={"sendMessage": 2})
        async with (
            LoopbackServer(slow) as server,
            loopback_client(server, FakeClock(), limits=limits) as tg,
        ):

            async def one(i: int) -> None:
                await tg.sending.send_message(1, f"m{i}")
                done.append(loop.time())

            await asyncio.gather(*(one(i) for i in range(4)))
            return [a.at for a in server.arrivals], sorted(done)

    arrivals, done = run_in_fake_time(main())
    assert max_in_window(arrivals) <= 2
    # Two in flight hold both slots; the third goes a second after an answer.
    assert arrivals[2] >= done[0] + 1.0 - 1e-6


# -- options are checked ---------------------------------------------------------

BAD_OPTIONS = [
    (lambda: RateLimits(lookups_in_flight=0), ValueError, "lookups_in_flight"),
    (lambda: RateLimits(lookups_in_flight=True), TypeError, "lookups_in_flight"),
    (
        lambda: RateLimits(lookup_budget={"per_day": 1}),  # type: ignore[arg-type]
        TypeError,
        "lookup_budget",
    ),
    (lambda: LookupBudget(per_minute=0), ValueError, "per_minute"),
    (
        lambda: LookupBudget(per_hour=1.5),  # type: ignore[arg-type]
        TypeError,
        "per_hour",
    ),
    (lambda: AdaptivePace(decrease=1.0), ValueError, "decrease"),
    (lambda: AdaptivePace(floor=0), ValueError, "floor"),
    (
        lambda: AdaptivePace(climb_per_hour="fast"),  # type: ignore[arg-type]
        TypeError,
        "climb_per_hour",
    ),
    (lambda: AdaptivePace(climb_per_hour=-0.1), ValueError, "climb_per_hour"),
]


@pytest.mark.parametrize(("build", "error", "match"), BAD_OPTIONS)
def test_bad_look_up_options_are_refused(
    build: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        build()


def test_budget_windows_leave_out_what_is_none() -> None:
    assert LookupBudget().windows == ((1000, 86400.0),)
    assert LookupBudget(per_minute=5, per_hour=50, per_day=None).windows == (
        (5, 60.0),
        (50, 3600.0),
    )
    assert LookupBudget(per_day=None).windows == ()


# -- a shared store paces look-ups for every process ------------------------------


async def test_a_shared_store_paces_look_ups_after_a_469(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteStore(tmp_path / "state.sqlite3")
    limits = RateLimits(per_method={"checkAccount": 20}, lookup_budget=None)
    async with (
        LoopbackServer(_scripted(LIMIT)) as server,
        AsyncGreenTelegram(
            ID_INSTANCE,
            API_TOKEN,
            api_url=server.url,
            breaker=BreakerPolicy(clock=clock),
            limits=limits,
            store=store,
        ) as tg,
    ):
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79000000000)
        clock.advance(7200)
        loop = asyncio.get_running_loop()
        started = loop.time()
        for i in range(3):
            await tg.service.check_account(79000000001 + i)
        elapsed = loop.time() - started
    await store.aclose()
    # At half of 20/s the store spaces them 0.1 s apart: at least 0.2 s for
    # three (a loaded machine only makes it longer).
    assert elapsed >= 0.2 - 1e-3


# -- the slot: a lease in the store, freed in the next step (issue 30) -----------


class _CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Any] = []
        self.exits: list[tuple[str, ...]] = []

    async def lookup_enter(self, entry: Any) -> Any:
        self.entries.append(entry)
        return await super().lookup_enter(entry)

    async def lookup_exit(self, slots: str, tickets: tuple[str, ...]) -> None:
        self.exits.append(tickets)
        await super().lookup_exit(slots, tickets)


def test_a_slot_is_freed_by_the_next_look_up_or_alone_soon_after() -> None:
    store = _CountingStore()

    async def found(method: str, path: str, body: bytes) -> tuple[int, Any]:
        return 200, {"exist": True, "chatId": "1"}

    async def main() -> None:
        limits = RateLimits(per_method={"checkAccount": 100})
        async with (
            LoopbackServer(found) as server,
            loopback_client(server, FakeClock(), limits=limits, store=store) as tg,
        ):
            await tg.service.check_account(79000000001)
            await tg.service.check_account(79000000002)  # frees the first
            await asyncio.sleep(1.0)  # nothing follows: the second freed alone

    run_in_fake_time(main())
    first, second = store.entries
    assert first.release == ()
    assert second.release == (first.ticket,)
    assert store.exits == [(second.ticket,)]
