"""`green-tg login`: both flows against the fake; secrets never in output or logs."""

from __future__ import annotations

import builtins
import getpass
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from green_tg_async import BreakerPolicy, RateLimits, RetryPolicy
from green_tg_async._cli import main
from green_tg_async._qr import decode_png
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import ClockSleep, FakeClock

SECRET = "correct-horse-battery"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeGreenAPI:
    from green_tg_async import _cli

    fake = FakeGreenAPI(rate_limits=False)
    clock = FakeClock()
    sleep = ClockSleep(clock)
    fake.sleeps = sleep.delays  # type: ignore[attr-defined]

    def client(args: Any, store: Any) -> Any:
        return fake.client(
            store=MemoryStore(),
            limits=RateLimits(enabled=False),  # pacing is what the sleeps show
            retry=RetryPolicy(sleep=sleep),
            breaker=BreakerPolicy(clock=clock),
        )

    monkeypatch.setattr(_cli, "_client", client)
    return fake


def _answers(
    monkeypatch: pytest.MonkeyPatch, *, codes: list[str], secrets: list[str]
) -> None:
    def ask(prompt: str = "") -> str:
        sys.stdout.write(prompt)
        return codes.pop(0)

    def ask_secret(prompt: str = "") -> str:
        sys.stdout.write(prompt)
        return secrets.pop(0)

    monkeypatch.setattr(builtins, "input", ask)
    monkeypatch.setattr(getpass, "getpass", ask_secret)


def _refuse(fake: FakeGreenAPI, reason: str) -> None:
    fake.fail_next(
        200, json={"status": False, "data": {"status": "fail", "reason": reason}}
    )


