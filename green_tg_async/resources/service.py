"""Methods of the "Service methods" section of the GREEN-API Telegram docs."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable
from typing import Final

from green_tg_async._phone import normalize_phone, normalize_username
from green_tg_async.models import AccountCheck

from ._base import Section
from ._bulk import CheckOutcome, check_many

__all__ = ["DEFAULT_FOUND_TTL", "DEFAULT_MISSING_TTL", "Service"]

DEFAULT_FOUND_TTL: Final = 7 * 86400.0  # an existing account rarely disappears
DEFAULT_MISSING_TTL: Final = 86400.0  # a missing one may register; check daily


class Service(Section):
    """Account look-ups and chat utilities."""

    __slots__ = ()

    async def check_account(
        self,
        phone_number: int | str | None = None,
        *,
        username: str | None = None,
        force: bool = False,
    ) -> AccountCheck:
        """Check whether a phone number (or a username) has a Telegram account.

        Wraps `POST checkAccount`.
        Docs: https://green-api.com/telegram/docs/api/service/CheckAccount/

        Frequent look-ups, above all repeated checks of numbers without an
        account, can get the Telegram account restricted; a 469 pauses the
        instance for `BreakerPolicy.pause_seconds` (two hours).

        Args:
            phone_number: International number as an int or a string such as
                "+7 987 654-32-10"; checked before anything is sent.
            username: A Telegram username instead of a number (`@name`).
            force: Ask Telegram live instead of GREEN-API's cache.

        Raises:
            ValueError: The number or username is malformed (nothing is sent).
            ContactInfoLimitError: Telegram's look-up limit (469) was reached.
            CircuitOpenError: The instance is paused; nothing was sent.
        """
        body = _subject(phone_number, username)
        if force:
            body["force"] = True
        # Identical checks running at the same time share one request.
        key = json.dumps(body, sort_keys=True)
        data = await self._client._checks.run(
            key, lambda: self._client._call("checkAccount", json=body)
        )
        return AccountCheck.from_wire(data)

    async def check_accounts(
        self,
        numbers: Iterable[int | str],
        *,
        concurrency: int = 4,
        force: bool = False,
        found_ttl: float = DEFAULT_FOUND_TTL,
        missing_ttl: float = DEFAULT_MISSING_TTL,
    ) -> AsyncGenerator[tuple[int | str, CheckOutcome], None]:
        """Check many numbers; yield `(number, outcome)` in completion order.

        Every number is validated first: a bad one comes out as a `ValueError`
        outcome and never stops the run. Each distinct number is checked once
        (duplicates share its outcome), and answers are cached in the store,
        found ones for `found_ttl` and missing ones for `missing_ttl` seconds,
        because re-checking numbers without an account is what gets Telegram
        accounts restricted. After a 469 nothing more is sent: every number
        left comes out as `CircuitOpenError` with `retry_at`. Outcomes are
        `AccountCheck` or the exception instance; nothing is dropped.

        Use `contextlib.aclosing()` if you may stop early, so the workers are
        cancelled at once.
        """
        ttls = (found_ttl, missing_ttl)
        async for item in check_many(
            self._client, numbers, concurrency=concurrency, force=force, ttls=ttls
        ):
            yield item


def _subject(phone_number: int | str | None, username: str | None) -> dict[str, object]:
    if (phone_number is None) == (username is None):
        raise TypeError("check_account() takes exactly one of phone_number or username")
    if username is not None:
        return {"username": normalize_username(username)}
    assert phone_number is not None
    return {"phoneNumber": normalize_phone(phone_number)}
