"""The base of every section, the client it needs, and the shared decoders."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

from green_tg_async.models._decode import WireModel, decode_items, expect_list

if TYPE_CHECKING:
    import httpx

    from green_tg_async._config import Clock, RetryPolicy, Sleep
    from green_tg_async._settle import Intent

__all__ = ["IGNORED", "Reader", "Section", "SectionClient", "compact", "items_of"]

M = TypeVar("M", bound=WireModel)
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class OnceSender(Protocol):
    """Sends a keyed call at most once (the client's send journal)."""

    async def send(
        self, key: str, intent: Intent, call: Callable[[], Awaitable[Any]]
    ) -> Any: ...


class SectionClient(Protocol):
    """What a section needs from its client (`AsyncGreenTelegram` has it).

    Sections depend on this, not on the client's modules, so the resources
    package and the client do not import each other.
    """

    @property
    def clock(self) -> Clock: ...

    @property
    def sleep(self) -> Sleep: ...

    @property
    def retry_policy(self) -> RetryPolicy: ...

    def normalize_phone(self, phone: int | str) -> int: ...

    def timeout_with_read(self, read: float) -> httpx.Timeout: ...

    def _swap_token(self, token: str) -> None: ...

    @property
    def _once(self) -> OnceSender: ...

    async def _call(self, method: str, **request: Any) -> Any: ...


class Decoder(Protocol[T_co]):
    """How an answer is read: a model class, or another `from_wire` holder."""

    def from_wire(self, method: str, data: Any, *, flag: str | None = None) -> T_co:
        """Decode one answer of `method`."""
        ...


class Section:
    """A group of API methods, named after its section of the GREEN-API docs."""

    __slots__ = ("_client",)

    def __init__(self, client: SectionClient) -> None:
        self._client = client

    async def _fetch(
        self,
        method: str,
        model: Decoder[T],
        *,
        flag: str | None = None,
        once: tuple[str, Intent] | None = None,
        **request: Any,
    ) -> T:
        """Send `method` through the client's pipeline; decode the answer as `model`.

        The seam between a section and the pipeline (like the anthropic SDK's
        `_post(..., cast_to=Model)`): breaker, limiter, retries and errors are
        the client's; the section only says what it sends and what comes back.
        `flag` names the answer's flag key of an acknowledgement
        (`ActionResult`, `{"isReboot": true}`). `once` (an idempotency key
        and the send's intent) sends through the send journal: at most once
        per key. The only place a section calls the client.
        """
        if once is None:
            data = await self._client._call(method, **request)
        else:
            call = partial(self._client._call, method, **request)
            data = await self._send_once(*once, call)
        return model.from_wire(method, data, flag=flag)

    async def _send_once(
        self, key: str, intent: Intent, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Run `call` at most once under `key`, through the client's send journal."""
        return await self._client._once.send(key, intent, call)

    async def _fetch_items(
        self, method: str, model: type[M], **request: Any
    ) -> list[M]:
        """`_fetch` for an answer that is a JSON array of `model` items."""
        return await self._fetch(method, Reader(partial(items_of, model)), **request)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


def compact(body: Mapping[str, Any]) -> dict[str, Any]:
    """Drop `None` values, so the API applies its own defaults for them."""
    return {key: value for key, value in body.items() if value is not None}


def camel(name: str) -> str:
    """`can_change_info` → `canChangeInfo`; camelCase passes through."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def items_of(model: type[M], method: str, data: Any) -> list[M]:
    """Decode a JSON array answer into `model`s (null counts as empty).

    An item that is not an object, or lacks its essential field, is left out
    (logged at DEBUG; strict decoding raises instead).
    """
    return decode_items(model, method, expect_list(method, data))


@dataclass(frozen=True, slots=True)
class Reader(Generic[T]):
    """A decoder made of a function `read(method, data)`, for answers no model reads."""

    read: Callable[[str, Any], T]

    def from_wire(self, method: str, data: Any, *, flag: str | None = None) -> T:
        """Decode one answer of `method` with `read`."""
        return self.read(method, data)


IGNORED: Final = Reader(lambda method, data: None)
"""The decoder of an answer nothing reads (`deleteMessage`, `sendTyping`)."""
