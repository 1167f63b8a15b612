"""Reading answers and notifications: the reading rule, applied field by field.

The rule (liberal in what we read):

- Each model names its few **essential** fields (`wire(..., required=True)`).
  Only they make decoding fail, and only when missing or meaningless.
- Where the meaning is unambiguous a value is **coerced**: an int where an id
  or phone is declared becomes its decimal text (`Id`, `Phone`); digits in a
  string where an int is declared become the int; a phone of `0` or `""`
  means hidden and reads as None.
- Anything else that does not fit reads as None (an empty tuple for lists),
  the value stays in `.raw`, and a DEBUG line names the model and field
  (never the value, so no token or personal data).

`DECODING.strict()` (or `GREEN_TG_STRICT_DECODING=1`) turns "does not fit"
into `ResponseDecodeError`, so tests catch a model that drifts from the docs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Final, Self, TypeVar

from green_tg_async._exceptions import ResponseDecodeError
from green_tg_async._logging import logger

__all__ = [
    "DECODING",
    "FLAG",
    "RAW",
    "Decoding",
    "Id",
    "Phone",
    "WireModel",
    "coerce",
    "decode_items",
    "expect_list",
    "expect_object",
    "misfit",
    "nested",
    "optional",
    "read_model",
    "require",
    "wire",
    "wire_fields",
]

T = TypeVar("T")
M = TypeVar("M", bound="WireModel")
STRICT_ENV: Final = "GREEN_TG_STRICT_DECODING"


class Id(str):
    """Marker kind for `wire()`: an id (chat, message, wid); an int reads as text."""

    __slots__ = ()


class Phone(str):
    """Marker kind for `wire()`: digits-only phone; `0`/`""` (hidden) reads as None."""

    __slots__ = ()


class Decoding:
    """How strictly answers are read: one process-wide object, `DECODING`.

    Lenient by default (the reading rule); strict when the environment has
    `GREEN_TG_STRICT_DECODING=1` or inside `with DECODING.strict():`.
    """

    __slots__ = ("is_strict",)

    def __init__(self) -> None:
        self.is_strict: bool = os.environ.get(STRICT_ENV) == "1"
        """True: a field that does not fit raises instead of reading as None."""

    @contextmanager
    def strict(self, enabled: bool = True) -> Iterator[None]:
        """Read strictly (or, with `enabled=False`, leniently) inside the block."""
        before, self.is_strict = self.is_strict, enabled
        try:
            yield
        finally:
            self.is_strict = before


DECODING: Final = Decoding()
"""The process's decoding mode (see `Decoding`)."""


_MISFIT: Final = object()
"""A value that does not fit its declared kind (a sentinel, never returned)."""


def coerce(value: Any, kind: type[Any]) -> Any:
    """`value` read as `kind` under the reading rule; `_MISFIT` if it cannot be.

    `value` is not None (missing and null are handled by the caller).
    """
    if kind is Id:
        return _id(value)
    if kind is Phone:
        return _phone(value)
    if kind is int:
        return _int(value)
    if kind is float:
        return float(value) if _is_int(value) or isinstance(value, float) else _MISFIT
    # isinstance, except that bool (an int subclass) is only ever a bool
    fits = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    return value if fits or kind is object else _MISFIT


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id(value: Any) -> Any:
    if isinstance(value, str):
        return value
    return str(value) if _is_int(value) else _MISFIT


def _int(value: Any) -> Any:
    if _is_int(value):
        return value
    text = value.strip() if isinstance(value, str) else ""
    digits = text.removeprefix("-")
    return int(text) if digits.isascii() and digits.isdigit() else _MISFIT


_PHONE_MARKS: Final = str.maketrans("", "", "+-() .")


def _phone(value: Any) -> Any:
    if _is_int(value) and value >= 0:
        value = str(value)
    if not isinstance(value, str):  # a negative int too
        return _MISFIT
    digits = value.translate(_PHONE_MARKS)
    if digits.strip("0") == "":
        return None  # 0 or "": the number is hidden (or a group)
    return digits if digits.isascii() and digits.isdigit() else _MISFIT


def _kind_name(kind: type[Any]) -> str:
    return {Id: "an id", Phone: "phone digits", float: "a number"}.get(
        kind, kind.__name__
    )


def misfit(where: str, key: str, value: Any, kind: type[Any]) -> None:
    """Handle a value that does not fit: log it (lenient) or raise (strict)."""
    message = f"{where}.{key} is {type(value).__name__}, expected {_kind_name(kind)}"
    if DECODING.is_strict:
        raise ResponseDecodeError(message + " (strict decoding)", method=where)
    logger.debug("%s; read as None (the value stays in .raw)", message)


def expect_object(method: str, data: Any) -> Mapping[str, Any]:
    """Return `data` if it is a JSON object, else raise `ResponseDecodeError`."""
    if not isinstance(data, Mapping):
        raise ResponseDecodeError(
            f"{method} answered {type(data).__name__}, expected a JSON object",
            method=method,
        )
    return data


def require(method: str, data: Mapping[str, Any], key: str, kind: type[T]) -> T:
    """Return essential `data[key]` read as `kind`; raise if missing or meaningless."""
    if data.get(key) is None:
        raise ResponseDecodeError(
            f"{method} answer lacks the field {key!r}", method=method, body=data
        )
    value = coerce(data[key], kind)
    if value is _MISFIT or value is None:
        raise ResponseDecodeError(
            f"{method} answer field {key!r} is {type(data[key]).__name__}, "
            f"expected {_kind_name(kind)}",
            method=method,
            body=data,
        )
    return value  # type: ignore[no-any-return]  # coerce() produced the kind


