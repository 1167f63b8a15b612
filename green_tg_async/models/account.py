"""Models returned by the account section."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._decode import FLAG, RAW, Id, Phone, WireModel, wire

__all__ = [
    "LOGGED_IN_QR_TYPES",
    "AccountSettings",
    "ApiToken",
    "AuthorizationData",
    "AuthorizationStep",
    "InstanceState",
    "PictureUpdate",
    "QrCode",
    "Settings",
]

LOGGED_IN_QR_TYPES: Final = frozenset({"alreadyLogged", "already_registered"})
"""`qr` answer types meaning "already logged in" (the QR page documents both)."""


@dataclass(frozen=True, slots=True)
class InstanceState(WireModel):
    """The instance's authorization state (`getStateInstance`)."""

    state_instance: str = wire("stateInstance", str, required=True)
    """`authorized`, `notAuthorized` (also while a login waits for a code or
    password), `pendingPassword`, `starting`, `blocked`, `suspended` (or a
    value added later; the server decides)."""

    raw: Mapping[str, Any] = RAW
    """The decoded JSON exactly as received."""


@dataclass(frozen=True, slots=True)
class QrCode(WireModel):
    """A login QR code (`qr`), or why there is none; refreshed about every 5 s."""

    type: str | None = wire("type", str)
    """`qrCode` (the image is in `message`), `error`, `alreadyLogged` or
    `already_registered` (both mean logged in: see `is_logged_in`)."""

    message: str | None = wire("message", str)
    """Base64 PNG for `qrCode`, otherwise the server's explanation."""

    raw: Mapping[str, Any] = RAW

    @property
    def is_qr_code(self) -> bool:
        """True when `message` holds the QR image."""
        return self.type == "qrCode"

    @property
    def is_logged_in(self) -> bool:
        """True when the instance is already logged in (no QR code needed)."""
        return self.type in LOGGED_IN_QR_TYPES

    def png(self) -> bytes:
        """The QR image as PNG bytes; `ValueError` if this answer carries none."""
        if not self.is_qr_code or not self.message:
            raise ValueError(f"this qr answer has no image (type={self.type!r})")
        return base64.b64decode(self.message.split(",", 1)[-1])


@dataclass(frozen=True, slots=True)
class AuthorizationData(WireModel):
    """`data` of a login step answer: the step's outcome and, if refused, why."""

    status: str | None = wire("status", str)
    """`success` or `fail` (or a value the server adds later)."""
    reason: str | None = wire("reason", str)
    """Why a step failed (`invalid_code`, `timeout`, ...); empty on success."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class AuthorizationStep(WireModel):
    """A successful step of the phone-code or password login flow.

    A failed step (`status: false`) raises `AuthorizationError` instead.
    """

    status: bool | None = wire("status", bool)
    """True: the step was accepted."""

    data: AuthorizationData | None = wire("data", AuthorizationData)
    """The step's outcome (`data.status`, `data.reason`)."""

    raw: Mapping[str, Any] = RAW

    @property
    def result(self) -> str | None:
        """`data.status` (`success`, or a value the server adds later)."""
        return self.data.status if self.data else None


@dataclass(frozen=True, slots=True)
class Settings(WireModel):
    """The instance settings (`getSettings`); toggles are "yes"/"no" strings."""

    wid: str | None = wire("wid", Id)
    type_instance: str | None = wire("typeInstance", str)
    webhook_url: str | None = wire("webhookUrl", str)
    """Empty when notifications are taken by HTTP polling."""
    webhook_url_token: str | None = wire("webhookUrlToken", str, secret=True)
    """Secret GREEN-API sends to the webhook (`Authorization`); not in repr."""
    delay_send_messages_milliseconds: int | None = wire(
        "delaySendMessagesMilliseconds", int
    )
    mark_incoming_messages_readed: str | None = wire("markIncomingMessagesReaded", str)
    mark_incoming_messages_readed_on_reply: str | None = wire(
        "markIncomingMessagesReadedOnReply", str
    )
    outgoing_webhook: str | None = wire("outgoingWebhook", str)
    outgoing_message_webhook: str | None = wire("outgoingMessageWebhook", str)
    outgoing_api_message_webhook: str | None = wire("outgoingAPIMessageWebhook", str)
    incoming_webhook: str | None = wire("incomingWebhook", str)
    poll_message_webhook: str | None = wire("pollMessageWebhook", str)
    """Poll notifications (Telegram needs it next to `incomingWebhook`)."""
    state_webhook: str | None = wire("stateWebhook", str)
    edited_message_webhook: str | None = wire("editedMessageWebhook", str)
    deleted_message_webhook: str | None = wire("deletedMessageWebhook", str)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class AccountSettings(WireModel):
    """The logged-in Telegram account (`getAccountSettings`)."""

    avatar: str | None = wire("avatar", str)
    phone: str | None = wire("phone", Phone)
    """The account's number, digits only; None when hidden."""
    state_instance: str | None = wire("stateInstance", str)
    suspended_until: Any = wire("suspendedUntil", object)
    """End of a `suspended` restriction, as the server sends it."""
    chat_id: str | None = wire("chatId", Id)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class ApiToken(WireModel):
    """The new instance token (`updateApiToken`); the client already uses it."""

    api_token_instance: str = wire("apiTokenInstance", str, required=True, secret=True)
    """The new secret; the old token stopped working. Not in repr."""

    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class PictureUpdate(WireModel):
    """Result of `setProfilePicture` / `setGroupPicture`."""

    ok: bool | None = wire(FLAG, bool)
    """True when the picture was set."""
    url_avatar: str | None = wire("urlAvatar", str)
    reason: str | None = wire("reason", str)
    raw: Mapping[str, Any] = RAW
