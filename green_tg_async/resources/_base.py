"""The base of every section, and the small decoders the sections share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from green_tg_async.models._decode import WireModel, decode_items, expect_list

if TYPE_CHECKING:
    from green_tg_async._client import AsyncGreenTelegram

__all__ = ["Section", "compact", "items_of"]

M = TypeVar("M", bound=WireModel)


class Decodable(Protocol):
    """A result model: built from one answer with `from_wire(method, data)`."""

    @classmethod
    def from_wire(cls, method: str, data: Any, *, flag: str | None = None) -> Self:
        """Decode one answer of `method`."""
        ...


D = TypeVar("D", bound=Decodable)


class Section:
    """A group of API methods, named after its section of the GREEN-API docs."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncGreenTelegram) -> None:
        self._client = client

    async def _fetch(
        self, method: str, model: type[D], *, flag: str | None = None, **request: Any
    ) -> D:
        """Send `method` through the client's pipeline; decode the answer as `model`.

        The seam between a section and the pipeline (like the anthropic SDK's
        `_post(..., cast_to=Model)`): breaker, limiter, retries and errors are
        the client's; the section only says what it sends and what comes back.
        `flag` names the answer's flag key of an acknowledgement
        (`ActionResult`, `{"isReboot": true}`).
        """
        data = await self._client._call(method, **request)
        return model.from_wire(method, data, flag=flag)

    async def _fetch_items(
        self, method: str, model: type[M], **request: Any
    ) -> list[M]:
        """`_fetch` for an answer that is a JSON array of `model` items."""
        return items_of(model, method, await self._client._call(method, **request))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


def compact(body: Mapping[str, Any]) -> dict[str, Any]:
    """Drop `None` values, so the API applies its own defaults for them."""
    return {key: value for key, value in body.items() if value is not None}


def items_of(model: type[M], method: str, data: Any) -> list[M]:
    """Decode a JSON array answer into `model`s (null counts as empty).

    An item that is not an object, or lacks its essential field, is left out
    (logged at DEBUG; strict decoding raises instead).
    """
    return decode_items(model, method, expect_list(method, data))
