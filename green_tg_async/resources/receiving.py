"""Methods of the "Receiving" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from green_tg_async._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    GreenAPIError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    UnusableReceiptError,
)
from green_tg_async._logging import logger
from green_tg_async._types import ChatId
from green_tg_async.models import ActionResult, DownloadLink
from green_tg_async.models.notifications import Notification, receipt_in_text

from . import _validate as check
from ._base import Section, SectionClient

__all__ = ["Receiving"]

_LONG_POLL_MARGIN = 10.0  # the read timeout must outlast the server's wait
# Errors that waiting will not fix; they end `iter_notifications()`. A 400 that
# means "instance starting" is an InstanceNotReadyError and is waited out.
_FATAL = (AuthenticationError, PermissionDeniedError)
# An item without a usable receipt can never be deleted: polling again would
# return it forever, so it ends the iteration too.
_FATAL_POLL = (*_FATAL, BadRequestError, NotFoundError, UnusableReceiptError)


class Receiving(Section):
    """Take notifications from the instance's queue (HTTP polling), fetch files."""

    __slots__ = ()

    async def receive_notification(
        self, *, receive_timeout: int | None = None
    ) -> Notification | None:
        """Take the oldest notification, waiting up to `receive_timeout` seconds.

        Wraps `GET receiveNotification`.
        Docs: https://green-api.com/en/telegram/docs/api/receiving/technology-http-api/ReceiveNotification/

        Returns None when the queue stays empty. The item stays queued until
        `delete_notification()`. The HTTP read timeout is set above
        `receive_timeout`, so a long poll is never cut short by the client.
        """
        request: dict[str, Any] = {}
        if receive_timeout is not None:
            check.integer(receive_timeout, "receive_timeout", low=5, high=60)
            request["params"] = {"receiveTimeout": receive_timeout}
            request["timeout"] = self._client.timeout_with_read(
                receive_timeout + _LONG_POLL_MARGIN
            )
        return await self._fetch("receiveNotification", Notification, **request)

    async def delete_notification(self, receipt_id: int) -> bool:
        """Remove a handled notification from the queue.

        Wraps `DELETE deleteNotification/{receiptId}`; returns the API's
        `result` (False: there was no such receipt).
        """
        if isinstance(receipt_id, bool) or not isinstance(receipt_id, int):
            raise TypeError("receipt_id must be an int")
        suffix = f"/{receipt_id}"
        deleted = await self._fetch(
            "deleteNotification", ActionResult, flag="result", suffix=suffix
        )
        return bool(deleted)

    async def download_file(self, chat_id: ChatId, id_message: str) -> DownloadLink:
        """Return a link to the file of a message (kept about 24 h).

        Wraps `POST downloadFile`.
        """
        body = check.message_ref(chat_id, id_message)
        return await self._fetch("downloadFile", DownloadLink, json=body)

    async def iter_notifications(
        self,
        *,
        receive_timeout: int | None = 20,
        max_backoff: float | None = None,
        until_empty: bool = False,
    ) -> AsyncGenerator[Notification, None]:
        """Yield notifications as they arrive, deleting each once it is handled.

        Long-polls `receive_notification()`. A notification is deleted when
        the consumer asks for the next one, so one whose handler raised (or
        after which the loop was left) stays queued and comes again:
        delivery is at least once. Errors back off exponentially with
        jitter, up to `max_backoff` seconds (default `RetryPolicy.max_delay`).
        Errors that waiting will not fix end the iteration with the error:
        401/403 (credentials), and 400/404 on polling (e.g. a `webhookUrl` is
        set, so polling is refused), and an item without a usable
        `receiptId` (it could never be deleted); "instance starting" is
        waited out. An item whose body cannot be read arrives as an
        `UnknownNotification` and is deleted like any other. With
        `until_empty`, the iteration ends at the first empty poll.
        `receive_timeout=None` leaves the wait to the server (5 s).
        Cancelling leaves nothing half-deleted::

            async for item in tg.receiving.iter_notifications():
                await handle(item.body)
        """
        backoff = _Backoff(self._client, max_backoff)
        while True:
            try:
                item = await self._next(receive_timeout, backoff)
            except _PollFailed:
                continue
            if item is None:
                if until_empty:
                    return
                continue
            yield item
            await self._delete(item.receipt_id, backoff)

    async def _next(
        self, receive_timeout: int | None, backoff: _Backoff
    ) -> Notification | None:
        try:
            item = await self.receive_notification(receive_timeout=receive_timeout)
        except _FATAL_POLL:
            raise
        except ResponseDecodeError as exc:
            await self._skip_unreadable(exc, backoff)
            raise _PollFailed from None
        except GreenAPIError as exc:
            await backoff.wait(exc)
            raise _PollFailed from None
        backoff.reset()
        return item

    async def _skip_unreadable(
        self, exc: ResponseDecodeError, backoff: _Backoff
    ) -> None:
        """Delete a queue head that cannot be decoded, or end polling at it.

        A head nested too deeply to decode would come back on every poll; its
        receipt is read from the text instead, and it is deleted and logged.
        JSON whose receipt cannot be found ends polling; other text (a proxy's
        page) is waited out like any failed poll.
        """
        text = exc.body if isinstance(exc.body, str) else ""
        receipt = receipt_in_text(text)
        if receipt is not None:
            logger.error(
                "notification %d could not be decoded (%s); deleting it unhandled",
                receipt,
                exc,
            )
            await self._delete(receipt, backoff)
            return
        if text.lstrip()[:1] in ("{", "["):
            raise UnusableReceiptError(
                "receiveNotification answered a queue item that cannot be "
                "decoded and whose receiptId cannot be found; it cannot be "
                "deleted, so the queue is stuck at it",
                method="receiveNotification",
            ) from exc
        await backoff.wait(exc)

    async def _delete(self, receipt_id: int, backoff: _Backoff) -> None:
        while True:
            try:
                await self.delete_notification(receipt_id)
            except _FATAL:
                raise
            except APIError as exc:
                if isinstance(exc, RateLimitError | ServerError):
                    await backoff.wait(exc)
                    continue
                # A refused delete (400/404) will not succeed by repeating it.
                logger.warning("could not delete notification %d: %s", receipt_id, exc)
                return
            except GreenAPIError as exc:
                await backoff.wait(exc)
                continue
            backoff.reset()
            return


class _PollFailed(Exception):
    """A poll failed and was waited out; poll again (not an empty queue)."""


class _Backoff:
    """Jittered exponential waits between failed polls, on the client's sleep."""

    def __init__(self, client: SectionClient, cap: float | None) -> None:
        self._client = client
        self._cap = client.retry_policy.max_delay if cap is None else cap
        self._failures = 0

    def reset(self) -> None:
        self._failures = 0

    async def wait(self, exc: GreenAPIError) -> None:
        self._failures += 1
        delay = self._client.retry_policy.delay(self._failures, cap=self._cap)
        if isinstance(exc, CircuitOpenError):
            # Paused: wait for the pause to end (up to the cap) before polling.
            until = exc.retry_at.timestamp() - self._client.clock()
            delay = max(delay, min(until, self._cap))
        logger.warning(
            "notification polling failed (%s); retrying in %.1f s", exc, delay
        )
        await self._client.sleep(delay)
