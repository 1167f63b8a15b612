"""`FakeGreenAPI` answers, and its notification builders build, the documented shapes.

Users' tests should see what production sends (integer phones included), so
each fake answer must have the keys and JSON types of a documented answer of
its method, and each builder the shape of a documented notification.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from green_tg_async import testing
from green_tg_async.testing import FakeGreenAPI

from .corpus import MethodExample, method_examples, notification_examples, params
from .exchange import call

# The fake's queue has its own tests; partner methods are not part of the fake.
SKIPPED = frozenset({"receiveNotification"})
# The fake sends at once, so nothing ever waits in its send queue.
MAY_BE_EMPTY = frozenset({"showMessagesQueue"})
# getMessage answers one item of the getChatHistory shape (its page says so).
SHAPED_LIKE = {"getMessage": "getChatHistory"}
EXAMPLES = method_examples()
FIRST: dict[str, MethodExample] = {}
for _example in EXAMPLES:
    if not (_example.partner or _example.is_failure or _example.method in SKIPPED):
        FIRST.setdefault(_example.method, _example)


def same_shape(got: Any, documented: Any) -> bool:
    """Same keys and JSON types; a documented null accepts anything."""
    if documented is None:
        return True
    if isinstance(documented, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(documented)
            and all(same_shape(got[key], value) for key, value in documented.items())
        )
    if isinstance(documented, list):
        return (
            isinstance(got, list)
            and bool(got) == bool(documented)
            and all(any(same_shape(g, d) for d in documented) for g in got)
        )
    return type(got) is type(documented)


def _documented(method: str) -> list[Any]:
    answers = [
        ex.response for ex in EXAMPLES if ex.method == method and not ex.is_failure
    ]
    if method in SHAPED_LIKE:
        answers += [
            item for items in _documented(SHAPED_LIKE[method]) for item in items
        ]
    if method in MAY_BE_EMPTY:
        answers.append([])
    return answers


async def _fake_answer(example: MethodExample) -> Any:
    fake = FakeGreenAPI(rate_limits=False, long_poll=False)
    answers: list[httpx.Response] = []

    async def spy(request: httpx.Request) -> httpx.Response:
        response = await fake.handle_async(request)
        answers.append(response)
        return response

    fake.transport = httpx.MockTransport(spy)
    fake.add_accounts([79876543210])
    async with fake.client() as tg:
        # Some history, so that chat lists and journals are not empty.
        await tg.sending.send_message("10000000", "hello")
        fake.incoming_text(10000000, "hi")
        await call(tg, example)
    content = answers[-1].content
    return json.loads(content) if content else None


@pytest.mark.parametrize("example", params(list(FIRST.values())))
async def test_the_fake_answers_with_a_documented_shape(
    example: MethodExample,
) -> None:
    got = await _fake_answer(example)
    documented = _documented(example.method)
    assert any(same_shape(got, shape) for shape in documented), (
        f"{example.method}: the fake answered {got!r}, documented {documented[0]!r}"
    )


DISAGREEMENTS = [ex for ex in EXAMPLES if ex.client_sends is not None]


@pytest.mark.parametrize("example", params(DISAGREEMENTS))
async def test_the_fake_takes_both_sides_of_a_disagreement(
    example: MethodExample,
) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    url = f"https://fake/waInstance{fake.id_instance}/{example.method}/{fake.api_token}"
    async with httpx.AsyncClient(transport=fake.transport) as http:
        for body in (example.request, example.client_sends):
            answer = await http.request(example.verb, url, json=body)
            assert answer.status_code == example.status, (body, answer.text)
            assert same_shape(answer.json(), example.response)


BUILT = {
    "incoming_text": lambda: testing.incoming_text(10000000, "hi"),
    "incoming_image": lambda: testing.incoming_file(
        10000000, "a.jpg", type_message="imageMessage", mime_type="image/jpeg"
    ),
    "outgoing_status_delivered": lambda: testing.outgoing_status(10000000, "1"),
    "state_instance_changed": lambda: testing.state_changed("notAuthorized"),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_the_notification_builders_build_a_documented_shape(name: str) -> None:
    documented = [ex.body for ex in notification_examples() if ex.file == name]
    built = BUILT[name]()
    assert any(same_shape(built, body) for body in documented), (name, built)
    assert type(built.get("senderData", {}).get("senderPhoneNumber", 0)) is int


async def test_the_fake_lists_username_accounts_with_a_hidden_phone() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    fake.add_accounts(["@ann", 79001234567])
    async with fake.client() as tg:
        contacts = await tg.service.get_contacts()
    assert [(c.username, c.phone_number) for c in contacts] == [
        ("@ann", None),
        ("", "79001234567"),
    ]
