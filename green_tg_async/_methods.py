"""The method table: each API method declared once, read by the pipeline.

The pipeline takes the verb, host and idempotency from here, the limiter takes
the documented rate, and the README's method list is checked against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "METHODS",
    "PARTNER_METHODS",
    "SECTIONS",
    "MethodSpec",
    "methods_markdown",
    "snake_case",
]

Verb = Literal["GET", "POST", "DELETE"]
Host = Literal["api", "media", "partner"]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """How one GREEN-API method travels: verb, host and whether it is safe to repeat."""

    name: str
    """Wire name, as it appears in the URL path (`checkAccount`)."""

    http_method: Verb
    """HTTP verb the docs give."""

    idempotent: bool
    """True for reads; a failed attempt of an idempotent call may be repeated."""

    host: Host = "api"
    """`media` for the upload methods that go to `media_url`."""

    section: str = ""
    """Attribute of the client that holds the method (`service`)."""

    rate: float | None = None
    """Documented requests per second; None where the docs give no figure."""

    contact_lookup: bool = False
    """A number look-up, counted by Telegram toward the 469 limit; paused by a
    `BreakerPolicy(scope="contact_lookups")` pause."""

    coded_errors: bool = False
    """Failures come as a 200 `{"code": 401, "description": ...}` (partner
    methods, `updateApiToken`); `classify` raises the error of the code."""

    @property
    def python_name(self) -> str:
        """The method's name on its section (`send_file_by_url`)."""
        return snake_case(self.name)


def snake_case(name: str) -> str:
    """`sendFileByUrl` → `send_file_by_url`; `qr` stays `qr`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _table(section: str, *specs: MethodSpec) -> dict[str, MethodSpec]:
    return {spec.name: replace(spec, section=section) for spec in specs}


def _read(
    name: str, verb: Verb, rate: float | None = 1.0, *, lookup: bool = False
) -> MethodSpec:
    return MethodSpec(name, verb, idempotent=True, rate=rate, contact_lookup=lookup)


def _write(
    name: str,
    verb: Verb = "POST",
    rate: float | None = 1.0,
    host: Host = "api",
    *,
    coded: bool = False,
) -> MethodSpec:
    return MethodSpec(
        name, verb, idempotent=False, host=host, rate=rate, coded_errors=coded
    )


def _partner(name: str, verb: Verb, *, idempotent: bool) -> MethodSpec:
    return MethodSpec(name, verb, idempotent, "partner", coded_errors=True)


# Rates: https://green-api.com/en/telegram/docs/api/ratelimiter/. Rows the
# page leaves unknown ("?") are None and
# get `RateLimits.default`; rows inferred from the WhatsApp/MAX docs use the
# safer (lower) figure. Sends, uploads, group changes and deletes are never
# idempotent: a send that may have reached the server is never repeated.
METHODS: Final[Mapping[str, MethodSpec]] = MappingProxyType(
    {
        **_table(
            "account",
            _read("qr", "GET", rate=3.0),
            _write("sendAuthorizationPassword"),
            _write("startAuthorization"),
            _write("sendAuthorizationCode"),
            _read("getSettings", "GET"),
            _write("setSettings"),  # restarts the instance
            _read("getStateInstance", "GET"),
            _write("reboot", "GET"),
            _write("logout", "GET"),
            _read("getAccountSettings", "GET"),
            _write("setProfilePicture", rate=0.1),
            _write("updateApiToken", "GET", rate=None, coded=True),
        ),
        **_table(
            "sending",
            _write("sendMessage", rate=50.0),
            _write("sendFileByUpload", rate=50.0, host="media"),
            _write("sendFileByUrl", rate=50.0),
            _write("uploadFile", rate=1.0, host="media"),
            _write("sendLocation", rate=50.0),
            _write("sendContact", rate=50.0),
            _write("sendPoll", rate=50.0),
            _write("forwardMessages", rate=50.0),
        ),
        **_table(
            "receiving",
            _read("receiveNotification", "GET", rate=100.0),
            # The one delete that is safe to repeat: it names one receipt, so a
            # second attempt cannot remove anything else (it answers result=false).
            MethodSpec("deleteNotification", "DELETE", idempotent=True, rate=100.0),
            _read("downloadFile", "POST", rate=5.0),
        ),
        **_table(
            "journals",
            _read("getChatHistory", "POST"),
            _read("getMessage", "POST"),
            _read("lastIncomingMessages", "GET"),
            _read("lastOutgoingMessages", "GET"),
        ),
        **_table(
            "queues",
            _read("showMessagesQueue", "GET"),
            _read("getMessagesCount", "GET"),
            _write("clearMessagesQueue", "GET"),
            _read("getWebhooksCount", "GET"),
            _write("clearWebhooksQueue", "DELETE"),
        ),
        **_table("read_mark", _write("readChat", rate=10.0)),
        **_table(
            "groups",
            _write("createGroup"),
            _write("updateGroupName"),
            _read("getGroupData", "POST"),
            _write("updateGroupSettings"),
            _write("addGroupParticipant"),
            _write("removeGroupParticipant"),
            _write("setGroupAdmin", rate=10.0),
            _write("removeAdmin", rate=10.0),
            _write("setGroupPicture"),
            _write("leaveGroup", rate=10.0),
        ),
        **_table(
            "service",
            # A look-up changes nothing, so repeating one is safe; each one costs
            # look-up budget, which the limiter and the breaker account for.
            _read("checkAccount", "POST", rate=None, lookup=True),
            _read("getAvatar", "POST", rate=10.0, lookup=True),
            _read("getContacts", "GET", lookup=True),
            _read("getContactInfo", "POST", lookup=True),
            _read("getChats", "GET"),
            _write("editMessage"),
            _write("deleteMessage", rate=10.0),
            _write("sendTyping", rate=None),
            _write("archiveChat", rate=10.0),
            _write("unarchiveChat", rate=10.0),
        ),
        **_table(
            "contacts",
            _write("addContact", rate=None),
            _write("editContact", rate=None),
            _write("deleteContact", rate=None),
        ),
    }
)
"""Every instance method, by wire name (56)."""

SECTIONS: Final = tuple(dict.fromkeys(spec.section for spec in METHODS.values()))
"""The client's sections in the order of the docs (https://green-api.com/en/telegram/docs/api/)."""

