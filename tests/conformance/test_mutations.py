"""Property: one field of a documented body changes JSON type; reading never fails.

For each documented notification and answer, Hypothesis picks one field (at
any depth) and gives it a value of another JSON type (int, str, float, bool,
null, list, object). Decoding must not raise unless the field is essential
(as the models declare: `wire(required=True)`, `messageData` and its
`typeMessage`, a queue item's `receiptId`), and a message notification must
stay a message. Bounded and derandomized, so CI runs the same cases each time.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from dataclasses import is_dataclass, replace
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from green_tg_async import ResponseDecodeError
from green_tg_async.models import _decode as decode
from green_tg_async.models.contents import parse_message
from green_tg_async.models.notifications import (
    MessageNotification,
    Notification,
    parse_notification,
)

from .corpus import (
    MethodExample,
    NotificationExample,
    method_examples,
    notification_examples,
    params,
)
from .exchange import run

Path = tuple[str | int, ...]
VALUES: Final[dict[str, Any]] = {
    "int": 7,
    "str": "x",
    "float": 1.5,
    "bool": True,
    "null": None,
    "list": [1],
    "object": {"k": 1},
}
# Essential only when `exist` is true: the account's chat id (AccountCheck).
CONDITIONAL: Final = {"AccountCheck": "chatId"}
PROPERTY = settings(
    max_examples=12,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _type(value: Any) -> str:
    for name, sample in VALUES.items():
        if type(value) is type(sample):
            return name
    raise AssertionError(f"not a JSON value: {value!r}")


def paths(doc: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every position below the root of a JSON document."""
    if isinstance(doc, dict | list):
        items = doc.items() if isinstance(doc, dict) else enumerate(doc)
        for key, value in items:
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))


def replaced(doc: Any, path: Path, value: Any) -> Any:
    """A copy of `doc` with the node at `path` set to `value`."""
    changed = copy.deepcopy(doc)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def essential(obj: Any, doc: Any, prefix: Path = ()) -> set[Path]:
    """The paths of `doc` that the decoded `obj`'s models declare essential."""
    if isinstance(obj, list | tuple):
        # Items left out (not readable) shift nothing here: the answer is documented.
        pairs = enumerate(zip(obj, doc, strict=False))
        return set().union(*(essential(o, d, (*prefix, i)) for i, (o, d) in pairs))
    if isinstance(obj, Notification):
        body = essential(obj.body, doc.get("body"), (*prefix, "body"))
        return {(*prefix, "receiptId"), *body}
    if isinstance(obj, int) and isinstance(doc, dict):  # the counts
        return {(*prefix, key) for key in doc}
    if not (is_dataclass(obj) and isinstance(doc, dict)):
        return set()
    found = set()
    conditional = CONDITIONAL.get(type(obj).__name__)
    if conditional and getattr(obj, "exist", False):
        found.add((*prefix, conditional))
    for attr, spec in decode.wire_fields(type(obj)):
        for key in {spec.key, *spec.also} & set(doc):
            at = (*prefix, key)
            if spec.required or spec.decode is parse_message:
                found.add(at)
            if spec.required and spec.many:  # the items are the essential content
                found |= {(*at, index) for index in range(len(doc[key]))}
            if spec.decode is parse_message:
                found.add((*at, "typeMessage"))
            found |= essential(getattr(obj, attr), doc[key], at)
    return found


def _cases(doc: Any) -> st.SearchStrategy[tuple[Path, Any]]:
    """One position of `doc` and a value of another JSON type for it."""
    positions = sorted(paths(doc), key=repr)

    def other_types(path: Path) -> st.SearchStrategy[tuple[Path, Any]]:
        node: Any = doc
        for key in path:
            node = node[key]
        kinds = [name for name in VALUES if name != _type(node)]
        return st.sampled_from(kinds).map(lambda kind: (path, VALUES[kind]))

    return st.sampled_from(positions).flatmap(other_types)


NOTIFICATIONS = notification_examples()
ANSWERS = [
    ex
    for ex in method_examples()
    if not ex.is_failure and isinstance(ex.response, dict | list) and ex.response
]


@pytest.mark.parametrize("example", params(NOTIFICATIONS))
def test_a_notification_with_one_odd_field_is_still_read(
    example: NotificationExample,
) -> None:
    typed = parse_notification(example.body)
    must_stay = essential(typed, example.body)

    @PROPERTY
    @given(_cases(example.body))
    def check(case: tuple[Path, Any]) -> None:
        path, value = case
        parsed = parse_notification(replaced(example.body, path, value))
        assert parsed.type_webhook is not None or path == ("typeWebhook",)
        if isinstance(typed, MessageNotification) and path not in must_stay:
            assert isinstance(parsed, type(typed)), path
            assert parsed.message.type_message == typed.message.type_message, path

    check()


@pytest.mark.parametrize("example", params(ANSWERS))
def test_an_answer_with_one_odd_field_is_still_read(example: MethodExample) -> None:
    documented = asyncio.run(run(example))
    assert documented.error is None
    must_stay = essential(documented.result, example.response)

    @PROPERTY
    @given(_cases(example.response))
    def check(case: tuple[Path, Any]) -> None:
        path, value = case
        odd = replaced(example.response, path, value)
        exchange = asyncio.run(run(_with_response(example, odd)))
        if exchange.error is not None:
            assert isinstance(exchange.error, ResponseDecodeError), exchange.error
            assert path in must_stay, f"{path} is not essential: {exchange.error}"

    check()


def _with_response(example: MethodExample, response: Any) -> MethodExample:
    return replace(example, response=response)
