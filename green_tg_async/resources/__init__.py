"""API sections, one module each, named after the GREEN-API docs sections."""

from __future__ import annotations

from .account import Account
from .receiving import Receiving
from .sending import Sending
from .service import Service

__all__ = ["Account", "Receiving", "Sending", "Service"]
