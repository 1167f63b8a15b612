"""The send journal: the `SendJournal` protocol and its pure transitions.

A keyed send (an idempotency key) is one record per key: the intent written
before the request, and the result written after it. Every transition is one
atomic store call; memory and SQLite apply the functions below, Redis the
same rules in Lua (`stores/redis.py`, its journal block).

A result names the message it recorded (`chat:idMessage`); that message is
claimed for the key, so one message never settles two keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, TypeAlias, runtime_checkable

__all__ = [
    "JournalEntry",
    "JournalRecord",
    "MemoryJournal",
    "SendJournal",
    "Verdict",
    "begin_step",
    "entry",
    "finish_step",
    "release_step",
]

Verdict: TypeAlias = Literal["send", "done", "wait", "settle", "conflict"]
"""What `journal_begin` found: a new intent (send it), a recorded result, an
intent in flight under a live lease (wait), one whose lease ran out (settle
it), or a record of other arguments (nothing changed)."""


class JournalEntry(NamedTuple):
    """The answer of `journal_begin`: the verdict and the record as it stands."""

    verdict: Verdict
    fingerprint: str
    """The arguments the key was first used with (a digest)."""
    intent: str
    """What was sent, as JSON (method, chat, content): what settling matches."""
    started: float
    """When the intent was written (epoch seconds, the store's clock)."""
    result: str | None
    """The recorded answer as JSON, once there is one."""


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One key's record as memory and SQLite keep it."""

    fingerprint: str
    intent: str
    started: float
    owner: str = ""
    lease_until: float = 0.0
    result: str | None = None


@runtime_checkable
class SendJournal(Protocol):
    """A store that keeps the send journal (part of what a bot store keeps).

    Keys are built by the library (`{instance}:once:...`); records expire
    `ttl` seconds after their last change. Lease times are the store's clock.
    """

    async def journal_begin(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        owner: str,
        lease: float,
        ttl: float,
    ) -> JournalEntry:
        """Atomically: write a new intent, or report the record under `key`.

        A new intent is held by `owner` for `lease` seconds ("send"). A
        record of another `fingerprint` is left alone ("conflict"); one with
        a result is "done"; one held by another owner's live lease is
        "wait"; otherwise `owner` takes its lease over ("settle").
        """
        ...

    async def journal_finish(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        message: str,
        result: str,
        ttl: float,
    ) -> str | None:
        """Atomically: claim `message` for `key` and record `result`.

        Returns the result that stands (an earlier one wins), or None, with
        nothing changed, when `message` already settled another key.
        """
        ...

    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        """Give up `owner`'s lease.

        `forget` drops the intent (it was not sent); otherwise it is kept for
        the next call to settle.
        """
        ...


def begin_step(
    record: JournalRecord | None,
    fingerprint: str,
    intent: str,
    owner: str,
    now: float,
    lease: float,
) -> tuple[Verdict, JournalRecord]:
    """The verdict of `journal_begin` and the record to keep."""
    if record is None:
        return "send", JournalRecord(fingerprint, intent, now, owner, now + lease)
    if record.fingerprint != fingerprint:
        return "conflict", record
    if record.result is not None:
        return "done", record
    if record.lease_until > now and record.owner != owner:
        return "wait", record
    return "settle", dataclasses.replace(record, owner=owner, lease_until=now + lease)


def finish_step(
    record: JournalRecord | None, fingerprint: str, intent: str, result: str, now: float
) -> JournalRecord:
    """The record after `journal_finish` (the first result stands)."""
    if record is None:
        record = JournalRecord(fingerprint, intent, now)
    if record.result is not None:
        return record
    return dataclasses.replace(record, owner="", lease_until=0.0, result=result)


def release_step(
    record: JournalRecord | None, owner: str, forget: bool
) -> JournalRecord | None:
    """The record after `journal_release`; None drops it."""
    if record is None or record.owner != owner or record.result is not None:
        return record
    if forget:
        return None
    return dataclasses.replace(record, owner="", lease_until=0.0)


def entry(verdict: Verdict, record: JournalRecord) -> JournalEntry:
    """The `JournalEntry` reporting `record`."""
    return JournalEntry(
        verdict, record.fingerprint, record.intent, record.started, record.result
    )


class MemoryJournal(SendJournal):
    """The send journal kept in this process (`MemoryStore`'s part).

    Each method runs without awaiting, so it is atomic under asyncio.
    """

    _clock: Callable[[], float]

    def _journal_init(self) -> None:
        # key -> (record, expires_at); message -> (key, expires_at).
        self._journal: dict[str, tuple[JournalRecord, float]] = {}
        self._journal_claims: dict[str, tuple[str, float]] = {}
        self._journal_writes = 0

    async def journal_begin(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        owner: str,
        lease: float,
        ttl: float,
    ) -> JournalEntry:
        now = self._clock()
        found = self._journal_get(key, now)
        verdict, record = begin_step(found, fingerprint, intent, owner, now, lease)
        if record is not found:
            self._journal_put(key, record, now + ttl)
        return entry(verdict, record)

    async def journal_finish(
        self,
        key: str,
        *,
        fingerprint: str,
        intent: str,
        message: str,
        result: str,
        ttl: float,
    ) -> str | None:
        now = self._clock()
        claim = self._journal_claims.get(message)
        if claim is not None and claim[1] > now and claim[0] != key:
            return None
        self._journal_claims[message] = (key, now + ttl)
        found = self._journal_get(key, now)
        record = finish_step(found, fingerprint, intent, result, now)
        self._journal_put(key, record, now + ttl)
        return record.result

    async def journal_release(self, key: str, *, owner: str, forget: bool) -> None:
        now = self._clock()
        found = self._journal_get(key, now)
        record = release_step(found, owner, forget)
        if record is None:
            self._journal.pop(key, None)
        elif record is not found:
            self._journal[key] = (record, self._journal[key][1])

    def _journal_get(self, key: str, now: float) -> JournalRecord | None:
        item = self._journal.get(key)
        return None if item is None or item[1] <= now else item[0]

    def _journal_put(self, key: str, record: JournalRecord, expires: float) -> None:
        self._journal[key] = (record, expires)
        self._journal_writes += 1
        if self._journal_writes % 1024 == 0:  # forget what expired, now and then
            now = self._clock()
            for table in (self._journal, self._journal_claims):
                for name in [k for k, (_, until) in table.items() if until <= now]:
                    del table[name]
