"""Each program in examples/ runs, against the built-in fake (and a real Redis)."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from green_tg_async import RateLimits
from green_tg_async._cli_input import read_lines

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(
    name: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, **(env or {})},
    )


def test_fastapi_app_serves_the_webhook_next_to_its_own_routes() -> None:
    done = _run("fastapi_app.py")
    assert done.stdout.splitlines() == [
        "GET /health -> 200 {'ok': True, 'paused': False}",
        "POST /green-api, wrong token -> 401",
        "POST /green-api -> 200",
        "POST /green-api, the same notification again -> 200",
        "bot -> 1234567: You said: hello",  # once: the redelivery is not handled
    ]


def test_fastapi_app_factory_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi import FastAPI

    monkeypatch.syspath_prepend(str(EXAMPLES))
    import fastapi_app  # type: ignore[import-not-found]

    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    monkeypatch.setenv("GREEN_API_TOKEN", "t0ken")
    monkeypatch.setenv("GREEN_API_WEBHOOK_TOKEN", "s3cret")
    app = fastapi_app.create_app()
    assert isinstance(app, FastAPI)
    paths = {getattr(route, "path", None) for route in app.routes}
    assert {"/green-api", "/health"} <= paths


def test_the_serve_extra_installs_what_serves_the_fastapi_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tomllib

    import uvicorn

    docstring = (EXAMPLES / "fastapi_app.py").read_text().split('"""')[1]
    (extra,) = re.findall(r'pip install "green-tg-async\[(\w+)\]"', docstring)
    (command,) = [
        line.split() for line in docstring.splitlines() if "uvicorn --" in line
    ]
    project = tomllib.loads((EXAMPLES.parent / "pyproject.toml").read_text())
    installs = project["project"]["optional-dependencies"][extra]
    assert {re.split(r"[<>=]", r)[0] for r in installs} >= {"fastapi", "uvicorn"}
    # The command loads the app: uvicorn imports it from the project root.
    monkeypatch.chdir(EXAMPLES.parent)
    monkeypatch.syspath_prepend(str(EXAMPLES.parent))
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4100000001")
    monkeypatch.setenv("GREEN_API_TOKEN", "t0ken")
    monkeypatch.setenv("GREEN_API_WEBHOOK_TOKEN", "s3cret")
    assert command[command.index("uvicorn") + 1] == "--factory"
    config = uvicorn.Config(command[-1], factory=True, log_config=None)
    config.load()
    assert type(config.loaded_app.app).__name__ == "FastAPI"


def test_bulk_check_writes_a_row_per_number(tmp_path: Path) -> None:
    source = EXAMPLES / "numbers.csv"
    target = tmp_path / "results.csv"
    done = _run("bulk_check.py", str(source), str(target))
    with target.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    numbers = [x.phone for x in read_lines(source) if not x.problem]
    assert sorted(r["phone"] for r in rows) == sorted(numbers)
    results = {r["phone"]: r["result"] for r in rows}
    assert results["not a number"] == "invalid"
    assert results["+7 987 654-32-10"] == "found"  # the fake: an even last digit
    assert results["+7 987 654-32-11"] == "missing"
    counts = {k: list(results.values()).count(k) for k in set(results.values())}
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    assert done.stdout.strip() == summary


@pytest.mark.redis
def test_redis_bot_with_two_replicas_answers_each_message_once(
    redis_url: str, redis_prefix: str
) -> None:
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": redis_prefix}
    expected = [
        f"{chat}: Hi! What is your name? | Nice to meet you, User {chat}!"
        for chat in (1000001, 1000002, 1000003)
    ]
    # Twice with one prefix: the first run's done markers must not swallow
    # the second run's messages (the fake's ids restart with each run).
    for _ in range(2):
        assert _run("redis_replicas.py", env=env).stdout.splitlines() == expected


def test_redis_replicas_fails_when_a_chat_was_not_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from green_tg_async.testing import FakeGreenAPI

    monkeypatch.syspath_prepend(str(EXAMPLES))
    import redis_replicas  # type: ignore[import-not-found]

    fake = FakeGreenAPI(rate_limits=False)

    async def answer_all_but_the_first() -> None:
        async with fake.client(limits=RateLimits(enabled=False)) as tg:
            for chat in redis_replicas.CHATS[1:]:
                for text in redis_replicas.expected_replies(chat):
                    await tg.sending.send_message(chat, text)

    asyncio.run(answer_all_but_the_first())
    with pytest.raises(SystemExit, match=r"chats \[1000001\]"):
        redis_replicas.check(fake)


def test_opentelemetry_prints_a_span_per_call_and_the_metrics() -> None:
    done = _run("otel_console.py")
    decoder = json.JSONDecoder()
    text, documents = done.stdout, []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
        elif text[index] == "#":
            index = text.index("\n", index)
        else:
            document, index = decoder.raw_decode(text, index)
            documents.append(document)
    spans = [d for d in documents if "context" in d]
    assert [s["name"] for s in spans] == [
        "green_api checkAccount",
        "green_api sendMessage",
        "green_api sendMessage",
    ]
    assert spans[2]["attributes"]["error.type"] == "BadRequestError"
    (metrics,) = [d for d in documents if "resource_metrics" in d]
    names = {
        m["name"]
        for rm in metrics["resource_metrics"]
        for sm in rm["scope_metrics"]
        for m in sm["metrics"]
    }
    assert {"green_api.calls", "green_api.errors"} <= names
    assert "fake-token" not in done.stdout
    assert "# BadRequestError" in done.stdout
