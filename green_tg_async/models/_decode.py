"""Field access for `from_wire()` that raises `ResponseDecodeError` on bad shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from green_tg_async._exceptions import ResponseDecodeError

__all__ = ["expect_object", "require"]

T = TypeVar("T")


def expect_object(method: str, data: Any) -> Mapping[str, Any]:
    """Return `data` if it is a JSON object, else raise `ResponseDecodeError`."""
    if not isinstance(data, Mapping):
        raise ResponseDecodeError(
            f"{method} answered {type(data).__name__}, expected a JSON object",
            method=method,
        )
    return data


def require(method: str, data: Mapping[str, Any], key: str, kind: type[T]) -> T:
    """Return `data[key]` if present and of type `kind`."""
    if key not in data:
        raise ResponseDecodeError(
            f"{method} answer lacks the field {key!r}", method=method
        )
    value = data[key]
    # bool is an int subclass; never accept it for a number field, or the reverse.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ResponseDecodeError(
            f"{method} answer field {key!r} is {type(value).__name__}, "
            f"expected {kind.__name__}",
            method=method,
        )
    return value
