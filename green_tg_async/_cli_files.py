"""`green-tg check-file`'s output: rows, the journal a run appends to, the final OUT.

A run appends each row to `OUT.part` (flushed, so a killed run loses
nothing). When it ends, however it ends, the rows of OUT (on --resume) and of
the journal are merged in input order into a temporary file that then
replaces OUT, so OUT never holds half a row and is never half-written.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO, Final

from ._cli_errors import connection_failure, root_cause
from ._cli_input import Line, neutralise
from ._exceptions import CircuitOpenError, ContactInfoLimitError
from .models import AccountCheck

__all__ = [
    "COLUMNS",
    "ResultWriter",
    "check_output",
    "done_numbers",
    "finish",
    "journal",
    "row_for",
]

COLUMNS: Final = ("phone", "exist", "chat_id", "status", "error", "line")
ANSWERED: Final = ("ok", "invalid")  # statuses --resume does not ask again


def journal(out: Path) -> Path:
    """Where a run appends its rows before they go into OUT."""
    return out.with_name(out.name + ".part")


def check_output(file: Path, out: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse an OUT that would destroy the input or an earlier run's rows.

    Raises:
        ValueError: OUT is FILE (by any path), or holds rows and neither
            --resume nor --overwrite says what to do with them.
    """
    if _same(out, file) or _same(journal(out), file):
        raise ValueError(f"-o {out} is the input file; name another file")
    if resume or overwrite:
        return
    for path in (out, journal(out)):
        if path.exists() and path.stat().st_size > 0:
            raise ValueError(
                f"{path} already holds results: --resume continues that run,"
                " --overwrite replaces it"
            )


def _same(one: Path, other: Path) -> bool:
    """Whether two paths name one file: by any spelling, symlink or hard link."""
    if one.resolve() == other.resolve():
        return True
    return one.exists() and other.exists() and os.path.samefile(one, other)


def row_for(number: object, outcome: object, line: int | None = None) -> dict[str, str]:
    """One row: an answer, an invalid line, a pause or an error."""
    where = "" if line is None else str(line)
    if isinstance(outcome, AccountCheck):
        exist = "true" if outcome.exist else "false"
        return _row(number, exist, outcome.chat_id or "", "ok", "", where)
    if isinstance(outcome, ValueError):
        return _row(number, "", "", "invalid", str(outcome), where)
    paused = isinstance(outcome, CircuitOpenError | ContactInfoLimitError)
    status = "paused" if paused else "error"
    if connection_failure(outcome):
        error = f"{outcome.method}: cannot connect: {root_cause(outcome)}"
    else:
        error = str(outcome)
    return _row(number, "", "", status, error, where)


def problem_row(line: Line) -> dict[str, str]:
    """The row of a line that holds no number to check."""
    return _row(line.phone, "", "", "invalid", line.problem, str(line.number))


def _row(
    number: object, exist: str, chat_id: str, status: str, error: str, line: str
) -> dict[str, str]:
    cells = (neutralise(str(number)), exist, chat_id, status, neutralise(error), line)
    return dict(zip(COLUMNS, cells, strict=True))


def done_numbers(out: Path) -> set[str]:
    """Phone cells answered (or found invalid) in OUT and its journal.

    Rows with status `error` are tried again; paused numbers are never written.
    """
    rows = [*_rows(out), *_rows(journal(out))]
    return {r["phone"] for r in rows if r.get("status") in ANSWERED}


def _rows(path: Path) -> list[dict[str, str]]:
    """The complete rows of a results file (a torn last line is not one)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):  # killed mid-write: that row is asked again
        text = text[: text.rfind("\n") + 1]
    return [dict(r) for r in csv.DictReader(text.splitlines()) if r.get("phone")]


class ResultWriter:
    """Append rows to OUT's journal, flushing each: a killed run loses nothing."""

    def __init__(self, out: Path) -> None:
        path = journal(out)
        _drop_torn_tail(path)
        fresh = not (path.exists() and path.stat().st_size > 0)
        self._file: IO[str] = path.open("a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._file, fieldnames=COLUMNS)
        self.written = 0
        if fresh:
            self._csv.writeheader()
            self._file.flush()

    def write(self, row: dict[str, str]) -> None:
        self._csv.writerow(row)
        self._file.flush()
        self.written += 1

    def close(self) -> None:
        self._file.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a journal to its last complete line: nothing is glued onto half a row."""
    if not path.exists():
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)


def finish(out: Path, *, resume: bool) -> int:
    """Merge OUT (on --resume) and the journal into OUT, in input order; count rows.

    A later row for the same line replaces an earlier one (an `error` row
    asked again). The merge goes to a temporary file that replaces OUT.
    """
    merged: dict[str, dict[str, str]] = {}
    for row in [*(_rows(out) if resume else []), *_rows(journal(out))]:
        merged[row.get("line") or row["phone"]] = row
    rows = sorted(merged.values(), key=_position)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # umask applies
    with temporary.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, out)
    journal(out).unlink(missing_ok=True)
    return len(rows)


def _position(row: dict[str, str]) -> int:
    line = row.get("line") or ""
    return int(line) if line.isdigit() else 0
