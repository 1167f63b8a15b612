"""Pluggable state stores: where the breaker (and later the shared limiter) live."""

from __future__ import annotations

from ._base import BreakerRecord, StateStore
from .memory import MemoryStore, default_store

__all__ = ["BreakerRecord", "MemoryStore", "StateStore", "default_store"]
