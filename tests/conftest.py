from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from green_tg_async import AsyncGreenTelegram
from green_tg_async.stores import MemoryStore

from .helpers import PREFIX, FakeClock, RecordingSleep, make_client


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


@pytest.fixture
def redis_url() -> str:
    """A real Redis; skipped without one, unless GREEN_TG_REQUIRE_REDIS=1 (CI)."""
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except Exception as exc:  # any failure means "no usable Redis here"
        if os.environ.get("GREEN_TG_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {url} is required (GREEN_TG_REQUIRE_REDIS=1): {exc}")
        pytest.skip(f"no Redis at {url} ({type(exc).__name__}); set REDIS_URL")
    finally:
        client.close()
    return url


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"green_tg_test:{uuid.uuid4().hex}:"
    yield prefix
    if "redis_url" in request.fixturenames:
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        try:
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
