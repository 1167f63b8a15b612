"""`FailOpenStore` logs each transition once, and never claims a write it did not do."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from green_tg_async import (
    AsyncGreenTelegram,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    StoreUnavailableError,
)
from green_tg_async.stores import BreakerRecord, FailOpenStore, SendLog, SqliteStore
from green_tg_async.stores._base import Gate, GatedAdmission
from green_tg_async.stores._local import LocalFallback
from tests.helpers import API_TOKEN, ID_INSTANCE, T0, FakeClock, make_client


class _Primary(SqliteStore):
    """A SqliteStore that can be made unreachable, counting its breaker reads."""

    down = False
    reads = 0

    async def _run(self, work: Any, *, write: bool = False) -> Any:
        if self.down:
            raise StoreUnavailableError("SQLite store failed: down (test)")
        return await super()._run(work, write=write)

    async def breaker_get(self, key: str) -> BreakerRecord | None:
        self.reads += 1
        return await super().breaker_get(key)


def _fail_open(path: Path, clock: FakeClock, interval: float) -> FailOpenStore:
    store = FailOpenStore(_Primary(path))
    store._local = LocalFallback(0.5, probe_interval=interval, clock=clock)
    return store


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records]


async def test_issue11_a_down_store_is_not_reported_back_until_it_answers(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    clock = FakeClock(0.0)
    store = _fail_open(tmp_path / "s", clock, 1.0)
    primary = store.primary
    assert isinstance(primary, _Primary)
    caplog.set_level(logging.WARNING, logger="green_tg_async")
    primary.down = True
    for _ in range(3):
        clock.advance(1.0)  # each call probes the store
        assert await store.breaker_get("k") is None  # local answer
    assert not any("answers again" in m for m in _messages(caplog))
    assert sum("continuing locally" in m for m in _messages(caplog)) == 1

    await store.breaker_open("k", until=2e9, reason="469")  # kept locally
    primary.down = False
    clock.advance(1.0)
    await store.breaker_get("k")
    await store.breaker_get("k")
    back = [m for m in _messages(caplog) if "answers again" in m]
    assert back == ["state store answers again; 1 pause(s) kept locally written back"]
    record = await primary.breaker_get("k")
    assert record is not None
    assert record.open_until == 2e9
    await store.aclose()


async def test_issue11_a_hung_store_costs_one_timeout_per_probe_interval(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    clock = FakeClock(0.0)
    store = _fail_open(tmp_path / "s", clock, 5.0)
    primary = store.primary
    assert isinstance(primary, _Primary)
    caplog.set_level(logging.WARNING, logger="green_tg_async")
    primary.down = True
    for _ in range(20):  # calls in the first 5 s: one reaches the store
        await store.breaker_get("k")
        clock.advance(0.2)
    assert primary.reads == 1
    clock.advance(1.0)  # past the interval: the next call probes once
    await store.breaker_get("k")
    await store.breaker_get("k")
    assert primary.reads == 2
    primary.down = False
    clock.advance(5.0)
    await store.breaker_get("k")
    assert primary.reads == 3
    messages = _messages(caplog)
    assert sum("continuing locally" in m for m in messages) == 1
    assert sum("answers again" in m for m in messages) == 1
    await store.aclose()


def test_issue11_the_probe_interval_is_checked() -> None:
    with pytest.raises(ValueError, match="probe_interval"):
        LocalFallback(0.5, probe_interval=0)


# -- an idle holder writes its pause back on its own (issue 20 §4.1) ---------------


def _limited(request: httpx.Request) -> httpx.Response:
    return httpx.Response(469, json={"message": "User get contact info limit reached"})


async def _pause_while_down(path: Path) -> tuple[AsyncGreenTelegram, _Primary]:
    primary = _Primary(path)
    store = FailOpenStore(primary, probe_interval=0.05)
    await store.cache_get("schema")  # the file and its tables exist
    primary.down = True
    tg = AsyncGreenTelegram(
        ID_INSTANCE, API_TOKEN, store=store, transport=httpx.MockTransport(_limited)
    )
    with pytest.raises(ContactInfoLimitError):
        await tg.service.check_account(79000000000)
    return tg, primary


async def _shared_pause(path: Path) -> BreakerRecord | None:
    other = SqliteStore(path)  # what another host reads
    try:
        return await other.breaker_get(f"{{{ID_INSTANCE}}}:breaker")
    finally:
        await other.aclose()


async def test_issue20_an_idle_process_writes_its_pause_back_once_the_store_returns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    tg, store = await _pause_while_down(path)
    assert await _shared_pause(path) is None
    store.down = False  # the store is back; this process makes no more calls
    record = None
    for _ in range(100):  # up to 5 s on a loaded machine; usually ~0.05 s
        record = await _shared_pause(path)
        if record is not None:
            break
        await asyncio.sleep(0.05)
    assert record is not None
    assert record.open_until > time.time() + 7000
    await tg.aclose()
    await store.aclose()


async def test_issue20_aclose_drains_the_write_back(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    tg, store = await _pause_while_down(path)
    store.down = False
    await tg.aclose()  # waits for the background write-back
    record = await _shared_pause(path)
    assert record is not None
    assert record.open_until > time.time() + 7000
    await store.aclose()


async def test_two_recoveries_at_once_write_a_pause_back_once(tmp_path: Path) -> None:
    """The breaker's write-back and a call can both find the store back."""
    primary = _Primary(tmp_path / "s")
    fallback = LocalFallback(0.5)
    await fallback.breaker_open("k", until=2e9, reason="469")
    await asyncio.gather(fallback.recover(primary), fallback.recover(primary))
    assert not fallback.pending
    assert fallback.written == 1
    record = await primary.breaker_get("k")
    assert record is not None
    assert record.open_until == 2e9
    await primary.aclose()


