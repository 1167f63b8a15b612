"""`green-tg`: the command line.

Exit codes: 0 ok, 1 an API error, 2 usage or configuration, 3 the instance is paused
(or, for `wait-ready` and `login`, not authorized in time); `login` adds 4 wrong code
or password, 5 too many tries, 6 start again. Credentials come from `--id-instance` /
GREEN_API_ID_INSTANCE and GREEN_API_TOKEN / `--token-file`, never the token from an
argument; `--sandbox` runs against the built-in FakeGreenAPI. The help texts are in
`_cli_text`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from ._cli_bot import load_router
from ._cli_files import (
    Progress,
    ResultWriter,
    done_numbers,
    drop_torn_tail,
    eta_seconds,
    pending,
    read_numbers,
    row_for,
)
from ._cli_login import login
from ._cli_text import CREDENTIALS, DESCRIPTION, EPILOG, HELP, SUBCOMMANDS
from ._client import AsyncGreenTelegram
from ._config import RateLimits
from ._exceptions import (
    CircuitOpenError,
    ContactInfoLimitError,
    GreenAPIError,
    InstanceNotReadyError,
)
from ._version import __version__
from .stores import MemoryStore, SqliteStore, StateStore

__all__ = ["main"]

OK, API_ERROR, USAGE, PAUSED = 0, 1, 2, 3
STATE_ENV: Final = "GREEN_TG_STATE"  # where the CLI keeps the breaker between runs
SANDBOX_USER: Final = 1234567  # the chat `--say` texts come from in the sandbox


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="green-tg",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"green-tg {__version__}"
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against a built-in fake GREEN-API (no account, no network)",
    )
    parser.add_argument(
        "--id-instance",
        metavar="ID",
        help="the instance's idInstance (default: GREEN_API_ID_INSTANCE)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="read the API token from FILE (default: GREEN_API_TOKEN)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--region",
        help="read national numbers as this country writes them (ISO 3166, e.g. RU;"
        " default GREEN_API_PHONE_REGION; needs the phone extra)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = _command(commands, "check")
    check.add_argument("numbers", nargs="+", metavar="NUMBER")
    check_file = _command(commands, "check-file")
    check_file.add_argument("file", type=Path, metavar="FILE")
    check_file.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="the CSV to write",
    )
    check_file.add_argument(
        "--resume", action="store_true", help="skip numbers already answered in OUT"
    )
    check_file.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="checks in flight at once (default 4)",
    )
    _command(commands, "state")
    wait_ready = _command(commands, "wait-ready")
    wait_ready.add_argument(
        "--timeout", type=_seconds, default=300.0, help="seconds (default 300)"
    )
    log_in = _command(commands, "login")
    how = log_in.add_mutually_exclusive_group(required=True)
    how.add_argument("--phone", help="the account's phone number (a code is sent)")
    how.add_argument("--qr", action="store_true", help="show a QR code to scan")
    log_in.add_argument(
        "--qr-file", type=Path, metavar="PNG", help="write the QR PNG here instead"
    )
    log_in.add_argument(
        "--invert", action="store_true", help="QR for a light terminal background"
    )
    log_in.add_argument(
        "--timeout", type=_seconds, default=300.0, help="seconds (default 300)"
    )
    send = _command(commands, "send")
    send.add_argument("chat_id", metavar="CHAT_ID")
    send.add_argument("text", metavar="TEXT")
    send.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="send once per KEY (24 h); a repeat prints the first idMessage",
    )
    receive = _command(commands, "receive")
    receive.add_argument("--follow", action="store_true", help="keep polling")
    receive.add_argument(
        "--timeout",
        type=_positive,
        default=20,
        help="long-poll seconds (default 20)",
    )
    receive.add_argument(
        "--count", type=_positive, help="stop after COUNT notifications"
    )
    bot = _command(commands, "bot")
    bot.add_argument("target", metavar="MODULE:ROUTER", help="e.g. mybot:router")
    bot.add_argument(
        "--concurrency",
        type=_positive,
        default=16,
        metavar="N",
        help="chats at once (default 16)",
    )
    bot.add_argument(
        "--timeout",
        type=_positive,
        default=20,
        help="long-poll seconds (default 20)",
    )
    bot.add_argument(
        "--until-empty",
        action="store_true",
        help="stop once the queue is empty (the default with --sandbox)",
    )
    bot.add_argument(
        "--say",
        action="append",
        default=[],
        metavar="TEXT",
        help="sandbox: queue TEXT from a test user first (repeatable)",
    )
    breaker = _command(commands, "breaker")
    breaker.add_argument("action", choices=["status", "reset"])
    return parser


def _command(commands: Any, name: str) -> argparse.ArgumentParser:
    """A subcommand with its help, an example, and where credentials come from."""
    summary, example = SUBCOMMANDS[name]
    description = "\n\n".join(textwrap.fill(p, 80) for p in HELP[name].split("\n\n"))
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"example:\n  {example}\n\n{CREDENTIALS}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _positive(text: str) -> int:
    """An argparse type: a whole number above zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: seconds, zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except ValueError as exc:
        return _usage(_cli_words(str(exc), args.command))
    except OSError as exc:
        where = f"{exc.filename}: {exc.strerror}" if exc.filename else None
        return _usage(where or str(exc))


