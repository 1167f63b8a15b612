"""`green-tg check` and `green-tg check-file`: look numbers up, report truthfully."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import Any

from ._cli_errors import API_ERROR, OK, PAUSED, tidy
from ._cli_files import (
    ResultWriter,
    check_output,
    done_numbers,
    finish,
    journal,
    problem_row,
    row_for,
)
from ._cli_input import Line, neutralise, read_lines
from ._cli_progress import Pace, Progress, duration, eta_seconds, plural
from ._client import AsyncGreenTelegram
from ._exceptions import AuthenticationError, PermissionDeniedError

__all__ = ["check", "check_file", "exit_code", "iso", "json_row", "resume_command"]


async def check(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    """Check the NUMBER arguments; print a line (or a JSON row) each."""
    rows = [
        {k: v for k, v in row_for(number, outcome).items() if k != "line"}
        async for number, outcome in _outcomes(tg, args.numbers, concurrency=4)
    ]
    if args.json:
        print(json.dumps([json_row(row) for row in rows]))
    else:
        for row in rows:
            print(" ".join(f"{k}={v}" for k, v in row.items() if v))
    return exit_code(row["status"] for row in rows)


async def _outcomes(
    tg: AsyncGreenTelegram, numbers: Iterable[str], *, concurrency: int
) -> AsyncIterator[tuple[str, object]]:
    """`check_accounts`, stopped at the first 401 or 403: every number would get one."""
    stream = tg.service.check_accounts(list(numbers), concurrency=concurrency)
    async with aclosing(stream):
        async for number, outcome in stream:
            if isinstance(outcome, AuthenticationError | PermissionDeniedError):
                raise outcome
            yield str(number), outcome


def json_row(row: dict[str, str]) -> dict[str, Any]:
    """A row for --json: `exist` a real boolean (null when unknown)."""
    return {**row, "exist": {"true": True, "false": False}.get(row["exist"])}


async def check_file(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    """Check every line of FILE into OUT; see `_cli_files` for how OUT is kept."""
    out = args.output
    check_output(args.file, out, resume=args.resume, overwrite=args.overwrite)
    lines = read_lines(args.file, encoding=args.encoding, delimiter=args.delimiter)
    if not args.resume:
        journal(out).unlink(missing_ok=True)  # --overwrite: an old journal too
    done = done_numbers(out) if args.resume else set()
    todo = [x for x in lines if x.problem != "blank" and not _done(x, done)]
    pace = await _pace(tg)
    if not args.json:
        print(_plan(pace, len(todo)), file=sys.stderr)
    args.writer = writer = ResultWriter(out)  # main() reports it on Ctrl-C
    progress = Progress(len(todo), pace, quiet=args.json)
    try:
        await _check_lines(tg, args, todo, writer, progress)
    finally:
        progress.close()
        writer.close()
        finish(out, resume=args.resume)
    return await _report(tg, args, progress, lines)


def _done(line: Line, done: set[str]) -> bool:
    """Whether OUT answers `line` (as written now, or raw by an older version)."""
    return neutralise(line.phone) in done or line.phone in done


async def _check_lines(
    tg: AsyncGreenTelegram,
    args: argparse.Namespace,
    todo: list[Line],
    writer: ResultWriter,
    progress: Progress,
) -> None:
    lines_of: dict[str, list[int]] = {}
    for line in todo:
        if line.problem:
            writer.write(problem_row(line))
            progress.advance("invalid")
        else:
            lines_of.setdefault(line.phone, []).append(line.number)
    async for number, outcome in _outcomes(tg, lines_of, concurrency=args.concurrency):
        for where in lines_of[number]:
            row = row_for(number, outcome, where)
            if row["status"] != "paused":  # not an answer: --resume asks again
                writer.write(row)
            progress.advance(row["status"])


async def _pace(tg: AsyncGreenTelegram) -> Pace:
    """The look-ups' rate, pace, budget and running pause as they are now."""
    limits = tg.rate_limits
    state = await tg.breaker.state()
    paused_for = state.retry_at.timestamp() - tg.clock() if state.retry_at else 0.0
    return Pace(
        rate=limits.rate_for("checkAccount"),
        pace=state.pace,
        budget=limits.lookup_budget.windows if limits.lookup_budget else (),
        paused_for=max(paused_for, 0.0),
    )


def _plan(pace: Pace, total: int) -> str:
    """The look-up pace now and the ETA it gives for `total` numbers."""
    learned = " (slowed after a 469)" if pace.pace < 1 else ""
    paused = f"; paused for {duration(pace.paused_for)}" if pace.paused_for else ""
    return (
        f"look-up pace {pace.pace:.0%} of {pace.rate:g}/s{learned}{paused}; "
        f"{plural(total, 'number')}, ETA {duration(eta_seconds(total, pace))}"
    )


async def _report(
    tg: AsyncGreenTelegram,
    args: argparse.Namespace,
    progress: Progress,
    lines: list[Line],
) -> int:
    blank = sum(x.problem == "blank" for x in lines)
    broken = [x.number for x in lines if not x.parsed]
    summary: dict[str, Any] = {
        "numbers": progress.done,
        "by_status": progress.by_kind(),
    }
    summary |= {"blank_lines": blank, "unparseable_lines": broken}
    text = _summary(progress, blank, broken)
    code = exit_code(progress.counts)
    state = await tg.breaker.state()
    if code == PAUSED and state.retry_at is not None:
        when, again = iso(state.retry_at), resume_command(args.argv)
        summary |= {"resume_after": when, "resume_command": again}
        text += (
            f"\npaused until {when} ({tidy(state.reason or '')});"
            f" after that, continue with: {again}"
        )
        if args.sandbox:
            summary["sandbox_forgets"] = True
            text += (
                "\n(--sandbox starts a fresh fake and forgets this pause, so a "
                "sandbox --resume runs at once; a real instance stays paused)"
            )
    print(json.dumps(summary) if args.json else text)
    return code


def _summary(progress: Progress, blank: int, broken: list[int]) -> str:
    """The summary line: "12 numbers, 11 checked, 1 invalid; could not parse line 1"."""
    text = plural(progress.done, "number")
    text += "".join(f", {n} {kind}" for kind, n in progress.by_kind().items())
    if blank:
        text += f"; {plural(blank, 'blank line')} skipped"
    if broken:
        text += "; could not parse line" + "s" * (len(broken) > 1)
        text += " " + ", ".join(map(str, broken))
    return text


def iso(when: datetime) -> str:
    """The one date format the CLI prints, as the library's messages do."""
    return when.isoformat(timespec="seconds")


def resume_command(argv: Sequence[str]) -> str:
    """The command line that continues this run: --resume instead of --overwrite."""
    words = [w for w in argv if w != "--overwrite"]
    return shlex.join(["green-tg", *words, *(["--resume"] * ("--resume" not in words))])


def exit_code(statuses: Iterable[str]) -> int:
    """Paused beats failed beats done."""
    seen = set(statuses)
    if "paused" in seen:
        return PAUSED
    return API_ERROR if "error" in seen else OK
