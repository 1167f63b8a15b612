"""Everything the library keeps per process, in one visible object.

Clients of one instance share state that no single client owns: the limiter
buckets (per event loop), the pauses a process holds before the store has
them (per store object), and the `MemoryStore` used when `store=None`. The
tokens the log filter redacts are process-wide too, in `_logging`.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .stores.memory import MemoryStore

__all__ = ["PROCESS", "ProcessState"]


class ProcessState:
    """The process-wide state of green_tg_async; `reset()` forgets it (tests)."""

    def __init__(self) -> None:
        self.buckets: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Any, Any]
        ] = weakref.WeakKeyDictionary()
        """Limiter buckets: per event loop, per (instance, method, rate, burst)."""
        self.pauses: weakref.WeakKeyDictionary[object, Any] = (
            weakref.WeakKeyDictionary()
        )
        """`LocalPauses` per store object."""
        self.default_store: MemoryStore | None = None
        """The `MemoryStore` every client given `store=None` shares, once one
        was made (`stores.default_store()` makes it; this module imports no
        store, so the two never import each other)."""

    def reset(self) -> None:
        """Forget buckets, held pauses and the default store's state.

        For tests that share a process. Redaction tokens are kept on purpose:
        forgetting one could let it reach a log.
        """
        self.buckets.clear()
        self.pauses.clear()
        self.default_store = None

    def __repr__(self) -> str:
        return (
            f"<ProcessState loops={len(self.buckets)} stores={len(self.pauses)} "
            f"default_store={'set' if self.default_store else 'unset'}>"
        )


PROCESS = ProcessState()
"""The one instance; `green_tg_async.testing.reset_process_state()` resets it."""
