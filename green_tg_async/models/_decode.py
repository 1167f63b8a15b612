"""Field access for `from_wire()` that raises `ResponseDecodeError` on bad shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Final, Self, TypeVar

from green_tg_async._exceptions import ResponseDecodeError

__all__ = [
    "FLAG",
    "RAW",
    "WireModel",
    "expect_list",
    "expect_object",
    "optional",
    "require",
    "wire",
]

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
            f"{method} answer lacks the field {key!r}", method=method, body=data
        )
    value = data[key]
    if not is_a(value, kind):
        raise ResponseDecodeError(
            f"{method} answer field {key!r} is {type(value).__name__}, "
            f"expected {kind.__name__}",
            method=method,
            body=data,
        )
    return value  # type: ignore[no-any-return]  # is_a() checked the kind


def is_a(value: Any, kind: type[Any]) -> bool:
    """isinstance, except that bool (an int subclass) is only ever a bool."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def optional(method: str, data: Mapping[str, Any], key: str, kind: type[T]) -> T | None:
    """Return `data[key]`, or None when it is missing or null."""
    if data.get(key) is None:
        return None
    return require(method, data, key, kind)


def expect_list(method: str, data: Any) -> list[Mapping[str, Any]]:
    """Return `data` if it is a JSON array of objects (null counts as empty)."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise ResponseDecodeError(
            f"{method} answered {type(data).__name__}, expected a JSON array",
            method=method,
        )
    return [expect_object(method, item) for item in data]


@dataclass(frozen=True, slots=True)
class _Wire:
    key: str
    kind: type[Any]
    many: bool = False
    required: bool = False
    decode: Callable[[Any], Any] | None = None


FLAG: Final = "<flag>"
"""A `wire()` key meaning "the key the caller names" (`{"leaveGroup": true}`)."""


def wire(
    key: str,
    kind: type[Any],
    *,
    many: bool = False,
    required: bool = False,
    secret: bool = False,
    decode: Callable[[Any], Any] | None = None,
) -> Any:
    """Declare a model field read from `key`; None when the API leaves it out.

    `kind` may be a `WireModel` subclass (a nested object); `many` reads a
    JSON array of them into a tuple; `required` makes a missing value a
    decode error; `secret` keeps the value out of repr; `decode` builds the
    value from the JSON (missing counts as `{}`) for polymorphic fields.
    """
    meta = {"wire": _Wire(key, kind, many, required, decode)}
    if required:
        return field(repr=not secret, metadata=meta)
    default: Any = () if many else None
    return field(default=default, repr=not secret, metadata=meta)


RAW: Any = field(default_factory=dict, repr=False, compare=False)


class WireModel:
    """Base of the result models: `from_wire()` reads the fields' `wire` keys.

    An acknowledgement model sets `lenient = True`: the action already
    happened, so a field that is missing or of an unexpected type reads as
    None (and a body that is not an object as `{}`) instead of raising.
    """

    __slots__ = ()
    lenient: ClassVar[bool] = False

    @classmethod
    def from_wire(cls, method: str, data: Any, *, flag: str | None = None) -> Self:
        """Decode one answer of `method`; a bad shape raises `ResponseDecodeError`.

        `flag` names the key of a `FLAG` field (`{"setGroupAdmin": true}`).
        """
        if cls.lenient and not isinstance(data, Mapping):
            data = {}
        obj = expect_object(method, data)
        values: dict[str, Any] = {"raw": obj}
        for name, declared in _wire_fields(cls):
            key = flag if declared.key == FLAG and flag else declared.key
            if cls.lenient:
                value = obj.get(key)
                values[name] = value if is_a(value, declared.kind) else None
            else:
                values[name] = _read(method, obj, key, declared)
        return cls(**values)


_FIELDS: dict[type[Any], tuple[tuple[str, _Wire], ...]] = {}


def _wire_fields(cls: type[Any]) -> tuple[tuple[str, _Wire], ...]:
    """The `wire()` fields of a model, read once per class."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(
            (spec.name, spec.metadata["wire"])
            for spec in fields(cls)
            if "wire" in spec.metadata
        )
    return found


def _read(method: str, obj: Mapping[str, Any], key: str, declared: _Wire) -> Any:
    kind = declared.kind
    if declared.decode is not None:
        return declared.decode(obj.get(key, {}))
    if declared.many:
        items = expect_list(method, obj.get(key))
        return tuple(kind.from_wire(method, item) for item in items)
    if issubclass(kind, WireModel):
        value = obj.get(key)
        return None if value is None else kind.from_wire(method, value)
    if declared.required:
        return require(method, obj, key, kind)
    if kind is float:
        return _number(method, obj, key)
    return optional(method, obj, key, kind)


def _number(method: str, obj: Mapping[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResponseDecodeError(
            f"{method} answer field {key!r} is {type(value).__name__}, "
            "expected a number",
            method=method,
        )
    return float(value)
