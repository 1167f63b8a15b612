"""`AsyncGreenPartner`: the partner methods, on their own host and token."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Unpack

import httpx

from ._base_client import NOT_GIVEN, BaseClient, NotGiven, resolve_token, resolve_url
from ._config import BreakerPolicy, RateLimits, RetryPolicy
from ._logging import install_redaction
from ._methods import PARTNER_METHODS
from .hooks import Hook
from .models import ActionResult, CreatedInstance, PartnerInstance
from .resources import _validate as check
from .resources._base import items_of
from .resources._settings import (
    MAX_DELAY_AT_CREATION,
    SettingsFields,
    settings_body,
)
from .stores import StateStore

__all__ = ["DEFAULT_PARTNER_URL", "AsyncGreenPartner"]

DEFAULT_PARTNER_URL = "https://4100.api.green-api.com"
"""Partner host when neither `partner_api_url=` nor `GREEN_API_PARTNER_URL` is set
(the official SDKs' value; the docs give no other)."""


class AsyncGreenPartner(BaseClient):
    """Asyncio client for the GREEN-API partner methods (create and list instances).

    Calls go to `{partner_api_url}/partner/{method}/{partnerToken}` through the
    same pipeline as `AsyncGreenTelegram` (rate limit, breaker, safe retries)::

        async with AsyncGreenPartner(partner_token) as partner:
            created = await partner.create_instance(name="bot", incoming_webhook=True)

    The token falls back to `GREEN_API_PARTNER_TOKEN` and the host to
    `GREEN_API_PARTNER_URL`; the token never appears in reprs, logs or errors.
    """

    def __init__(
        self,
        partner_token: str | None = None,
        *,
        partner_api_url: str | None = None,
        limits: RateLimits | None = None,
        breaker: BreakerPolicy | None = None,
        retry: RetryPolicy | None = None,
        store: StateStore | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        hooks: Sequence[Hook] | None = None,
    ) -> None:
        token = resolve_token(
            partner_token, name="partner_token", env="GREEN_API_PARTNER_TOKEN"
        )
        url = (
            resolve_url(partner_api_url, "partner_api_url", "GREEN_API_PARTNER_URL")
            or DEFAULT_PARTNER_URL
        )
        # The limiter and breaker need a key per account; a digest, never the token.
        key = "partner-" + hashlib.sha256(token.encode()).hexdigest()[:16]
        super().__init__(
            key=key,
            token=token,
            prefixes={"partner": f"{url}/partner"},
            methods=PARTNER_METHODS,
            limits=limits,
            breaker=breaker,
            retry=retry,
            store=store,
            timeout=timeout,
            http_client=http_client,
            transport=transport,
            hooks=hooks,
        )
        self._url = url

    async def get_instances(self) -> list[PartnerInstance]:
        """Every instance of the partner account. Wraps `GET getInstances`."""
        instances = items_of(
            PartnerInstance, "getInstances", await self._call("getInstances")
        )
        for instance in instances:  # secrets: keep them out of logs
            if instance.api_token_instance:
                install_redaction(instance.api_token_instance)
        return instances

    async def create_instance(
        self, *, name: str | None = None, **settings: Unpack[SettingsFields]
    ) -> CreatedInstance:
        """Create an instance, optionally with a name and initial settings.

        Wraps `POST createInstance`; the settings are those of `set_settings()`,
        except that `delay_send_messages_milliseconds` is 500-300000 here.
        The answer's token is kept out of repr and logs; GREEN-API does not return the
        instance's `apiUrl`/`mediaUrl`.
        """
        body = settings_body(settings, max_delay=MAX_DELAY_AT_CREATION)
        if name is not None:
            body["name"] = check.text(name, "name")
        data = await self._call("createInstance", json=body)
        created = CreatedInstance.from_wire("createInstance", data)
        # A new secret: keep it out of logs like our own token.
        install_redaction(created.api_token_instance)
        return created

    async def delete_instance_account(self, id_instance: int | str) -> ActionResult:
        """Delete an instance. Wraps `POST deleteInstanceAccount`.

        `ok` is the API's flag, None when the answer does not say.
        """
        text = check.chat_id(id_instance, "id_instance")
        if not text.isdigit():
            raise ValueError(f"id_instance must be digits only, got {text!r}")
        method = "deleteInstanceAccount"
        data = await self._call(method, json={"idInstance": int(text)})
        return ActionResult.from_wire(method, data, flag=method)

    def __repr__(self) -> str:
        return f"<AsyncGreenPartner url={self._url!r} state={self._state.value}>"
