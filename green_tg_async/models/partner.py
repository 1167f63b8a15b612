"""Models returned by `AsyncGreenPartner`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._decode import RAW, WireModel, wire

__all__ = ["CreatedInstance", "PartnerInstance"]


@dataclass(frozen=True, slots=True)
class PartnerInstance(WireModel):
    """One instance of the partner account (`getInstances`)."""

    id_instance: int = wire("idInstance", int, required=True)
    name: str | None = wire("name", str)
    type_instance: str | None = wire("typeInstance", str)
    tariff: str | None = wire("tariff", str)
    time_created: str | None = wire("timeCreated", str)
    expiration_date: str | None = wire("expirationDate", str)
    deleted: bool | None = wire("deleted", bool)
    raw: Mapping[str, Any] = RAW


@dataclass(frozen=True, slots=True)
class CreatedInstance(WireModel):
    """A new instance (`createInstance`); its token is kept out of repr."""

    id_instance: int = wire("idInstance", int, required=True)
    api_token_instance: str = wire("apiTokenInstance", str, required=True, secret=True)
    type_instance: str | None = wire("typeInstance", str)
    raw: Mapping[str, Any] = RAW
