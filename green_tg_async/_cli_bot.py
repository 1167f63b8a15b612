"""Finding the router `green-tg bot MODULE:ATTRIBUTE` runs."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .bot import Router

__all__ = ["load_router"]


def load_router(target: str) -> Router:
    """Import `module:attribute` (from the current directory too) as a `Router`.

    Raises:
        ValueError: The target is malformed, missing, or not a Router.
    """
    from .bot import Router

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"bot target must look like module:router, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    if not hasattr(module, attribute):
        raise ValueError(f"{module_name} has no attribute {attribute!r}")
    router = getattr(module, attribute)
    if not isinstance(router, Router):
        kind = type(router).__name__
        raise ValueError(f"{target} is a {kind}, not a green_tg_async.bot.Router")
    return router
