"""The docs corpus: one JSON file per documented method and notification type.

`fixtures/` is written from the GREEN-API Telegram docs pages (each file names
its URL); `seed/` holds our own bodies, used only where `fixtures/` has none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
FOLDERS = (HERE / "fixtures", HERE / "seed")


@dataclass(frozen=True)
class MethodExample:
    """One documented exchange of one method."""

    method: str
    verb: str
    host: str
    partner: bool
    url: str
    name: str
    request: Any
    query: dict[str, Any] | None
    path_suffix: str | None
    status: int
    response: Any
    verbatim: bool = False
    """The answer is the page's own example (not built from its tables)."""
    client_sends: Any = None
    """Where the page and the client disagree: the body the client sends for
    the documented `request` (the fake takes both)."""

    @property
    def is_failure(self) -> bool:
        """An error answer: a 4xx/5xx, or a documented failure inside a 200."""
        answer = self.response
        if self.status >= 400:
            return True
        if not isinstance(answer, dict):
            return False
        code = answer.get("code")
        return answer.get("status") is False or (
            isinstance(code, int) and code >= 400 and "description" in answer
        )


@dataclass(frozen=True)
class NotificationExample:
    """One documented notification body."""

    file: str
    url: str
    type_webhook: str
    type_message: str | None
    name: str
    body: dict[str, Any]
    url_reason: str | None = None
    """Why `url` is the page of another content type (its own is not stored)."""


def _files(kind: str) -> list[Path]:
    """Each fixture file of `kind`, from `fixtures/` first, `seed/` where absent."""
    found: dict[str, Path] = {}
    for folder in FOLDERS:
        for path in sorted((folder / kind).glob("*.json")):
            found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def _items(kind: str) -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """`(file, fixture, example)` for every example of every fixture of `kind`."""
    for path in _files(kind):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for item in doc["examples"]:
            yield path, doc, item


def method_examples() -> list[MethodExample]:
    """Every documented method exchange."""
    return [
        MethodExample(
            method=doc["method"],
            verb=doc["verb"],
            host=doc["host"],
            partner=bool(doc.get("partner")),
            url=doc["url"],
            name=item["name"],
            request=item.get("request"),
            query=item.get("query"),
            path_suffix=item.get("path_suffix"),
            status=item.get("status", 200),
            response=item.get("response"),
            verbatim=bool(item.get("verbatim")),
            client_sends=item.get("client_sends"),
        )
        for _, doc, item in _items("methods")
    ]


def notification_examples() -> list[NotificationExample]:
    """Every documented notification body."""
    return [
        NotificationExample(
            file=path.stem,
            url=doc["url"],
            type_webhook=doc["typeWebhook"],
            type_message=doc.get("typeMessage"),
            name=item["name"],
            body=item["body"],
            url_reason=doc.get("url_reason"),
        )
        for path, doc, item in _items("notifications")
    ]


def params(examples: list[Any]) -> list[Any]:
    """`pytest.param`s named `<method or file>:<example name>`."""
    return [
        pytest.param(ex, id=f"{getattr(ex, 'method', None) or ex.file}:{ex.name}")
        for ex in examples
    ]
