"""The package logger, the API-token wrapper and the token-redacting log filter."""

from __future__ import annotations

import logging
import threading
from typing import Final

__all__ = [
    "REDACTED",
    "Secret",
    "install_redaction",
    "logger",
    "redact",
    "redact_cut",
]

logger: Final = logging.getLogger("green_tg_async")

REDACTED: Final = "***"

# httpx logs "HTTP Request: POST https://…/waInstance…/checkAccount/<token>" at
# INFO on the "httpx" logger. Logger filters do not apply to records that
# propagate from child loggers, so the httpcore children are listed one by one.
_LOGGERS: Final = (
    "green_tg_async",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


class Secret:
    """A string that never shows itself in `repr()`, `str()` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret; only the transport builds URLs with it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class _RedactingFilter(logging.Filter):
    """Replace every registered token in a record with `***`."""

    def __init__(self) -> None:
        super().__init__("green_tg_async.redact")
        self._tokens: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, token: str) -> None:
        with self._lock:
            self._tokens = self._tokens | {token}

    def redact(self, text: str) -> str:
        for token in self._tokens:
            text = text.replace(token, REDACTED)
        return text

    def cut(self, text: str, limit: int) -> str:
        """Redact `text`, cut it to `limit` characters, and hide a cut token.

        Redacting first means no whole token survives; a text that was already
        cut off inside a token (by the server) would still end in its first
        characters, so a trailing token prefix is replaced too.
        """
        text = self.redact(text)
        if len(text) <= limit:
            return text
        text = text[: limit - len(REDACTED)]
        for token in self._tokens:
            for size in range(min(len(token), len(text)), 0, -1):
                if text.endswith(token[:size]):
                    return text[:-size] + REDACTED
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(formatted)
            record.exc_info = None
        return True

    def __repr__(self) -> str:
        return f"<_RedactingFilter tokens={len(self._tokens)}>"


_FILTER: Final = _RedactingFilter()


def install_redaction(token: str) -> None:
    """Redact `token` from the package's and httpx's log records (idempotent)."""
    _FILTER.add(token)
    for name in _LOGGERS:
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)


def redact(text: str) -> str:
    """Return `text` with every registered token replaced by `***`."""
    return _FILTER.redact(text)


def redact_cut(text: str, limit: int) -> str:
    """`redact(text)` cut to `limit` characters, never ending in part of a token."""
    return _FILTER.cut(text, limit)
