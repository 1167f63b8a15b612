"""Retry decisions (a pure truth table) and their tenacity wiring."""

from __future__ import annotations

from collections.abc import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from ._config import RetryPolicy
from ._exceptions import APIConnectionError, APIError, RateLimitError, ServerError
from ._logging import logger

__all__ = ["build_retrying", "should_retry"]

_CLIENT_CLOSED_REQUEST = 499


def should_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Decide whether a failed attempt may be sent again.

    GREEN-API has no idempotency key, so a send that may have reached the
    server is never repeated: only reads (idempotent methods) are retried after
    an ambiguous failure. Cancellation and every other exception end the call.
    """
    if isinstance(exc, RateLimitError):
        return True  # rejected before processing: nothing happened
    if isinstance(exc, APIConnectionError):
        # A request that never left this host is always safe to repeat.
        return idempotent or not exc.request_sent
    if isinstance(exc, ServerError):
        return idempotent  # a 5xx may come after the send took effect
    if isinstance(exc, APIError) and exc.status_code == _CLIENT_CLOSED_REQUEST:
        return idempotent
    return False


def build_retrying(
    policy: RetryPolicy,
    *,
    idempotent: bool,
    on_retry: Callable[[int, BaseException | None, float], None] | None = None,
) -> AsyncRetrying:
    """Build the retry controller for one call (tenacity objects hold call state).

    `on_retry(attempt, error, wait)` is told about each retry, after the log.
    """

    def wait(state: RetryCallState) -> float:
        """Honour the server's `Retry-After` (capped); otherwise `RetryPolicy.delay`."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return min(exc.retry_after, policy.retry_after_cap)
        return policy.delay(state.attempt_number)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        # INFO, as the anthropic SDK does: a retry is routine, and WARNING would
        # print to stderr in every program that never configured logging.
        logger.info(
            "%s: attempt %d failed (%s), retrying in %.2f s",
            getattr(exc, "method", None),
            state.attempt_number,
            type(exc).__name__,
            delay,
        )
        if on_retry is not None:
            on_retry(state.attempt_number, exc, delay)

    return AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        retry=retry_if_exception(lambda exc: should_retry(exc, idempotent=idempotent)),
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=True,  # callers see our exception, never tenacity.RetryError
    )
