"""How `FakeGreenAPI` answers `checkAccount`: its accounts and its look-up limit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import httpx

if TYPE_CHECKING:
    from ._fake import FakeGreenAPI

__all__ = ["check_account"]

_LIMIT_REASON: Final = "User get contact info limit reached"
_NOT_READY: Final = "instance is starting or not authorized"


def check_account(fake: FakeGreenAPI, body: dict[str, Any]) -> httpx.Response:
    """Whether the number or username in `body` has an account, and its chat."""
    if fake.state != "authorized":
        return httpx.Response(200, json={"status": False, "reason": _NOT_READY})
    subject = body.get("phoneNumber", body.get("username"))
    if not isinstance(subject, int | str) or isinstance(subject, bool):
        return httpx.Response(400, json={"message": "Validation failed"})
    if _limit_reached(fake, subject):
        if fake.limit_form == "body":
            return httpx.Response(200, json={"status": False, "reason": _LIMIT_REASON})
        return httpx.Response(469, text=_LIMIT_REASON)
    chat_id = _chat_id(fake, subject)
    return httpx.Response(200, json={"exist": bool(chat_id), "chatId": chat_id})


def _limit_reached(fake: FakeGreenAPI, subject: int | str) -> bool:
    """Count a look-up; True past `lookup_limit` numbers in `lookup_window`."""
    if fake.lookup_limit is None:
        return False
    now = fake._clock()
    fake._lookups = {
        s: t for s, t in fake._lookups.items() if t > now - fake.lookup_window
    }
    fake._lookups[subject] = now
    return len(fake._lookups) > fake.lookup_limit


def _chat_id(fake: FakeGreenAPI, subject: int | str) -> str:
    """The registered chat, else the rule: an even last digit has an account."""
    if subject in fake.accounts:
        return fake.accounts[subject]
    if isinstance(subject, int) and subject % 2 == 0:
        return str(subject)[-8:]
    return ""
