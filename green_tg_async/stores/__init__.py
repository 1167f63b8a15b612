"""Pluggable state stores: where an instance's breaker state lives."""

from __future__ import annotations

from ._base import BreakerRecord, StateStore
from .memory import MemoryStore, default_store
from .sqlite import SqliteStore

__all__ = [
    "BreakerRecord",
    "MemoryStore",
    "SqliteStore",
    "StateStore",
    "default_store",
]
