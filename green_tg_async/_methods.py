"""The method table: each API method declared once, read by the pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

__all__ = ["METHODS", "MethodSpec"]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """How one GREEN-API method travels: verb, host and whether it is safe to repeat."""

    name: str
    """Wire name, as it appears in the URL path (`checkAccount`)."""

    http_method: Literal["GET", "POST", "DELETE"]
    """HTTP verb the docs give."""

    idempotent: bool
    """True for reads; a failed attempt of an idempotent call may be repeated."""

    host: Literal["api", "media"] = "api"
    """`media` for the upload methods that go to `media_url`."""


def _table(*specs: MethodSpec) -> Mapping[str, MethodSpec]:
    return MappingProxyType({spec.name: spec for spec in specs})


METHODS: Final = _table(
    MethodSpec("getStateInstance", "GET", idempotent=True),
    MethodSpec("sendMessage", "POST", idempotent=False),
    # A look-up changes nothing, so repeating one is safe; each one costs
    # look-up budget, which the limiter and the breaker account for.
    MethodSpec("checkAccount", "POST", idempotent=True),
    MethodSpec("receiveNotification", "GET", idempotent=True),
    # Deleting a receipt twice changes nothing more, so a retry is safe.
    MethodSpec("deleteNotification", "DELETE", idempotent=True),
)
