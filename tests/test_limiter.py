from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from green_tg_async import RateLimits, StoreUnavailableError
from green_tg_async._config import DOCUMENTED_RATES
from green_tg_async._limiter import Limiter
from green_tg_async.stores import SendLog

from .helpers import max_in_window, run_in_fake_time, spec


async def _admit_all(limiter: Limiter, method: str, n: int) -> list[float]:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire(spec(method))
        times.append(loop.time())
        limiter.done(spec(method))  # answered at once

    await asyncio.gather(*(one() for _ in range(n)))
    return times


def test_35_concurrent_calls_at_10_per_second_never_exceed_10_in_a_second() -> None:
    limiter = Limiter("1", RateLimits(per_method={"checkAccount": 10}))
    times = run_in_fake_time(_admit_all(limiter, "checkAccount", 35))
    assert max_in_window(times) == 10
    # The bucket holds 2, but burst=1 keeps every call on a schedule one
    # interval (0.1 s) apart: 10 in every second, never two back to back.
    assert times == pytest.approx([0.1 * i for i in range(35)], abs=1e-5)


def test_default_rate_applies_to_undocumented_methods() -> None:
    limiter = Limiter("1", RateLimits())
    times = run_in_fake_time(_admit_all(limiter, "checkAccount", 3))
    assert times == pytest.approx([0.0, 1.0, 2.0], abs=1e-5)


def test_documented_rate_is_used() -> None:
    limiter = Limiter("1", RateLimits())
    times = run_in_fake_time(_admit_all(limiter, "sendMessage", 101))
    assert max_in_window(times) == 50
    assert times[-1] == pytest.approx(2.0, abs=1e-5)


def test_burst_lets_calls_through_back_to_back() -> None:
    limiter = Limiter("1", RateLimits(default=2.0, burst=3))
    times = run_in_fake_time(_admit_all(limiter, "x", 5))
    assert times[:3] == pytest.approx([0.0, 0.0, 0.0], abs=1e-5)
    # The one-second log holds the 4th and 5th to 3 per second.
    assert times[3:] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert max_in_window(times) == 3


