"""The package logger, the API-token wrapper and the token-redacting log filter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Final

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
        """Redact the record in place; `exc_info`, `args` and the level stay.

        Error trackers read `exc_info` and `args`, so they are kept: string
        arguments are redacted one by one, and the exception chain's
        arguments too. Only a message whose token hides in some other object
        is flattened into redacted text.
        """
        if not self._tokens:
            return True
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        record.args = self._redact_args(record.args)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it itself
            return True
        if self.redact(message) != message:
            record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            self._redact_exception(record.exc_info[1])
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(formatted)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def _redact_args(self, args: Any) -> Any:
        if isinstance(args, tuple):
            return tuple(self.redact(a) if isinstance(a, str) else a for a in args)
        if isinstance(args, Mapping):
            return {
                k: self.redact(v) if isinstance(v, str) else v for k, v in args.items()
            }
        return args

    def _redact_exception(self, exc: BaseException) -> None:
        """Redact the string arguments of `exc` and its causes, in place."""
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            args = self._redact_args(current.args)
            if args != current.args:
                current.args = args
            current = current.__cause__ or current.__context__

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
