from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from green_tg_async import AsyncGreenTelegram, RateLimits
from green_tg_async._cli import main
from green_tg_async._cli_check import _pace, _plan
from green_tg_async._cli_input import read_lines
from green_tg_async._cli_progress import Pace, Progress, eta_seconds
from green_tg_async.stores import MemoryStore
from tests.helpers import API_TOKEN

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "numbers.csv"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GREEN_API_ID_INSTANCE", "GREEN_API_TOKEN", "GREEN_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GREEN_TG_STATE", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("GREEN_TG_SANDBOX_RATE", "1000")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _lines(path: Path) -> list[int]:
    """The line numbers of FILE that hold a number (or a bad one)."""
    return [x.number for x in read_lines(path) if x.problem != "blank"]


def test_check_prints_one_line_per_number(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "check", "79876543210", "79876543211", "abc"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == "phone=abc status=invalid error=phone number 'abc' contains "
        "characters that are not digits: 'abc'"
    )
    assert "phone=79876543210 exist=true chat_id=76543210 status=ok" in out
    assert "phone=79876543211 exist=false status=ok" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "--json", "check", "79876543210"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "phone": "79876543210",
            "exist": True,
            "chat_id": "76543210",
            "status": "ok",
            "error": "",
        }
    ]


def test_check_file_writes_every_line_once(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    assert main(["--sandbox", "check-file", str(SAMPLE), "-o", str(out)]) == 0
    rows = _rows(out)
    assert [int(r["line"]) for r in rows] == _lines(SAMPLE) == list(range(2, 17))
    statuses = {r["phone"]: r["status"] for r in rows}
    assert statuses["not a number"] == "invalid"
    assert statuses["'+7 987 654-32-10"] == "ok"  # neutralised: + starts a formula


def test_a_469_stops_the_run_and_resume_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.csv"
    monkeypatch.setenv("GREEN_TG_SANDBOX_LOOKUP_LIMIT", "5")
    assert main(["--sandbox", "check-file", str(SAMPLE), "-o", str(out)]) == 3
    said = capsys.readouterr().out
    assert "(checkAccount failed with HTTP 469: User get contact info limit" in said
    assert (
        f"continue with: green-tg --sandbox check-file {SAMPLE} -o {out} --resume\n"
        in said
    )
    assert "--sandbox starts a fresh fake and forgets this pause" in said
    first = _rows(out)
    assert all(r["status"] != "paused" for r in first)
    assert len(first) < 15

    monkeypatch.setenv("GREEN_TG_SANDBOX_LOOKUP_LIMIT", "100")
    assert (
        main(["--sandbox", "check-file", str(SAMPLE), "-o", str(out), "--resume"]) == 0
    )
    rows = _rows(out)
    answered = [int(r["line"]) for r in rows if r["status"] in ("ok", "invalid")]
    assert answered == _lines(SAMPLE)


def test_json_summary_of_a_paused_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GREEN_TG_SANDBOX_LOOKUP_LIMIT", "2")
    out = tmp_path / "r.csv"
    assert main(["--sandbox", "--json", "check-file", str(SAMPLE), "-o", str(out)]) == 3
    summary = json.loads(capsys.readouterr().out)
    assert summary["by_status"]["paused"] > 0
    assert summary["resume_after"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["state"], "authorized"),
        (["send", "10000000", "hello"], "1769676078000"),
        (["breaker", "status"], "closed"),
        (["breaker", "reset"], "closed"),
    ],
)
def test_other_commands(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--sandbox", *argv]) == 0
    assert capsys.readouterr().out.strip() == expected


def test_missing_credentials_are_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["state"]) == 2
    assert "GREEN_API_ID_INSTANCE" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2


