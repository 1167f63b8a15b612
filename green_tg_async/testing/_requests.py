"""Requests as `FakeGreenAPI` reads them: fields, long-poll wait, ASGI exchange."""

from __future__ import annotations

import email.policy
import json
from collections.abc import Awaitable, Callable, MutableMapping
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import httpx

__all__ = ["asgi_request", "asgi_respond", "fields_of", "long_poll_seconds"]

Message = MutableMapping[str, Any]


def fields_of(request: httpx.Request) -> dict[str, Any]:
    """The request's JSON object, its form fields (multipart), or its query.

    Of a multipart upload only the text fields are kept, plus `fileName`
    from the file part when the form has none; the file itself is not.
    """
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        return _form_fields(kind, request.content)
    if not request.content:
        return dict(request.url.params)
    try:
        data = json.loads(request.content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _form_fields(kind: str, content: bytes) -> dict[str, Any]:
    head = f"Content-Type: {kind}\r\n\r\n".encode()
    form = BytesParser(policy=email.policy.HTTP).parsebytes(head + content)
    fields: dict[str, Any] = {}
    file_name = None
    for part in form.iter_parts():
        assert isinstance(part, EmailMessage)
        if part.get_filename() is not None:
            file_name = part.get_filename()
            continue
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_content().strip("\r\n")
    if file_name and "fileName" not in fields:
        fields["fileName"] = file_name
    return fields


def long_poll_seconds(request: httpx.Request) -> float:
    """The `receiveTimeout` of a `receiveNotification` request, else 0."""
    if "/receiveNotification/" not in request.url.path:
        return 0.0
    try:
        return float(request.url.params.get("receiveTimeout", 0))
    except ValueError:
        return 0.0


async def asgi_request(
    scope: Message, receive: Callable[[], Awaitable[Message]]
) -> httpx.Request:
    """The `httpx.Request` an ASGI HTTP exchange carries (its whole body read)."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    query = scope.get("query_string", b"").decode()
    url = f"http://fake{scope['path']}" + (f"?{query}" if query else "")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    return httpx.Request(scope["method"], url, headers=headers, content=body)


async def asgi_respond(
    send: Callable[[Message], Awaitable[None]], response: httpx.Response
) -> None:
    """Send `response` as the ASGI answer."""
    raw_headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.content})
