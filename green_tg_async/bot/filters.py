"""Filters: which notifications a handler takes.

A filter is anything called with the `Context` that returns a bool, sync or
async. The ones here combine with `&`, `|` and `~`; plain callables combine
once wrapped in `Filter`::

    from green_tg_async.bot import filters as f

    @router.message(f.command("start") | f.text("hi"), f.private())
    async def start(ctx): ...
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    from ._context import Context

__all__ = [
    "ANY_STATE",
    "Filter",
    "FilterLike",
    "chat",
    "command",
    "group",
    "message_type",
    "private",
    "regex",
    "sender",
    "state",
    "text",
    "text_startswith",
]

FilterLike: TypeAlias = Callable[["Context"], bool | Awaitable[bool]]
"""A `Filter` or any callable taking the context (sync or async)."""

ANY_STATE: Final = "*"
"""`state(ANY_STATE)` passes while the conversation has any state."""

_GROUP_TYPES: Final = frozenset({"group", "supergroup", "channel"})


class Filter:
    """A named, combinable check on the context."""

    __slots__ = ("_check", "_name")

    def __init__(self, check: FilterLike, name: str | None = None) -> None:
        self._check = check
        self._name = name or str(getattr(check, "__name__", type(check).__name__))

    async def __call__(self, ctx: Context) -> bool:
        """True when the notification passes."""
        result = self._check(ctx)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    def __and__(self, other: FilterLike) -> Filter:
        right = as_filter(other)
        return Filter(_chain((self, right), every=True), f"({self} & {right})")

    def __or__(self, other: FilterLike) -> Filter:
        right = as_filter(other)
        return Filter(_chain((self, right), every=False), f"({self} | {right})")

    def __invert__(self) -> Filter:
        async def negated(ctx: Context) -> bool:
            return not await self(ctx)

        return Filter(negated, f"~{self}")

    def __repr__(self) -> str:
        return f"<Filter {self._name}>"

    def __str__(self) -> str:
        return self._name


def as_filter(check: FilterLike) -> Filter:
    """`check` as a `Filter`; raises TypeError for anything not callable."""
    if isinstance(check, Filter):
        return check
    if not callable(check):
        raise TypeError(f"a filter must be callable, got {type(check).__name__}")
    return Filter(check)


def _chain(
    filters: Iterable[Filter], *, every: bool
) -> Callable[[Context], Awaitable[bool]]:
    """Every one of `filters` passes (else any one), checked in order, lazily."""
    chain = tuple(filters)

    async def check(ctx: Context) -> bool:
        for one in chain:
            if await one(ctx) is not every:
                return not every
        return every

    return check


def all_of(checks: Iterable[FilterLike]) -> Filter:
    """One filter that passes when every one of `checks` passes (in order)."""
    chain = [as_filter(check) for check in checks]
    return Filter(_chain(chain, every=True), " & ".join(map(str, chain)) or "always")


def text(value: str | None = None, *, ignore_case: bool = False) -> Filter:
    """The message has text; with `value`, exactly that text."""
    if value is None:
        return Filter(lambda ctx: ctx.text is not None, "text()")
    wanted = value.casefold() if ignore_case else value
    return _on_text(lambda given: given == wanted, f"text({value!r})", ignore_case)


def text_startswith(*prefixes: str, ignore_case: bool = False) -> Filter:
    """The message text starts with one of `prefixes`."""
    if not prefixes:
        raise ValueError("text_startswith() needs at least one prefix")
    wanted = tuple(p.casefold() for p in prefixes) if ignore_case else prefixes
    name = f"text_startswith{prefixes!r}"
    return _on_text(lambda given: given.startswith(wanted), name, ignore_case)


def regex(pattern: str | re.Pattern[str], flags: int = 0) -> Filter:
    """The message text matches `pattern` (`re.search`)."""
    compiled = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
    name = f"regex({compiled.pattern!r})"
    return _on_text(lambda given: compiled.search(given) is not None, name)


def command(*names: str) -> Filter:
    """The text is `/name`, `/name args` or `/name@botname …` for one of `names`."""
    if not names:
        raise ValueError("command() needs at least one name")
    wanted = frozenset(name.lstrip("/").casefold() for name in names)

    def is_command(given: str) -> bool:
        if not given.startswith("/"):
            return False
        head = given[1:].split(maxsplit=1)[0] if given[1:].strip() else ""
        return head.split("@", 1)[0].casefold() in wanted

    return _on_text(is_command, f"command{tuple(sorted(wanted))!r}")


def _on_text(test: Callable[[str], bool], name: str, fold: bool = False) -> Filter:
    """The message has text and `test` passes on it (casefolded with `fold`)."""

    def check(ctx: Context) -> bool:
        given = ctx.text
        if given is None:
            return False
        return test(given.casefold() if fold else given)

    return Filter(check, name)


def chat(*ids: str | int) -> Filter:
    """The notification belongs to one of these chats."""
    wanted = frozenset(str(i) for i in ids)
    return Filter(lambda ctx: ctx.chat_id in wanted, f"chat{tuple(wanted)!r}")


def sender(*ids: str | int) -> Filter:
    """The message was sent by one of these users."""
    wanted = frozenset(str(i) for i in ids)
    return Filter(lambda ctx: ctx.sender in wanted, f"sender{tuple(wanted)!r}")


def private() -> Filter:
    """A one-to-one chat (Telegram chat type `user` or `bot`)."""
    return Filter(lambda ctx: _is_group(ctx) is False, "private()")


def group() -> Filter:
    """A group, supergroup or channel."""
    return Filter(lambda ctx: _is_group(ctx) is True, "group()")


def _is_group(ctx: Context) -> bool | None:
    """By `chatType` when sent, else by the sign of the chat id (groups < 0)."""
    kind = ctx.chat_type
    if kind is not None:
        return kind in _GROUP_TYPES
    if ctx.chat_id is None:
        return None
    return ctx.chat_id.startswith("-")


def message_type(*types: str) -> Filter:
    """The message content is one of `types` (`textMessage`, `imageMessage`, …)."""
    wanted = frozenset(types)

    def kind(ctx: Context) -> bool:
        message = ctx.message
        return message is not None and message.type_message in wanted

    return Filter(kind, f"message_type{tuple(sorted(wanted))!r}")


def state(name: str | None) -> Filter:
    """The conversation is in state `name`; None: in none; `ANY_STATE`: in any."""

    async def in_state(ctx: Context) -> bool:
        current = await ctx.state.get()
        if name == ANY_STATE:
            return current is not None
        return current == name

    return Filter(in_state, f"state({name!r})")
