"""`green-tg` as a user meets it: help, --version, option-named errors, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from green_tg_async import __version__
from green_tg_async._cli import main
from green_tg_async._cli_parser import build_parser
from green_tg_async._cli_text import SUBCOMMANDS
from tests.helpers import API_TOKEN

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = ROOT / "docs" / "guides" / "cli.md"
# A Python keyword argument in a message: `name=` with a letter before the `=`.
KWARG = re.compile(r"\b[a-z]+(?:_[a-z]+)*=")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "GREEN_API_ID_INSTANCE",
        "GREEN_API_TOKEN",
        "GREEN_API_URL",
        "GREEN_API_PHONE_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GREEN_TG_STATE", str(tmp_path / "state.sqlite3"))


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    return capsys.readouterr().out


def test_the_main_help_is_for_users(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["--help"], capsys)
    assert "argparse" not in text
    assert "rich" not in text
    assert "green-tg --sandbox check 79876543210" in text  # an example
    assert "GREEN_API_ID_INSTANCE" in text
    assert "GREEN_API_TOKEN" in text
    assert "--token-file" in text
    assert "--id-instance" in text
    assert "exit codes:" in text
    flat = " ".join(text.split())
    for name, (summary, _) in SUBCOMMANDS.items():
        assert f"{name} {summary}" in flat


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_each_subcommand_help_has_what_an_example_and_credentials(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help([command, "--help"], capsys)
    description = text.split("\n\n")[1]
    assert len(description) > 40  # says what it does, not just the usage line
    example = SUBCOMMANDS[command][1].splitlines()[0]
    assert f"example:\n  {example}" in text
    assert example.startswith(f"green-tg {command}") or f" {command} " in example
    assert "GREEN_API_ID_INSTANCE" in text
    assert "--token-file" in text


def test_every_subcommand_has_help_text() -> None:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if a.dest == "command")
    assert set(commands.choices) == set(SUBCOMMANDS)  # type: ignore[arg-type]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _help(["--version"], capsys).strip() == f"green-tg {__version__}"


def test_the_token_is_never_an_argument() -> None:
    options = {opt for a in build_parser()._actions for opt in a.option_strings}
    assert "--id-instance" in options
    assert not any("token" in o and o != "--token-file" for o in options)


def test_id_instance_option_is_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000009")  # the option wins
    monkeypatch.setenv("GREEN_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("GREEN_API_URL", "http://127.0.0.1:9")  # nothing listens
    assert main(["--json", "--id-instance", "4100000001", "breaker", "status"]) == 0
    assert main(["--id-instance", "4100000001", "state"]) == 1
    captured = capsys.readouterr()
    assert "APIConnectionError" in captured.out


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.mark.parametrize(
    ("env", "argv", "names"),
    [
        ({}, ["state"], ["--id-instance", "GREEN_API_ID_INSTANCE"]),
        (
            {"GREEN_API_ID_INSTANCE": "4100000001"},
            ["state"],
            ["GREEN_API_TOKEN", "--token-file"],
        ),
        (
            {"GREEN_API_TOKEN": API_TOKEN},
            ["--id-instance", "41x", "state"],
            ["--id-instance", "GREEN_API_ID_INSTANCE", "digits only"],
        ),
        (
            {"GREEN_API_TOKEN": API_TOKEN},
            ["--id-instance", "41", "state"],
            ["GREEN_API_URL"],
        ),
        (
            {"GREEN_API_ID_INSTANCE": "4100000001", "GREEN_API_TOKEN": "a b"},
            ["state"],
            ["GREEN_API_TOKEN", "--token-file", "may only contain"],
        ),
        (
            {
                "GREEN_API_ID_INSTANCE": "4100000001",
                "GREEN_API_TOKEN": API_TOKEN,
                "GREEN_API_URL": "ftp://host",
            },
            ["state"],
            ["GREEN_API_URL", "https://"],
        ),
        (
            {"GREEN_API_ID_INSTANCE": "4100000001", "GREEN_API_TOKEN": API_TOKEN},
            ["--region", "XX", "state"],
            ["--region", "GREEN_API_PHONE_REGION"],
        ),
        ({}, ["--sandbox", "send", "", "hi"], ["CHAT_ID is empty"]),
        ({}, ["--sandbox", "send", "1", ""], ["TEXT is empty"]),
    ],
)
def test_errors_name_options_and_variables_not_kwargs(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    argv: list[str],
    names: list[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    err = _error(argv, capsys)
    for name in names:
        assert name in err
    assert not KWARG.search(err), err
    for kwarg in ("id_instance", "api_token", "api_url", "phone_region", "chat_id"):
        assert kwarg not in err
    assert API_TOKEN not in err


def test_token_file_problems_name_the_option(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    missing = tmp_path / "missing"
    err = _error(["--token-file", str(missing), "state"], capsys)
    assert f"--token-file {missing}: No such file or directory" in err
    empty = tmp_path / "empty"
    empty.write_text("\n")
    err = _error(["--token-file", str(empty), "state"], capsys)
    assert f"no API token: --token-file {empty} is empty" in err
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" + API_TOKEN.encode())
    err = _error(["--token-file", str(binary), "state"], capsys)
    assert f"--token-file {binary}: not UTF-8 text" in err
    assert "0xff" not in err


def test_a_missing_region_extra_names_the_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "phonenumbers", None)  # import fails
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    monkeypatch.setenv("GREEN_API_TOKEN", API_TOKEN)
    err = _error(["--region", "RU", "state"], capsys)
    assert "--region needs the phone extra" in err


def test_a_missing_input_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"
    argv = ["--sandbox", "check-file", str(missing), "-o", str(tmp_path / "o.csv")]
    assert f"{missing}: No such file or directory" in _error(argv, capsys)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["check-file", "f", "-o", "o", "--concurrency", "0"], "--concurrency"),
        (["bot", "m:r", "--concurrency", "x"], "not a whole number: 'x'"),
        (["receive", "--count", "-1"], "--count: must be above 0"),
        (["wait-ready", "--timeout", "-5"], "--timeout: must be 0 or more"),
        (["login", "--qr", "--timeout", "nan"], "--timeout: must be 0 or more"),
        (["wait-ready", "--timeout", "soon"], "not a number of seconds"),
    ],
)
def test_bad_option_values_are_usage_errors(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--sandbox", *argv])
    assert info.value.code == 2
    assert said in capsys.readouterr().err


def test_the_exit_code_table_covers_every_subcommand() -> None:
    text = CLI_PAGE.read_text(encoding="utf-8")
    table = text.split("<!-- exit-codes:start -->")[1].split("<!-- exit-codes:end -->")[
        0
    ]
    columns = table.splitlines()[1].split("|")[2:-1]
    assert {c.strip().strip("`") for c in columns} == set(SUBCOMMANDS)
    codes = [row.split("|")[1].strip() for row in table.splitlines()[3:] if row]
    assert codes == ["0", "1", "2", "3", "4", "5", "6"]


@pytest.mark.parametrize("argv", [["send", "10000000", "hi"], ["state"]])
def test_a_469_on_any_command_exits_3_like_a_pause(
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from green_tg_async import _cli
    from green_tg_async.stores import MemoryStore
    from green_tg_async.testing import FakeGreenAPI

    fake = FakeGreenAPI(rate_limits=False)
    fake.fail_next(469)
    monkeypatch.setattr(
        _cli, "_client", lambda args, store: fake.client(store=MemoryStore())
    )
    assert main(["--sandbox", *argv]) == 3
    assert "ContactInfoLimitError" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("receive", "long-poll seconds, 5-60 (default 20)"),
        ("bot", "long-poll seconds, 5-60 (default 20)"),
        ("wait-ready", "seconds, 0 or more (default 300)"),
        ("check-file", "checks in flight at once, 1 or more (default 4)"),
        ("check-file", "look-ups in any day, 1 or more (default 1000)"),
        ("check", "look-ups in any minute, 1 or more (default: no limit)"),
    ],
)
def test_help_gives_ranges(
    command: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert said in " ".join(_help([command, "--help"], capsys).split())


def test_every_positional_has_help() -> None:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if a.dest == "command")
    for name, sub in commands.choices.items():  # type: ignore[union-attr]
        for action in sub._actions:
            if not action.option_strings:
                assert action.help, f"{name} {action.dest}"


@pytest.mark.parametrize("value", ["4", "61"])
def test_a_long_poll_outside_5_to_60_is_refused(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--sandbox", "receive", "--timeout", value])
    assert f"must be 5-60 seconds, got {value}" in capsys.readouterr().err