def test_phone_login_without_2fa(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.script_login(code="24680")
    _answers(monkeypatch, codes=["24680"], secrets=[])
    assert main(["login", "--phone", "79001234567"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("authorized\n")
    assert fake.state == "authorized"
    methods = [m for _, m in fake.requests]
    assert methods[:2] == ["startAuthorization", "sendAuthorizationCode"]


def test_phone_login_with_2fa_never_shows_or_logs_the_password(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.script_login(code="24680", password=SECRET)
    _answers(monkeypatch, codes=["24680"], secrets=["wrong-one", SECRET])
    with caplog.at_level(logging.DEBUG):
        assert main(["login", "--phone", "79001234567"]) == 0
    captured = capsys.readouterr()
    assert captured.out.endswith("authorized\n")
    assert "2FA password (not shown): " in captured.out
    assert "the 2FA password is wrong; try again" in captured.err
    for text in (captured.out, captured.err, caplog.text):
        assert SECRET not in text
        assert "wrong-one" not in text
    assert fake.requests.count(("POST", "sendAuthorizationPassword")) == 2


def test_three_wrong_passwords_exit_4(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.script_login(password=SECRET)
    _answers(monkeypatch, codes=["12345"], secrets=["a", "b", "c"])
    assert main(["login", "--phone", "79001234567"]) == 4
    assert "the 2FA password is wrong" in capsys.readouterr().err
    assert fake.state == "pendingPassword"


@pytest.mark.parametrize(
    ("reason", "code", "message"),
    [
        ("invalid_code", 4, "the code is wrong"),
        ("rate_limit_exceeded", 5, "try later"),
        ("timeout", 6, "the code expired"),
        ("authorization_not_started", 6, "no login is in progress"),
        ("something_new", 4, "refused (something_new)"),
    ],
)
def test_each_refusal_has_a_message_and_exit_code(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    reason: str,
    code: int,
    message: str,
) -> None:
    fake.script_login()
    _answers(monkeypatch, codes=["12345"], secrets=[])
    _refuse(fake, reason)
    assert main(["login", "--phone", "79001234567"]) == code
    assert message in capsys.readouterr().err


def test_a_wrong_code_from_the_fake_exits_4(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.script_login(code="24680")
    _answers(monkeypatch, codes=["11111"], secrets=[])
    assert main(["login", "--phone", "79001234567"]) == 4
    assert "sendAuthorizationCode: the code is wrong" in capsys.readouterr().err


def test_already_logged_in_is_success(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.script_login()
    fake.state = "authorized"
    _answers(monkeypatch, codes=[], secrets=[])
    assert main(["login", "--phone", "79001234567"]) == 0
    assert "already logged in" in capsys.readouterr().out


def test_no_terminal_to_type_into_exits_2(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.script_login()

    def no_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(builtins, "input", no_input)
    assert main(["login", "--phone", "79001234567"]) == 2
    assert "needs a terminal" in capsys.readouterr().err


def test_qr_login_draws_each_new_code_within_the_rate(
    fake: FakeGreenAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script_login(qr_scans_after=3)
    assert main(["login", "--qr"]) == 0
    out = capsys.readouterr().out
    assert out.count("Scan in Telegram") == 3  # three codes, each drawn once
    assert "\u2588" in out
    assert "\u2580" in out
    assert out.endswith("authorized\n")
    # One refresh every 5 s between the codes: far inside qr's 3/s.
    assert fake.sleeps == [5.0, 5.0, 5.0]  # type: ignore[attr-defined]
    assert fake.requests.count(("GET", "qr")) == 3


def test_qr_login_with_2fa_and_a_qr_file(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    fake.script_login(password=SECRET, qr_scans_after=1)
    _answers(monkeypatch, codes=[], secrets=[SECRET])
    target = tmp_path / "qr.png"
    assert main(["login", "--qr", "--qr-file", str(target)]) == 0
    captured = capsys.readouterr()
    assert f"QR code written to {target}" in captured.out
    assert len(decode_png(target.read_bytes())) == 116  # (21 + 8) modules * 4 px
    assert SECRET not in captured.out + captured.err
    assert fake.state == "authorized"


def test_qr_not_scanned_in_time_exits_3(
    fake: FakeGreenAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script_login(qr_scans_after=1000)
    assert main(["login", "--qr", "--timeout", "12"]) == 3
    assert "notAuthorized" in capsys.readouterr().err
    assert sum(fake.sleeps) >= 12  # type: ignore[attr-defined]


def test_the_sandbox_walks_through_the_phone_flow(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _answers(monkeypatch, codes=["12345"], secrets=[])
    assert main(["--sandbox", "login", "--phone", "79001234567"]) == 0
    captured = capsys.readouterr()
    assert "the login code is 12345" in captured.err
    assert captured.out.endswith("authorized\n")


def test_the_sandbox_account_can_have_2fa(monkeypatch: pytest.MonkeyPatch) -> None:
    from green_tg_async import _cli
    from green_tg_async._cli_parser import build_parser

    monkeypatch.setenv("GREEN_TG_SANDBOX_PASSWORD", SECRET)
    args = build_parser().parse_args(["--sandbox", "login", "--qr"])
    _cli._client(args, MemoryStore())
    assert args.fake.login.password == SECRET
    assert args.fake.state == "notAuthorized"


def test_qr_answers_without_an_image_are_reported_and_waited_out(
    fake: FakeGreenAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script_login(qr_scans_after=1)
    not_yet = {"stateInstance": "notAuthorized"}
    fake.fail_next(200, json=not_yet)  # getStateInstance
    fake.fail_next(200, json={"type": "error", "message": "instance starting"})
    fake.fail_next(200, json=not_yet)
    fake.fail_next(200, json={"type": "qrCode", "message": "iVBORw0KGgo="})  # no image
    assert main(["login", "--qr", "--invert"]) == 0
    err = capsys.readouterr().err
    assert "no QR code yet: instance starting" in err
    assert "cannot draw this QR code" in err
    assert "use --qr-file" in err


def test_qr_already_logged_in_ends_the_wait(
    fake: FakeGreenAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail_next(200, json={"stateInstance": "notAuthorized"})
    fake.fail_next(200, json={"type": "alreadyLogged", "message": "logged"})
    assert main(["login", "--qr"]) == 0
    assert capsys.readouterr().out == "authorized\n"


def test_qr_already_registered_is_logged_in(
    fake: FakeGreenAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail_next(200, json={"stateInstance": "notAuthorized"})
    fake.fail_next(200, json={"type": "already_registered", "message": "logged"})
    assert main(["login", "--qr", "--timeout", "60"]) == 0
    out = capsys.readouterr()
    assert out.out == "authorized\n"
    assert "no QR code yet" not in out.err


def test_phone_login_waits_out_not_authorized_then_asks_the_password(
    fake: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.script_login(code="24680", password=SECRET)
    _answers(monkeypatch, codes=["24680"], secrets=[SECRET])
    # After the code the instance reads notAuthorized for a while, then asks
    # for the 2FA password: neither is a failure.
    fake.script_states("notAuthorized", "notAuthorized", "pendingPassword")
    assert main(["login", "--phone", "79001234567", "--timeout", "60"]) == 0
    assert capsys.readouterr().out.endswith("authorized\n")
    assert fake.state == "authorized"
    methods = [m for _, m in fake.requests]
    assert methods.count("sendAuthorizationPassword") == 1
