from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import green_tg_async
import green_tg_async.bot
import green_tg_async.webhooks
from green_tg_async import (
    AccountRestrictedError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    AuthorizationError,
    BadRequestError,
    CircuitOpenError,
    ContactInfoLimitError,
    GreenAPIError,
    IdempotencyKeyReusedError,
    InstanceNotReadyError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    SendOutcomeUnknownError,
    ServerError,
    StoreUnavailableError,
    UnusableReceiptError,
    _exceptions,
)
from green_tg_async.bot import HandlerCancelledError, UntypedNotificationError
from green_tg_async.webhooks import WebhookUnavailable


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (APIConnectionError, GreenAPIError),
        (APITimeoutError, APIConnectionError),
        (APIError, GreenAPIError),
        (RateLimitError, APIError),
        (QuotaExceededError, APIError),
        (ContactInfoLimitError, APIError),
        (InstanceNotReadyError, APIError),
        (ServerError, APIError),
        (ResponseDecodeError, GreenAPIError),
        (CircuitOpenError, GreenAPIError),
        (StoreUnavailableError, GreenAPIError),
    ],
)
def test_tree(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)


def test_circuit_open_error_says_when() -> None:
    when = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    error = CircuitOpenError("4100000001", "User get contact info limit reached", when)
    assert str(error) == (
        "instance 4100000001 is paused until 2027-01-15T08:00:00+00:00: "
        "User get contact info limit reached"
    )
    assert error.retry_at == when
    assert error.method is None


def test_repr_and_message() -> None:
    error = RateLimitError("x failed", method="x", status_code=429, retry_after=1.5)
    assert repr(error) == "RateLimitError('x failed')"
    assert error.message == "x failed"
    assert (error.method, error.status_code, error.retry_after) == ("x", 429, 1.5)


WHEN = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
STATUS: dict[str, Any] = {"method": "m", "status_code": 400, "body": {"a": 1}}
# One instance of each exported exception, with every attribute set.
EXAMPLES: list[BaseException] = [
    GreenAPIError("x", method="m"),
    APIConnectionError("x", method="m", request_sent=False),
    APITimeoutError("x", method="m", request_sent=True),
    APIError("x", **STATUS),
    BadRequestError("x", **STATUS),
    AuthenticationError("x", **STATUS),
    PermissionDeniedError("x", **STATUS),
    NotFoundError("x", **STATUS),
    RateLimitError("x", **STATUS, retry_after=2.5),
    QuotaExceededError("x", **STATUS),
    ContactInfoLimitError("x", **STATUS),
    InstanceNotReadyError("x", **STATUS, state="starting"),
    AccountRestrictedError("x", method="m", state="suspended", until=WHEN, body={}),
    AuthorizationError("x", method="m", body={}, reason="timeout"),
    ServerError("x", **STATUS),
    ResponseDecodeError("x", method="m", status_code=200, body="<html>"),
    UnusableReceiptError("x", method="receiveNotification", body={}),
    CircuitOpenError("4100000001", "limit reached", WHEN, method="checkAccount"),
    StoreUnavailableError("store down", method="m"),
    IdempotencyKeyReusedError("x", method="sendMessage", idempotency_key="k"),
    SendOutcomeUnknownError(
        "x", method="sendMessage", idempotency_key="k", status_code=500
    ),
    HandlerCancelledError("handler cancelled itself"),
    UntypedNotificationError("no handler"),
    WebhookUnavailable("shutting down"),
]


def _exported_exceptions() -> set[type[BaseException]]:
    found = set()
    for module in (green_tg_async, green_tg_async.bot, green_tg_async.webhooks):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                found.add(value)
    return found


def test_every_exported_exception_has_an_example() -> None:
    assert {type(error) for error in EXAMPLES} == _exported_exceptions()


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
def test_exceptions_survive_pickle(error: BaseException) -> None:
    """Celery, arq and process pools move exceptions between processes."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.args == error.args
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def _tree_names(text: str) -> set[str]:
    """Class names drawn in a tree: the root, then one after each `── `."""
    names = set(re.findall(r"── (\w+)", text))
    return names | set(re.findall(r"^\s*(GreenAPIError)\s*$", text, re.MULTILINE))


def test_the_error_trees_draw_every_exported_error() -> None:
    """The module docstring's tree and the errors guide's, one name per class."""
    exported = {
        cls.__name__ for cls in _exported_exceptions() if issubclass(cls, GreenAPIError)
    }
    guide = (Path(__file__).parent.parent / "docs/guides/errors.md").read_text()
    assert exported <= _tree_names(_exceptions.__doc__ or "")
    assert exported <= _tree_names(guide)
    assert issubclass(UnusableReceiptError, ResponseDecodeError)
