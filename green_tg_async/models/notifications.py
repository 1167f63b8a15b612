"""Notifications taken from the instance's queue (`receiveNotification`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._decode import expect_object, require

__all__ = ["Notification"]


@dataclass(frozen=True, slots=True)
class Notification:
    """One item of the notification queue; delete it once it is handled."""

    receipt_id: int
    """Pass to `Receiving.delete_notification()` after handling the item."""

    body: Mapping[str, Any]
    """The webhook body exactly as GREEN-API sent it (`typeWebhook`, ...)."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The decoded JSON exactly as received."""

    @property
    def type_webhook(self) -> str | None:
        """The notification type (`incomingMessageReceived`, ...), if given."""
        value = self.body.get("typeWebhook")
        return value if isinstance(value, str) else None

    @classmethod
    def from_wire(cls, data: Any) -> Notification | None:
        """Decode a `receiveNotification` answer; None for an empty queue."""
        if data is None:
            return None
        obj = expect_object("receiveNotification", data)
        receipt = require("receiveNotification", obj, "receiptId", int)
        body = expect_object("receiveNotification", obj.get("body"))
        return cls(receipt_id=receipt, body=body, raw=obj)
