"""Several real processes sharing one instance through SQLite or Redis.

These run in real time (a few seconds): the point is what separate processes
do to one store. Each asserts what the store guarantees: no one-second window
of the send times it recorded (read back exactly: a SQLite trigger, or Redis
MONITOR) holds more than the limit, and none of the arrival times at the
stand-in server does either. A send is held in the shared log from its
admission until its answer arrived and is then logged at that time, so the
server read it inside that span whatever the jitter: these hold on a loaded
machine without a margin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import API_TOKEN, ID_INSTANCE, max_in_window

ROOT = Path(__file__).resolve().parents[2]
WORKER = str(Path(__file__).with_name("worker.py"))
ENV = {**os.environ, "GREEN_API_ID_INSTANCE": ID_INSTANCE, "GREEN_API_TOKEN": API_TOKEN}


class ServerProcess:
    """tests/stores/server.py in a process of its own; arrivals after exit."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.url = ""
        self.arrivals: list[dict[str, Any]] = []
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ServerProcess:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.stores.server",
            self.mode,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        self.url = (await self._proc.stdout.readline()).decode().strip()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None
        out, _ = await self._proc.communicate(b"")
        self.arrivals = json.loads(out)

    @property
    def times(self) -> list[float]:
        return [a["at"] for a in self.arrivals]


async def _run_workers(args: list[list[str]]) -> list[str]:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            WORKER,
            *a,
            env=ENV,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for a in args
    ]
    for proc in procs:  # every worker imported and built its client
        assert proc.stdout is not None
        assert (await proc.stdout.readline()).strip() == b"ready"
    outputs = await asyncio.gather(*(p.communicate(b"go\n") for p in procs))
    assert [p.returncode for p in procs] == [0] * len(procs)
    return [out.decode().strip() for out, _ in outputs]


def _location(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    if kind == "sqlite":
        return ["sqlite", str(tmp_path / "state.sqlite3")]
    fixture = "redis_url" if kind == "redis" else "redis_cluster_url"
    return ["redis", request.getfixturevalue(fixture)]


def _prefix(kind: str, request: pytest.FixtureRequest) -> list[str]:
    return [] if kind == "sqlite" else [request.getfixturevalue("redis_prefix")]


# A single Redis server and a Redis Cluster (`redis_url`, `redis_cluster_url`).
REDIS = [
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=[pytest.mark.redis, pytest.mark.redis_cluster]),
]
STORES = ["sqlite", *REDIS]


@contextlib.asynccontextmanager
async def _recorded_sends(
    kind: str, store: list[str], prefix: list[str], expected: int
) -> AsyncIterator[list[float]]:
    """The send times the store recorded in its send log, in seconds."""
    times: list[float] = []
    if kind == "sqlite":
        async with _sqlite_sends(store[1], times):
            yield times
    else:
        async with _redis_sends(store[1], prefix[0], times, expected):
            yield times


@contextlib.asynccontextmanager
async def _sqlite_sends(path: str, times: list[float]) -> AsyncIterator[None]:
    from green_tg_async.stores import SqliteStore

    setup = SqliteStore(path)
    await setup.cache_get("schema")  # creates the file and its tables
    await setup.aclose()
    db = sqlite3.connect(path)
    with contextlib.closing(db):
        db.executescript(
            "CREATE TABLE audit (at_us INTEGER);"
            "CREATE TRIGGER keep AFTER INSERT ON sends "
            "WHEN NEW.key LIKE '%:window:%' "
            "BEGIN INSERT INTO audit VALUES (NEW.at_us); END;"
        )
        yield
        times.extend(row[0] / 1e6 for row in db.execute("SELECT at_us FROM audit"))


