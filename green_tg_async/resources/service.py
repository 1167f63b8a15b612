"""Methods of the "Service methods" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Any, Final

from green_tg_async._phone import normalize_username
from green_tg_async._singleflight import SingleFlight
from green_tg_async._types import ChatId
from green_tg_async.models import AccountCheck, Avatar, Chat, ContactInfo, SentMessage

from . import _validate as check
from ._base import IGNORED, Section, SectionClient, compact
from ._bulk import CheckOutcome, check_many

__all__ = ["DEFAULT_FOUND_TTL", "DEFAULT_MISSING_TTL", "Service"]

DEFAULT_FOUND_TTL: Final = 7 * 86400.0  # an existing account rarely disappears
DEFAULT_MISSING_TTL: Final = 86400.0  # a missing one may register; check daily


class Service(Section):
    """Account look-ups and chat utilities."""

    __slots__ = ("_checks",)

    def __init__(self, client: SectionClient) -> None:
        super().__init__(client)
        # Identical checks running at the same time share one request. The
        # client keeps one Service, so this spans every caller of the client.
        self._checks: SingleFlight[tuple[tuple[str, object], ...], AccountCheck] = (
            SingleFlight()
        )

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
        body: dict[str, object]
        if username is not None and phone_number is None:
            body = {"username": normalize_username(username)}
        elif phone_number is not None and username is None:
            body = {"phoneNumber": self._client.normalize_phone(phone_number)}
        else:
            raise TypeError(
                "check_account() takes exactly one of phone_number or username"
            )
        if force:
            body["force"] = True
        return await self._checks.run(
            tuple(body.items()),  # equal checks, equal keys: one order of keys
            lambda: self._fetch("checkAccount", AccountCheck, json=body),
        )

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
        `AccountCheck` or the exception instance; nothing is dropped. An
        exception that is not a `GreenAPIError` (a bug, a broken custom store)
        ends the iteration: it is raised here once the outcomes before it
        came out.

        Use `contextlib.aclosing()` if you may stop early, so the workers are
        cancelled at once.
        """
        ttls = (found_ttl, missing_ttl)
        client: Any = self._client  # _bulk types it as the AsyncGreenTelegram it is
        async for item in check_many(
            client, numbers, concurrency=concurrency, force=force, ttls=ttls
        ):
            yield item

    async def get_avatar(self, chat_id: ChatId) -> Avatar:
        """Return a chat's avatar link. Wraps `POST getAvatar` (a contact look-up)."""
        return await self._fetch("getAvatar", Avatar, json=_chat(chat_id))

    async def get_contacts(self, *, count: int | None = None) -> list[Chat]:
        """Return the account's contacts (the list lags changes by ~5 min).

        Wraps `GET getContacts?count=`.
        """
        params = compact({"count": check.integer(count, "count", low=1)})
        return await self._fetch_items("getContacts", Chat, params=params)

    async def get_contact_info(self, chat_id: ChatId) -> ContactInfo:
        """Describe a personal chat's user. Wraps `POST getContactInfo`."""
        return await self._fetch("getContactInfo", ContactInfo, json=_chat(chat_id))

    async def get_chats(self) -> list[Chat]:
        """Return the account's chats. Wraps `GET getChats`."""
        return await self._fetch_items("getChats", Chat)

    async def edit_message(
        self, chat_id: ChatId, id_message: str, message: str
    ) -> SentMessage:
        """Change the text of an own text message (within about 48 h).

        Wraps `POST editMessage`. The text may have up to 4069 characters, as
        both editions of the EditMessage page say (a send takes 4096).
        """
        body = {
            **check.message_ref(chat_id, id_message),
            "message": check.text(message, "message", limit=check.MAX_EDITED_MESSAGE),
        }
        return await self._fetch("editMessage", SentMessage, json=body)

    async def delete_message(
        self,
        chat_id: ChatId,
        id_message: str,
        *,
        only_sender_delete: bool | None = None,
    ) -> None:
        """Delete an own message, for everyone or (`only_sender_delete`) for you.

        Wraps `POST deleteMessage`.
        """
        body = {
            **check.message_ref(chat_id, id_message),
            "onlySenderDelete": check.flag(only_sender_delete, "only_sender_delete"),
        }
        await self._fetch("deleteMessage", IGNORED, json=compact(body))

    async def send_typing(
        self, chat_id: ChatId, typing_time: int, *, typing_type: str | None = None
    ) -> None:
        """Show "typing…" (or `typing_type`) for `typing_time` ms (1000-20000).

        Wraps `POST sendTyping`.
        """
        if typing_time is None:
            raise TypeError("typing_time is required")
        body = {
            **_chat(chat_id),
            "typingTime": check.typing_time(typing_time),
            "typingType": check.typing_type(typing_type),
        }
        await self._fetch("sendTyping", IGNORED, json=compact(body))

    async def archive_chat(self, chat_id: ChatId) -> None:
        """Archive a chat that has at least one incoming message.

        Wraps `POST archiveChat`. A chat that is already archived raises
        `BadRequestError` (the page's 400 `archiveChatError: chat with id …
        already archive=true`, in `.body`). It is not taken for success: the
        text is the only sign, and the editions spell it differently
        (`archiveChatError`, `ArchiveChatError`).
        """
        await self._fetch("archiveChat", IGNORED, json=_chat(chat_id))

    async def unarchive_chat(self, chat_id: ChatId) -> None:
        """Take a chat out of the archive.

        Wraps `POST unarchiveChat`. A chat that is not archived raises
        `BadRequestError` (the page's 400 `unarchiveChatError: chat with id …
        already archive=false`, in `.body`), as `archive_chat()` does.
        """
        await self._fetch("unarchiveChat", IGNORED, json=_chat(chat_id))


def _chat(chat_id: ChatId) -> dict[str, str]:
    return {"chatId": check.chat_id(chat_id)}
