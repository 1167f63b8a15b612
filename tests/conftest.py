from __future__ import annotations

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
