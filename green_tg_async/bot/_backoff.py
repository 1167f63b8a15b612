"""The dispatcher's own back-off: exponential with jitter, from a `RetryPolicy`.

Only the policy's public fields are read (`initial_delay`, `max_delay`), so
the bot layer stays on the client's public API.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from green_tg_async import RetryPolicy

__all__ = ["delay"]


def delay(policy: RetryPolicy, failures: int) -> float:
    """Seconds to wait after `failures` failures in a row (1 or more).

    `initial_delay` doubling per failure, capped at `max_delay`, plus up to
    `initial_delay` of jitter (so replicas that failed together spread out).
    """
    exponent = min(max(failures, 1) - 1, 62)  # 2**62 s is past any cap
    base = min(policy.max_delay, policy.initial_delay * 2.0**exponent)
    return base + random.uniform(0, policy.initial_delay)
