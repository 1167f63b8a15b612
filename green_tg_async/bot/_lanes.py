"""`Lanes`: one queue per chat, handled in order, `concurrency` chats at a time."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from green_tg_async._logging import logger

__all__ = ["Job", "Lanes", "Slot"]

Job = Callable[[], Awaitable[None]]
Slot = asyncio.Future["Job | None"]
"""A place in a lane, taken on arrival and filled in later with the job to
run there (None: nothing to run, for example a duplicate)."""


class Lanes:
    """Run jobs one at a time per lane, in the order their slots were taken.

    A lane's worker task exists only while the lane has slots. It waits for
    the first slot's job without holding one of the `concurrency` slots, so
    an arrival still being recorded never blocks other chats. `pending`
    counts slots taken and not yet finished.

    A job's own `CancelledError` (one it raised, not a cancellation of the
    worker) is logged like any failure and the lane goes on; only `close()`
    ends lanes.
    """

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, deque[Slot]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._changed = asyncio.Event()

    @property
    def pending(self) -> int:
        """Slots taken and not yet finished."""
        return self._pending

    def submit(self, lane: str, job: Job) -> None:
        """Queue `job` behind the lane's earlier slots."""
        self.reserve(lane).set_result(job)

    def reserve(self, lane: str) -> Slot:
        """Take the lane's next slot now; fill it in with `set_result(job)`."""
        slot: Slot = asyncio.get_running_loop().create_future()
        self._pending += 1
        queue = self._lanes.get(lane)
        if queue is None:
            queue = self._lanes[lane] = deque()
            worker = asyncio.create_task(self._drain(lane), name=f"green-tg-bot:{lane}")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.append(slot)
        return slot

    async def wait_below(self, limit: int) -> None:
        """Return once fewer than `limit` slots are pending."""
        while self._pending >= limit:
            self._changed.clear()
            await self._changed.wait()

    async def wait_idle(self) -> None:
        """Return once no slot is pending."""
        await self.wait_below(1)

    async def close(self, grace: float) -> int:
        """Wait up to `grace` s for pending jobs, then cancel; return the count cut."""
        try:
            async with asyncio.timeout(grace):
                await self.wait_idle()
            return 0
        except TimeoutError:
            cut = self._pending
            workers = list(self._workers)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            return cut

    async def _drain(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                slot = queue[0]
                if not slot.done():
                    # Shielded: cancelling this worker must not cancel the slot
                    # the dispatcher is about to fill in.
                    await asyncio.shield(slot)
                job = slot.result()
                if job is not None:
                    async with self._slots:
                        await _run(job, lane)
                queue.popleft()
                self._finished(1)
        finally:
            # Cancelled by close(): the dispatcher reports what was cut.
            self._finished(len(queue))
            del self._lanes[lane]

    def _finished(self, count: int) -> None:
        if count:
            self._pending -= count
            self._changed.set()


async def _run(job: Job, lane: str) -> None:
    try:
        await job()
    except asyncio.CancelledError:
        if cancelling():
            raise  # close() cancels this lane
        logger.error("bot: a notification job cancelled itself in %s", lane)
    except Exception:  # a job's own failures are handled in it
        logger.exception("bot: a notification job failed in %s", lane)


def cancelling() -> bool:
    """True when the current task itself is being cancelled.

    A `CancelledError` raised while this is False came from user code (a
    handler that raised it, or awaited a task someone else cancelled).
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
