"""`Router`: handlers by notification type and filters, in registration order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

from green_tg_async.models.notifications import UnknownNotification

from .filters import Filter, FilterLike, all_of

if TYPE_CHECKING:
    from ._context import Context

__all__ = ["ErrorHandler", "Handler", "Router"]

Handler = Callable[["Context"], Awaitable[object]]
"""A coroutine function taking the `Context`."""
ErrorHandler = Callable[["Context", Exception], Awaitable[object]]
"""A coroutine function taking the `Context` and the handler's exception."""

H = TypeVar("H", bound=Handler)
E = TypeVar("E", bound=ErrorHandler)

INCOMING: Final = frozenset({"incomingMessageReceived"})
OUTGOING: Final = frozenset({"outgoingMessageReceived", "outgoingAPIMessageReceived"})
STATUS: Final = frozenset({"outgoingMessageStatus"})
STATE: Final = frozenset({"stateInstanceChanged"})


@dataclass(frozen=True, slots=True)
class Route:
    """One registered handler."""

    types: frozenset[str]
    check: Filter
    handler: Handler
    any_shape: bool = False
    """Registered by `notification()`: also takes notifications that could
    not be typed (`UnknownNotification`)."""


class Router:
    """Register handlers with decorators; include other routers.

    The first handler (in registration order, this router's own before its
    included routers, in `include_router` order) whose type and filters all
    match gets the notification. A typed notification no handler takes is
    acknowledged without a call; one that could not be typed goes to the
    error handlers (see `Dispatcher`).
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"router-{id(self):x}"
        self._routes: list[Route] = []
        self._errors: list[ErrorHandler] = []
        self._children: list[Router] = []

    def message(self, *filters: FilterLike) -> Callable[[H], H]:
        """Handle incoming messages (`incomingMessageReceived`)."""
        return self._register(INCOMING, filters)

    def outgoing_message(self, *filters: FilterLike) -> Callable[[H], H]:
        """Handle messages sent from the phone or through the API."""
        return self._register(OUTGOING, filters)

    def outgoing_status(self, *filters: FilterLike) -> Callable[[H], H]:
        """Handle delivery statuses (`outgoingMessageStatus`)."""
        return self._register(STATUS, filters)

    def state_changed(self, *filters: FilterLike) -> Callable[[H], H]:
        """Handle changes of the instance's state (`stateInstanceChanged`)."""
        return self._register(STATE, filters)

    def notification(self, type_webhook: str, *filters: FilterLike) -> Callable[[H], H]:
        """Handle notifications of any `typeWebhook`, also ones added later.

        These handlers also get notifications of that type that could not be
        typed (an `UnknownNotification`; read `ctx.notification.raw`).
        """
        if not type_webhook:
            raise ValueError("type_webhook must name a notification type")
        return self._register(frozenset({type_webhook}), filters, any_shape=True)

    def errors(self) -> Callable[[E], E]:
        """Register a handler for failures that outlived every attempt."""

        def register(handler: E) -> E:
            self._errors.append(handler)
            return handler

        return register

    def include_router(self, router: Router) -> Router:
        """Route to `router`'s handlers after this router's own; returns it."""
        if router is self or self in router._walk():
            raise ValueError(f"including {router.name} would make a cycle")
        if any(router is known for known in self._walk()):
            raise ValueError(f"{router.name} is included already")
        self._children.append(router)
        return router

    async def resolve(self, ctx: Context) -> Handler | None:
        """The handler for `ctx`, or None when none matches.

        A notification that could not be typed goes only to `notification()`
        handlers: the others expect the typed model.
        """
        kind = ctx.type_webhook
        untyped = isinstance(ctx.notification, UnknownNotification)
        for router in self._walk():
            for route in router._routes:
                if untyped and not route.any_shape:
                    continue
                if kind in route.types and await route.check(ctx):
                    return route.handler
        return None

    def error_handlers(self) -> list[ErrorHandler]:
        """Every error handler, in routing order."""
        return [handler for router in self._walk() for handler in router._errors]

    def _walk(self) -> Iterator[Router]:
        yield self
        for child in self._children:
            yield from child._walk()

    def _register(
        self,
        types: frozenset[str],
        filters: tuple[FilterLike, ...],
        *,
        any_shape: bool = False,
    ) -> Callable[[H], H]:
        check = all_of(filters)

        def register(handler: H) -> H:
            if not callable(handler):
                raise TypeError("a handler must be a coroutine function")
            self._routes.append(Route(types, check, handler, any_shape))
            return handler

        return register

    def __repr__(self) -> str:
        return (
            f"<Router {self.name} handlers={len(self._routes)} "
            f"included={len(self._children)}>"
        )