@contextlib.asynccontextmanager
async def _redis_sends(
    url: str, prefix: str, times: list[float], expected: int
) -> AsyncIterator[None]:
    import redis.asyncio as aioredis

    # No read timeout: MONITOR is quiet while the workers start, and redis-py's
    # default 5 s socket timeout would end it on a loaded machine.
    client = aioredis.Redis.from_url(await _node_of(url, prefix), socket_timeout=None)
    started = asyncio.Event()

    async def watch() -> None:
        async with client.monitor() as monitor:
            started.set()
            async for command in monitor.listen():
                parts = command["command"].split()
                # A send is logged when its answer arrived: a ZADD to the
                # send log's sent set (score: that time in µs).
                if (
                    parts[0] == "ZADD"
                    and parts[1].startswith(prefix)
                    and ":window:" in parts[1]
                    and parts[1].endswith(":sent")
                ):
                    times.append(int(parts[2]) / 1e6)

    task = asyncio.create_task(watch())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.2)  # MONITOR is registered once its reply came back
    try:
        yield
        # The monitor stream lags behind a loaded server: wait for the rest.
        for _ in range(200):
            if len(times) >= expected:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


async def _node_of(url: str, prefix: str) -> str:
    """The URL of the server holding this instance's keys (on a cluster: one
    master owns the instance's slot, so MONITOR runs there)."""
    import redis.asyncio as aioredis

    if not url.startswith("redis+cluster://"):
        return url
    seed = "redis://" + url.removeprefix("redis+cluster://")
    cluster = aioredis.RedisCluster.from_url(seed)
    try:
        await cluster.initialize()
        node = cluster.get_node_from_key(f"{prefix}{{{ID_INSTANCE}}}:window:m")
    finally:
        await cluster.aclose()
    assert node is not None
    return f"redis://{node.host}:{node.port}/0"


@pytest.mark.parametrize("kind", STORES)
async def test_two_processes_at_a_combined_10_per_second(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _location(kind, tmp_path, request)
    prefix = _prefix(kind, request)
    async with (
        _recorded_sends(kind, store, prefix, 30) as sends,
        ServerProcess("found") as server,
    ):
        done = await _run_workers([[*store, server.url, "10", "15", *prefix]] * 2)
    assert done == ["15", "15"]
    assert len(server.times) == 30
    assert len(sends) == 30
    assert max_in_window(sends) <= 10
    assert max_in_window(server.times) <= 10  # what GREEN-API would count


@pytest.mark.parametrize("kind", REDIS)
async def test_four_processes_share_50_per_second(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _location(kind, tmp_path, request)
    prefix = _prefix(kind, request)
    async with (
        _recorded_sends(kind, store, prefix, 200) as sends,
        ServerProcess("found") as server,
    ):
        done = await _run_workers([[*store, server.url, "50", "50", *prefix]] * 4)
    assert done == ["50"] * 4
    assert len(server.times) == 200
    assert len(sends) == 200
    assert max_in_window(sends) <= 50
    assert max_in_window(server.times) <= 50


@pytest.mark.parametrize("kind", STORES)
async def test_a_pause_is_seen_by_another_process_and_after_a_restart(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = _location(kind, tmp_path, request)
    prefix = _prefix(kind, request)
    async with ServerProcess("limit") as server:
        # The first worker meets the 469 (1 call); the next two are refused
        # locally: one started afterwards, one "restarted" after both exited.
        first = await _run_workers([[*store, server.url, "100", "1", *prefix]])
        others = await _run_workers([[*store, server.url, "100", "3", *prefix]] * 2)
    assert first == ["0"]  # its one call failed with ContactInfoLimitError
    assert others == ["0", "0"]
    assert len(server.arrivals) == 1


@pytest.mark.parametrize("kind", STORES)
async def test_two_processes_meet_a_slow_469_with_exactly_one_look_up(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Issue 30: the look-up slot is a lease in the store, not per process."""
    store = _location(kind, tmp_path, request)
    prefix = _prefix(kind, request)
    async with ServerProcess("slow-limit") as server:
        done = await _run_workers([[*store, server.url, "100", "5", *prefix]] * 2)
    assert done == ["0", "0"]  # a 469, then refusals: nothing succeeded
    assert len(server.arrivals) == 1
