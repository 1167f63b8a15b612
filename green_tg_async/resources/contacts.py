"""Methods of the "Contacts" section (beta) of the GREEN-API Telegram docs."""

from __future__ import annotations

from typing import Any

from green_tg_async._types import ChatId
from green_tg_async.models import ActionResult

from . import _validate as check
from ._base import Reader, Section, compact

__all__ = ["Contacts"]


class Contacts(Section):
    """The account's Telegram contacts (beta). A missing contact is a 404."""

    __slots__ = ()

    async def add_contact(
        self, chat_id: ChatId, first_name: str, *, last_name: str | None = None
    ) -> ActionResult:
        """Add a contact. Wraps `POST addContact`.

        Returns:
            `ok=True`, or `ok=False` with the API's `message` as `reason`.
        """
        return await self._change("addContact", chat_id, first_name, last_name)

    async def edit_contact(
        self, chat_id: ChatId, first_name: str, *, last_name: str | None = None
    ) -> ActionResult:
        """Rename a contact. Wraps `POST editContact`."""
        return await self._change("editContact", chat_id, first_name, last_name)

    async def delete_contact(self, chat_id: ChatId) -> ActionResult:
        """Delete a contact. Wraps `POST deleteContact`."""
        body = {"chatId": check.chat_id(chat_id)}
        return await self._fetch("deleteContact", Reader(_changed), json=body)

    async def _change(
        self, method: str, chat_id: ChatId, first_name: str, last_name: str | None
    ) -> ActionResult:
        body = {
            "chatId": check.chat_id(chat_id),
            "firstName": check.text(first_name, "first_name"),
            "lastName": check.optional_text(last_name, "last_name"),
        }
        return await self._fetch(method, Reader(_changed), json=compact(body))


def _changed(method: str, data: Any) -> ActionResult:
    return ActionResult.from_message(method, data, flag=method)
