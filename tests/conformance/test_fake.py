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

from green_tg_async import AsyncGreenTelegram, RateLimits, testing
from green_tg_async.models import ContactCard
from green_tg_async.testing import FAKE_API_URL, FakeGreenAPI

from .corpus import MethodExample, method_examples, notification_examples, params
from .exchange import call

# The fake's queue has its own tests; partner methods are not part of the fake.
SKIPPED = frozenset({"receiveNotification"})
# The fake sends at once unless it holds sends (its held queue is checked below).
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


# -- the sending queue and the outgoing journal (issue 31) --

JOURNALS = (
    "getChatHistory",
    "getMessage",
    "lastIncomingMessages",
    "lastOutgoingMessages",
)
CONTENT = frozenset({"textMessage", "downloadUrl", "caption", "fileName", "mimeType"})
SENDS: dict[str, Any] = {
    "text": lambda tg: tg.sending.send_message("10000000", "test"),
    "image by URL": lambda tg: tg.sending.send_file_by_url(
        "10000000", "https://example.com/a.jpg", "a.jpg", caption="look"
    ),
    "document by upload": lambda tg: tg.sending.send_file_by_upload(
        "10000000", b"%PDF", file_name="r.pdf"
    ),
    "location": lambda tg: tg.sending.send_location("10000000", 55.75, 37.62),
    "contact": lambda tg: tg.sending.send_contact(
        "10000000", ContactCard(phone_contact=79001234567, first_name="Ann")
    ),
    "poll": lambda tg: tg.sending.send_poll("10000000", "Tea?", ["yes", "no"]),
}

TYPE_MESSAGE = {
    "text": "textMessage",
    "image by URL": "imageMessage",
    "document by upload": "documentMessage",
    "location": "locationMessage",
    "contact": "contactMessage",
    "poll": "pollMessage",
}


def _journal_items() -> list[dict[str, Any]]:
    """Every documented journal item (history, one message, last messages)."""
    items: list[dict[str, Any]] = []
    for method in JOURNALS:
        for answer in _documented(method):
            items += answer if isinstance(answer, list) else [answer]
    return items


def _raw(fake: FakeGreenAPI, method: str, body: Any = None) -> Any:
    url = f"{FAKE_API_URL}/waInstance{fake.id_instance}/{method}/{fake.api_token}"
    verb = "GET" if body is None else "POST"
    return json.loads(fake.handle(httpx.Request(verb, url, json=body)).content)


def _client(fake: FakeGreenAPI) -> AsyncGreenTelegram:
    return fake.client(limits=RateLimits(enabled=False))


@pytest.mark.parametrize("kind", sorted(SENDS))
async def test_a_sent_message_is_a_documented_journal_item(kind: str) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    async with _client(fake) as tg:
        sent = await SENDS[kind](tg)
    chat = {"chatId": "10000000"}
    (item,) = _raw(fake, "lastOutgoingMessages")
    assert _raw(fake, "getChatHistory", chat) == [item]
    assert _raw(fake, "getMessage", {**chat, "idMessage": sent.id_message}) == item
    documented = _journal_items()
    outgoing = [d for d in documented if d["type"] == "outgoing"]
    kinds = {key: type(value) for d in documented for key, value in d.items()}
    # Each field is a documented one of its documented JSON type, and every
    # field all documented outgoing items have (but their content) is there.
    assert {key: type(value) for key, value in item.items()}.items() <= kinds.items()
    assert set.intersection(*(set(d) for d in outgoing)) - CONTENT <= set(item)
    assert item["typeMessage"] == TYPE_MESSAGE[kind]
    assert item["typeMessage"] in {ex.type_message for ex in notification_examples()}
    if item["typeMessage"] == "textMessage":
        assert any(same_shape(item, d) for d in outgoing)


async def test_a_held_send_is_a_documented_queue_item() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    fake.hold_sends()
    async with _client(fake) as tg:
        sent = await tg.sending.send_message("10000000", "test")
    queued = _raw(fake, "showMessagesQueue")
    documented = [a for a in _documented("showMessagesQueue") if a]
    assert queued == [
        {
            "idMessage": sent.id_message,
            "type": "sendMessage",
            "body": {"chatId": "10000000", "message": "test"},
        }
    ]
    assert any(same_shape(queued, answer) for answer in documented)
    assert _raw(fake, "getMessagesCount") == {"count": 1}
