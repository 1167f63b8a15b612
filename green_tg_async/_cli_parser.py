"""`green-tg`'s arguments: the commands, their options and the types checking them."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from ._cli_input import DELIMITERS
from ._cli_text import CREDENTIALS, DESCRIPTION, EPILOG, HELP, SUBCOMMANDS
from ._config import LookupBudget
from ._version import __version__

__all__ = ["build_parser"]

_N = TypeVar("_N", int, float)


class _Parser(argparse.ArgumentParser):
    """argparse, with a hint when a global option comes after the command."""

    def error(self, message: str) -> NoReturn:
        words = message.split()
        if message.startswith("unrecognized arguments:"):
            own = {o for a in self._actions for o in a.option_strings}
            misplaced = [w for w in words if w in own - {"-h", "--help"}]
            if misplaced:
                message += (
                    f"\nhint: {misplaced[0]} is a global option: put it before the"
                    f" command, as in green-tg {misplaced[0]} COMMAND ..."
                )
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line."""
    parser = _Parser(
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
    for add in (_add_checks, _add_instance, _add_messages, _add_bot):
        add(commands)
    return parser


def _add_checks(commands: Any) -> None:
    """`check` and `check-file`."""
    check = _command(commands, "check")
    check.add_argument(
        "numbers", nargs="+", metavar="NUMBER", help="phone numbers to look up"
    )
    _budget_options(check)
    check_file = _command(commands, "check-file")
    check_file.add_argument(
        "file", type=Path, metavar="FILE", help="a CSV (first column) or one per line"
    )
    check_file.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="the CSV to write (never FILE)",
    )
    existing = check_file.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", action="store_true", help="skip numbers already answered in OUT"
    )
    existing.add_argument(
        "--overwrite", action="store_true", help="replace an OUT that holds results"
    )
    check_file.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="checks in flight at once, 1 or more (default 4)",
    )
    check_file.add_argument(
        "--encoding",
        metavar="NAME",
        help="FILE's encoding, e.g. cp1251 (default: UTF-8, or UTF-16 by its BOM)",
    )
    check_file.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="CHAR",
        help="FILE's cell separator (default: the one of , ; tab | it uses most)",
    )
    _budget_options(check_file)


def _add_instance(commands: Any) -> None:
    """`state`, `wait-ready`, `login` and `breaker`."""
    _command(commands, "state")
    _wait_option(_command(commands, "wait-ready"))
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
    _wait_option(log_in)
    breaker = _command(commands, "breaker")
    breaker.add_argument(
        "action",
        choices=["status", "reset"],
        help="status shows the pause, reset clears it",
    )


def _add_messages(commands: Any) -> None:
    """`send` and `receive`."""
    send = _command(commands, "send")
    send.add_argument(
        "chat_id", metavar="CHAT_ID", help="a phone number's chat, a user or a group"
    )
    send.add_argument("text", metavar="TEXT", help="the message")
    send.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="send once per KEY (24 h); a repeat prints the first idMessage",
    )
    receive = _command(commands, "receive")
    receive.add_argument("--follow", action="store_true", help="keep polling")
    _long_poll_option(receive)
    receive.add_argument(
        "--count", type=_positive, help="stop after COUNT notifications, 1 or more"
    )


def _add_bot(commands: Any) -> None:
    """`bot`."""
    bot = _command(commands, "bot")
    bot.add_argument("target", metavar="MODULE:ROUTER", help="e.g. mybot:router")
    bot.add_argument(
        "--concurrency",
        type=_positive,
        default=16,
        metavar="N",
        help="chats at once, 1 or more (default 16)",
    )
    _long_poll_option(bot)
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


def _wait_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        help="seconds, 0 or more (default 300)",
    )


def _long_poll_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_long_poll,
        default=20,
        help="long-poll seconds, 5-60 (default 20)",
    )


def _budget_options(parser: argparse.ArgumentParser) -> None:
    """--per-minute/--per-hour/--per-day: the look-up budget (`LookupBudget`)."""
    default = LookupBudget()
    for window in ("minute", "hour", "day"):
        now = getattr(default, f"per_{window}")
        parser.add_argument(
            f"--per-{window}",
            type=_positive,
            metavar="N",
            help=f"look-ups in any {window}, 1 or more"
            + (f" (default {now})" if now else " (default: no limit)"),
        )


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
    value = _parse(int, text, "a whole number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _parse(convert: Callable[[str], _N], text: str, noun: str) -> _N:
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None


def _long_poll(text: str) -> int:
    """An argparse type: GREEN-API's long-poll seconds, 5 to 60."""
    value = _positive(text)
    if not 5 <= value <= 60:
        raise argparse.ArgumentTypeError(f"must be 5-60 seconds, got {text}")
    return value


def _delimiter(text: str) -> str:
    """An argparse type: one character; the word `tab` for a tab."""
    value = "\t" if text == "tab" else text
    if len(value) != 1 or value in '"\r\n':
        named = ", ".join(repr(d) for d in DELIMITERS)
        raise argparse.ArgumentTypeError(f"one character, e.g. {named}; got {text!r}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: seconds, zero or more."""
    value = _parse(float, text, "a number of seconds")
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value
