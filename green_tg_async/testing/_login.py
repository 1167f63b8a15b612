"""The fake's login flow: phone code, 2FA password and QR, as scripted by a test."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ._qr_image import qr_png

if TYPE_CHECKING:
    from ._fake import FakeGreenAPI

__all__ = ["LOGIN_ANSWERS", "LoginScript"]

_OK: Final = {"status": True, "data": {"status": "success", "reason": ""}}
WRONG_CODE: Final = "invalid_code"
"""The reason the fake gives for a wrong code (GREEN-API's literal is unconfirmed)."""


@dataclass
class LoginScript:
    """What the fake's account expects, and how far a login got."""

    code: str = "12345"
    """The code Telegram "sent" after `startAuthorization`."""
    password: str | None = None
    """The account's 2FA password; None: the account has none."""
    qr_scans_after: int = 2
    """The QR code counts as scanned once this many images were served."""
    started: bool = False
    qr_served: int = 0


def _fail(reason: str) -> dict[str, Any]:
    return {"status": False, "data": {"status": "fail", "reason": reason}}


def _first_factor_done(fake: FakeGreenAPI, script: LoginScript) -> None:
    fake.state = "authorized" if script.password is None else "pendingPassword"


def _check_password(
    fake: FakeGreenAPI, script: LoginScript, given: Any
) -> dict[str, Any]:
    if given != script.password:
        return _fail("invalid_password")
    fake.state = "authorized"
    return _OK


def _start(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    script = fake.login
    if script is None:
        return _OK
    if fake.state == "authorized":
        return _fail("already_registered")
    script.started = True
    return _OK


def _code(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    script = fake.login
    if script is None:
        return _OK
    if not script.started:
        return _fail("authorization_not_started")
    if str(body.get("code")) != script.code:
        return _fail(WRONG_CODE)
    _first_factor_done(fake, script)
    if "password" in body and fake.state == "pendingPassword":
        return _check_password(fake, script, body["password"])
    return _OK


def _password(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    script = fake.login
    if script is None:
        return _OK
    if fake.state != "pendingPassword":
        return _fail("authorization_not_started")
    return _check_password(fake, script, body.get("password"))


def _qr(fake: FakeGreenAPI, body: dict[str, Any]) -> Any:
    if fake.state == "authorized":
        return {"type": "alreadyLogged", "message": "instance is already authorized"}
    script = fake.login
    if script is None:
        return {"type": "qrCode", "message": "iVBORw0KGgo="}
    if fake.state == "pendingPassword":
        return {"type": "error", "message": "QR code scanned; a password is expected"}
    script.qr_served += 1
    image = base64.b64encode(qr_png(script.qr_served)).decode()
    if script.qr_served >= script.qr_scans_after:
        _first_factor_done(fake, script)  # the phone scanned this one
    return {"type": "qrCode", "message": image}


LOGIN_ANSWERS: Final = {
    "qr": _qr,
    "startAuthorization": _start,
    "sendAuthorizationCode": _code,
    "sendAuthorizationPassword": _password,
}