async def test_two_recoveries_at_once_write_a_probe_lease_back_once(
    tmp_path: Path,
) -> None:
    primary = _Primary(tmp_path / "s")
    await primary.breaker_open("k", until=T0, reason="469")
    fallback = LocalFallback(0.5)
    fallback.seen(await primary.breaker_get("k"), "k")  # last seen
    assert await fallback.breaker_probe("k", now=T0 + 1, lease_until=T0 + 61)
    await asyncio.gather(fallback.recover(primary), fallback.recover(primary))
    record = await primary.breaker_get("k")
    assert record is not None
    assert record.probe_until == T0 + 61
    await primary.aclose()


async def test_a_down_primary_fails_the_send_journal_closed(tmp_path: Path) -> None:
    """The journal is the primary's alone: while it is down, an error, never empty."""
    primary = _Primary(tmp_path / "s")
    store = FailOpenStore(primary)

    async def begin(owner: str) -> str:
        entry = await store.journal_begin(
            "k", fingerprint="fp", intent="{}", owner=owner, lease=9.0, ttl=60.0
        )
        return entry.verdict

    assert await begin("a") == "send"
    primary.down = True
    with pytest.raises(StoreUnavailableError):
        await begin("b")
    with pytest.raises(StoreUnavailableError):
        await store.journal_finish(
            "k", fingerprint="fp", intent="{}", message="10:m1", result="{}", ttl=60.0
        )
    with pytest.raises(StoreUnavailableError):
        await store.journal_release("k", owner="a", forget=True)
    primary.down = False
    await store.aclose()


async def test_fail_open_true_on_a_store_is_one_fail_open_store_per_store(
    tmp_path: Path,
) -> None:
    """DESIGN §4's spelling, `SqliteStore(path, fail_open=True)`, still works:
    every client of it shares one `FailOpenStore`, so one fallback state."""
    primary = _Primary(tmp_path / "s", fail_open=True)
    first = AsyncGreenTelegram(ID_INSTANCE, API_TOKEN, store=primary)
    second = AsyncGreenTelegram(ID_INSTANCE, API_TOKEN, store=primary)
    assert isinstance(first.store, FailOpenStore)
    assert first.store is second.store
    assert first.store.primary is primary
    plain = SqliteStore(tmp_path / "t")
    assert AsyncGreenTelegram(ID_INSTANCE, API_TOKEN, store=plain).store is plain
    primary.down = True  # fails open: the breaker falls back to local state
    assert (await first.breaker.state()).is_open is False
    await first.aclose()
    await second.aclose()
    primary.down = False
    await primary.aclose()
    await plain.aclose()


# -- the half-open probe lease while the store is down (issue 30) -----------------

PAUSE = "{2}:breaker"


async def _admit(store: FailOpenStore, limiter: str, now: float) -> GatedAdmission:
    """A gated admission at `now` (breaker clock) whose probe lease runs 60 s."""
    return await store.limiter_admit_gated(
        limiter,
        interval=0.001,
        burst=10,
        log=SendLog("{2}:window:m", 10, 1.0),
        gate=Gate((PAUSE,), now, now + 60),
    )


async def _expired_pause(
    tmp_path: Path, clock: FakeClock | None = None
) -> tuple[FailOpenStore, _Primary]:
    """A fail-open store whose primary holds a pause that ran out at T0.

    Once down, the store is probed again only when `clock` passes an hour.
    """
    store = _fail_open(tmp_path / "s", clock or FakeClock(0.0), 3600.0)
    primary = store.primary
    assert isinstance(primary, _Primary)
    await store.breaker_open(PAUSE, until=T0, reason="469")
    return store, primary


