"""Effectively-once sends: idempotency keys over the store's send journal.

A keyed send writes its intent (one store call), sends, and records the
answer (one store call). A caller that finds the answer recorded gets it back
without a request; one that finds the send in flight waits for it. An
ambiguous outcome (the answer lost, a 5xx, an intent left by a crash) is
settled from GREEN-API's own records before anything is raised, in
`_settle.py`. DESIGN.md §11 has the contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from ._exceptions import (
    APIConnectionError,
    GreenAPIError,
    IdempotencyKeyReusedError,
    ResponseDecodeError,
    SendOutcomeUnknownError,
    ServerError,
    StoreUnavailableError,
)
from ._json import loads
from ._logging import logger
from ._settle import Intent, Settler
from .stores import BotStore, StateStore
from .stores._journal import JournalEntry

if TYPE_CHECKING:
    from ._client import AsyncGreenTelegram

__all__ = ["Once", "ambiguous"]

_FIRST_POLL: Final = 0.05  # a waiter asks again this soon, doubling
_LAST_POLL: Final = 1.0  # up to this


def ambiguous(exc: GreenAPIError) -> bool:
    """True when a send that failed with `exc` may have been applied."""
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return isinstance(exc, ServerError | ResponseDecodeError)


class Once:
    """The keyed sends of one client: journal, wait, settle, record."""

    __slots__ = ("_client", "_renewals", "_settler")

    def __init__(
        self, client: AsyncGreenTelegram, store: StateStore | BotStore | None = None
    ) -> None:
        self._client = client
        self._settler = Settler(client, store)
        self._renewals: dict[str, _Renewal] = {}  # by owner, while sends run

    async def send(
        self,
        key: str,
        intent: Intent,
        call: Callable[[], Awaitable[Any]],
        *,
        lenient: bool = False,
    ) -> Any:
        """Send once under `key`; return the answer (recorded or new).

        `lenient` (bots): a key reused with other arguments returns the
        recorded result (logged at INFO) instead of raising.
        """
        owner, poll = uuid.uuid4().hex, _FIRST_POLL
        while True:
            entry = await self._begin(key, intent, owner)
            if entry.verdict == "conflict":
                if not lenient:
                    raise IdempotencyKeyReusedError(
                        f"idempotency key {key!r} was first used with other "
                        "arguments; nothing was sent",
                        method=intent.method,
                        idempotency_key=key,
                    )
                logger.info(
                    "%s: send %r of this handler has other arguments than when it "
                    "first ran; the recorded send stands",
                    intent.method,
                    key,
                )
                # Go on under the recorded intent: a recorded result comes back,
                # an unsettled send is settled by what it sent (if it was not
                # sent, the new call is).
                intent = Intent.loads(entry.intent, entry.fingerprint)
            elif entry.verdict == "done":
                assert entry.result is not None
                self._settler.report(intent.method, "replayed")
                return loads(entry.result)
            elif entry.verdict == "wait":
                await asyncio.sleep(poll)
                poll = min(poll * 2, _LAST_POLL)
            else:
                async with self._holding(key, intent, owner):
                    return await self._sent_once(key, intent, entry, owner, call)

    async def _begin(self, key: str, intent: Intent, owner: str) -> JournalEntry:
        """One `journal_begin`; with our own lease live, it renews it."""
        policy = self._client.send_policy
        return await self._settler.journal.journal_begin(
            self._settler.key(key),
            fingerprint=intent.fingerprint,
            intent=intent.text,
            owner=owner,
            lease=policy.lease,
            ttl=policy.idempotency_ttl,
        )

    @contextlib.asynccontextmanager
    async def _holding(
        self, key: str, intent: Intent, owner: str
    ) -> AsyncIterator[None]:
        """Renew the lease every `lease / 3` while the send (or settling) runs.

        A send that waits long at the limiter keeps its key, so no other
        caller takes it for a dead process's.
        """

        async def renew() -> None:
            try:
                await self._begin(key, intent, owner)
            except StoreUnavailableError as exc:
                logger.warning("key %r: lease not renewed (%s)", key, exc)

        renewal = _Renewal(renew, self._client.send_policy.lease / 3)
        self._renewals[owner] = renewal
        try:
            yield
        finally:
            del self._renewals[owner]
            await renewal.stop()

    async def _sent_once(
        self,
        key: str,
        intent: Intent,
        entry: JournalEntry,
        owner: str,
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Send under our lease (settling an orphaned intent first).

        An ambiguous failure is settled; a send it finds surely lost is sent
        again, and a second doubt is raised.
        """
        try:
            settle = entry.verdict == "settle"
            again = False
            while True:
                if settle:
                    found = await self._settler.settle(key, intent, entry)
                    if found is not None:
                        return found
                try:
                    data = await call()
                    break
                except GreenAPIError as exc:
                    if not ambiguous(exc):
                        await self._release(key, owner, forget=True)
                        raise
                    if again:
                        raise SendOutcomeUnknownError(
                            f"{intent.method} with idempotency key {key!r} failed "
                            "twice without a clear outcome; the next call with "
                            "the key settles it",
                            method=intent.method,
                            idempotency_key=key,
                            status_code=getattr(exc, "status_code", 0),
                        ) from exc
                    settle = again = True
        except SendOutcomeUnknownError:
            self._settler.report(intent.method, "unknown")
            await self._release(key, owner, forget=False)  # the next call settles
            raise
        # Record the answer; the caller gets it even when the store fails.
        try:
            recorded = await self._settler.record(key, intent, entry.fingerprint, data)
        except StoreUnavailableError as exc:
            logger.warning(
                "%s: sent, but the result of key %r was not recorded (%s); "
                "the next call with the key settles it from the journal",
                intent.method,
                key,
                exc,
            )
            return data
        return data if recorded is None else loads(recorded)

    async def _release(self, key: str, owner: str, *, forget: bool) -> None:
        # Always inside `_holding`: no renewal may write the intent back after.
        await self._renewals[owner].stop()
        try:
            await self._settler.journal.journal_release(
                self._settler.key(key), owner=owner, forget=forget
            )
        except StoreUnavailableError as exc:
            logger.warning("key %r: lease not given back (%s)", key, exc)


class _Renewal:
    """Calls `renew` every `every` seconds until stopped.

    A timer, not a task, until the first renewal: a send that ends sooner
    (most do) costs no task.
    """

    __slots__ = ("_task", "_timer")

    def __init__(self, renew: Callable[[], Awaitable[None]], every: float) -> None:
        loop = asyncio.get_running_loop()
        self._task: asyncio.Task[None] | None = None

        async def renewing() -> None:
            while True:
                await renew()
                await asyncio.sleep(every)

        def start() -> None:
            self._task = loop.create_task(renewing())

        self._timer = loop.call_later(every, start)

    async def stop(self) -> None:
        """No renewal after this returns."""
        self._timer.cancel()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
