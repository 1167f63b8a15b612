"""The base of every section: it holds the client and offers nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from green_tg_async._client import AsyncGreenTelegram

__all__ = ["Section", "compact"]


class Section:
    """A group of API methods, named after its section of the GREEN-API docs."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncGreenTelegram) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


def compact(body: Mapping[str, Any]) -> dict[str, Any]:
    """Drop `None` values, so the API applies its own defaults for them."""
    return {key: value for key, value in body.items() if value is not None}
