"""API sections, one module each, named after the GREEN-API docs sections."""

from __future__ import annotations

from .account import Account
from .contacts import Contacts
from .groups import Groups
from .journals import Journals
from .queues import Queues
from .read_mark import ReadMark
from .receiving import Receiving
from .sending import Sending
from .service import Service

__all__ = [
    "Account",
    "Contacts",
    "Groups",
    "Journals",
    "Queues",
    "ReadMark",
    "Receiving",
    "Sending",
    "Service",
]
