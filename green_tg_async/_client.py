"""`AsyncGreenTelegram`: configuration and the sections of one instance."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property

import httpx

from ._base_client import NOT_GIVEN, BaseClient, NotGiven, resolve_token, resolve_url
from ._config import BreakerPolicy, RateLimits, RetryPolicy, SendPolicy
from ._methods import METHODS
from ._once import Once
from ._phone import check_region, normalize_phone
from .hooks import Hook
from .resources import (
    Account,
    Contacts,
    Groups,
    Journals,
    Queues,
    ReadMark,
    Receiving,
    Sending,
    Service,
)
from .stores import StateStore

__all__ = ["AsyncGreenTelegram"]


class AsyncGreenTelegram(BaseClient):
    """Asyncio client for one GREEN-API Telegram instance.

    Every call is rate-limited per instance and method, refused locally while
    the instance is paused after a 469, and retried only when that is safe::

        async with AsyncGreenTelegram("4100000001", token) as tg:
            found = await tg.service.check_account(79876543210)
            sent = await tg.sending.send_message(found.chat_id, "hello")

    Credentials fall back to `GREEN_API_ID_INSTANCE` and `GREEN_API_TOKEN`,
    hosts to `GREEN_API_URL` and `GREEN_API_MEDIA_URL`. Share one client
    between tasks of a loop; clients of one instance share its limiter and
    breaker. `hooks` see every call (`green_tg_async.hooks`). `send` says how
    sends with an `idempotency_key` are remembered and settled.
    """

    def __init__(
        self,
        id_instance: str | int | None = None,
        api_token: str | None = None,
        *,
        api_url: str | None = None,
        media_url: str | None = None,
        limits: RateLimits | None = None,
        breaker: BreakerPolicy | None = None,
        retry: RetryPolicy | None = None,
        store: StateStore | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        hooks: Sequence[Hook] | None = None,
        phone_region: str | None = None,
        send: SendPolicy | None = None,
    ) -> None:
        self._id = _resolve_instance(id_instance)
        self._send_policy = send or SendPolicy()
        if phone_region is None:
            phone_region = os.environ.get("GREEN_API_PHONE_REGION")
        self._phone_region = check_region(phone_region)
        token = resolve_token(api_token, name="api_token", env="GREEN_API_TOKEN")
        api = resolve_url(api_url, "api_url", "GREEN_API_URL") or _default_url(self._id)
        media = resolve_url(media_url, "media_url", "GREEN_API_MEDIA_URL") or api
        self._api_url, self._media_url = api, media
        super().__init__(
            key=self._id,
            token=token,
            prefixes={
                "api": f"{api}/waInstance{self._id}",
                "media": f"{media}/waInstance{self._id}",
            },
            methods=METHODS,
            limits=limits,
            breaker=breaker,
            retry=retry,
            store=store,
            timeout=timeout,
            http_client=http_client,
            transport=transport,
            hooks=hooks,
        )

    @property
    def id_instance(self) -> str:
        """The instance this client talks to."""
        return self._id

    @property
    def phone_region(self) -> str | None:
        """ISO 3166 code for reading national numbers ("RU"), or None.

        Set with `phone_region=` or `GREEN_API_PHONE_REGION` (extra `phone`).
        """
        return self._phone_region

    @property
    def send_policy(self) -> SendPolicy:
        """How keyed sends are remembered and settled (`send=`)."""
        return self._send_policy

    def normalize_phone(self, phone: int | str) -> int:
        """`phone` as GREEN-API expects it, read in `phone_region` if set."""
        return normalize_phone(phone, self._phone_region)

    @cached_property
    def account(self) -> Account:
        """Methods of the "Account" section."""
        return Account(self)

    @cached_property
    def _once(self) -> Once:
        """The keyed sends of this client (`idempotency_key=`)."""
        return Once(self)

    @cached_property
    def sending(self) -> Sending:
        """Methods of the "Sending" section."""
        return Sending(self)

    @cached_property
    def receiving(self) -> Receiving:
        """Methods of the "Receiving" section."""
        return Receiving(self)

    @cached_property
    def journals(self) -> Journals:
        """Methods of the "Journals" section."""
        return Journals(self)

    @cached_property
    def queues(self) -> Queues:
        """Methods of the "Queues" section."""
        return Queues(self)

    @cached_property
    def read_mark(self) -> ReadMark:
        """Methods of the "Read mark" section."""
        return ReadMark(self)

    @cached_property
    def groups(self) -> Groups:
        """Methods of the "Groups" section."""
        return Groups(self)

    @cached_property
    def service(self) -> Service:
        """Methods of the "Service methods" section."""
        return Service(self)

    @cached_property
    def contacts(self) -> Contacts:
        """Methods of the "Contacts" section (beta)."""
        return Contacts(self)

    def __repr__(self) -> str:
        return (
            f"<AsyncGreenTelegram id_instance={self._id!r} state={self._state.value}>"
        )


def _resolve_instance(value: str | int | None) -> str:
    if value is None:
        value = os.environ.get("GREEN_API_ID_INSTANCE")
    if isinstance(value, bool) or not isinstance(value, str | int | None):
        raise TypeError(
            f"id_instance must be a str or an int, got {type(value).__name__}"
        )
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError(
            "id_instance is required: pass id_instance= or set GREEN_API_ID_INSTANCE"
        )
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"id_instance must be digits only, got {text!r}")
    return text


def _default_url(id_instance: str) -> str:
    if len(id_instance) < 4:
        raise ValueError(
            f"cannot derive api_url from id_instance {id_instance!r}; pass api_url="
        )
    return f"https://{id_instance[:4]}.api.green-api.com"
