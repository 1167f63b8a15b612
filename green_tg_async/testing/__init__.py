"""Helpers for testing code that uses green_tg_async: an in-memory GREEN-API."""

from __future__ import annotations

from contextlib import AbstractContextManager

from green_tg_async._process import PROCESS, ProcessState
from green_tg_async.models._decode import DECODING

from ._fake import FAKE_API_URL, FakeGreenAPI
from ._notifications import incoming_file, incoming_text, outgoing_status, state_changed
from ._outbox import SendFault

__all__ = [
    "FAKE_API_URL",
    "FakeGreenAPI",
    "SendFault",
    "incoming_file",
    "incoming_text",
    "outgoing_status",
    "process_state",
    "reset_process_state",
    "state_changed",
    "strict_decoding",
]


def process_state() -> ProcessState:
    """What green_tg_async keeps per process.

    Limiter buckets, pauses held before the store has them, and the default
    `MemoryStore`.
    """
    return PROCESS


def reset_process_state() -> None:
    """Forget the process-wide state, for tests.

    One test's pauses and rate slots then do not reach the next; redaction
    tokens are kept.
    """
    PROCESS.reset()


def strict_decoding(enabled: bool = True) -> AbstractContextManager[None]:
    """Read answers and notifications strictly inside the `with` block.

    A field that does not fit its model then raises `ResponseDecodeError`
    instead of reading as None, so a test catches a model that drifts from the
    docs; the documented coercions (an int phone reads as its digits) still
    apply. `strict_decoding(False)` reads leniently inside a strict run
    (`GREEN_TG_STRICT_DECODING=1`, read when `green_tg_async` is imported).
    """
    return DECODING.strict(enabled)
