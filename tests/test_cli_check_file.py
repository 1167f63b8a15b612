"""`check-file` never loses or destroys a row (issue 28 §2)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from green_tg_async import AsyncGreenTelegram
from green_tg_async._cli import main
from green_tg_async._cli_files import COLUMNS, finish, journal
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from green_tg_async.testing._fake import FAKE_API_URL
from tests.test_cli import _env, _rows

__all__ = ["_env"]  # the autouse fixture of the CLI tests, used here too


def _check_file(tmp_path: Path, text: str, *extra: str, **kw: Any) -> tuple[int, Path]:
    source = tmp_path / "numbers.csv"
    source.write_text(text, encoding=kw.get("encoding", "utf-8"))
    out = tmp_path / "out.csv"
    return main(["--sandbox", "check-file", str(source), "-o", str(out), *extra]), out


# -- one bad line costs one row -------------------------------------------------


def test_an_open_quote_costs_one_row_and_its_line_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    numbers = [str(79000000000 + i) for i in range(11)]
    code, out = _check_file(
        tmp_path, '"unterminated quote,foo\n' + "\n".join(numbers) + "\n"
    )
    assert code == 0
    rows = _rows(out)
    assert len(rows) == 12
    assert rows[0]["status"] == "invalid"
    assert rows[0]["line"] == "1"
    assert "line 1 is not valid CSV" in rows[0]["error"]
    assert [r["phone"] for r in rows[1:]] == numbers
    assert all(r["status"] == "ok" for r in rows[1:])
    said = capsys.readouterr().out
    assert said.startswith("12 numbers, 11 checked, 1 invalid; could not parse line 1")


def test_rows_keep_input_order_with_the_line_and_blank_lines_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "phone\n79000000003\n\n79000000001\n79000000002\n\n\n79000000001\n"
    code, out = _check_file(tmp_path, text, "--concurrency", "3")
    assert code == 0
    rows = _rows(out)
    assert list(rows[0]) == list(COLUMNS)
    assert [(r["line"], r["phone"]) for r in rows] == [
        ("2", "79000000003"),
        ("4", "79000000001"),
        ("5", "79000000002"),
        ("8", "79000000001"),  # a repeated number: its row, one look-up
    ]
    said = capsys.readouterr().out
    assert said.startswith("4 numbers, 4 checked; 3 blank lines skipped")


def test_the_merge_puts_rows_in_input_order(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    journal(out).write_text(
        "phone,exist,chat_id,status,error,line\n"
        "79000000003,false,,ok,,9\n79000000001,false,,error,boom,2\n"
        "79000000001,true,1,ok,,2\n"
    )
    assert finish(out, resume=False) == 2
    assert [(r["line"], r["status"]) for r in _rows(out)] == [("2", "ok"), ("9", "ok")]
    assert not journal(out).exists()


# -- OUT never destroys the input or an earlier run -----------------------------


def test_output_equal_to_the_input_is_refused_by_any_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "numbers.csv"
    text = "79000000001\n79000000002\n"
    source.write_text(text)
    (tmp_path / "link.csv").symlink_to(source)
    (tmp_path / "hard.csv").hardlink_to(source)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    spellings = ("numbers.csv", "./sub/../numbers.csv", "link.csv", "hard.csv")
    for spelling in spellings:
        for extra in ([], ["--resume"], ["--overwrite"]):
            argv = ["--sandbox", "check-file", "numbers.csv", "-o", spelling, *extra]
            assert main(argv) == 2
            assert "is the input file" in capsys.readouterr().err
    assert source.read_text() == text


def test_an_existing_out_needs_resume_or_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    code, _ = _check_file(tmp_path, "79000000001\n")
    assert code == 2
    assert "--resume continues that run, --overwrite replaces it" in (
        capsys.readouterr().err
    )
    assert out.read_text() == "keep me\n"
    code, _ = _check_file(tmp_path, "79000000001\n", "--overwrite")
    assert code == 0
    assert [r["phone"] for r in _rows(out)] == ["79000000001"]


def test_a_journal_left_by_a_killed_run_needs_resume_or_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    journal(out).write_text(
        "phone,exist,chat_id,status,error,line\n79000000001,true,1,ok,,1\n"
    )
    code, _ = _check_file(tmp_path, "79000000001\n79000000002\n")
    assert code == 2
    assert "out.csv.part already holds results" in capsys.readouterr().err
    code, _ = _check_file(tmp_path, "79000000001\n79000000002\n", "--resume")
    assert code == 0
    assert [r["phone"] for r in _rows(out)] == ["79000000001", "79000000002"]
    assert _rows(out)[0]["chat_id"] == "1"  # kept from the journal, not asked again
    assert not journal(out).exists()


def test_resume_and_overwrite_exclude_each_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check-file", "f", "-o", "o", "--resume", "--overwrite"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# -- Excel-style files -------------------------------------------------------------


def test_cp1251_is_refused_with_file_line_and_hint_then_read_with_encoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "телефон;имя\n79000000001;Анна\n"
    code, out = _check_file(tmp_path, text, encoding="cp1251")
    assert code == 2
    err = capsys.readouterr().err
    assert "numbers.csv: line 1 is not utf-8 text (byte 0xf2)" in err
    assert "--encoding cp1251" in err
    assert "codec" not in err
    assert not out.exists()
    code, out = _check_file(tmp_path, text, "--encoding", "cp1251", encoding="cp1251")
    assert code == 0
    rows = _rows(out)
    assert [(r["phone"], r["status"]) for r in rows][1] == ("79000000001", "ok")


def test_an_unknown_encoding_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _check_file(tmp_path, "79000000001\n", "--encoding", "nope")
    assert code == 2
    assert "--encoding nope: no such encoding" in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_a_bom_names_the_encoding(tmp_path: Path, encoding: str) -> None:
    text = "phone\tname\n79000000001\t\u0418\u0432\u0430\u043d\n79000000002\tBob\n"
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    (tmp_path / "numbers.csv").write_bytes(data)
    out = tmp_path / "out.csv"
    argv = ["--sandbox", "check-file", str(tmp_path / "numbers.csv"), "-o", str(out)]
    assert main(argv) == 0
    assert [r["phone"] for r in _rows(out)] == ["79000000001", "79000000002"]


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("phone;name\n79000000001;Ann, B\n79000000002;Bob\n", []),
        ("79000000001|Ann\n79000000002|Bob\n", []),
        ("79000000001 x\n79000000002 y\n", ["--delimiter", " "]),
        ("79000000001\tAnn\n79000000002\tBob\n", ["--delimiter", "tab"]),
    ],
)
def test_the_delimiter_is_sniffed_or_given(
    tmp_path: Path, text: str, extra: list[str]
) -> None:
    code, out = _check_file(tmp_path, text, *extra)
    assert code == 0
    assert [r["status"] for r in _rows(out)] == ["ok", "ok"]


def test_a_bad_delimiter_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check-file", "f", "-o", "o", "--delimiter", ";;"])
    assert "one character" in capsys.readouterr().err


# -- formula injection -----------------------------------------------------------


def test_echoed_cells_cannot_start_a_formula(tmp_path: Path) -> None:
    text = "=cmd|' /C calc'!A0\n@SUM(1+1)\n-2+3\n+7 987 654-32-10\nab\x00c\n\x01=1\n"
    code, out = _check_file(tmp_path, text, "--delimiter", ",")
    assert code == 0
    rows = _rows(out)
    assert [r["phone"] for r in rows] == [
        "'=cmd|' /C calc'!A0",
        "'@SUM(1+1)",
        "'-2+3",
        "'+7 987 654-32-10",
        "abc",
        "'=1",
    ]
    for row in rows:
        for cell in row.values():
            assert not cell or cell[0] not in "=+-@\t\r", row
            assert "\x00" not in cell


def test_resume_matches_neutralised_rows(tmp_path: Path) -> None:
    code, out = _check_file(tmp_path, "+7 987 654-32-10\n=1\n")
    assert code == 0
    before = out.read_text()
    code, out = _check_file(tmp_path, "+7 987 654-32-10\n=1\n", "--resume")
    assert code == 0
    assert out.read_text() == before


def test_resume_matches_raw_rows_of_an_older_version(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("phone,exist,chat_id,status,error\n+7 987 654-32-10,true,9,ok,\n")
    code, out = _check_file(tmp_path, "+7 987 654-32-10\n", "--resume")
    assert code == 0
    assert [(r["phone"], r["chat_id"]) for r in _rows(out)] == [
        ("+7 987 654-32-10", "9")  # kept, not asked again
    ]


def test_a_utf8_bom_is_no_text_when_the_encoding_is_given(tmp_path: Path) -> None:
    source = tmp_path / "numbers.csv"
    source.write_bytes("phone\n79000000001\n".encode("utf-8-sig"))
    out = tmp_path / "out.csv"
    argv = ["--sandbox", "check-file", str(source), "-o", str(out)]
    assert main([*argv, "--encoding", "UTF8"]) == 0
    assert [(r["line"], r["status"]) for r in _rows(out)] == [("2", "ok")]


# -- a wrong id or token stops at once ---------------------------------------------


def _wrong_credentials(
    monkeypatch: pytest.MonkeyPatch, *, token: str, instance: str | None = None
) -> FakeGreenAPI:
    from green_tg_async import _cli

    fake = FakeGreenAPI(rate_limits=False)

    def client(args: Any, store: Any) -> AsyncGreenTelegram:
        return AsyncGreenTelegram(
            instance or fake.id_instance,
            token,
            api_url=FAKE_API_URL,
            transport=fake.transport,
            store=MemoryStore(),
        )

    monkeypatch.setattr(_cli, "_client", client)
    return fake


@pytest.mark.parametrize(("instance", "status"), [(None, 401), ("4199999999", 403)])
def test_a_wrong_token_or_id_stops_check_file_at_the_first_refusal(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instance: str | None,
    status: int,
) -> None:
    fake = _wrong_credentials(monkeypatch, token="w" * 20, instance=instance)
    numbers = "".join(f"{79000000000 + i}\n" for i in range(50))
    code, out = _check_file(tmp_path, numbers, "--concurrency", "1")
    assert code == 2
    said = capsys.readouterr().out
    assert f"GREEN-API refused the credentials (HTTP {status})" in said
    for name in ("--id-instance", "GREEN_API_TOKEN", "GREEN_API_URL"):
        assert name in said
    assert "w" * 20 not in said
    if status == 401:  # the fake checks the instance first, then the token
        assert [m for _, m in fake.requests].count("checkAccount") == 1
    assert _rows(out) == []  # nothing answered, and OUT is whole


def test_state_with_a_wrong_id_says_the_same(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _wrong_credentials(monkeypatch, token="w" * 20, instance="4199999999")
    assert main(["--sandbox", "--json", "state"]) == 2
    said = json.loads(capsys.readouterr().out)
    assert said["status_code"] == 403
    assert said["error"].startswith("GREEN-API refused the credentials (HTTP 403)")


# -- Ctrl-C: one line, exit 130 ------------------------------------------------------


def _interrupting(
    monkeypatch: pytest.MonkeyPatch, method: str, *, after: int, **fake_options: Any
) -> FakeGreenAPI:
    """A sandbox whose `after`-th `method` request is met by Ctrl-C (a real SIGINT)."""
    from green_tg_async import _cli

    fake = FakeGreenAPI(rate_limits=False, **fake_options)
    seen = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        if request.url.path.split("/")[2] == method:
            seen += 1
            if seen == after:
                signal.raise_signal(signal.SIGINT)
        return await fake.handle_async(request)

    def client(args: Any, store: Any) -> AsyncGreenTelegram:
        return AsyncGreenTelegram(
            fake.id_instance,
            fake.api_token,
            api_url=FAKE_API_URL,
            transport=httpx.MockTransport(handler),
            store=store,
        )

    monkeypatch.setattr(_cli, "_client", client)
    return fake


def test_ctrl_c_in_check_file_prints_one_line_and_keeps_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _interrupting(monkeypatch, "checkAccount", after=6)
    numbers = "".join(f"{79000000000 + i}\n" for i in range(30))
    code, out = _check_file(tmp_path, numbers, "--concurrency", "1")
    assert code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2  # the plan line, then the one line of the interruption
    source = tmp_path / "numbers.csv"
    assert err[1] == (
        "green-tg: interrupted; 5 rows written to "
        f"{out}; continue with: green-tg --sandbox check-file {source} -o {out}"
        " --concurrency 1 --resume"
    )
    assert len(_rows(out)) == 5
    assert not journal(out).exists()


@pytest.mark.parametrize(
    ("argv", "method"),
    [
        (["check", "79000000001", "79000000002"], "checkAccount"),
        (["receive", "--follow", "--timeout", "5"], "receiveNotification"),
        (["wait-ready", "--timeout", "30"], "getStateInstance"),
    ],
)
def test_ctrl_c_elsewhere_prints_one_line(
    argv: list[str],
    method: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = _interrupting(monkeypatch, method, after=1, long_poll=False)
    fake.state = "notAuthorized"
    assert main(["--sandbox", *argv]) == 130
    captured = capsys.readouterr()
    assert captured.err == "green-tg: interrupted\n"
    assert "Traceback" not in captured.out


# -- the smaller CLI items ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["check", "79000000001", "--sandbox"], "--sandbox"),
        (["state", "--json"], "--json"),
        (["state", "--id-instance", "4100000001"], "--id-instance"),
    ],
)
def test_a_global_option_after_the_command_gets_a_hint(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"hint: {option} is a global option: put it before the command" in err


@pytest.mark.parametrize(
    ("text", "said"),
    [("79000000001\n", "1 number, 1 checked\n"), ("", "0 numbers\n")],
)
def test_counts_read_as_english(
    tmp_path: Path, text: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _check_file(tmp_path, text)
    assert code == 0
    assert capsys.readouterr().out == said


@pytest.mark.parametrize("sandbox", [["--sandbox"], []])
async def test_the_look_up_budget_is_set_from_the_command_line(
    sandbox: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from green_tg_async import LookupBudget
    from green_tg_async._cli import _client
    from green_tg_async._cli_check import _pace, _plan
    from green_tg_async._cli_parser import build_parser

    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    monkeypatch.setenv("GREEN_API_TOKEN", "t" * 20)
    argv = [*sandbox, "check-file", "in.csv", "-o", "out.csv", "--per-day", "1"]
    args = build_parser().parse_args([*argv, "--per-minute", "5"])
    async with _client(args, MemoryStore()) as tg:
        budget = tg.rate_limits.lookup_budget
        assert budget == LookupBudget(per_minute=5, per_hour=None, per_day=1)
        # Three look-ups at one a day: the third starts two days on.
        assert _plan(await _pace(tg), 3).endswith("3 numbers, ETA 48 h 00 min")
    args = build_parser().parse_args([*sandbox, "check", "1"])
    async with _client(args, MemoryStore()) as tg:
        assert tg.rate_limits.lookup_budget == LookupBudget()  # the default day


def test_budget_options_refuse_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "1", "--per-hour", "0"])
    assert "--per-hour: must be above 0" in capsys.readouterr().err


# -- progress that tells the truth -------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_counts_each_kind_apart(capsys: pytest.CaptureFixture[str]) -> None:
    from green_tg_async._cli_progress import Pace, Progress

    clock = _Clock()
    progress = Progress(4, Pace(rate=1.0), quiet=False, clock=clock)
    for status in ("ok", "invalid", "error", "paused"):
        clock.now += 1.0
        progress.advance(status)
    assert progress.by_kind() == {"checked": 1, "invalid": 1, "paused": 1, "failed": 1}
    assert capsys.readouterr().err == (
        "4/4 (1 checked, 1 invalid, 1 paused, 1 failed), 1.0/s, ETA 0 min 00 s\n"
    )


def test_one_eta_with_the_budget_a_pause_and_a_slow_rate() -> None:
    from green_tg_async._cli_progress import Pace, Progress

    clock = _Clock()
    daily = Pace(rate=1.0, budget=((1000, 86400.0),))
    progress = Progress(3000, daily, quiet=True, clock=clock)
    clock.now = 10.0
    for _ in range(10):
        progress.advance("ok")
    # 2,990 left at one a day's 1,000: two more days, as the start line says.
    assert progress.eta() == 2 * 86400.0
    assert progress.line() == "10/3000 (10 checked), 1.0/s, ETA 48 h 00 min"
    paused = Progress(10, Pace(rate=1.0, paused_for=600.0), quiet=True, clock=clock)
    assert paused.eta() == 610.0
    slow = Progress(100, Pace(rate=10.0), quiet=True, clock=clock)
    clock.now = 20.0  # 10 s for 10 numbers: 1/s seen, though 10/s are allowed
    for _ in range(10):
        slow.advance("ok")
    assert slow.eta() == 90.0


@pytest.mark.parametrize(
    ("message", "url", "said"),
    [
        (
            "getStateInstance failed: ConnectError: ClientConnectorDNSError: Cannot"
            " connect to host h:80 ssl:default [Name or service not known]"
            " (gaierror: [Errno -2] Name or service not known)",
            "http://h",
            "Name or service not known",
        ),
        (
            "getStateInstance failed: ConnectError: Cannot connect to host h:80"
            " ssl:default (ConnectError: Cannot connect to host h:80 ssl:default)",
            "http://h",
            "getStateInstance failed: ConnectError: Cannot connect to host h:80",
        ),
        (
            "getStateInstance failed: ConnectError: Cannot connect to host h:443"
            " ssl:default (ConnectError: same)",
            "https://h",
            "getStateInstance failed: ConnectError: Cannot connect to host h:443",
        ),
    ],
)
def test_a_connection_error_is_told_once_by_its_cause(
    message: str, url: str, said: str
) -> None:
    from green_tg_async import APIConnectionError
    from green_tg_async._cli_errors import describe

    exc = APIConnectionError(message, method="getStateInstance", request_sent=False)
    assert describe(exc, url) == (
        f"APIConnectionError: cannot reach {url} (getStateInstance): {said}"
    )


def test_resume_repairs_a_torn_journal(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    journal(out).write_text(
        "phone,exist,chat_id,status,error,line\r\n79000000001,true,1,ok,,1\r\n79000"
    )
    code, _ = _check_file(tmp_path, "79000000001\n79000000002\n", "--resume")
    assert code == 0
    rows = _rows(out)
    assert [(r["line"], r["phone"], r["status"]) for r in rows] == [
        ("1", "79000000001", "ok"),
        ("2", "79000000002", "ok"),
    ]


def test_out_gets_the_usual_permissions(tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    os.umask(umask)
    code, out = _check_file(tmp_path, "79000000001\n")
    assert code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_connection_error_row_is_told_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    monkeypatch.setenv("GREEN_API_TOKEN", "t" * 20)
    monkeypatch.setenv("GREEN_API_URL", "http://127.0.0.1:9")  # nothing listens
    source = tmp_path / "numbers.csv"
    source.write_text("79000000001\n")
    out = tmp_path / "out.csv"
    assert main(["check-file", str(source), "-o", str(out)]) == 1
    (row,) = _rows(out)
    assert row["error"] == "checkAccount: cannot connect: Connection refused"


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        (
            "5 failures in a row, last: checkAccount failed: ConnectError: Cannot"
            " connect to host h:9 ssl:default [Connect call failed ('h', 9)]"
            " (ConnectionRefusedError: [Errno 111] Connect call failed ('h', 9))",
            "5 failures in a row, last: checkAccount failed: Connection refused",
        ),
        (
            "checkAccount failed with HTTP 469: User get contact info limit reached",
            "checkAccount failed with HTTP 469: User get contact info limit reached",
        ),
    ],
)
def test_a_pause_reason_tells_a_connection_failure_once(reason: str, said: str) -> None:
    from green_tg_async._cli_errors import tidy

    assert tidy(reason) == said
