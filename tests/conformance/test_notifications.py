"""Every documented notification body is typed, with all its fields, strictly.

The corpus is `fixtures/notifications/*.json`, written from the GREEN-API
Telegram notification pages (each names its URL).
"""

from __future__ import annotations

import pytest

from green_tg_async.models import _decode as decode
from green_tg_async.models.contents import _CONTENTS
from green_tg_async.models.notifications import (
    _BODIES,
    MessageNotification,
    parse_notification,
)

from .corpus import NotificationExample, notification_examples, params
from .documented import check_notification

EXAMPLES = notification_examples()


def test_the_corpus_covers_every_notification_and_content_type() -> None:
    assert {example.type_webhook for example in EXAMPLES} == set(_BODIES)
    typed = {example.type_message for example in EXAMPLES}
    assert set(_CONTENTS) <= typed
    assert all(example.url.startswith("https://green-api.com/") for example in EXAMPLES)


@pytest.mark.parametrize("example", params(EXAMPLES))
def test_the_documented_body_is_typed_with_its_fields(
    example: NotificationExample,
) -> None:
    with decode.DECODING.strict():
        parsed = parse_notification(example.body)
    assert parsed.type_webhook == example.type_webhook, example.url
    if example.type_message is not None:
        assert isinstance(parsed, MessageNotification), example.url
        assert parsed.message.type_message == example.type_message, example.url
    check_notification(parsed, example.body, example.file)


@pytest.mark.parametrize("example", params(EXAMPLES))
def test_a_content_fixture_names_its_own_page_or_says_why_not(
    example: NotificationExample,
) -> None:
    kind = example.type_message
    if kind is None or kind == "textMessage":  # several pages show text
        return
    page = example.url.rstrip("/").rsplit("/", 1)[-1]
    assert page.lower() == kind.lower() or example.url_reason, example.url
