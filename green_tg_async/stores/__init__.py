"""Pluggable state stores: an instance's breaker, shared rate limit and answer cache.

`MemoryStore` keeps them per process, `SqliteStore` per host, `RedisStore` for all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import BreakerRecord, SendLog, SharedLimiterStore, StateStore
from .memory import MemoryStore, default_store
from .sqlite import SqliteStore

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = [
    "BreakerRecord",
    "MemoryStore",
    "RedisStore",
    "SendLog",
    "SharedLimiterStore",
    "SqliteStore",
    "StateStore",
    "default_store",
]


def __getattr__(name: str) -> Any:
    # RedisStore needs the optional redis-py; import it only when asked for.
    if name == "RedisStore":
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
