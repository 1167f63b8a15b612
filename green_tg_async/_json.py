"""JSON helpers: canonical text, and decoding that fails plainly on deep nesting."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads"]


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON: equal values give equal text."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def loads(data: str | bytes) -> Any:
    """`json.loads`, but a body nested too deeply is a `ValueError`.

    The standard decoder recurses per level and raises `RecursionError` on
    `[[[[…]]]]` a few thousand deep; an answer or webhook body like that is
    just malformed input to us.
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
