"""Methods of the "Account" section of the GREEN-API Telegram docs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Unpack

from green_tg_async._exceptions import APIError, AuthorizationError
from green_tg_async.models import (
    AccountSettings,
    ActionResult,
    ApiToken,
    AuthorizationStep,
    InstanceState,
    PictureUpdate,
    QrCode,
    Settings,
)

from . import _validate as check
from ._base import Reader, Section
from ._files import FileInput, open_file
from ._lifecycle import wait_until_authorized, watch_state
from ._settings import SettingsFields, settings_body

__all__ = ["Account"]


class Account(Section):
    """Instance state, settings and authorization."""

    __slots__ = ()

    async def qr(self) -> QrCode:
        """Return the login QR code (refreshed about every 5 s; poll ≤ 3/s).

        Wraps `GET qr`. Docs: https://green-api.com/en/telegram/docs/api/account/QR/
        """
        return await self._fetch("qr", QrCode)

    async def send_authorization_password(self, password: str) -> AuthorizationStep:
        """Send the account's two-factor (cloud) password after a QR scan.

        Wraps `POST sendAuthorizationPassword`.

        Raises:
            AuthorizationError: The step was refused (`.reason`, e.g.
                `invalid_password`).
        """
        body = {"password": check.text(password, "password")}
        return await self._auth("sendAuthorizationPassword", body)

    async def start_authorization(self, phone_number: int | str) -> AuthorizationStep:
        """Ask Telegram to send a login code to the account of `phone_number`.

        Wraps `POST startAuthorization`. A code is valid 5 minutes and a new
        one cannot be asked for sooner.
        """
        body = {"phoneNumber": self._client.normalize_phone(phone_number)}
        return await self._auth("startAuthorization", body)

    async def send_authorization_code(
        self, code: str, *, password: str | None = None
    ) -> AuthorizationStep:
        """Send the login code (and the 2FA password, to finish in one call).

        Wraps `POST sendAuthorizationCode`.
        """
        # An int code (12345) is accepted as text; None is refused, not "None".
        code_text = code if isinstance(code, str) else check.id_message(code, "code")
        body = {"code": check.text(code_text, "code")}
        if password is not None:
            body["password"] = check.text(password, "password")
        return await self._auth("sendAuthorizationCode", body)

    async def get_settings(self) -> Settings:
        """Return the instance settings. Wraps `GET getSettings`."""
        return await self._fetch("getSettings", Settings)

    async def set_settings(self, **settings: Unpack[SettingsFields]) -> ActionResult:
        """Change instance settings; the instance restarts (up to ~5 minutes).

        Wraps `POST setSettings`. Toggles take True/False (or "yes"/"no");
        `webhook_url=""` switches to HTTP polling.

        Returns:
            The API's `saveSettings` flag.
        """
        body = settings_body(settings)
        if not body:
            raise ValueError("set_settings() needs at least one setting")
        return await self._fetch(
            "setSettings", ActionResult, flag="saveSettings", json=body
        )

    async def get_state_instance(self) -> InstanceState:
        """Return the instance's authorization state.

        Wraps `GET getStateInstance`.
        Docs: https://green-api.com/en/telegram/docs/api/account/GetStateInstance/
        """
        return await self._fetch("getStateInstance", InstanceState)

    async def reboot(self) -> ActionResult:
        """Restart the instance. Wraps `GET reboot`; `ok` is its `isReboot`."""
        return await self._fetch("reboot", ActionResult, flag="isReboot")

    async def logout(self) -> ActionResult:
        """Log the account out. Wraps `GET logout`; `ok` is its `isLogout`."""
        return await self._fetch("logout", ActionResult, flag="isLogout")

    async def wait_until_authorized(
        self,
        timeout: float = 300.0,  # noqa: ASYNC109 (the documented name)
    ) -> InstanceState:
        """Wait until the instance is `authorized` and return its state.

        Polls `getStateInstance` with back-off (1 s, growing to 10 s) on the
        client's sleep, never faster than its documented 1/s.

        Raises:
            InstanceNotReadyError: Still `starting`, `notAuthorized` or
                `pendingPassword` (the message says a password is expected)
                after `timeout` seconds; `.state` names the last state.
            AccountRestrictedError: The account is `suspended` (`.until`
                from `getAccountSettings` when it says), or `blocked` on two
                polls in a row (a single `blocked` has been seen falsely after
                a send to a deleted account; the message suggests a reboot).
                Waiting will not change either.

        `notAuthorized` is waited out like `starting`: it is also the state
        while a login started by `start_authorization()` waits for its code.
        """
        return await wait_until_authorized(self, timeout)

    def watch_state(self, interval: float = 5.0) -> AsyncGenerator[InstanceState, None]:
        """Yield the instance state now, then each time it changes.

        Polls `getStateInstance` every `interval` seconds (at least 1) on the
        client's sleep; failures a later poll may not meet are skipped::

            async for state in tg.account.watch_state():
                if state.state_instance != "authorized":
                    alert(state)
        """
        return watch_state(self, interval)

    async def get_account_settings(self) -> AccountSettings:
        """Return the logged-in account. Wraps `GET getAccountSettings`."""
        return await self._fetch("getAccountSettings", AccountSettings)

    async def set_profile_picture(self, file: FileInput) -> PictureUpdate:
        """Set the account's avatar from a JPEG (one call per 10 s).

        Wraps `POST setProfilePicture` (multipart). `file` is bytes, a path
        (opened and closed here) or a binary file object.
        """
        with open_file(file, None, default_name="avatar.jpg") as (name, handle):
            files = {"file": (name, handle, "image/jpeg")}
            return await self._fetch(
                "setProfilePicture",
                PictureUpdate,
                flag="setProfilePicture",
                files=files,
            )

    async def update_api_token(self) -> ApiToken:
        """Rotate the instance token; this client switches to the new one.

        Wraps `GET updateApiToken`. The old token stops working at once, so
        store `result.api_token_instance` (kept out of reprs and logs) and
        give it to every other client and process of this instance.

        Raises:
            AuthenticationError: The API refused with `{"code": 401, ...}` in
                a 200 (other codes raise their status's class).
            APIError: A 200 without a new token, and without a code.
        """
        result = await self._fetch("updateApiToken", Reader(_new_token))
        self._client._swap_token(result.api_token_instance)
        return result

    async def _auth(self, method: str, body: dict[str, Any]) -> AuthorizationStep:
        step = await self._fetch(method, AuthorizationStep, json=body)
        if step.status is False or step.result not in (None, "success"):
            reason = step.data.reason if step.data else None
            raise AuthorizationError(
                f"{method} failed: {reason or 'refused'}",
                method=method,
                body=dict(step.raw),
                reason=reason or None,
            )
        return step


def _new_token(method: str, data: Any) -> ApiToken:
    """The new token; a 200 without one (and without a code) is a failure."""
    if isinstance(data, Mapping) and "apiTokenInstance" not in data:
        raise APIError(
            f"{method} failed: {data.get('description', 'no new token')}",
            method=method,
            status_code=200,
            body=dict(data),
        )
    return ApiToken.from_wire(method, data)
