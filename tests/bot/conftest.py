from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from green_tg_async import AsyncGreenTelegram, RateLimits, RetryPolicy
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import RecordingSleep


@pytest.fixture
def fake() -> FakeGreenAPI:
    return FakeGreenAPI(rate_limits=False)


@pytest.fixture
async def tg(
    fake: FakeGreenAPI, sleep: RecordingSleep
) -> AsyncIterator[AsyncGreenTelegram]:
    client = fake.client(
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(sleep=sleep),
    )
    async with client:
        yield client
