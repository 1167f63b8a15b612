"""Type aliases used in public signatures."""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["ChatId"]

ChatId: TypeAlias = str | int
"""A Telegram chat id: a user id, a negative group id, or `phone@c.us`."""
