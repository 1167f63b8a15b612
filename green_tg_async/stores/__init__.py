"""Pluggable state stores: breaker, look-ups, shared rate limit, cache, bot inbox.

`MemoryStore` keeps them per process, `SqliteStore` per host, `RedisStore` for all.
A store of your own implements the protocols: `StateStore` and `CacheStore` for
a client (plus `SharedLimiterStore` when processes share it), `BotStore` (which
includes the `SendJournal` of keyed sends) for a bot; one that lacks a method is
refused when the client or bot is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import (
    BotStore,
    BreakerRecord,
    CacheStore,
    LookupEntry,
    PaceRecord,
    Resumed,
    SendLog,
    SharedLimiterStore,
    StateStore,
)
from ._fallback import FailOpenStore
from ._journal import JournalEntry, SendJournal
from .memory import MemoryStore, default_store
from .sqlite import SqliteStore

if TYPE_CHECKING:
    from .redis import RedisStore

__all__ = [
    "BotStore",
    "BreakerRecord",
    "CacheStore",
    "FailOpenStore",
    "JournalEntry",
    "LookupEntry",
    "MemoryStore",
    "PaceRecord",
    "RedisStore",
    "Resumed",
    "SendJournal",
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
