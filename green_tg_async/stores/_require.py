"""`require()`: a store lacking part of a protocol is refused when it is given."""

from __future__ import annotations

from typing import Protocol

from ._base import SharedLimiterStore

__all__ = ["require"]


def require(store: object, role: str, *protocols: type) -> None:
    """Raise `TypeError` at construction when `store` lacks part of `protocols`.

    `role` says what the store was given for ("a client's store"). A store
    with some `SharedLimiterStore` methods must have all of them: half a
    shared limiter would quietly limit each process on its own.
    """
    wanted = list(protocols)
    if any(hasattr(store, name) for name in _members(SharedLimiterStore)):
        wanted.append(SharedLimiterStore)
    for protocol in wanted:
        missing = [n for n in _members(protocol) if not _has(store, n, protocol)]
        if missing:
            raise TypeError(
                f"{type(store).__name__} cannot be {role}: it lacks "
                f"{', '.join(missing)} of {protocol.__name__} (the store "
                "protocols are described in the stores guide)"
            )


def _members(protocol: type) -> list[str]:
    """The methods and properties a protocol asks for, its bases' included."""
    names: list[str] = []
    for cls in protocol.__mro__:
        if getattr(cls, "_is_protocol", False) and cls is not Protocol:
            names += [n for n in vars(cls) if not n.startswith("_")]
    return sorted(set(names))


def _has(store: object, name: str, protocol: type) -> bool:
    """`store` has `name`: any value for a property, else something callable."""
    if not hasattr(store, name):
        return False
    return isinstance(getattr(protocol, name), property) or callable(
        getattr(store, name)
    )
