"""Bulk number checks: validation first, one request per number, cache, 469 stop."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias, cast

from green_tg_async._exceptions import (
    CircuitOpenError,
    ContactInfoLimitError,
    GreenAPIError,
    StoreUnavailableError,
)
from green_tg_async._logging import logger
from green_tg_async.models import AccountCheck
from green_tg_async.stores import CacheStore

if TYPE_CHECKING:
    from green_tg_async._client import AsyncGreenTelegram

__all__ = ["CheckOutcome", "check_many"]

CheckOutcome: TypeAlias = AccountCheck | GreenAPIError | ValueError
"""What `check_accounts()` yields for each number: an answer, or why there is none."""


@dataclass(eq=False)
class _Run:
    """One bulk run: the numbers still to check and, after a 469, the stop."""

    client: AsyncGreenTelegram
    pending: deque[int]
    force: bool
    ttls: tuple[float, float]
    # Bounded (by the concurrency): workers never run far ahead of the consumer,
    # so stopping early (or being killed) wastes no look-ups beyond a few in
    # flight. An exception instead of a result: a worker died of it.
    done: asyncio.Queue[tuple[int, CheckOutcome] | Exception]
    stopped: CircuitOpenError | None = None

    async def work(self) -> None:
        try:
            while self.pending:
                phone = self.pending.popleft()
                await self.done.put((phone, await self.check(phone)))
        except Exception as exc:  # not an outcome: a bug, or a store gone wrong
            await self.done.put(exc)  # ends the run; no one waits for ever

    async def check(self, phone: int) -> CheckOutcome:
        if self.stopped is not None:
            return self.stopped
        try:
            return await self._answer(phone)
        except ContactInfoLimitError as exc:
            self.stopped = await self._pause(exc)
            return exc
        except CircuitOpenError as exc:
            self.stopped = exc
            return exc
        except GreenAPIError as exc:
            return exc

    async def _answer(self, phone: int) -> AccountCheck:
        # The client refused a store without the cache when it was built.
        store = cast(CacheStore, self.client.store)
        key = f"{{{self.client.id_instance}}}:check:{phone}"
        if not self.force and (cached := await _cached(store, key)) is not None:
            return AccountCheck.from_wire("checkAccount", json.loads(cached))
        found = await self.client.service.check_account(phone, force=self.force)
        ttl = self.ttls[0] if found.exist else self.ttls[1]
        try:
            await store.cache_set(key, json.dumps(dict(found.raw)), ttl=ttl)
        except StoreUnavailableError as exc:  # the look-up is paid for: keep it
            logger.warning("check of a number answered but not cached: %s", exc)
        return found

    async def _pause(self, exc: ContactInfoLimitError) -> CircuitOpenError:
        state = await self.client.breaker.state()
        if state.is_open and state.retry_at is not None:
            retry_at = state.retry_at
        else:  # breaker disabled: still stop this run for the documented pause
            policy = self.client.breaker.policy
            retry_at = datetime.fromtimestamp(
                policy.clock() + policy.pause_seconds, tz=UTC
            )
        return CircuitOpenError(
            self.client.id_instance, exc.message, retry_at, method="checkAccount"
        )


async def _cached(store: CacheStore, key: str) -> str | None:
    """The cached answer; a cache that cannot be read is a miss (logged)."""
    try:
        return await store.cache_get(key)
    except StoreUnavailableError as exc:
        logger.warning("answer cache not read, asking again: %s", exc)
        return None


async def check_many(
    client: AsyncGreenTelegram,
    numbers: Iterable[int | str],
    *,
    concurrency: int,
    force: bool,
    ttls: tuple[float, float],
) -> AsyncGenerator[tuple[int | str, CheckOutcome], None]:
    """Yield `(number, outcome)` for every input, in completion order."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise TypeError("concurrency must be an int")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    inputs: dict[int, list[int | str]] = {}
    for number in numbers:
        try:
            inputs.setdefault(client.normalize_phone(number), []).append(number)
        except (ValueError, TypeError) as exc:
            yield number, ValueError(str(exc))
    run = _Run(client, deque(inputs), force, ttls, asyncio.Queue(concurrency))
    workers = [
        asyncio.create_task(run.work()) for _ in range(min(concurrency, len(inputs)))
    ]
    try:
        for _ in range(len(inputs)):
            item = await run.done.get()
            if isinstance(item, Exception):
                raise item
            phone, outcome = item
            for number in inputs[phone]:
                yield number, outcome
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