def test_token_file_and_an_unreachable_api_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(API_TOKEN + "\n")
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    monkeypatch.setenv("GREEN_API_URL", "http://127.0.0.1:9")  # nothing listens
    code = main(["--token-file", str(token_file), "state"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == (
        "APIConnectionError: cannot reach http://127.0.0.1:9 (getStateInstance):"
        " Connection refused\n"
    )
    assert API_TOKEN not in captured.out + captured.err


def test_a_paused_instance_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GREEN_TG_SANDBOX_LOOKUP_LIMIT", "0")
    assert main(["--sandbox", "check", "79876543210"]) == 3
    assert "status=paused" in capsys.readouterr().out


def test_progress_lines_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(2, Pace(rate=1.0), quiet=False)
    progress.advance("ok")
    progress.advance("invalid")
    progress.close()
    assert capsys.readouterr().err.startswith("2/2 (1 checked, 1 invalid)")


def _run(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "green_tg_async", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_command_runs_as_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "GREEN_TG_SANDBOX_RATE": "1000"}
    done = _run("--sandbox", "--json", "state", env=env)
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"stateInstance": "authorized"}


def test_killed_mid_run_then_resumed_answers_every_number_once(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(str(79000000000 + i) for i in range(150)) + "\n")
    out = tmp_path / "out.csv"
    env = {**os.environ, "GREEN_TG_SANDBOX_RATE": "50"}
    argv = [
        sys.executable,
        "-m",
        "green_tg_async",
        "--sandbox",
        "check-file",
        str(numbers),
        "-o",
        str(out),
    ]
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    part = tmp_path / "out.csv.part"  # the journal a run appends to
    while time.monotonic() < deadline and (not part.exists() or len(_rows(part)) < 20):
        time.sleep(0.05)  # waiting for a real process to make progress
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    partial = len(_rows(part))
    assert 20 <= partial < 150
    assert not out.exists()  # OUT is only ever written whole

    resumed = _run(
        "--sandbox", "check-file", str(numbers), "-o", str(out), "--resume", env=env
    )
    assert resumed.returncode == 0
    phones = [r["phone"] for r in _rows(out)]
    assert sorted(phones) == sorted(str(79000000000 + i) for i in range(150))


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    progress = Progress(3, Pace(rate=1.0), quiet=False)
    assert progress._bar is not None
    progress.advance("ok")
    assert progress.line().startswith("1/3 (1 checked), ")
    assert "/s, ETA" in progress.line()  # the bar shows this line: the rate too
    progress.close()


def test_reading_numbers_skips_headers_and_counts_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("phone,name\n79876543210,Ann\n\n ,x\n+7 912,Bob\n")
    assert [(x.number, x.phone, x.problem) for x in read_lines(path)] == [
        (2, "79876543210", ""),
        (3, "", "blank"),
        (4, "", "line 4 has no number in its first column"),
        (5, "+7 912", ""),
    ]
    assert (
        main(
            [
                "--sandbox",
                "check-file",
                str(path),
                "-o",
                str(tmp_path / "o.csv"),
                "--resume",
            ]
        )
        == 0
    )


def test_a_pause_kept_between_runs_refuses_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI keeps the breaker in GREEN_TG_STATE, so a pause outlives the run."""
    import asyncio

    from green_tg_async.stores import SqliteStore

    async def pause() -> None:
        store = SqliteStore(tmp_path / "state.sqlite3")
        await store.breaker_open(
            "{4100000001}:breaker", until=time.time() + 3600, reason="469 earlier"
        )
        await store.aclose()

    asyncio.run(pause())
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    monkeypatch.setenv("GREEN_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("GREEN_API_URL", "http://127.0.0.1:9")  # never reached
    assert main(["state"]) == 3
    assert "paused until" in capsys.readouterr().out
    assert main(["--json", "breaker", "status"]) == 3
    assert json.loads(capsys.readouterr().out)["reason"] == "469 earlier"


def test_python_dash_m_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runpy

    monkeypatch.setattr(sys, "argv", ["green-tg", "--sandbox", "state"])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("green_tg_async", run_name="__main__")
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == "authorized"


def test_receive_prints_and_deletes_notifications(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from green_tg_async import _cli
    from green_tg_async.stores import MemoryStore
    from green_tg_async.testing import FakeGreenAPI

    fake = FakeGreenAPI(rate_limits=False, long_poll=False)
    fake.enqueue_notification({"typeWebhook": "a"})
    fake.enqueue_notification({"typeWebhook": "b"})
    monkeypatch.setattr(
        _cli, "_client", lambda args, store: fake.client(store=MemoryStore())
    )
    assert main(["--sandbox", "receive", "--follow", "--count", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"typeWebhook": "a"},
        {"typeWebhook": "b"},
    ]
    assert not fake.queue
    assert main(["--sandbox", "receive", "--timeout", "5"]) == 0  # empty: nothing
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "fragment",
    [
        "79400000001,tr",  # the issue's case
        "79400000001,true,100,ok,",  # a whole row but its line ending
        "79400000001,true,100,ok,\r",
        "79400",
    ],
)
def test_issue10_item14_resume_repairs_a_torn_last_row(
    tmp_path: Path, fragment: str
) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("79400000000\n79400000001\n79400000002\n")
    out = tmp_path / "out.csv"
    out.write_text(
        "phone,exist,chat_id,status,error\r\n79400000000,false,,ok,\r\n" + fragment,
        newline="",
    )
    code = main(["--sandbox", "check-file", str(numbers), "-o", str(out), "--resume"])
    assert code == 0
    text = out.read_text()
    assert fragment.rstrip("\r") + "79400000" not in text  # nothing glued on
    rows = _rows(out)
    assert [r["phone"] for r in rows] == ["79400000000", "79400000001", "79400000002"]
    assert all(r["status"] == "ok" for r in rows)


def test_issue10_item14_a_torn_header_starts_over(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("79400000000\n")
    out = tmp_path / "out.csv"
    out.write_text("phone,exi")
    assert (
        main(["--sandbox", "check-file", str(numbers), "-o", str(out), "--resume"]) == 0
    )
    assert [r["phone"] for r in _rows(out)] == ["79400000000"]


def test_issue11_region_reads_national_numbers(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("8 (987) 654-32-10\n8 987 65\n")
    out = tmp_path / "out.csv"
    argv = ["--sandbox", "--region", "RU", "check-file", str(numbers), "-o", str(out)]
    assert main(argv) in (0, 1)
    rows = {r["phone"]: r for r in _rows(out)}
    assert rows["8 (987) 654-32-10"]["status"] == "ok"
    # Not a possible Russian number: refused before any look-up; without
    # --region it would be checked as 898765.
    assert rows["8 987 65"]["status"] == "invalid"
    assert "not a possible number in region RU" in rows["8 987 65"]["error"]


def test_issue14_wait_ready_exits_0_when_authorized(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--sandbox", "wait-ready", "--timeout", "5"]) == 0
    assert capsys.readouterr().out.strip() == "authorized"


@pytest.mark.parametrize(
    ("state", "said"),
    [("blocked", "the account is blocked"), ("notAuthorized", "still notAuthorized")],
)
def test_issue14_wait_ready_exits_3_otherwise(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    state: str,
    said: str,
) -> None:
    monkeypatch.setenv("GREEN_TG_SANDBOX_STATE", state)
    assert main(["--sandbox", "--json", "wait-ready", "--timeout", "0"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["stateInstance"] == state
    assert said in out["error"]


def test_issue12_bot_runs_a_router_in_the_sandbox(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    argv = ["--sandbox", "bot", "examples.bot:router", "--say", "/start"]
    assert main([*argv, "--say", "Ann"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "bot -> 1234567: Hi! What is your name?",
        "bot -> 1234567: Nice to meet you, Ann!",
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("examples.bot", "module:router"),
        ("no_such_module_here:router", "cannot import"),
        ("examples.bot:main", "not a green_tg_async.bot.Router"),
        ("examples.bot:missing", "examples.bot has no attribute 'missing'"),
    ],
)
def test_issue12_bot_refuses_a_bad_target(
    target: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["--sandbox", "bot", target]) == 2
    assert message in capsys.readouterr().err


# -- check-file shows the look-up pace and an ETA that accounts for it (issue 20) ----


def test_check_file_prints_the_pace_and_an_eta(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.csv"
    assert main(["--sandbox", "check-file", str(SAMPLE), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    # The sandbox checks at 1,000/s.
    assert "look-up pace 100% of 1000/s; 15 numbers, ETA 0 min 00 s" in err


async def test_the_plan_uses_a_pace_learned_from_a_469() -> None:
    store = MemoryStore()
    await store.pace_cut(
        "{4100000001}:pace:contact_lookups",
        now=time.time(),
        resume_at=time.time() + 7200,  # the pause runs: no climb yet
        decrease=0.5,
        floor=0.1,
        climb=0.1,
    )
    limits = RateLimits(lookup_budget=None)
    async with AsyncGreenTelegram(
        "4100000001", "t" * 20, store=store, limits=limits
    ) as tg:
        plan = _plan(await _pace(tg), 100)
    assert (
        plan
        == "look-up pace 50% of 1/s (slowed after a 469); 100 numbers, ETA 3 min 20 s"
    )


def test_the_eta_respects_the_budget() -> None:
    assert eta_seconds(100, Pace(1.0)) == 100.0
    assert eta_seconds(100, Pace(1.0, 0.5)) == 200.0
    # 20 a minute: 5 minutes' worth, the last batch starting after 4 minutes.
    assert eta_seconds(100, Pace(1.0, budget=((20, 60.0),))) == 240.0
    assert eta_seconds(0, Pace(1.0, budget=((20, 60.0),))) == 0.0
    # A running pause comes first.
    assert eta_seconds(100, Pace(1.0, paused_for=3600.0)) == 3700.0


def test_issue31_send_with_an_idempotency_key_sends_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from green_tg_async import _cli

    shared = MemoryStore()  # one store for every run, as the real CLI's SQLite file
    monkeypatch.setattr(_cli, "MemoryStore", lambda: shared)
    argv = ["--sandbox", "send", "--idempotency-key", "k1", "10000000"]
    assert main([*argv, "hello"]) == 0
    first = capsys.readouterr().out.strip()
    assert main([*argv, "hello"]) == 0  # replayed from the store
    assert capsys.readouterr().out.strip() == first
    assert main([*argv, "other text"]) == 1
    assert "IdempotencyKeyReusedError" in capsys.readouterr().out
