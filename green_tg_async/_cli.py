"""`green-tg`: the command line.

Exit codes: 0 ok, 1 an API error, 2 usage or configuration (credentials GREEN-API
refuses with a 401 or 403 too), 3 the instance is paused (or, for `wait-ready` and
`login`, not authorized in time); `login` adds 4 wrong code or password, 5 too many
tries, 6 start again; 130 Ctrl-C. Credentials come from `--id-instance` /
GREEN_API_ID_INSTANCE and GREEN_API_TOKEN / `--token-file`, never the token from an
argument; `--sandbox` runs against the built-in FakeGreenAPI. The arguments are in
`_cli_parser`, the help texts in `_cli_text`, `check` and `check-file` in `_cli_check`,
how errors are told in `_cli_errors`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from ._cli_bot import load_router
from ._cli_check import check, check_file, iso, resume_command
from ._cli_errors import API_ERROR, OK, PAUSED, USAGE, describe, tidy
from ._cli_login import login
from ._cli_parser import build_parser
from ._cli_progress import plural
from ._client import AsyncGreenTelegram
from ._config import LookupBudget, RateLimits
from ._exceptions import (
    AuthenticationError,
    CircuitOpenError,
    ContactInfoLimitError,
    GreenAPIError,
    InstanceNotReadyError,
    PermissionDeniedError,
)
from .stores import MemoryStore, SqliteStore, StateStore

__all__ = ["main"]

CREDENTIALS_REFUSED: Final = USAGE  # the exit-code table's row for credentials
INTERRUPTED: Final = 130  # 128 + SIGINT, as a shell reports Ctrl-C
STATE_ENV: Final = "GREEN_TG_STATE"  # where the CLI keeps the breaker between runs
SANDBOX_USER: Final = 1234567  # the chat `--say` texts come from in the sandbox


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(words)
    args.argv = words
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        print(f"green-tg: {_interrupted(args)}", file=sys.stderr)
        return INTERRUPTED
    except ValueError as exc:
        return _usage(_cli_words(str(exc), args.command))
    except OSError as exc:
        return _usage(f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))


def _interrupted(args: argparse.Namespace) -> str:
    """The one line Ctrl-C prints: for check-file, what is kept and how to go on."""
    writer = getattr(args, "writer", None)
    if writer is None:
        return "interrupted"
    return (
        f"interrupted; {plural(writer.written, 'row')} written to {args.output};"
        f" continue with: {resume_command(args.argv)}"
    )


def _usage(message: str) -> int:
    print(f"green-tg: {message}", file=sys.stderr)
    return USAGE


async def _run(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        tg = _client(args, store)
        try:
            async with tg:
                return await _COMMANDS[args.command](tg, args)
        except GreenAPIError as exc:
            return _failed(args, tg, exc)
    finally:
        await store.aclose()


def _failed(
    args: argparse.Namespace, tg: AsyncGreenTelegram, exc: GreenAPIError
) -> int:
    """Say what went wrong, once and in the user's words; return the exit code."""
    if isinstance(exc, CircuitOpenError):
        when = iso(exc.retry_at)
        text = f"paused until {when}: {tidy(exc.reason)}"
        _say(args, {"error": str(exc), "retry_at": when}, text)
        return PAUSED
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        text = (
            f"GREEN-API refused the credentials (HTTP {exc.status_code}): check the"
            " instance id (--id-instance or GREEN_API_ID_INSTANCE), the API token"
            " (GREEN_API_TOKEN or --token-file) and the API URL (GREEN_API_URL,"
            f" now {tg._api_url})"
        )
        _say(args, {"error": text, "status_code": exc.status_code}, text)
        return CREDENTIALS_REFUSED
    text = describe(exc, tg._api_url)
    _say(args, {"error": text}, text)
    return PAUSED if isinstance(exc, ContactInfoLimitError) else API_ERROR


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
        limits = RateLimits(
            per_method={"checkAccount": rate}, lookup_budget=_budget(args)
        )
        args.fake = fake  # commands that script the sandbox find it here
        return fake.client(store=store, limits=limits, phone_region=args.region)
    try:
        return AsyncGreenTelegram(
            id_instance=_id_instance(args),
            api_token=_token(args),
            store=store,
            limits=RateLimits(lookup_budget=_budget(args)),
            phone_region=args.region,
        )
    except ImportError:
        raise ValueError(
            "--region needs the phone extra: pip install 'green-tg-async[phone]'"
        ) from None


def _budget(args: argparse.Namespace) -> LookupBudget:
    """The look-up budget: LookupBudget's defaults, with the windows given."""
    given = {k: v for k, v in vars(args).items() if k.startswith("per_")}
    return LookupBudget(**{k: v for k, v in given.items() if v is not None})


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
    when = iso(state.retry_at) if state.retry_at else None
    data = {"open": state.is_open, "reason": state.reason, "retry_at": when}
    reason = tidy(state.reason or "")
    text = f"paused until {when}: {reason}" if state.is_open else "closed"
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
    "check": check,
    "check-file": check_file,
    "state": _state,
    "wait-ready": _wait_ready,
    "login": login,
    "send": _send,
    "receive": _receive,
    "breaker": _breaker,
    "bot": _bot,
}
