"""Do a model's fields carry every field the docs show? Read from `wire()` metadata.

Each documented key is looked up among the model's `wire()` declarations (the
key and its `also` spellings; a bool under any other key is the model's
`FLAG`), and the attribute is compared with the documented value read by the
same rule the docs state: ids and phones as digits-only text, hidden phones
as None. A key that no field declares fails, unless `RAW_ONLY` says why it
is left to `.raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import is_dataclass
from typing import Any, Final

from green_tg_async.models import _decode as decode
from green_tg_async.models.contents import _CONTENTS, UnknownMessage
from green_tg_async.models.notifications import Notification, UnknownNotification

RAW_ONLY: Final[Mapping[str, frozenset[str]]] = {}
"""Documented keys a model deliberately leaves to `.raw`, per model class name."""


def _declared(model: type[Any]) -> dict[str, tuple[str, Any]]:
    found: dict[str, tuple[str, Any]] = {}
    for attr, spec in decode.wire_fields(model):
        for key in (spec.key, *spec.also):
            found.setdefault(key, (attr, spec))
    return found


def _flag(model: type[Any]) -> str | None:
    return next(
        (a for a, spec in decode.wire_fields(model) if spec.key == decode.FLAG), None
    )


def expected_scalar(value: Any, kind: type[Any]) -> Any:
    """A documented scalar as the model must expose it."""
    if kind is decode.Id:
        return str(value) or None  # an empty id means "none" (checkAccount)
    if kind is decode.Phone:
        digits = "".join(ch for ch in str(value) if ch.isdigit())
        return digits if digits.strip("0") else None
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    return value


def check_model(obj: Any, doc: Mapping[str, Any], where: str) -> None:
    """Assert every key of `doc` appears, with its value, on model `obj`."""
    assert is_dataclass(obj), f"{where}: {type(obj).__name__} is not a model"
    model = type(obj)
    declared, flag = _declared(model), _flag(model)
    allowed = RAW_ONLY.get(model.__name__, frozenset())
    for key, value in doc.items():
        path = f"{where}.{key}"
        if key in declared:
            attr, spec = declared[key]
            _check_value(getattr(obj, attr), value, spec, path)
        elif flag is not None and isinstance(value, bool):
            assert getattr(obj, flag) is value, path
        else:
            assert key in allowed, (
                f"{path} is documented, but no field of {model.__name__} reads it"
            )


def _check_value(actual: Any, value: Any, spec: Any, path: str) -> None:
    kind = spec.kind
    if value is None:
        assert actual in (None, ()), path
    elif spec.decode is not None:
        _check_decoded(actual, value, spec, path)
    elif spec.many:
        assert isinstance(value, list), path
        assert len(actual) == len(value), path
        for index, (item, documented) in enumerate(zip(actual, value, strict=True)):
            if is_dataclass(kind):
                check_model(item, documented, f"{path}[{index}]")
            else:
                assert item == expected_scalar(documented, kind), f"{path}[{index}]"
    elif is_dataclass(kind):
        check_model(actual, value, path)
    else:
        assert actual == expected_scalar(value, kind), (
            f"{path}: documented {value!r}, model has {actual!r}"
        )


def _check_decoded(actual: Any, value: Any, spec: Any, path: str) -> None:
    if spec.key == "messageData":
        check_content(actual, value, path)
    else:  # a field the model builds itself (poll options): it must be there
        assert actual == spec.decode(value), path
        assert actual or not value, f"{path}: documented {value!r} was lost"


def check_content(content: Any, data: Mapping[str, Any], where: str) -> None:
    """`messageData`: its type, its container (the content's fields), its quote."""
    kind = data.get("typeMessage")
    assert not isinstance(content, UnknownMessage), f"{where}: {kind} is not modelled"
    assert content.type_message == kind, where
    known = _CONTENTS[kind]
    for key, value in data.items():
        path = f"{where}.{key}"
        if key == "quotedMessage":
            check_model(content.quoted_message, value, path)
        elif key in (known[1], "fileMessageData"):
            check_model(content, value, path)
        else:
            assert key == "typeMessage", f"{path} is documented but not read"


def check_notification(parsed: Any, body: Mapping[str, Any], where: str) -> None:
    """A parsed notification body against its documented JSON."""
    assert not isinstance(parsed, UnknownNotification), f"{where}: not typed"
    check_model(parsed, body, where)


def check_queue_item(item: Notification, doc: Mapping[str, Any], where: str) -> None:
    """A `receiveNotification` item: its receipt and its body."""
    assert item.receipt_id == doc["receiptId"], where
    check_notification(item.body, doc["body"], f"{where}.body")
    assert set(doc) <= {"receiptId", "body"}, f"{where}: undocumented keys"
