"""Every documented method exchange: the request we build, the answer we read.

The corpus is `fixtures/methods/*.json`, written from the GREEN-API Telegram
docs pages (each names its URL). Answers are read in strict decoding mode, so
a documented field whose type a model does not accept fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from green_tg_async import APIError
from green_tg_async.models import _decode as decode
from green_tg_async.models.notifications import Notification

from .corpus import MethodExample, method_examples, params
from .documented import check_model, check_queue_item
from .exchange import expected_host, expected_path, run

EXAMPLES = method_examples()
ANSWERS = [example for example in EXAMPLES if not example.is_failure]
FAILURES = [example for example in EXAMPLES if example.is_failure]


def test_the_corpus_covers_every_method() -> None:
    from green_tg_async._methods import METHODS, PARTNER_METHODS

    documented = {example.method for example in EXAMPLES}
    assert documented == set(METHODS) | set(PARTNER_METHODS)
    assert all(example.url.startswith("https://green-api.com/") for example in EXAMPLES)


def test_guessed_answers_are_not_documented_by_a_page() -> None:
    from green_tg_async._methods import GUESSED_ANSWERS

    shown = {ex.method for ex in ANSWERS if ex.verbatim}
    assert "readChat" in shown  # the ReadChat page shows {"setRead": true}
    assert not GUESSED_ANSWERS & shown


def _canonical(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and true from 1."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("example", params(EXAMPLES))
async def test_the_request_is_the_documented_one(example: MethodExample) -> None:
    exchange = await run(example)
    request = exchange.request
    assert request.method == example.verb, example.url
    assert request.url.host == expected_host(example), example.url
    assert request.url.path == expected_path(example), example.url
    query = {key: str(value) for key, value in (example.query or {}).items()}
    assert dict(request.url.params) == query, example.url
    if example.client_sends is not None:  # a recorded disagreement
        assert _canonical(example.client_sends) != _canonical(example.request)
        assert _canonical(exchange.json_body()) == _canonical(example.client_sends)
    elif example.request is not None:
        assert _canonical(exchange.json_body()) == _canonical(example.request), (
            example.url
        )


@pytest.mark.parametrize("example", params(ANSWERS))
async def test_the_documented_answer_decodes_with_its_fields(
    example: MethodExample,
) -> None:
    with decode.DECODING.strict():
        exchange = await run(example)
    assert exchange.error is None, f"{example.url}: {exchange.error!r}"
    check_result(exchange.result, example.response, example.method)


@pytest.mark.parametrize("example", params(FAILURES))
async def test_a_documented_failure_raises_an_api_error(
    example: MethodExample,
) -> None:
    exchange = await run(example)
    assert isinstance(exchange.error, APIError), f"{example.url}: {exchange!r}"
    assert exchange.error.body == example.response


def check_result(result: Any, answer: Any, where: str) -> None:
    """The value a section method returned, against the documented answer."""
    if answer is None:
        assert result is None, where
    elif isinstance(result, list):
        assert len(result) == len(answer), where
        for index, (item, documented) in enumerate(zip(result, answer, strict=True)):
            check_model(item, documented, f"{where}[{index}]")
    elif isinstance(result, bool):  # deleteNotification's `result`
        assert result is answer["result"], where
    elif isinstance(result, int):  # the counts (one of two spellings)
        assert [result] == list(answer.values()), where
    elif isinstance(result, Notification):
        check_queue_item(result, answer, where)
    else:
        check_model(result, answer, where)
