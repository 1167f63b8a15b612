"""Run one documented exchange through the real client, against respx.

A documented request body becomes the keyword arguments of the section
method by one rule (camelCase → snake_case); the few methods whose Python
arguments are shaped differently have an adapter in `ADAPTERS`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import respx

from green_tg_async import (
    AsyncGreenPartner,
    AsyncGreenTelegram,
    BreakerPolicy,
    RateLimits,
    RetryPolicy,
)
from green_tg_async._methods import METHODS, PARTNER_METHODS
from green_tg_async.models import ContactCard
from green_tg_async.stores import MemoryStore
from tests.helpers import RecordingSleep

from .corpus import MethodExample

API_URL = "https://api.conformance.invalid"
MEDIA_URL = "https://media.conformance.invalid"
PARTNER_URL = "https://partner.conformance.invalid"
ID_INSTANCE = "4100000001"
TOKEN = "C0nformanceT0ken0123456789abcdef"
FILE = b"\xff\xd8\xff\xe0 not really a jpeg"


def snake(name: str) -> str:
    """`outgoingAPIMessageWebhook` → `outgoing_api_message_webhook`."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _generic(example: MethodExample) -> dict[str, Any]:
    fields = {**(example.request or {}), **(example.query or {})}
    return {snake(key): value for key, value in fields.items()}


def _contact(example: MethodExample) -> dict[str, Any]:
    kwargs = _generic(example)
    card = {snake(k): v for k, v in kwargs.pop("contact").items()}
    return {**kwargs, "contact": ContactCard(**card)}


def _poll(example: MethodExample) -> dict[str, Any]:
    """Options documented as strings (the page) or `{"optionName": ...}` (SDKs)."""
    kwargs = _generic(example)
    kwargs["options"] = [
        item["optionName"] if isinstance(item, dict) else item
        for item in kwargs["options"]
    ]
    return kwargs


def _receipt(example: MethodExample) -> dict[str, Any]:
    return {"receipt_id": int((example.path_suffix or "/0").strip("/"))}


def _upload(example: MethodExample) -> dict[str, Any]:
    return {"chat_id": "10000000", "file": FILE, "file_name": "photo.jpg"}


ADAPTERS: dict[str, Callable[[MethodExample], dict[str, Any]]] = {
    "sendContact": _contact,
    "sendPoll": _poll,
    "deleteNotification": _receipt,
    "sendFileByUpload": _upload,
    "uploadFile": lambda ex: {"file": FILE, "file_name": "photo.jpg"},
    "setProfilePicture": lambda ex: {"file": FILE},
    "setGroupPicture": lambda ex: {"chat_id": "-10000000000000", "file": FILE},
}
"""Methods whose Python arguments are not the documented body in snake_case."""


@dataclass
class Exchange:
    """What the client sent for a documented example, and what it returned."""

    request: httpx.Request
    result: Any = None
    error: BaseException | None = None

    def json_body(self) -> Any:
        """The request's JSON body (None when it sent none)."""
        content = self.request.content
        ctype = self.request.headers.get("content-type", "")
        return json.loads(content) if content and "json" in ctype else None


def _answer(example: MethodExample) -> httpx.Response:
    if example.response is None:
        return httpx.Response(example.status)
    return httpx.Response(example.status, json=example.response)


@functools.cache
def _http() -> httpx.AsyncClient:
    """One httpx client for every exchange: respx answers, nothing connects, and
    its TLS context (the slow part of a new client) is built once."""
    return httpx.AsyncClient()


def _client(example: MethodExample) -> AsyncGreenTelegram | AsyncGreenPartner:
    options: dict[str, Any] = {
        "store": MemoryStore(),
        "limits": RateLimits(enabled=False),
        "retry": RetryPolicy(sleep=RecordingSleep(), max_attempts=1),
        "breaker": BreakerPolicy(enabled=False),
        "http_client": _http(),
    }
    if example.partner:
        return AsyncGreenPartner(TOKEN, partner_api_url=PARTNER_URL, **options)
    return AsyncGreenTelegram(
        ID_INSTANCE, TOKEN, api_url=API_URL, media_url=MEDIA_URL, **options
    )


def call(client: AsyncGreenTelegram | AsyncGreenPartner, example: MethodExample) -> Any:
    """The coroutine of the section method for `example`'s documented arguments."""
    kwargs = ADAPTERS.get(example.method, _generic)(example)
    if example.partner:
        return getattr(client, PARTNER_METHODS[example.method].python_name)(**kwargs)
    spec = METHODS[example.method]
    section = getattr(client, spec.section)
    return getattr(section, spec.python_name)(**kwargs)


async def run(example: MethodExample) -> Exchange:
    """Send `example`'s request through the client; answer with its response."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(example)

    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=answer)
        async with _client(example) as client:
            try:
                result = await call(client, example)
            except Exception as exc:  # the test decides what is expected
                if not seen:
                    raise AssertionError(f"nothing was sent: {exc!r}") from exc
                return Exchange(seen[-1], error=exc)
    return Exchange(seen[-1], result=result)


def expected_path(example: MethodExample) -> str:
    """The documented URL path, with our test credentials."""
    if example.partner:
        return f"/partner/{example.method}/{TOKEN}"
    suffix = example.path_suffix or ""
    return f"/waInstance{ID_INSTANCE}/{example.method}/{TOKEN}{suffix}"


def expected_host(example: MethodExample) -> str:
    """The host the documented request goes to."""
    if example.partner:
        return httpx.URL(PARTNER_URL).host
    return httpx.URL(MEDIA_URL if example.host == "media" else API_URL).host
