"""Methods of the "Service methods" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from green_tg_async._phone import normalize_phone, normalize_username
from green_tg_async.models import AccountCheck

from ._base import Section

__all__ = ["Service"]


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
        data = await self._client._call("checkAccount", json=body)
        return AccountCheck.from_wire(data)


def _subject(phone_number: int | str | None, username: str | None) -> dict[str, object]:
    if (phone_number is None) == (username is None):
        raise TypeError("check_account() takes exactly one of phone_number or username")
    if username is not None:
        return {"username": normalize_username(username)}
    assert phone_number is not None
    return {"phoneNumber": normalize_phone(phone_number)}
