"""Models returned by the account section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._decode import expect_object, require

__all__ = ["InstanceState"]


@dataclass(frozen=True, slots=True)
class InstanceState:
    """The instance's authorization state (`getStateInstance`)."""

    state_instance: str
    """`authorized`, `notAuthorized`, `pendingPassword`, `starting`, `blocked`,
    `suspended` (or a value added later; the server decides)."""

    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The decoded JSON exactly as received."""

    @classmethod
    def from_wire(cls, data: Any) -> InstanceState:
        """Decode a `getStateInstance` answer."""
        obj = expect_object("getStateInstance", data)
        state = require("getStateInstance", obj, "stateInstance", str)
        return cls(state_instance=state, raw=obj)
