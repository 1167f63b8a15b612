from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
import respx

from green_tg_async import AsyncGreenTelegram
from green_tg_async.stores import MemoryStore

from .helpers import PREFIX, FakeClock, RecordingSleep, make_client

if TYPE_CHECKING:
    import redis


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=PREFIX) as router:
        yield router


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def client(
    clock: FakeClock, sleep: RecordingSleep, store: MemoryStore
) -> AsyncIterator[AsyncGreenTelegram]:
    async with make_client(clock=clock, sleep=sleep, store=store) as tg:
        yield tg


def _absent(what: str, flag: str, reason: str) -> NoReturn:
    """Skip, or fail when `flag`=1 says `what` must be there (CI)."""
    if os.environ.get(flag) == "1":
        pytest.fail(f"{what} is required ({flag}=1): {reason}")
    pytest.skip(reason)


def sync_redis(url: str) -> redis.Redis | redis.RedisCluster:
    """A blocking client for `url`; `redis+cluster://` (our form) gives a cluster."""
    import redis

    if url.startswith("redis+cluster://"):
        plain = "redis://" + url.removeprefix("redis+cluster://")
        return redis.RedisCluster.from_url(plain, socket_connect_timeout=1)
    return redis.Redis.from_url(url, socket_connect_timeout=1)


@pytest.fixture
def redis_url() -> str:
    """A real Redis; skipped without one, unless GREEN_TG_REQUIRE_REDIS=1 (CI)."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        sync_redis(url).ping()
    except Exception as exc:  # any failure means "no usable Redis here"
        _absent(
            f"Redis at {url}",
            "GREEN_TG_REQUIRE_REDIS",
            f"no Redis at {url} ({type(exc).__name__}); set REDIS_URL",
        )
    return url


@pytest.fixture
def redis_cluster_url() -> str:
    """A real Redis Cluster at REDIS_CLUSTER_URL (`redis+cluster://host:port`).

    Skipped without one, unless GREEN_TG_REQUIRE_REDIS_CLUSTER=1 (CI).
    `.ci/redis-cluster.sh start DIR` starts one and prints the variable.
    """
    flag, url = "GREEN_TG_REQUIRE_REDIS_CLUSTER", os.environ.get("REDIS_CLUSTER_URL")
    if not url:
        _absent(
            "a Redis Cluster",
            flag,
            "REDIS_CLUSTER_URL is not set (start one: .ci/redis-cluster.sh start DIR)",
        )
    try:
        client = sync_redis(url)
        info: Any = client.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
        state = info["cluster_state"]
        client.close()
    except Exception as exc:  # any failure means "no usable cluster here"
        state = f"{type(exc).__name__}: {exc}"
    if state != "ok":
        _absent(
            f"a Redis Cluster at {url}", flag, f"no Redis Cluster at {url}: {state}"
        )
    return url


@pytest.fixture(
    params=[
        pytest.param("redis_url", id="redis", marks=pytest.mark.redis),
        pytest.param(
            "redis_cluster_url",
            id="redis-cluster",
            marks=[pytest.mark.redis, pytest.mark.redis_cluster],
        ),
    ]
)
def any_redis_url(request: pytest.FixtureRequest) -> str:
    """The same test on a single Redis server and on a Redis Cluster."""
    return str(request.getfixturevalue(request.param))


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"green_tg_test:{uuid.uuid4().hex}:"
    yield prefix
    for name in ("redis_url", "redis_cluster_url"):
        if name in request.fixturenames:
            client = sync_redis(request.getfixturevalue(name))
            try:
                for key in list(client.scan_iter(match=prefix + "*")):
                    client.delete(key)
            finally:
                client.close()
