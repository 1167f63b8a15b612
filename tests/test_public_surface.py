"""Public names a user types against: the timeout sentinel and the hook types."""

from __future__ import annotations

import typing
from collections.abc import Sequence

import green_tg_async
from green_tg_async import NOT_GIVEN, AsyncGreenPartner, AsyncGreenTelegram, NotGiven
from green_tg_async.hooks import CallEvent, Hook
from green_tg_async.otel import OpenTelemetryHook
from tests.helpers import make_client


def test_the_timeout_sentinel_is_importable_and_is_the_default() -> None:
    assert isinstance(NOT_GIVEN, NotGiven)
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    for cls in (AsyncGreenTelegram, AsyncGreenPartner):
        hints = typing.get_type_hints(cls.__init__)
        assert NotGiven in typing.get_args(hints["timeout"])
    assert green_tg_async.NotGiven.__module__ == "green_tg_async"


async def test_an_explicit_not_given_timeout_keeps_the_default() -> None:
    async with make_client(timeout=NOT_GIVEN) as tg:
        assert tg._transport.http.timeout.read == 30.0


def test_hooks_are_typed_by_protocol() -> None:
    """`hooks=` takes objects with any one of the hook methods, checked by mypy."""
    for cls in (AsyncGreenTelegram, AsyncGreenPartner):
        hints = typing.get_type_hints(cls.__init__)
        assert hints["hooks"] == Sequence[Hook] | None


class _Timing:
    """A hook with one method only: still a `Hook`."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_response(self, event: CallEvent) -> None:
        self.seen.append(event.method)


def test_a_one_method_hook_and_the_otel_hook_are_hooks() -> None:
    hooks: list[Hook] = [_Timing(), OpenTelemetryHook()]  # type-checked by mypy
    assert len(hooks) == 2
