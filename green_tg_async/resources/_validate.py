"""Argument checks run before anything is sent: a clear error, no wasted request."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from green_tg_async._types import ChatId

__all__ = [
    "MAX_EDITED_MESSAGE",
    "MAX_MESSAGE",
    "TYPING_TYPES",
    "chat_id",
    "choice",
    "flag",
    "id_message",
    "integer",
    "message_ref",
    "number",
    "text",
    "texts",
    "typing_time",
    "typing_type",
    "unicode",
    "yes_no",
]

MAX_MESSAGE: Final = 4096
"""Longest text message Telegram takes, in characters."""
MAX_EDITED_MESSAGE: Final = 4069
"""Longest edited text, as both editions of the EditMessage page say."""

TYPING_TYPES: Final = frozenset(
    {
        "text",
        "record_voice_note",
        "upload_voice_note",
        "record_video_note",
        "upload_video_note",
        "record_video",
        "upload_video",
        "upload_photo",
        "upload_document",
        "choose_sticker",
        "choose_location",
        "choose_contact",
    }
)
"""`typingType` values the docs list (https://green-api.com/en/telegram/docs/api/sending/SendMessage/)."""


def chat_id(value: ChatId, name: str = "chat_id") -> str:
    """A chat id as the API wants it: a non-empty string."""
    return unicode(id_message(value, name), name)


def id_message(value: str | int, name: str = "id_message") -> str:
    """A message id: a non-empty string (an int is turned into one)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"{name} must be a str or an int, got {type(value).__name__}")
    result = str(value).strip()
    if not result:
        raise ValueError(f"{name} is empty")
    return result


def quoted(value: str | None) -> str | None:
    """`quoted_message_id`: None, or the id of a message as a non-empty str."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"quoted_message_id must be a str, got {type(value).__name__}")
    return id_message(value, "quoted_message_id")


def message_ref(chat_id_: ChatId, id_message_: str) -> dict[str, str]:
    """`{"chatId", "idMessage"}`: one message (ids are unique per chat only)."""
    return {"chatId": chat_id(chat_id_), "idMessage": id_message(id_message_)}


def text(value: str, name: str, *, limit: int | None = None) -> str:
    """Non-blank text of at most `limit` characters."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} is empty")
    unicode(value, name)
    if limit is not None and len(value) > limit:
        raise ValueError(
            f"{name} is {len(value)} characters long; the limit is {limit}"
        )
    return value


def optional_text(
    value: str | None, name: str, *, limit: int | None = None
) -> str | None:
    """`text()` for an optional argument; None stays None."""
    return None if value is None else text(value, name, limit=limit)


def texts(
    values: Iterable[str],
    name: str,
    *,
    each: str,
    low: int = 1,
    high: int | None = None,
    limit: int | None = None,
) -> list[str]:
    """A list of `low`..`high` non-blank strings of at most `limit` characters."""
    if isinstance(values, str | bytes):  # a bare str is refused
        raise TypeError(f"{name} must be a list of str, not a single string")
    items = [text(item, each) for item in values]
    if len(items) < low or (high is not None and len(items) > high):
        bound = f"{low}-{high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must hold {bound} items, got {len(items)}")
    for item in items:  # the count is checked before the lengths
        text(item, each, limit=limit)
    return items


def integer(
    value: int | None, name: str, *, low: int | None = None, high: int | None = None
) -> int | None:
    """An optional int within [low, high]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {_range(low, high)}, got {value}")
    return value


def number(value: float, name: str, *, low: float, high: float) -> float:
    """A finite number within [low, high] (coordinates)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def flag(value: object, name: str) -> bool | None:
    """An optional bool (1/0 and "yes" are refused: they hide mistakes)."""
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def yes_no(value: bool | str | None, name: str) -> str | None:
    """A settings toggle: True/False or "yes"/"no" → "yes"/"no"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value in ("yes", "no"):
        return value
    raise ValueError(f"{name} must be True, False, 'yes' or 'no', got {value!r}")


def unicode(value: str, name: str) -> str:
    """`value` if it can be sent as UTF-8 (no lone surrogate such as U+D800)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{name} contains a lone surrogate, which is not valid Unicode"
            ) from None
    return value


def choice(value: str | None, name: str, choices: Iterable[str]) -> str | None:
    """An optional str that must be one of `choices`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    allowed = sorted(choices)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def typing_type(value: str | None) -> str | None:
    """Which activity "typing…" shows: one of `TYPING_TYPES`."""
    return choice(value, "typing_type", TYPING_TYPES)


def typing_time(value: int | None) -> int | None:
    """Milliseconds of "typing…" before a send: 1000-20000."""
    return integer(value, "typing_time", low=1000, high=20000)


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"{low}-{high}"
    return f">= {low}" if low is not None else f"<= {high}"