PARTNER_METHODS: Final[Mapping[str, MethodSpec]] = MappingProxyType(
    _table(
        "partner",
        _partner("getInstances", "GET", idempotent=True),
        _partner("createInstance", "POST", idempotent=False),
        _partner("deleteInstanceAccount", "POST", idempotent=False),
    )
)
"""The partner methods of `AsyncGreenPartner` (their own host and token)."""

GUESSED_ANSWERS: Final = frozenset(
    {
        "setSettings",  # {"saveSettings": bool}
        "reboot",  # {"isReboot": bool}
        "logout",  # {"isLogout": bool}
        "clearMessagesQueue",  # {"isCleared": bool}
        "clearWebhooksQueue",  # {"isCleared", "reason", "leftTime"}
        "sendTyping",  # an empty 200
        "deleteMessage",  # an empty 200
        "addGroupParticipant",  # group changes: WhatsApp-inferred flags
        "removeGroupParticipant",
        "setGroupAdmin",
        "removeAdmin",
        "leaveGroup",
        "updateGroupName",
        "addContact",  # contacts (beta): {"message": ...} refusals
        "editContact",
        "deleteContact",
        "deleteInstanceAccount",
    }
)
"""Methods whose answer shape the Telegram docs do not confirm (WhatsApp-inferred
or unseen). A record only: nothing in the package reads it, each answer is read
as its model decides, and the tests check only that it names real methods."""


def methods_markdown() -> str:
    """The README's method list, one line per section, built from the table."""
    lines = []
    for section in SECTIONS:
        names = [s.python_name for s in METHODS.values() if s.section == section]
        lines.append(f"- `tg.{section}`: " + ", ".join(f"`{n}`" for n in names))
    partner = ", ".join(f"`{s.python_name}`" for s in PARTNER_METHODS.values())
    lines.append(f"- `AsyncGreenPartner`: {partner}")
    return "\n".join(lines)
