"""`green-tg check-file`: read numbers, resume from OUT, write each answer at once."""

from __future__ import annotations

import csv
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from ._exceptions import CircuitOpenError, ContactInfoLimitError
from .models import AccountCheck

__all__ = [
    "COLUMNS",
    "Progress",
    "ResultWriter",
    "done_numbers",
    "drop_torn_tail",
    "eta_seconds",
    "read_numbers",
    "row_for",
]

COLUMNS: Final = ("phone", "exist", "chat_id", "status", "error")


def read_numbers(path: Path) -> list[str]:
    """Numbers from a CSV (first column) or one per line; a header row is skipped."""
    numbers: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for index, row in enumerate(csv.reader(handle)):
            cell = row[0].strip() if row else ""
            if index == 0 and cell.lower() in ("phone", "phone_number", "number"):
                continue
            if cell:
                numbers.append(cell)
    return numbers


def drop_torn_tail(path: Path) -> None:
    """Cut OUT back to its last complete line.

    A run killed mid-write (or a full disk) can leave half a row without its
    line ending; appending would glue the next row onto it. The fragment's
    number has no valid row, so it stays pending and is checked again.
    """
    if not path.exists():
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if not data or data.endswith(b"\n"):
            return
        handle.truncate(data.rfind(b"\n") + 1)


def done_numbers(path: Path) -> set[str]:
    """Numbers answered (or found invalid) in an earlier run's OUT file.

    Rows with status `error` are tried again; paused numbers are never written.
    """
    if not path.exists():
        return set()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {r["phone"] for r in rows if r.get("status") in ("ok", "invalid")}


def row_for(number: object, outcome: object) -> dict[str, str]:
    """One OUT row: an answer, an invalid line, a pause or an error."""
    if isinstance(outcome, AccountCheck):
        exist = "true" if outcome.exist else "false"
        return _row(number, exist, outcome.chat_id or "", "ok", "")
    if isinstance(outcome, ValueError):
        return _row(number, "", "", "invalid", str(outcome))
    status = (
        "paused"
        if isinstance(outcome, CircuitOpenError | ContactInfoLimitError)
        else "error"
    )
    return _row(number, "", "", status, str(outcome))


def _row(
    number: object, exist: str, chat_id: str, status: str, error: str
) -> dict[str, str]:
    return dict(zip(COLUMNS, (str(number), exist, chat_id, status, error), strict=True))


class ResultWriter:
    """Append rows to OUT, flushing each one, so a killed run loses nothing."""

    def __init__(self, path: Path, *, append: bool) -> None:
        fresh = not (append and path.exists() and path.stat().st_size > 0)
        self._file: IO[str] = path.open(
            "w" if fresh else "a", newline="", encoding="utf-8"
        )
        self._csv = csv.DictWriter(self._file, fieldnames=COLUMNS)
        if fresh:
            self._csv.writeheader()
            self._file.flush()

    def write(self, row: dict[str, str]) -> None:
        self._csv.writerow(row)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class Progress:
    """Show done/total, rate and ETA on stderr.

    A live rich bar on a terminal, else a line every 50 numbers; `quiet`
    (for --json) shows nothing.
    """

    def __init__(self, total: int, *, quiet: bool) -> None:
        self._total, self._done, self._started = total, 0, time.monotonic()
        self._quiet = quiet
        self._bar: Any = None
        if not quiet and sys.stderr.isatty():
            self._bar = _rich_bar(total)

    def advance(self) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar[0].advance(self._bar[1])
        elif not self._quiet and (self._done % 50 == 0 or self._done == self._total):
            print(self.line(), file=sys.stderr)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self._done / elapsed
        eta = (self._total - self._done) / rate if rate else float("inf")
        return f"{self._done}/{self._total} checked, {rate:.1f}/s, ETA {eta:.0f} s"

    def close(self) -> None:
        if self._bar is not None:
            self._bar[0].stop()


def eta_seconds(
    total: int, rate: float, pace: float, budget: tuple[tuple[int, float], ...]
) -> float:
    """Seconds `total` look-ups take at `rate` times `pace`, within `budget`.

    The pace is taken as it is now (it only climbs while no 469 comes), and
    each budget window lets its count through per span.
    """
    eta = total / (rate * pace) if total else 0.0
    for count, span in budget:
        eta = max(eta, (math.ceil(total / count) - 1) * span)
    return eta


def _rich_bar(total: int) -> tuple[Any, Any] | None:
    try:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress as RichProgress,
            TaskProgressColumn,
            TimeRemainingColumn,
        )
    except ImportError:  # pragma: no cover - depends on the cli extra
        return None
    bar = RichProgress(
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task("checking", total=total)


def pending(numbers: list[str], done: set[str]) -> Iterator[str]:
    """Numbers not answered yet, in file order."""
    return (n for n in numbers if n not in done)