def optional(where: str, data: Mapping[str, Any], key: str, kind: type[T]) -> T | None:
    """Return `data[key]` read as `kind`; None when missing, null or a misfit."""
    value = data.get(key)
    if value is None:
        return None
    read = coerce(value, kind)
    if read is _MISFIT:
        misfit(where, key, value, kind)
        return None
    return read  # type: ignore[no-any-return]  # coerce() produced the kind


def expect_list(method: str, data: Any) -> list[Mapping[str, Any]]:
    """Return the objects of a JSON array answer (null counts as empty).

    An answer that is not an array raises; an item that is not an object is
    left out (a misfit: logged, or raised in strict mode).
    """
    if data is None:
        return []
    if not isinstance(data, list):
        raise ResponseDecodeError(
            f"{method} answered {type(data).__name__}, expected a JSON array",
            method=method,
        )
    items = []
    for index, item in enumerate(data):
        if isinstance(item, Mapping):
            items.append(item)
        else:
            misfit(method, f"[{index}]", item, dict)
    return items


@dataclass(frozen=True, slots=True)
class _Wire:
    key: str
    kind: type[Any]
    many: bool = False
    required: bool = False
    decode: Callable[[Any], Any] | None = None
    also: tuple[str, ...] = ()
    """Other spellings of `key` the docs use, tried in order when it is absent."""


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
    also: tuple[str, ...] = (),
) -> Any:
    """Declare a model field read from `key`; None when the API leaves it out.

    `kind` may be a `WireModel` subclass (a nested object), `Id` or `Phone`;
    `many` reads a JSON array of them into a tuple; `required` marks an
    essential field (missing or meaningless is a decode error); `secret`
    keeps the value out of repr; `decode` builds the value from the JSON
    (missing counts as `{}`) for polymorphic fields; `also` names other
    spellings of the key, read when `key` is absent.
    """
    meta = {"wire": _Wire(key, kind, many, required, decode, also)}
    if required:
        return field(repr=not secret, metadata=meta)
    default: Any = () if many else None
    return field(default=default, repr=not secret, metadata=meta)


RAW: Any = field(default_factory=dict, repr=False, compare=False)


def wire_fields(cls: type[Any]) -> tuple[tuple[str, _Wire], ...]:
    """The `wire()` fields of a model as `(attribute, declaration)`, cached."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(
            (spec.name, spec.metadata["wire"])
            for spec in fields(cls)
            if "wire" in spec.metadata
        )
    return found


_FIELDS: dict[type[Any], tuple[tuple[str, _Wire], ...]] = {}


def read_model(cls: type[T], method: str, data: Any, *, flag: str | None = None) -> T:
    """Build `cls` from one JSON object by its `wire()` fields (the reading rule)."""
    obj = expect_object(method, data)
    values: dict[str, Any] = {"raw": obj}
    where = f"{method}: {cls.__name__}"
    for name, declared in wire_fields(cls):
        key = flag if declared.key == FLAG and flag else declared.key
        if declared.also and obj.get(key) is None:  # absent: other spellings
            key = next((k for k in declared.also if obj.get(k) is not None), key)
        values[name] = _read(method, where, obj, key, declared)
    return cls(**values)


def _read(
    method: str, where: str, obj: Mapping[str, Any], key: str, declared: _Wire
) -> Any:
    kind = declared.kind
    if declared.decode is not None:
        return declared.decode(obj.get(key, {}))
    if declared.required:
        return require(method, obj, key, kind)
    if declared.many:
        return _many(method, where, obj, key, kind)
    if issubclass(kind, WireModel):
        return nested(method, where, key, obj.get(key), kind)
    return optional(where, obj, key, kind)


def nested(method: str, where: str, key: str, value: Any, kind: type[M]) -> M | None:
    """`value` read as the nested model `kind`; None when absent or a misfit."""
    if value is None or isinstance(value, Mapping):
        return None if value is None else kind.from_wire(method, value)
    misfit(where, key, value, dict)
    return None


def _many(
    method: str, where: str, obj: Mapping[str, Any], key: str, kind: type[Any]
) -> tuple[Any, ...]:
    value = obj.get(key)
    if value is not None and not isinstance(value, list):
        misfit(where, key, value, list)
        return ()
    return tuple(decode_items(kind, method, expect_list(where, value)))


def decode_items(model: Any, method: str, items: list[Mapping[str, Any]]) -> list[Any]:
    """`model.from_wire()` of each item; an item that cannot be read is left out.

    A list answer (`getChats`) keeps its other items when one lacks its
    essential field: the item is logged (or, strict, raises), not the answer.
    """
    decoded = []
    for index, item in enumerate(items):
        try:
            decoded.append(model.from_wire(method, item))
        except ResponseDecodeError as exc:
            if DECODING.is_strict:
                raise
            logger.debug("%s: item %d left out: %s", method, index, exc.message)
    return decoded


class WireModel:
    """Base of the result models: `from_wire()` reads the fields' `wire` keys.

    An acknowledgement model sets `lenient = True`: the action already
    happened and its answer's shape is not documented, so a body that is not
    an object reads as `{}` and a field that does not fit reads as None even
    in strict mode.
    """

    __slots__ = ()
    lenient: ClassVar[bool] = False

    @classmethod
    def from_wire(cls, method: str, data: Any, *, flag: str | None = None) -> Self:
        """Decode one answer of `method` by the reading rule.

        `flag` names the key of a `FLAG` field (`{"setGroupAdmin": true}`).
        """
        if not cls.lenient:
            return read_model(cls, method, data, flag=flag)
        with DECODING.strict(False):
            return read_model(
                cls, method, data if isinstance(data, Mapping) else {}, flag=flag
            )
