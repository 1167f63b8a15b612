"""`Lanes`: one queue per chat, handled in order, `concurrency` chats at a time."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from green_tg_async._logging import logger

__all__ = ["Lanes"]

Job = Callable[[], Awaitable[None]]


class Lanes:
    """Run jobs one at a time per lane, in submission order.

    A lane's worker task exists only while the lane has jobs, and holds one
    of `concurrency` slots while a job runs, so a busy chat never starves
    the others beyond its own turn. `pending` counts jobs submitted and not
    yet finished.
    """

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, deque[Job]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._changed = asyncio.Event()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished."""
        return self._pending

    def submit(self, lane: str, job: Job) -> None:
        """Queue `job` behind the lane's earlier jobs."""
        self._pending += 1
        queue = self._lanes.get(lane)
        if queue is not None:
            queue.append(job)
            return
        self._lanes[lane] = deque([job])
        worker = asyncio.create_task(self._drain(lane), name=f"green-tg-bot:{lane}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def wait_below(self, limit: int) -> None:
        """Return once fewer than `limit` jobs are pending."""
        while self._pending >= limit:
            await self._wait_change()

    async def wait_idle(self) -> None:
        """Return once no job is pending."""
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
                job = queue[0]
                async with self._slots:
                    try:
                        await job()
                    except Exception:  # a job's own failures are handled in it
                        logger.exception("bot: a notification job failed in %s", lane)
                queue.popleft()
                self._finished(1)
        finally:
            # Cancelled: what is left of the lane is dropped with it.
            self._finished(len(queue))
            del self._lanes[lane]

    def _finished(self, count: int) -> None:
        if count:
            self._pending -= count
            self._changed.set()

    async def _wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()
