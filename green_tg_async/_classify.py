"""Response → decoded JSON or the most specific error. Pure functions, no I/O."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx

from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContactInfoLimitError,
    InstanceNotReadyError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
)
from ._json import loads
from ._logging import redact_cut

__all__ = [
    "NOT_READY_REASON",
    "STATUS_ERRORS",
    "classify",
    "error_for_response",
    "parse_retry_after",
]

STATUS_ERRORS: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
    466: QuotaExceededError,
    469: ContactInfoLimitError,
}

NOT_READY_REASON: Final = "instance is starting or not authorized"

# 200 {"status": false, "reason": ...} bodies that are errors for every method
# (CheckAccount page), recognised by a fragment of the reason after case and
# whitespace are normalised. The 469 fragment is deliberately loose: a pause
# taken on a reworded 469 costs a wait, a 469 not recognised costs the account.
_SOFT_ERRORS: Final[tuple[tuple[str, type[APIError]], ...]] = (
    ("contact info limit", ContactInfoLimitError),
    (NOT_READY_REASON.lower(), InstanceNotReadyError),
)
# 400 texts that mean "not ready yet" rather than "your request is wrong".
_NOT_READY_400: Final = ("instance in starting process", NOT_READY_REASON.lower())
_MAX_DETAIL: Final = 200
_MAX_BODY_TEXT: Final = 4096


def classify(method: str, response: httpx.Response, *, coded: bool = False) -> Any:
    """Return the decoded JSON of a 2xx `response`, or raise the matching error.

    With `coded` (the method's `MethodSpec.coded_errors`), a 200
    `{"code": 401, "description": ...}` raises the error of its code.
    """
    if not 200 <= response.status_code < 300:
        raise error_for_response(method, response)
    if not response.content.strip():
        return None  # deleteMessage, sendTyping, an empty notification queue
    try:
        data = loads(response.content)
    except ValueError:
        raise ResponseDecodeError(
            f"{method} answered HTTP {response.status_code} with a body that is "
            "not JSON",
            method=method,
            status_code=response.status_code,
            body=redact_cut(response.text, _MAX_BODY_TEXT),
        ) from None
    if isinstance(data, dict) and data.get("status") is False:
        _raise_soft_error(method, data)
    if coded:
        _raise_coded_error(method, data)
    return data


def _raise_soft_error(method: str, data: Mapping[str, Any]) -> None:
    """Raise the error a 200 `status: false` reason stands for, if any."""
    reason = data.get("reason")
    if not isinstance(reason, str):
        return
    normalised = " ".join(reason.split()).lower()
    for fragment, error_cls in _SOFT_ERRORS:
        if fragment in normalised:
            message = f"{method} failed with HTTP 200: {_one_line(reason)}"
            raise error_cls(message, method=method, status_code=200, body=dict(data))


def _raise_coded_error(method: str, data: Any) -> None:
    """Raise the error a 200 `{"code": 401, "description": ...}` stands for, if any.

    Partner methods and `updateApiToken` report failures inside an HTTP 200
    (https://green-api.com/en/telegram/docs/partners/deleteInstanceAccount/);
    the class is the one of the status `code` names. `status_code` stays 200.
    """
    code = data.get("code") if isinstance(data, Mapping) else None
    if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
        message = f"{method} failed with code {code} in an HTTP 200: {_detail(data)}"
        error_cls = _status_class(code)
        raise error_cls(message, method=method, status_code=200, body=dict(data))


def error_for_response(method: str, response: httpx.Response) -> APIError:
    """Build the most specific error for a non-2xx `response`."""
    status = response.status_code
    text = redact_cut(response.text, _MAX_BODY_TEXT)  # the token redacted either way
    try:
        body: Any = loads(text)  # JSON if it parses, else the text
    except ValueError:
        body = text
    detail = _detail(body)
    error_cls = _status_class(status)
    if status == 400 and any(m in detail.lower() for m in _NOT_READY_400):
        error_cls = InstanceNotReadyError
    message = f"{method} failed with HTTP {status}" + (f": {detail}" if detail else "")
    extra: dict[str, Any] = {}
    if error_cls is RateLimitError:
        extra["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return error_cls(message, method=method, status_code=status, body=body, **extra)


def _status_class(status: int) -> type[APIError]:
    """The error class of an HTTP status (or of a 200's `code`)."""
    return STATUS_ERRORS.get(status, ServerError if status >= 500 else APIError)


def _detail(body: Any) -> str:
    """A one-line summary of an error body for the exception message."""
    if isinstance(body, dict):
        for key in ("message", "reason", "description", "error"):
            if isinstance(body.get(key), str):
                return _one_line(body[key])
        try:
            return _one_line(json.dumps(body, ensure_ascii=False))
        except RecursionError:
            return "deeply nested JSON"
    text = str(body).strip()
    if text.lower().startswith(("<!doctype html", "<html")):
        return "HTML error page"
    return _one_line(text)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse `Retry-After` given as seconds or as an HTTP date; None if unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None
