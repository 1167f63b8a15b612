"""Methods of the "Receiving" section of the GREEN-API Telegram docs."""

from __future__ import annotations

import httpx

from green_tg_async.models.notifications import Notification

from ._base import Section

__all__ = ["Receiving"]

_LONG_POLL_MARGIN = 10.0  # the read timeout must outlast the server's wait


class Receiving(Section):
    """Take notifications from the instance's queue (HTTP polling)."""

    __slots__ = ()

    async def receive_notification(
        self, *, receive_timeout: int | None = None
    ) -> Notification | None:
        """Take the oldest notification, waiting up to `receive_timeout` seconds.

        Wraps `GET receiveNotification`.
        Docs: https://green-api.com/en/telegram/docs/api/receiving/technology-http-api/ReceiveNotification/

        Returns None when the queue stays empty. The item stays queued until
        `delete_notification()`.
        """
        request: dict[str, object] = {}
        if receive_timeout is not None:
            if not 5 <= receive_timeout <= 60:
                raise ValueError(
                    f"receive_timeout must be 5-60 s, got {receive_timeout}"
                )
            request["params"] = {"receiveTimeout": receive_timeout}
            request["timeout"] = httpx.Timeout(
                30.0, read=receive_timeout + _LONG_POLL_MARGIN
            )
        data = await self._client._call("receiveNotification", **request)
        return Notification.from_wire(data)

    async def delete_notification(self, receipt_id: int) -> bool:
        """Remove a handled notification from the queue.

        Wraps `DELETE deleteNotification/{receiptId}`.
        """
        if isinstance(receipt_id, bool) or not isinstance(receipt_id, int):
            raise TypeError("receipt_id must be an int")
        data = await self._client._call("deleteNotification", suffix=f"/{receipt_id}")
        return bool(isinstance(data, dict) and data.get("result"))
