"""Exceptions raised by green_tg_async.

    GreenAPIError
    ├── APIConnectionError        no HTTP answer arrived (.request_sent)
    │   └── APITimeoutError
    ├── APIError                  the API answered "no" (.method, .status_code, .body)
    │   ├── BadRequestError          400
    │   ├── AuthenticationError      401
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── RateLimitError           429 (.retry_after)
    │   ├── QuotaExceededError       466 (plan quota; never retried)
    │   ├── ContactInfoLimitError    469, or 200 {"status": false, "reason": "User get
    │   │                            contact info limit reached"}; opens the breaker
    │   ├── InstanceNotReadyError    instance starting or not authorized (200 or 400)
    │   │   └── AccountRestrictedError   blocked or suspended (wait_until_authorized)
    │   ├── AuthorizationError       a login step refused in a 200 body (.reason)
    │   ├── ServerError              5xx
    │   └── SendOutcomeUnknownError  a keyed send may or may not have gone out
    │                                (.idempotency_key); the next call settles it
    ├── ResponseDecodeError       2xx, but not the shape the method promises
    │   └── UnusableReceiptError     a queue item without a usable receiptId
    ├── CircuitOpenError          refused locally, nothing sent (.retry_at)
    ├── IdempotencyKeyReusedError a key used again with other arguments; not sent
    └── StoreUnavailableError     the shared state store did not answer

Misuse (bad arguments, a closed client) raises the builtin ValueError, TypeError
or RuntimeError instead, so `except GreenAPIError` never hides a bug. No message
or attribute holds the request URL, because the URL holds the API token. Every
error survives `pickle` (Celery, arq, process pools), attributes included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountRestrictedError",
    "AuthenticationError",
    "AuthorizationError",
    "BadRequestError",
    "CircuitOpenError",
    "ContactInfoLimitError",
    "GreenAPIError",
    "IdempotencyKeyReusedError",
    "InstanceNotReadyError",
    "NotFoundError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseDecodeError",
    "SendOutcomeUnknownError",
    "ServerError",
    "StoreUnavailableError",
    "UnusableReceiptError",
]


class GreenAPIError(Exception):
    """Base class of every operational error this library raises."""

    method: str | None
    """The API method (wire name) the error belongs to, if any."""

    def __init__(self, message: str, *, method: str | None = None) -> None:
        super().__init__(message)
        self.method = method

    @property
    def message(self) -> str:
        """The human-readable message (never contains the URL or the token)."""
        return str(self.args[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception pickles as `cls(*args)`, which our keyword-only arguments
        # refuse; rebuild without __init__ (`cls.__new__(cls, *args)` keeps
        # the message in `args`) and set the attributes.
        return type(self).__new__, (type(self), *self.args), self.__dict__


class APIConnectionError(GreenAPIError):
    """No HTTP answer arrived: DNS, connect, reset or protocol failure."""

    request_sent: bool
    """False only when the request certainly never reached the server."""

    def __init__(self, message: str, *, method: str, request_sent: bool) -> None:
        super().__init__(message, method=method)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request timed out before an answer arrived."""


class APIError(GreenAPIError):
    """GREEN-API answered, and the answer means the call did not succeed."""

    status_code: int
    """HTTP status of the answer (200 for failures reported inside a 200 body)."""

    body: Any
    """The decoded JSON body, or the text when it is not JSON (token redacted)."""

    def __init__(
        self, message: str, *, method: str, status_code: int, body: Any = None
    ) -> None:
        super().__init__(message, method=method)
        self.status_code = status_code
        self.body = body


class BadRequestError(APIError):
    """400: the request was malformed or a field failed validation."""


class AuthenticationError(APIError):
    """401: the API token is wrong."""


class PermissionDeniedError(APIError):
    """403: wrong idInstance or host, or the account is suspended."""


class NotFoundError(APIError):
    """404: unknown method, or a missing object (such as a contact)."""


