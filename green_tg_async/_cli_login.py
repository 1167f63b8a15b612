"""`green-tg login`: log an instance in by phone code or QR, from a terminal.

Secrets are read without echo (`getpass`) and never printed or logged; the
code is read with `input` (it is shown on the user's phone anyway).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import Final

from ._cli_errors import OK, PAUSED, USAGE
from ._client import AsyncGreenTelegram
from ._exceptions import AuthorizationError, InstanceNotReadyError
from ._qr import render_qr
from .models import InstanceState

__all__ = ["LOGIN_EXIT", "login"]

WRONG_INPUT, TOO_MANY, START_AGAIN = 4, 5, 6
LOGIN_EXIT: Final = {
    "invalid_password": WRONG_INPUT,
    "invalid_code": WRONG_INPUT,
    "rate_limit_exceeded": TOO_MANY,
    "timeout": START_AGAIN,
    "authorization_not_started": START_AGAIN,
}
"""Exit code per refusal reason; unknown reasons exit WRONG_INPUT."""

_MESSAGES: Final = {
    "invalid_password": "the 2FA password is wrong",
    "invalid_code": "the code is wrong",
    "rate_limit_exceeded": "Telegram refuses more login attempts for now; try later",
    "timeout": "the code expired (it lasts 5 minutes); run login again",
    "authorization_not_started": "no login is in progress; run login again",
    "already_registered": "the instance is already logged in",
}
PASSWORD_TRIES: Final = 3
_IN_PROGRESS: Final = frozenset({"notAuthorized", "starting"})
QR_REFRESH: Final = 5.0  # seconds; GREEN-API renews the code about this often


async def login(tg: AsyncGreenTelegram, args: argparse.Namespace) -> int:
    """Run the phone or QR flow, then wait until authorized; return the exit code."""
    try:
        if args.phone:
            await _by_phone(tg, args.phone)
        else:
            await _by_qr(tg, args)
        state = await _settle(tg, args.timeout)
    except AuthorizationError as exc:
        return _refused(exc)
    except InstanceNotReadyError as exc:
        print(f"green-tg: {exc}", file=sys.stderr)
        return PAUSED  # not authorized in time
    except EOFError:
        print("green-tg: login needs a terminal to type into", file=sys.stderr)
        return USAGE
    print(state.state_instance)
    return OK


async def _by_phone(tg: AsyncGreenTelegram, phone: str) -> None:
    await tg.account.start_authorization(phone)
    code = (await asyncio.to_thread(input, "Code from Telegram: ")).strip()
    await tg.account.send_authorization_code(code)


async def _settle(tg: AsyncGreenTelegram, seconds: float) -> InstanceState:
    """Wait for `authorized`, asking for the 2FA password when it is expected.

    `notAuthorized` (and `starting`) right after a code or a scan means the
    login is still going on: it is polled out (1/s), never a failure.
    """
    clock, sleep = tg.clock, tg.sleep
    deadline = clock() + seconds
    asked = False
    while True:
        state = await tg.account.get_state_instance()
        if state.state_instance == "pendingPassword" and not asked:
            await _password(tg)
            asked = True
        elif state.state_instance not in _IN_PROGRESS or clock() >= deadline:
            break
        else:
            await sleep(1.0)
    if state.state_instance == "authorized":
        return state
    return await tg.account.wait_until_authorized(max(0.0, deadline - clock()))


async def _password(tg: AsyncGreenTelegram) -> None:
    for attempt in range(1, PASSWORD_TRIES + 1):
        secret = await asyncio.to_thread(getpass.getpass, "2FA password (not shown): ")
        try:
            await tg.account.send_authorization_password(secret)
            return
        except AuthorizationError as exc:
            if exc.reason != "invalid_password" or attempt == PASSWORD_TRIES:
                raise
            print("green-tg: the 2FA password is wrong; try again", file=sys.stderr)


async def _by_qr(tg: AsyncGreenTelegram, args: argparse.Namespace) -> None:
    """Show fresh QR codes until the phone scanned one (or the time is up)."""
    clock, sleep = tg.clock, tg.sleep
    deadline = clock() + args.timeout
    shown = None
    while clock() < deadline:
        state = (await tg.account.get_state_instance()).state_instance
        if state in ("authorized", "pendingPassword"):
            return
        answer = await tg.account.qr()
        if answer.is_logged_in:  # alreadyLogged or already_registered
            return
        if answer.is_qr_code and answer.message != shown:
            shown = answer.message
            _show(answer.png(), args)
        elif not answer.is_qr_code:
            print(f"green-tg: no QR code yet: {answer.message}", file=sys.stderr)
        await sleep(QR_REFRESH)


def _show(png: bytes, args: argparse.Namespace) -> None:
    if args.qr_file is not None:
        Path(args.qr_file).write_bytes(png)
        print(f"QR code written to {args.qr_file}; scan it in Telegram", flush=True)
        return
    try:
        picture = render_qr(png, invert=args.invert)
    except ValueError as exc:
        print(
            f"green-tg: cannot draw this QR code ({exc}); use --qr-file",
            file=sys.stderr,
        )
        return
    if sys.stdout.isatty():
        print("\x1b[H\x1b[2J", end="")  # redraw in place
    print(picture)
    print("Scan in Telegram: Settings > Devices > Link Desktop Device", flush=True)


def _refused(exc: AuthorizationError) -> int:
    reason = exc.reason or "unknown"
    if reason == "already_registered":
        print(_MESSAGES[reason])
        return OK
    message = _MESSAGES.get(reason, f"the login step was refused ({reason})")
    print(f"green-tg: {exc.method}: {message}", file=sys.stderr)
    return LOGIN_EXIT.get(reason, WRONG_INPUT)