def _usage(message: str) -> int:
    print(f"green-tg: {message}", file=sys.stderr)
    return USAGE


async def _run(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        async with _client(args, store) as tg:
            return await _COMMANDS[args.command](tg, args)
    except CircuitOpenError as exc:
        _say(args, {"error": str(exc), "retry_at": exc.retry_at.isoformat()}, str(exc))
        return PAUSED
    except ContactInfoLimitError as exc:  # the 469 itself: the pause starts now
        _say(args, {"error": str(exc)}, f"{type(exc).__name__}: {exc}")
        return PAUSED
    except GreenAPIError as exc:
        _say(args, {"error": str(exc)}, f"{type(exc).__name__}: {exc}")
        return API_ERROR
    finally:
        await store.aclose()


def _store(args: argparse.Namespace) -> StateStore:
    if args.sandbox:
        return MemoryStore()
    default = Path.home() / ".cache" / "green-tg" / "state.sqlite3"
    path = Path(os.environ.get(STATE_ENV, default))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(path)


def _client(args: argparse.Namespace, store: StateStore) -> AsyncGreenTelegram:
    if args.sandbox:
        from .testing import FakeGreenAPI

        limit = int(os.environ.get("GREEN_TG_SANDBOX_LOOKUP_LIMIT", "200"))
        rate = float(os.environ.get("GREEN_TG_SANDBOX_RATE", "20"))
        fake = FakeGreenAPI(lookup_limit=limit, rate_limits=False)
        fake.state = os.environ.get("GREEN_TG_SANDBOX_STATE", fake.state)
        if args.command == "login":
            _script_sandbox_login(fake)
        limits = RateLimits(per_method={"checkAccount": rate})
        args.fake = fake  # commands that script the sandbox find it here
        return fake.client(store=store, limits=limits, phone_region=args.region)
    try:
        return AsyncGreenTelegram(
            id_instance=_id_instance(args),
            api_token=_token(args),
            store=store,
            phone_region=args.region,
        )
    except ImportError:
        raise ValueError(
            "--region needs the phone extra: pip install 'green-tg-async[phone]'"
        ) from None


def _id_instance(args: argparse.Namespace) -> str:
    value = args.id_instance or os.environ.get("GREEN_API_ID_INSTANCE", "")
    if not value.strip():
        raise ValueError(
            "no instance: pass --id-instance ID or set GREEN_API_ID_INSTANCE"
        )
    return value


def _token(args: argparse.Namespace) -> str:
    if args.token_file is None:
        value = os.environ.get("GREEN_API_TOKEN", "").strip()
        if not value:
            raise ValueError(
                "no API token: set GREEN_API_TOKEN or pass --token-file FILE"
            )
        return value
    path: Path = args.token_file
    try:
        value = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:  # its message would show bytes of the token
        raise ValueError(f"--token-file {args.token_file}: not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"--token-file {args.token_file}: {exc.strerror}") from None
    if not value:
        raise ValueError(f"no API token: --token-file {args.token_file} is empty")
    return value


# The client's keyword arguments, as a command-line user sets them.
_CLI_NAMES: Final = {
    "id_instance": "--id-instance (or GREEN_API_ID_INSTANCE)",
    "api_token": "the API token (GREEN_API_TOKEN or --token-file)",
    "api_url": "GREEN_API_URL",
    "media_url": "GREEN_API_MEDIA_URL",
    "phone_region": "--region (or GREEN_API_PHONE_REGION)",
}
# A command's positional arguments, where the library names its parameter.
_ARGUMENT_NAMES: Final = {"send": {"chat_id": "CHAT_ID", "message": "TEXT"}}


def _cli_words(message: str, command: str) -> str:
    """A library error, naming options and environment variables, not kwargs."""
    names = {**_CLI_NAMES, **_ARGUMENT_NAMES.get(command, {})}
    message = re.sub(r"pass (\w+)=", lambda m: "set " + names.get(m[1], m[1]), message)
    return re.sub(r"\b(" + "|".join(names) + r")\b", lambda m: names[m[1]], message)


def _script_sandbox_login(fake: Any) -> None:
    """The sandbox's account: the code is 12345, 2FA from GREEN_TG_SANDBOX_PASSWORD."""
    password = os.environ.get("GREEN_TG_SANDBOX_PASSWORD") or None
    fake.script_login(code="12345", password=password, qr_scans_after=2)
    extra = " and the 2FA password from GREEN_TG_SANDBOX_PASSWORD" if password else ""
    print(f"sandbox: the login code is 12345{extra}", file=sys.stderr)


def _say(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data) if args.json else text)


async def _check(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    rows = [row_for(n, o) async for n, o in tg.service.check_accounts(args.numbers)]
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(" ".join(f"{k}={v}" for k, v in row.items() if v))
    return _exit_code(row["status"] for row in rows)


async def _check_file(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    numbers = read_numbers(args.file)
    if args.resume:
        drop_torn_tail(args.output)
    done = done_numbers(args.output) if args.resume else set()
    todo = list(dict.fromkeys(pending(numbers, done)))
    if not args.json:
        print(await _plan(tg, len(todo)), file=sys.stderr)
    writer = ResultWriter(args.output, append=args.resume)
    progress = Progress(len(todo), quiet=args.json)
    statuses: list[str] = []
    try:
        stream = tg.service.check_accounts(todo, concurrency=args.concurrency)
        async for number, outcome in stream:
            row = row_for(number, outcome)
            if row["status"] != "paused":  # not an answer: --resume will ask again
                writer.write(row)
            statuses.append(row["status"])
            progress.advance()
    finally:
        progress.close()
        writer.close()
    return await _report(tg, args, statuses)


async def _plan(tg: AsyncGreenTelegram, total: int) -> str:
    """The look-up pace now and the ETA it gives for `total` numbers."""
    limits = tg.rate_limits
    rate = limits.rate_for("checkAccount")
    pace = (await tg.breaker.state()).pace
    budget = limits.lookup_budget.windows if limits.lookup_budget else ()
    eta = eta_seconds(total, rate, pace, budget)
    learned = " (slowed after a 469)" if pace < 1 else ""
    return (
        f"look-up pace {pace:.0%} of {rate:g}/s{learned}; "
        f"{total} numbers, ETA {_duration(eta)}"
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


async def _report(
    tg: AsyncGreenTelegram, args: argparse.Namespace, statuses: list[str]
) -> int:
    code = _exit_code(statuses)
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    state = await tg.breaker.state()
    summary: dict[str, Any] = {"checked": len(statuses), "by_status": counts}
    text = f"{len(statuses)} numbers: " + ", ".join(
        f"{n} {s}" for s, n in counts.items()
    )
    if code == PAUSED and state.retry_at is not None:
        summary["resume_after"] = state.retry_at.isoformat()
        text += (
            "\npaused by Telegram's look-up limit until "
            f"{state.retry_at:%Y-%m-%d %H:%M} UTC; run again with --resume after that"
        )
        if args.sandbox:
            summary["sandbox_forgets"] = True
            text += (
                "\n(--sandbox starts a fresh fake and forgets this pause, so a "
                "sandbox --resume runs at once; a real instance stays paused)"
            )
    _say(args, summary, text)
    return code


def _exit_code(statuses: Any) -> int:
    seen = set(statuses)
    if "paused" in seen:
        return PAUSED
    return API_ERROR if "error" in seen else OK


async def _state(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    state = await tg.account.get_state_instance()
    _say(args, {"stateInstance": state.state_instance}, state.state_instance)
    return OK


async def _wait_ready(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    """For start-up scripts: exit 0 once authorized, 3 if it does not become so."""
    try:
        state = await tg.account.wait_until_authorized(timeout=args.timeout)
    except InstanceNotReadyError as exc:
        _say(args, {"stateInstance": exc.state, "error": str(exc)}, str(exc))
        return PAUSED
    _say(args, {"stateInstance": state.state_instance}, state.state_instance)
    return OK


async def _send(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    sent = await tg.sending.send_message(
        args.chat_id, args.text, idempotency_key=args.idempotency_key
    )
    _say(args, {"idMessage": sent.id_message}, sent.id_message)
    return OK


async def _receive(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    """Print each notification as one JSON line, deleting it once printed."""
    seen = 0
    while args.count is None or seen < args.count:
        item = await tg.receiving.receive_notification(receive_timeout=args.timeout)
        if item is not None:
            print(json.dumps(dict(item.body.raw), ensure_ascii=False), flush=True)
            await tg.receiving.delete_notification(item.receipt_id)
            seen += 1
        elif not args.follow:
            break
    return OK


async def _breaker(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    if args.action == "reset":
        await tg.breaker.reset()
    state = await tg.breaker.state()
    when = state.retry_at.isoformat() if state.retry_at else None
    data = {"open": state.is_open, "reason": state.reason, "retry_at": when}
    text = f"paused until {when}: {state.reason}" if state.is_open else "closed"
    _say(args, data, text)
    return PAUSED if state.is_open else OK


async def _bot(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    """Run a router by polling; in the sandbox, say `--say` texts and print replies."""
    from .bot import Dispatcher

    router = load_router(args.target)
    fake = getattr(args, "fake", None)
    if fake is not None:
        for text in args.say:
            fake.incoming_text(SANDBOX_USER, text)
    dispatcher = Dispatcher(tg, router, concurrency=args.concurrency)
    until_empty = args.until_empty or fake is not None
    await dispatcher.run_polling(receive_timeout=args.timeout, until_empty=until_empty)
    if fake is not None:
        for item in fake.sent_messages():
            _say(args, item, f"bot -> {item['chatId']}: {item.get('message', '')}")
    return OK


_COMMANDS: Final = {
    "check": _check,
    "check-file": _check_file,
    "state": _state,
    "wait-ready": _wait_ready,
    "login": login,
    "send": _send,
    "receive": _receive,
    "breaker": _breaker,
    "bot": _bot,
}