def test_late_wakeups_neither_accumulate_nor_overfill_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every timer fires 0-4 ms late, as real timers do.

    Plain spacing would reach 50/(1 + 50 * 0.002) ≈ 0.91 of the rate; a bucket
    of 2 lets the call after a late one follow sooner, keeping it near 1.0,
    and the one-second log keeps windows at 50.
    """
    lateness = itertools.cycle([0.004, 0.0, 0.001, 0.003, 0.0, 0.002])
    real_call_at = asyncio.BaseEventLoop.call_at

    def late_call_at(
        loop: asyncio.BaseEventLoop, when: float, *args: Any, **kwargs: Any
    ) -> asyncio.TimerHandle:
        return real_call_at(loop, when + next(lateness), *args, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "call_at", late_call_at)
    limiter = Limiter("1", RateLimits())
    times = run_in_fake_time(_admit_all(limiter, "sendMessage", 400))
    achieved = (len(times) - 1) / (max(times) - min(times))
    assert max_in_window(times) <= 50
    assert achieved >= 0.98 * 50


def test_clients_of_one_instance_share_buckets_and_others_do_not() -> None:
    async def main() -> tuple[list[float], list[float], list[float]]:
        a = Limiter("7", RateLimits())
        b = Limiter("7", RateLimits())
        other = Limiter("8", RateLimits())
        shared = await asyncio.gather(
            _admit_all(a, "getSettings", 2), _admit_all(b, "getSettings", 2)
        )
        alone = await _admit_all(other, "getSettings", 2)
        return sorted(shared[0] + shared[1]), alone, []

    shared, alone, _ = run_in_fake_time(main())
    assert shared == pytest.approx([0.0, 1.0, 2.0, 3.0], abs=1e-5)
    assert alone == pytest.approx([3.0, 4.0], abs=1e-5)  # its own bucket, fresh


def test_methods_have_separate_buckets() -> None:
    async def main() -> list[float]:
        limiter = Limiter("1", RateLimits())
        a, b = await asyncio.gather(
            _admit_all(limiter, "getSettings", 2), _admit_all(limiter, "reboot", 2)
        )
        return a + b

    assert run_in_fake_time(main()) == pytest.approx([0, 1, 0, 1], abs=1e-5)


def test_disabled_limiter_never_waits() -> None:
    limiter = Limiter("1", RateLimits(enabled=False))
    times = run_in_fake_time(_admit_all(limiter, "getSettings", 20))
    assert times == pytest.approx([0.0] * 20, abs=1e-9)


def test_penalty_pushes_the_next_slot() -> None:
    async def main() -> list[float]:
        limiter = Limiter("1", RateLimits())
        first = await _admit_all(limiter, "sendMessage", 1)
        await limiter.penalize(spec("sendMessage"), 5.0)
        return first + await _admit_all(limiter, "sendMessage", 1)

    assert run_in_fake_time(main()) == pytest.approx([0.0, 5.0], abs=1e-5)


def test_penalty_is_ignored_when_disabled() -> None:
    async def main() -> list[float]:
        limiter = Limiter("1", RateLimits(enabled=False))
        await limiter.penalize(spec("sendMessage"), 5.0)
        return await _admit_all(limiter, "sendMessage", 1)

    assert run_in_fake_time(main()) == pytest.approx([0.0], abs=1e-9)


def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    async def main() -> list[float]:
        limiter = Limiter("1", RateLimits())
        await limiter.acquire(spec("getSettings"))  # t=0, next slot at 1
        limiter.done(spec("getSettings"))
        waiter = asyncio.create_task(limiter.acquire(spec("getSettings")))
        await asyncio.sleep(0.5)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return await _admit_all(limiter, "getSettings", 1)

    assert run_in_fake_time(main()) == pytest.approx([1.0], abs=1e-5)


def test_a_cancelled_waiter_hands_its_turn_to_the_one_behind() -> None:
    async def main() -> list[float]:
        limiter = Limiter("1", RateLimits())
        await limiter.acquire(spec("getSettings"))
        limiter.done(spec("getSettings"))
        first = asyncio.create_task(limiter.acquire(spec("getSettings")))  # due at 1
        second = asyncio.create_task(_admit_all(limiter, "getSettings", 1))  # at 2
        await asyncio.sleep(0.5)
        first.cancel()
        return await second

    assert run_in_fake_time(main()) == pytest.approx([1.0], abs=1e-5)


def test_rate_for_reads_overrides_then_table_then_default() -> None:
    limits = RateLimits(per_method={"sendMessage": 5}, default=0.5)
    assert limits.rate_for("sendMessage") == 5
    assert (
        limits.rate_for("receiveNotification")
        == DOCUMENTED_RATES["receiveNotification"]
    )
    assert limits.rate_for("checkAccount") == 0.5


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"per_method": {"x": 0}}, ValueError, r"per_method\['x'\] must be positive"),
        ({"per_method": {"x": "1"}}, TypeError, "must be a number"),
        ({"default": -1.0}, ValueError, "default must be positive"),
        ({"default": True}, TypeError, "must be a number"),
        ({"burst": 0}, ValueError, "burst must be at least 1"),
        ({"burst": 1.5}, TypeError, "burst must be an int"),
    ],
)
def test_bad_limits_are_refused(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RateLimits(**kwargs)  # type: ignore[arg-type]


def test_limiter_repr() -> None:
    assert repr(Limiter("1", RateLimits())) == "<Limiter instance=1 enabled burst=1>"


class _BookingStore:
    """A SharedLimiterStore stand-in that books slots by a fixed script."""

    def __init__(self, waits: list[float], enter_waits: list[float]) -> None:
        self.waits = waits
        self.enter_waits = enter_waits
        self.booked: list[tuple[str, float, int]] = []
        self.entered: list[tuple[str, int, float]] = []
        self.penalties: list[tuple[str, float]] = []
        self.settled: list[str] = []

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        assert log is not None
        self.booked.append((key, interval, burst))
        wait = self.waits.pop(0)
        return wait if wait else self.enter_waits.pop(0)

    async def limiter_penalize(self, key: str, *, seconds: float) -> None:
        self.penalties.append((key, seconds))

    async def limiter_admit_gated(self, key: str, **_: Any) -> Any:
        raise AssertionError("no gate is passed in these tests")

    async def limiter_enter_pending(self, log: SendLog) -> float:
        self.entered.append((log.key, log.limit, log.window))
        return self.enter_waits.pop(0)

    async def limiter_done(self, log: SendLog) -> None:
        self.settled.extend(ticket for ticket, _ in log.settle)


def test_a_shared_store_books_slots_and_the_caller_sleeps() -> None:
    # 2nd call: its shared slot is 2.5 s away, then the send log adds 0.25 s.
    store = _BookingStore([0.0, 2.5], [0.0, 0.25, 0.0])
    limiter = Limiter("7", RateLimits(per_method={"m": 4}, shared_margin=0.5), store)

    async def main() -> list[float]:
        times = await _admit_all(limiter, "m", 1)
        times += await _admit_all(limiter, "m", 1)
        await limiter.penalize(spec("m"), 9.0)
        return times

    # 2nd: an interval locally (burst=1), 2.5 s to its shared slot, 0.25.
    assert run_in_fake_time(main()) == pytest.approx([0.0, 3.0], abs=1e-5)
    assert store.booked == [("{7}:limiter:m", 0.375, 1)] * 2  # (1 + 0.5) / 4
    assert store.entered == [("{7}:window:m", 4, 1.5)] * 2  # 1st logged at booking
    assert store.penalties == [("{7}:limiter:m", 9.0)]


def test_shared_margin_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="shared_margin"):
        RateLimits(shared_margin=1.0)


class _CountingFuture(asyncio.Future[None]):
    """A future that counts the done-callbacks still attached to it."""

    live = 0

    def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
        type(self).live += 1
        super().add_done_callback(fn, context=context)

    def remove_done_callback(self, fn: Any) -> int:
        removed = super().remove_done_callback(fn)
        type(self).live -= removed
        return removed


def test_waits_that_time_out_leave_nothing_on_the_shared_pause_future() -> None:
    """The pause future lives as long as no pause comes; waits must not pile up."""
    from green_tg_async._limiter import _nap

    async def main() -> None:
        woken = _CountingFuture()
        for _ in range(100):
            assert await _nap(0.01, lambda: woken)
        assert _CountingFuture.live == 0
        woken.set_result(None)

    run_in_fake_time(main())


async def test_a_signal_over_two_keys_is_shared_not_rebuilt_per_waiter() -> None:
    from green_tg_async._process import LocalPauses

    pauses = LocalPauses()
    first = pauses.signal(("a", "b"))
    assert pauses.signal(("a", "b")) is first
    assert not first.done()
    pauses.open("b", until=2e9, reason="469")
    assert first.done()
    assert pauses.signal(("a", "b")) is not first


class _SettlingStore(_BookingStore):
    """Also holds sends (SettlingLimiterStore); can fail on cue."""

    def __init__(self) -> None:
        super().__init__([], [])
        self.logs: list[SendLog] = []
        self.done: list[SendLog] = []
        self.fail_admit = False
        self.fail_done = False

    async def limiter_admit(
        self, key: str, *, interval: float, burst: int, log: SendLog | None = None
    ) -> float:
        assert log is not None
        if self.fail_admit:
            raise StoreUnavailableError("down (test)")
        self.logs.append(log)
        return 0.0

    async def limiter_enter_pending(self, log: SendLog) -> float:
        return 0.0

    async def limiter_done(self, log: SendLog) -> None:
        if self.fail_done:
            raise StoreUnavailableError("down (test)")
        self.done.append(log)


async def _held_call(limiter: Limiter, method: str) -> None:
    assert await limiter.acquire(spec(method))
    limiter.done(spec(method))


def test_a_held_send_rides_on_the_next_booking_or_is_settled_alone() -> None:
    store = _SettlingStore()
    limiter = Limiter("7", RateLimits(per_method={"m": 100}), store)

    async def main() -> None:
        await _held_call(limiter, "m")
        await _held_call(limiter, "m")  # carries the first one's settle
        await asyncio.sleep(0.05)  # nothing else comes: settled on its own

    run_in_fake_time(main())
    first, second = store.logs
    assert first.ticket
    assert not first.settle
    assert [t for t, _ in second.settle] == [first.ticket]
    assert [[t for t, _ in d.settle] for d in store.done] == [[second.ticket]]


def test_settles_survive_a_failed_booking_and_a_failed_flush(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _SettlingStore()
    limiter = Limiter("7", RateLimits(per_method={"m": 100}), store)

    async def main() -> None:
        await _held_call(limiter, "m")
        store.fail_admit = True
        with pytest.raises(StoreUnavailableError):
            await limiter.acquire(spec("m"))
        store.fail_admit = False
        store.fail_done = True
        await asyncio.sleep(0.05)  # the flush fails: logged, the store expires it
        store.fail_done = False
        await _held_call(limiter, "m")
        await limiter.drain()

    run_in_fake_time(main())
    first = store.logs[0]
    # The failed booking put the first settle back; the flush that failed
    # took it; the last call's own settle was drained by drain().
    assert "sends not settled" in caplog.text
    assert [[t for t, _ in d.settle] for d in store.done] == [[store.logs[1].ticket]]
    assert first.ticket not in [t for d in store.done for t, _ in d.settle]


def test_two_clients_of_one_instance_at_50_and_40_share_the_stricter_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 30: the bucket belongs to (instance, method), not to the settings."""

    async def main() -> list[float]:
        fast = Limiter("5", RateLimits(per_method={"sendMessage": 50}))
        slow = Limiter("5", RateLimits(per_method={"sendMessage": 40}))
        both = await asyncio.gather(
            _admit_all(fast, "sendMessage", 120), _admit_all(slow, "sendMessage", 120)
        )
        return both[0] + both[1]

    with caplog.at_level("WARNING", logger="green_tg_async"):
        times = run_in_fake_time(main())
    assert max_in_window(times) == 40  # never 90 (each a full budget), never 50
    conflicts = [r for r in caplog.records if "stricter" in r.getMessage()]
    assert len(conflicts) == 1
    assert conflicts[0].levelname == "WARNING"


