"""Models returned by `AsyncGreenPartner`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._decode import RAW, WireModel, wire

__all__ = ["CreatedInstance", "PartnerInstance"]


@dataclass(frozen=True, slots=True)
class PartnerInstance(WireModel):
    """One instance of the partner account (`getInstances`).

    `api_token_instance` is the instance's secret: it is kept out of repr,
    and `get_instances()` redacts it from logs like the client's own token.
    """

    id_instance: int = wire("idInstance", int, required=True)
    name: str | None = wire("name", str)
    type_instance: str | None = wire("typeInstance", str)
    messenger: str | None = wire("messenger", str)
    """`telegram`, `whatsapp` or `v3` (MAX)."""
    type_account: str | None = wire("typeAccount", str)
    """Not used, per the docs."""
    partner_user_uiid: str | None = wire("partnerUserUiid", str)
    """Not used, per the docs."""
    tariff: str | None = wire("tariff", str)
    time_created: str | None = wire("timeCreated", str)
    time_deleted: str | None = wire("timeDeleted", str)
    expiration_date: str | None = wire("expirationDate", str)
    deleted: bool | None = wire("deleted", bool)
    is_free: bool | None = wire("isFree", bool)
    """On the free Developer plan."""
    is_partner: bool | None = wire("isPartner", bool)
    """On the Partner plan."""
    is_expired: bool | None = wire("isExpired", bool)
    """Payment is overdue."""
    api_token_instance: str | None = wire("apiTokenInstance", str, secret=True)
    """The instance's API token (a secret; not in repr)."""
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class CreatedInstance(WireModel):
    """A new instance (`createInstance`); its token is kept out of repr."""

    id_instance: int = wire("idInstance", int, required=True)
    api_token_instance: str = wire("apiTokenInstance", str, required=True, secret=True)
    type_instance: str | None = wire("typeInstance", str)
    raw: Mapping[str, Any] = RAW