class RateLimitError(APIError):
    """429: the per-instance, per-method rate was exceeded."""

    retry_after: float | None
    """Seconds the server asked us to wait (`Retry-After`), if it said."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        status_code: int,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, method=method, status_code=status_code, body=body)
        self.retry_after = retry_after


class QuotaExceededError(APIError):
    """466: the plan's quota is used up (3 chats on Developer, 30k checks)."""


class ContactInfoLimitError(APIError):
    """469: Telegram refused further number look-ups; the instance is paused."""


class InstanceNotReadyError(APIError):
    """The instance is starting or not authorized; check `get_state_instance()`."""

    state: str | None
    """The instance state it was left in, when known (`notAuthorized`, …)."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        status_code: int,
        body: Any = None,
        state: str | None = None,
    ) -> None:
        super().__init__(message, method=method, status_code=status_code, body=body)
        self.state = state


class AccountRestrictedError(InstanceNotReadyError):
    """The account is `blocked` or `suspended`: waiting will not make it usable."""

    until: datetime | None
    """When a suspension ends (aware UTC), if the server said; None for `blocked`."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        state: str,
        until: datetime | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(
            message, method=method, status_code=200, body=body, state=state
        )
        self.until = until


class AuthorizationError(APIError):
    """A login step failed: 200 `{"status": false, "data": {"reason": ...}}`."""

    reason: str | None
    """`invalid_password`, `authorization_not_started`, `timeout`, …"""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        status_code: int = 200,
        body: Any = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, method=method, status_code=status_code, body=body)
        self.reason = reason


class ServerError(APIError):
    """5xx: the server failed (HTML error pages included)."""


class ResponseDecodeError(GreenAPIError):
    """A 2xx answer that is not JSON, or lacks a field the caller needs.

    Acknowledgements whose flag is missing or odd do not raise: their flag is
    None and the answer is in `.raw`. This error is for answers with nothing
    usable (a send without `idMessage`, a check without `exist`).
    """

    status_code: int
    """HTTP status of the answer (a 2xx)."""

    body: Any
    """The answer: decoded JSON, or its text cut to 4 KB (token redacted)."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        status_code: int = 200,
        body: Any = None,
    ) -> None:
        super().__init__(message, method=method)
        self.status_code = status_code
        self.body = body


class UnusableReceiptError(ResponseDecodeError):
    """A queue item without a `receiptId` that `deleteNotification` accepts."""


class CircuitOpenError(GreenAPIError):
    """The breaker refused the call locally; nothing was sent."""

    id_instance: str
    """The paused instance."""

    reason: str
    """Why it is paused (for example the 469 reason text)."""

    retry_at: datetime
    """When calls are allowed again (aware UTC)."""

    def __init__(
        self,
        id_instance: str,
        reason: str,
        retry_at: datetime,
        *,
        method: str | None = None,
    ) -> None:
        when = retry_at.isoformat(timespec="seconds")
        super().__init__(
            f"instance {id_instance} is paused until {when}: {reason}", method=method
        )
        self.id_instance = id_instance
        self.reason = reason
        self.retry_at = retry_at


class StoreUnavailableError(GreenAPIError):
    """The state store (SQLite, Redis) failed; the call was refused, not sent."""


class IdempotencyKeyReusedError(GreenAPIError):
    """An idempotency key came back with other arguments; nothing was sent."""

    idempotency_key: str
    """The key that was reused."""

    def __init__(self, message: str, *, method: str, idempotency_key: str) -> None:
        super().__init__(message, method=method)
        self.idempotency_key = idempotency_key


class SendOutcomeUnknownError(APIError):
    """A keyed send's outcome is unknown: neither found nor surely unsent.

    The send was ambiguous (a lost answer, a 5xx) and GREEN-API's queue and
    journal could not tell (they could not be read, or the send was a
    forward), or the send was ambiguous twice. The intent is kept: the next
    call with the same key settles it again. The cause is `__cause__`;
    `status_code` is the cause's HTTP status, or 0 when no answer came.
    """

    idempotency_key: str
    """The key whose send is unsettled."""

    def __init__(
        self, message: str, *, method: str, idempotency_key: str, status_code: int = 0
    ) -> None:
        super().__init__(message, method=method, status_code=status_code)
        self.idempotency_key = idempotency_key