def test_burst_1_spaces_concurrent_calls_a_full_interval_apart() -> None:
    """12 concurrent calls at 5/s, answers 10-150 ms later (issue 30)."""
    latencies = itertools.cycle([0.15, 0.01, 0.08, 0.12, 0.03])

    async def main() -> list[float]:
        limiter = Limiter("6", RateLimits(per_method={"getStateInstance": 5}))
        loop = asyncio.get_running_loop()
        times: list[float] = []

        async def one() -> None:
            assert await limiter.acquire(spec("getStateInstance"))
            times.append(loop.time())
            await asyncio.sleep(next(latencies))
            limiter.done(spec("getStateInstance"))

        await asyncio.gather(*(one() for _ in range(12)))
        return sorted(times)

    times = run_in_fake_time(main())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.2 - 1e-5


def test_a_refused_gated_look_up_keeps_the_pace_it_knew() -> None:
    """A refusal reads no pace: the governor must not hear None from it."""
    from green_tg_async.stores import BreakerRecord, LookupEntry
    from green_tg_async.stores._base import Gate, GatedAdmission

    class Refusing(_BookingStore):
        async def limiter_admit_gated(self, key: str, **_: Any) -> Any:
            return GatedAdmission(0.0, (BreakerRecord(open_until=2e9),), refused=0)

    heard: list[object] = []
    limiter = Limiter("7", RateLimits(), Refusing([], []))
    limiter.on_pace = heard.append
    entry = LookupEntry("s", "t", 1, 60.0, "b", (), "p")
    gate = Gate(("{7}:breaker",), 0.0, 60.0, entry)

    async def main() -> Any:
        return await limiter.acquire(spec("checkAccount"), gate=gate)

    found = run_in_fake_time(main())
    assert isinstance(found, GatedAdmission)
    assert found.refused == 0
    assert heard == []


def test_a_gated_booking_failing_after_its_first_step_settles_nothing_twice() -> None:
    """The first step logged the answered sends; a failure later must not
    put them back, or the next booking logs them a second time."""
    from green_tg_async.stores._base import Gate, GatedAdmission

    class Gated(_SettlingStore):
        steps = 0

        async def limiter_admit_gated(self, key: str, **kw: Any) -> Any:
            self.logs.append(kw["log"])
            self.steps += 1
            if self.steps == 1:  # the look-up's slot is taken: ask again
                return GatedAdmission(0.0, (None,), lookup_wait=0.5)
            raise StoreUnavailableError("down (test)")

    store = Gated()
    limiter = Limiter("7", RateLimits(per_method={"m": 100}), store)

    async def main() -> None:
        await _held_call(limiter, "m")
        with pytest.raises(StoreUnavailableError):
            await limiter.acquire(spec("m"), gate=Gate(("{7}:breaker",), 0.0, 60.0))
        await _held_call(limiter, "m")
        await limiter.drain()

    run_in_fake_time(main())
    first = store.logs[0].ticket
    logged = [t for log in (*store.logs, *store.done) for t, _ in log.settle]
    assert logged.count(first) == 1
