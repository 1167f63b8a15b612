"""How the CLI tells an error: once, by its cause, in the user's words."""

from __future__ import annotations

import os
import re
from typing import TypeGuard

from ._exceptions import APIConnectionError, APITimeoutError, GreenAPIError

__all__ = ["connection_failure", "describe", "root_cause", "tidy"]

# The exit codes all commands share (see `_cli`); `login` adds 4-6.
OK, API_ERROR, USAGE, PAUSED = 0, 1, 2, 3


def describe(exc: GreenAPIError, api_url: str) -> str:
    """An error as one sentence: a connection failure by its root cause, once."""
    if not connection_failure(exc):
        return f"{type(exc).__name__}: {exc}"
    reason = root_cause(exc)
    return f"{type(exc).__name__}: cannot reach {api_url} ({exc.method}): {reason}"


def connection_failure(exc: object) -> TypeGuard[APIConnectionError]:
    """Whether `exc` is a failure to connect (not a timeout)."""
    return isinstance(exc, APIConnectionError) and not isinstance(exc, APITimeoutError)


def root_cause(exc: APIConnectionError) -> str:
    """What a connection failure comes down to, said once ("Connection refused").

    Without an errno, the outermost cause, without aiohttp's "ssl:default".
    """
    return _errno_reason(str(exc)) or str(exc).split(" (")[0].replace(
        " ssl:default", ""
    )


def tidy(text: str) -> str:
    """A message (a pause's reason, say) with a nested connection failure said once."""
    reason = _errno_reason(text)
    if reason is None or "failed: " not in text:
        return text
    return text.split("failed: ")[0] + f"failed: {reason}"


def _errno_reason(text: str) -> str | None:
    """The innermost errno's words: the message nests each cause in brackets."""
    errnos = re.findall(r"\[Errno (-?\d+)\] ([^()\[\]]+)", text)
    if not errnos:
        return None
    number, words = errnos[-1]
    return os.strerror(int(number)) if int(number) > 0 else words.strip()
