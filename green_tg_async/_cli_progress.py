"""`green-tg check-file`'s progress: counts kept apart, one ETA, the rate."""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Pace", "Progress", "duration", "eta_seconds", "plural"]

# A row's status, as the progress line names it, in the order it names them.
KINDS: Final = {
    "ok": "checked",
    "invalid": "invalid",
    "paused": "paused",
    "error": "failed",
}


@dataclass(frozen=True, slots=True)
class Pace:
    """What bounds the look-ups' speed: the rate, the pace, the budget, a pause."""

    rate: float
    """Look-ups per second the rate limit allows."""

    pace: float = 1.0
    """The adaptive pace's share of `rate` (below 1 after a 469)."""

    budget: tuple[tuple[int, float], ...] = ()
    """The look-up budget's windows, as (look-ups, seconds)."""

    paused_for: float = 0.0
    """Seconds left of a running pause."""


def eta_seconds(total: int, pace: Pace) -> float:
    """Seconds `total` look-ups take: after the pause, at rate x pace, within budget.

    The pace is taken as it is now (it only climbs while no 469 comes), and
    each budget window lets its count through per span.
    """
    if not total:
        return 0.0
    eta = total / (pace.rate * pace.pace)
    for count, span in pace.budget:
        eta = max(eta, (math.ceil(total / count) - 1) * span)
    return pace.paused_for + eta


def duration(seconds: float) -> str:
    """`seconds` as a person reads it: "3 min 20 s", "216 h 05 min"."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def plural(count: int, noun: str) -> str:
    """`count` and `noun`, plural unless one: "1 number", "0 numbers"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class Progress:
    """Show the counts, the rate and the ETA on stderr.

    Checked, invalid, paused and failed numbers are counted apart. A live rich
    bar on a terminal, else a line every 50 numbers; `quiet` (for --json)
    shows nothing. The ETA is `eta_seconds` of what is left, at the rate seen
    so far when that is slower than the pace allows.
    """

    def __init__(
        self,
        total: int,
        pace: Pace,
        *,
        quiet: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._total, self._pace, self._clock = total, pace, clock
        self._started = clock()
        self.counts: Counter[str] = Counter()  # by row status
        self._quiet = quiet
        self._bar: Any = _rich_bar(total) if not quiet and sys.stderr.isatty() else None

    def by_kind(self) -> dict[str, int]:
        """The counts so far, in a fixed order, leaving out kinds not seen."""
        return {kind: self.counts[s] for s, kind in KINDS.items() if self.counts[s]}

    @property
    def done(self) -> int:
        """Numbers with an outcome so far, whatever it was."""
        return sum(self.counts.values())

    def advance(self, status: str) -> None:
        """Count one number's outcome (a row's status) and show it."""
        self.counts[status] += 1
        if self._bar is not None:
            bar, task = self._bar
            bar.update(task, advance=1, status=self.line())
        elif not self._quiet and (self.done % 50 == 0 or self.done == self._total):
            print(self.line(), file=sys.stderr)

    def rate(self) -> float:
        """Numbers a second so far."""
        return self.done / max(self._clock() - self._started, 1e-9)

    def eta(self) -> float:
        """Seconds left: what the pace allows, or the rate seen if that is slower."""
        left = self._total - self.done
        seen = self.rate()
        allowed = self._pace.rate * self._pace.pace
        if self.counts["paused"] or not seen or seen >= allowed:
            return eta_seconds(left, self._pace)
        return max(eta_seconds(left, self._pace), left / seen)

    def line(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in self.by_kind().items())
        return (
            f"{self.done}/{self._total} ({counts}), {self.rate():.1f}/s,"
            f" ETA {duration(self.eta())}"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar[0].stop()


def _rich_bar(total: int) -> tuple[Any, Any] | None:
    try:
        from rich.progress import BarColumn, Progress as RichProgress, TextColumn
    except ImportError:  # pragma: no cover - depends on the cli extra
        return None
    bar = RichProgress(BarColumn(), TextColumn("{task.fields[status]}"), transient=True)
    bar.start()
    return bar, bar.add_task("checking", total=total, status=f"0/{total}")
