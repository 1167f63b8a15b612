"""Asyncio client for the GREEN-API Telegram HTTP API."""

from __future__ import annotations

from ._aiohttp_transport import fast_http_client
from ._base_client import NOT_GIVEN, NotGiven
from ._breaker import BreakerState, CircuitBreaker
from ._client import AsyncGreenTelegram
from ._config import (
    AdaptivePace,
    BreakerPolicy,
    LookupBudget,
    RateLimits,
    RetryPolicy,
    SendPolicy,
)
from ._exceptions import (
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
)
from ._partner import AsyncGreenPartner
from ._version import __version__
from .models import AccountCheck, InstanceState, SentMessage
from .resources.sending import MessageOptions

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountCheck",
    "AccountRestrictedError",
    "AdaptivePace",
    "AsyncGreenPartner",
    "AsyncGreenTelegram",
    "AuthenticationError",
    "AuthorizationError",
    "BadRequestError",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "ContactInfoLimitError",
    "GreenAPIError",
    "IdempotencyKeyReusedError",
    "InstanceNotReadyError",
    "InstanceState",
    "LookupBudget",
    "MessageOptions",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimits",
    "ResponseDecodeError",
    "RetryPolicy",
    "SendOutcomeUnknownError",
    "SendPolicy",
    "SentMessage",
    "ServerError",
    "StoreUnavailableError",
    "UnusableReceiptError",
    "__version__",
    "fast_http_client",
]

# Show `green_tg_async.RateLimitError`, not `green_tg_async._exceptions.RateLimitError`,
# in reprs and tracebacks.
for _name in __all__:
    if not _name.startswith("__"):
        globals()[_name].__module__ = __name__
del _name