async def test_issue30_a_probe_taken_locally_keeps_its_lease_while_the_store_is_down(
    tmp_path: Path,
) -> None:
    """One probe after a pause, also when the lease is taken locally."""
    store, primary = await _expired_pause(tmp_path)
    assert await store.breaker_get(PAUSE) is not None  # last seen: the pause
    primary.down = True
    probe = await _admit(store, "{2}:limiter:a", T0 + 1)
    assert (probe.refused, probe.lease, probe.wait) == (-1, True, 0.0)
    record = await store.breaker_get(PAUSE)
    assert record is not None
    assert record.probe_until == T0 + 61
    other = await _admit(store, "{2}:limiter:b", T0 + 2)
    assert (other.refused, other.lease) == (0, False)  # the probe is out
    later = await _admit(store, "{2}:limiter:c", T0 + 62)  # its lease ran out
    assert (later.refused, later.lease) == (-1, True)
    primary.down = False
    await store.aclose()


async def test_issue30_a_probe_the_store_leased_keeps_its_lease_when_it_goes_down(
    tmp_path: Path,
) -> None:
    store, primary = await _expired_pause(tmp_path)
    probe = await _admit(store, "{2}:limiter:a", T0 + 1)  # the store's lease
    assert (probe.refused, probe.lease) == (-1, True)
    primary.down = True  # before the probe's outcome is recorded
    other = await _admit(store, "{2}:limiter:b", T0 + 2)
    assert (other.refused, other.lease) == (0, False)
    primary.down = False
    await store.aclose()


async def test_issue30_a_probe_taken_locally_keeps_its_lease_when_the_store_returns(
    tmp_path: Path,
) -> None:
    """The store learns the lease before it answers anything else."""
    clock = FakeClock(0.0)
    store, primary = await _expired_pause(tmp_path, clock)
    other_key = "{3}:breaker"
    await store.breaker_open(other_key, until=T0, reason="469")
    for key in (PAUSE, other_key):
        assert await store.breaker_get(key) is not None  # last seen: the pause
    primary.down = True
    probe = await _admit(store, "{2}:limiter:a", T0 + 1)
    assert probe.lease
    assert await store.breaker_probe(other_key, now=T0 + 1, lease_until=T0 + 61)
    primary.down = False
    clock.advance(3600.0)  # the store is due for a probe, and answers
    other = await _admit(store, "{2}:limiter:b", T0 + 2)
    assert (other.refused, other.lease) == (0, False)  # the probe is still out
    assert not await primary.breaker_probe(other_key, now=T0 + 2, lease_until=T0 + 62)
    assert "up" in repr(store)
    await store.aclose()


async def test_issue30_a_lease_given_back_while_the_store_is_down_is_not_written(
    tmp_path: Path,
) -> None:
    clock = FakeClock(0.0)
    store, primary = await _expired_pause(tmp_path, clock)
    assert await store.breaker_get(PAUSE) is not None
    primary.down = True
    probe = await _admit(store, "{2}:limiter:a", T0 + 1)
    assert probe.lease
    await store.breaker_release(PAUSE, lease_until=T0 + 61)  # ended unanswered
    primary.down = False
    clock.advance(3600.0)
    again = await _admit(store, "{2}:limiter:b", T0 + 2)
    assert (again.refused, again.lease) == (-1, True)  # the next caller probes
    await store.aclose()


async def test_issue30_one_probe_goes_after_a_pause_while_the_store_is_down(
    tmp_path: Path,
) -> None:
    """The guarantee end to end: a second call meanwhile is refused, not sent."""
    clock = FakeClock()
    store = _fail_open(tmp_path / "s", FakeClock(0.0), 3600.0)
    primary = store.primary
    assert isinstance(primary, _Primary)
    pause = f"{{{ID_INSTANCE}}}:breaker"
    await primary.breaker_open(pause, until=clock.now + 60, reason="469")
    sent: list[str] = []
    probing, answer = asyncio.Event(), asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if len(sent) == 1:  # the probe: its answer waits
            probing.set()
            await answer.wait()
        return httpx.Response(200, json={"stateInstance": "authorized"})

    tg = make_client(
        clock=clock,
        store=store,
        limits=RateLimits(),  # the limiter's gated admission
        transport=httpx.MockTransport(handler),
    )
    assert (await tg.breaker.state()).is_open  # read while the store is up
    primary.down = True
    clock.advance(61)  # the pause ran out: one probe may go
    probe = asyncio.create_task(tg.account.get_state_instance())
    await probing.wait()
    with pytest.raises(CircuitOpenError, match="another caller is probing"):
        await tg.account.get_settings()  # another method: its own rate slot
    answer.set()
    await probe
    assert len(sent) == 1
    await tg.aclose()
    primary.down = False
    await store.aclose()
