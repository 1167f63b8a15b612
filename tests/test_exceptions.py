from __future__ import annotations

from datetime import UTC, datetime

import pytest

from green_tg_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    CircuitOpenError,
    ContactInfoLimitError,
    GreenAPIError,
    InstanceNotReadyError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    StoreUnavailableError,
)


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
