"""RedisStore against real servers: faults, ownership, sharing between clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from green_tg_async import (
    AsyncGreenTelegram,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    StoreUnavailableError,
)
from green_tg_async.stores import FailOpenStore, RedisStore, SendLog, StateStore
from tests.helpers import API_TOKEN, ID_INSTANCE

pytestmark = pytest.mark.redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of the test's own, in a temp dir, that can be killed."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self._proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self._workdir,
            stdout=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self._proc is not None
        self._proc.kill()
        self._proc.wait(timeout=10)

    def stop(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(redis_url: str, tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if os.environ.get("GREEN_TG_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is required for the fault tests")
        pytest.skip("no redis-server binary to start and kill for the fault tests")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


async def _wait_until_up(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        for _ in range(500):
            try:
                await client.ping()
                return
            except Exception:  # not accepting connections yet
                await asyncio.sleep(0.01)
        raise AssertionError("redis-server did not start")
    finally:
        await client.aclose()


def _tg(store: StateStore, transport: httpx.MockTransport) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        ID_INSTANCE,
        API_TOKEN,
        http_client=httpx.AsyncClient(transport=transport),
        store=store,
        limits=RateLimits(enabled=False),
    )


async def test_a_dead_server_fails_closed_and_recovers(own_redis: RedisServer) -> None:
    await _wait_until_up(own_redis.url)
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"stateInstance": "authorized"})

    store = RedisStore(own_redis.url, prefix="t:")
    tg = _tg(store, httpx.MockTransport(answer))
    assert (await tg.account.get_state_instance()).state_instance == "authorized"

    own_redis.kill()
    with pytest.raises(StoreUnavailableError):
        await tg.account.get_state_instance()
    assert len(sent) == 1  # nothing sent while the store was down

    own_redis.start()
    await _wait_until_up(own_redis.url)
    assert (await tg.account.get_state_instance()).state_instance == "authorized"
    assert len(sent) == 2
    await tg.aclose()
    await store.aclose()


async def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    accepted: list[asyncio.StreamWriter] = []
    silent = await asyncio.start_server(lambda r, w: accepted.append(w), "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout=0.05)
    try:
        with pytest.raises(
            StoreUnavailableError, match=r"did not answer within 0\.05 s"
        ):
            await store.breaker_get("{1}:breaker")
    finally:
        await store.aclose()
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()


async def test_nothing_listening_fails_closed() -> None:
    store = RedisStore(f"redis://127.0.0.1:{_free_port()}/0")
    with pytest.raises(StoreUnavailableError, match="Redis store failed"):
        await store.limiter_admit("{1}:limiter:m", interval=1.0, burst=1)
    await store.aclose()


async def test_an_injected_client_is_never_closed(
    redis_url: str, redis_prefix: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    store = RedisStore(client, prefix=redis_prefix)
    await store.cache_set("{1}:k", "v", ttl=60)
    await store.aclose()
    assert await client.get(f"{redis_prefix}{{1}}:k") == b"v"
    assert await client.pttl(f"{redis_prefix}{{1}}:k") > 59_000
    assert repr(store) == f"<RedisStore prefix={redis_prefix!r} client=injected>"
    await client.aclose()


async def test_keys_carry_the_instance_hash_tag_and_never_the_token(
    redis_url: str, redis_prefix: str
) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix)
    transport = httpx.MockTransport(lambda request: httpx.Response(469))
    async with _tg(store, transport) as tg:
        tg._limiter = type(tg._limiter)(ID_INSTANCE, RateLimits(), store)
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79876543210)
    client = aioredis.Redis.from_url(redis_url)
    keys = sorted(
        [k.decode() async for k in client.scan_iter(match=redis_prefix + "*")]
    )
    await client.aclose()
    await store.aclose()
    # The limiter's keys expire within seconds (a loaded machine may get here
    # after that); the pause lasts two hours, the pace and the budget longer.
    assert f"{redis_prefix}{{{ID_INSTANCE}}}:breaker" in keys
    assert f"{redis_prefix}{{{ID_INSTANCE}}}:pace:contact_lookups" in keys
    assert set(keys) <= {
        f"{redis_prefix}{{{ID_INSTANCE}}}:breaker",
        f"{redis_prefix}{{{ID_INSTANCE}}}:budget:contact_lookups:86400000000",
        f"{redis_prefix}{{{ID_INSTANCE}}}:limiter:checkAccount",
        f"{redis_prefix}{{{ID_INSTANCE}}}:pace:contact_lookups",
        f"{redis_prefix}{{{ID_INSTANCE}}}:window:checkAccount",
        f"{redis_prefix}{{{ID_INSTANCE}}}:window:checkAccount:sent",
    }
    assert all(API_TOKEN not in key for key in keys)


async def test_two_stores_on_one_server_share_the_pause(
    redis_url: str, redis_prefix: str
) -> None:
    """Two clients with their own Redis connections, as two processes have."""
    first = RedisStore(redis_url, prefix=redis_prefix)
    second = RedisStore(redis_url, prefix=redis_prefix)
    refusing = httpx.MockTransport(lambda request: httpx.Response(469))

    def must_not_send(request: httpx.Request) -> httpx.Response:
        raise AssertionError("sent during a pause")

    async with (
        _tg(first, refusing) as a,
        _tg(second, httpx.MockTransport(must_not_send)) as b,
    ):
        with pytest.raises(ContactInfoLimitError):
            await a.service.check_account(79876543210)
        with pytest.raises(CircuitOpenError):
            await b.service.check_account(79876543210)
        await b.breaker.reset()
        assert not (await a.breaker.state()).is_open
    await first.aclose()
    await second.aclose()


async def test_fail_open_keeps_going_locally_and_writes_pauses_back(
    own_redis: RedisServer,
) -> None:
    """Down: calls go on at half the rate, the known pause holds, a new 469
    pauses locally; back up: that pause is written to Redis for everyone."""
    await _wait_until_up(own_redis.url)
    answers = iter(
        [
            httpx.Response(200, json={"stateInstance": "authorized"}),
            httpx.Response(200, json={"stateInstance": "authorized"}),
            httpx.Response(469),
        ]
    )
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path.split("/")[2])
        return next(answers)

    # A generous timeout: on a loaded machine 0.25 s could fail open too soon.
    primary = RedisStore(own_redis.url, prefix="t:", timeout=2.0)
    store = FailOpenStore(primary, probe_interval=1e-3)
    tg = _tg(store, httpx.MockTransport(answer))
    await tg.account.get_state_instance()

    own_redis.kill()
    assert (await tg.account.get_state_instance()).state_instance == "authorized"
    wait = await store.limiter_admit("{1}:limiter:x", interval=1.0, burst=1)
    again = await store.limiter_admit("{1}:limiter:x", interval=1.0, burst=1)
    assert (wait, round(again)) == (0.0, 2)  # half the rate: 2 s apart
    with pytest.raises(ContactInfoLimitError):
        await tg.service.check_account(79876543210)
    with pytest.raises(CircuitOpenError):  # the local pause holds
        await tg.service.check_account(79876543210)

    own_redis.start()
    await _wait_until_up(own_redis.url)
    other = RedisStore(own_redis.url, prefix="t:")
    with pytest.raises(CircuitOpenError):  # first call after recovery writes back
        await tg.service.check_account(79876543210)
    record = await other.breaker_get(f"{{{ID_INSTANCE}}}:breaker")
    assert record is not None
    assert record.open_until > 0
    assert sent == ["getStateInstance", "getStateInstance", "checkAccount"]
    await tg.aclose()
    await store.aclose()
    await other.aclose()


async def test_fail_open_with_a_store_still_down_keeps_the_pause_pending(
    own_redis: RedisServer,
) -> None:
    await _wait_until_up(own_redis.url)
    store = FailOpenStore(RedisStore(own_redis.url, prefix="t:"))
    own_redis.kill()
    await store.breaker_open("{1}:breaker", until=2e9, reason="469")
    # The cache (a bot's state, done markers) fails closed: never a silent miss.
    with pytest.raises(StoreUnavailableError):
        await store.cache_get("{1}:k")
    with pytest.raises(StoreUnavailableError):
        await store.cache_set("{1}:k", "v", ttl=5)
    await store.limiter_penalize("{1}:limiter:x", seconds=30)
    assert await store.limiter_admit("{1}:limiter:x", interval=1.0, burst=1) > 29
    x = SendLog("{1}:window:x", 1, 1.0, "t")
    assert await store.limiter_enter_pending(x) == 0.0
    assert await store.limiter_enter_pending(x) > 0.9
    await store.limiter_done(x)  # nothing to settle while down
    log = SendLog("{1}:window:z", 1, 1.0, "t")
    assert (
        await store.limiter_admit("{1}:limiter:z", interval=1.0, burst=1, log=log) == 0
    )
    assert await store.limiter_enter_pending(log) > 0.9
    y = SendLog("{1}:window:y", 1, 0.0, "t")
    for _ in range(3):  # a zero window never fills; only `limit` entries are kept
        assert await store.limiter_enter_pending(y) == 0.0
    assert await store.breaker_probe("{1}:breaker", now=3e9, lease_until=3e9 + 60)
    await store.breaker_success("{1}:breaker", now=3e9)
    await store.breaker_reset("{1}:other")
    record = await store.breaker_failure("{1}:f", threshold=1, until=5.0, reason="r")
    assert record.failures == 1
    assert await store.breaker_get("{1}:breaker") is None  # closed by the probe
    await store.aclose()


def test_fallback_fraction_is_checked() -> None:
    with pytest.raises(ValueError, match="fallback_fraction"):
        FailOpenStore(RedisStore("redis://127.0.0.1:1/0"), fallback_fraction=0)


async def test_issue10_item5_a_469_while_redis_stalls_survives_the_callers_deadline(
    own_redis: RedisServer,
) -> None:
    """Redis stalls 0.3 s as the 469 comes back; the caller gives up after 0.1 s."""
    await _wait_until_up(own_redis.url)
    store = RedisStore(own_redis.url, prefix="t:")
    stalled = asyncio.Event()

    async def stall_then_469(request: httpx.Request) -> httpx.Response:
        own_redis.stop()
        stalled.set()
        return httpx.Response(469)

    tg = _tg(store, httpx.MockTransport(stall_then_469))
    await tg.breaker.state()  # connected before the stall
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(tg.service.check_account(79876543210), 0.1)
        assert stalled.is_set()
        with pytest.raises(CircuitOpenError):  # held here meanwhile
            await tg.service.check_account(79876543211)
        await asyncio.sleep(0.3)  # real time: the server really is frozen
    finally:
        own_redis.resume()
    await tg.aclose()  # waits for the retried write
    other = RedisStore(own_redis.url, prefix="t:")
    record = await other.breaker_get(f"{{{ID_INSTANCE}}}:breaker")
    await other.aclose()
    await store.aclose()
    assert record is not None
    assert record.open_until > 0


async def test_a_burst_past_the_pool_waits_for_a_connection_instead_of_failing(
    redis_url: str, redis_prefix: str
) -> None:
    # Issue 21 item 13: redis-py's default pool refuses past max_connections
    # ("Too many connections"), so a burst of webhooks got HTTP 500.
    store = RedisStore(f"{redis_url}?max_connections=4", prefix=redis_prefix, timeout=5)
    try:
        answers = await asyncio.gather(
            *(store.cache_get(f"{{1}}:burst:{n}") for n in range(200)),
            return_exceptions=True,
        )
    finally:
        await store.aclose()
    assert [a for a in answers if a is not None] == []
