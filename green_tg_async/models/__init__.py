"""What API calls return: frozen dataclasses that keep the raw JSON in `.raw`."""

from __future__ import annotations

from .account import InstanceState
from .messages import SentMessage
from .notifications import Notification
from .service import AccountCheck

__all__ = ["AccountCheck", "InstanceState", "Notification", "SentMessage"]
