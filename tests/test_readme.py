"""The README and the docs: every Python block runs, the method list is the table's.

Every ```python block of README.md and docs/ runs here unless the line before
it is a visible marker with a reason, `<!-- not-run: REASON -->`. A page's
blocks run in order in one namespace; a block with top-level `await` gets `tg`,
a client of the sandbox instance, and every block sees `fake`, that instance's
FakeGreenAPI, served on loopback so that `AsyncGreenTelegram()` finds it
through GREEN_API_* variables. The first Python block of each page is a
complete script and also runs as a file, in a process of its own; later blocks
with top-level `await` are REPL snippets, labelled as such on their page.
The convention is described for writers in docs/development.md.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from green_tg_async import AsyncGreenPartner, AsyncGreenTelegram, RateLimits
from green_tg_async._methods import METHODS, PARTNER_METHODS, SECTIONS, methods_markdown
from green_tg_async.testing import FakeGreenAPI, reset_process_state
from green_tg_async.testing._server import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
METHODS_PAGE = DOCS / "reference" / "methods.md"
PAGES = [
    README,
    *sorted(DOCS.rglob("*.md")),
]
BLOCK_TIMEOUT = 60.0  # seconds of real time; the blocks take milliseconds
NOT_RUN = re.compile(r"<!-- not-run: (.*?) -->")
FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    code: str
    not_run: str | None  # the reason, when marked


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = NOT_RUN.fullmatch(before.strip())
        found.append(
            Block(
                page,
                line,
                match[1],
                match[2],
                marker[1].strip() if marker else None,
            )
        )
    return found


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeGreenAPI]:
    """A FakeGreenAPI served on loopback, in a thread, found through the env."""
    fake = FakeGreenAPI(rate_limits=False, long_poll=False)
    ready = threading.Event()
    url: list[str] = []
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        stop = asyncio.Event()
        async with LoopbackServer(fake.handle_async) as server:
            url.append(server.url)
            running.append((asyncio.get_running_loop(), stop))
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    for name in ("GREEN_API_MEDIA_URL", "GREEN_API_PHONE_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", fake.id_instance)
    monkeypatch.setenv("GREEN_API_TOKEN", fake.api_token)
    monkeypatch.setenv("GREEN_API_URL", url[0])
    monkeypatch.setenv("GREEN_API_WEBHOOK_TOKEN", "webhook-token")
    monkeypatch.setenv("GREEN_TG_STATE", str(tmp_path / "state.sqlite3"))
    monkeypatch.chdir(tmp_path)
    reset_process_state()
    try:
        yield fake
    finally:
        loop, stop = running[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        reset_process_state()


def _run_block(block: Block, namespace: dict[str, Any]) -> None:
    name = f"{_page_id(block.page)}:{block.line}"
    code = compile(block.code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(_run_async(code, namespace))
    else:
        exec(code, namespace)


async def _run_async(code: Any, namespace: dict[str, Any]) -> None:
    # The fake has no rates to respect; the docs' examples need not wait.
    async with AsyncGreenTelegram(limits=RateLimits(enabled=False)) as tg:
        namespace["tg"] = tg
        async with asyncio.timeout(BLOCK_TIMEOUT):  # a block that never ends fails
            await eval(code, namespace)


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_python_block_runs_or_says_why_not(
    page: Path, sandbox: FakeGreenAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__", "fake": sandbox}
    text = page.read_text(encoding="utf-8")
    markers = len(re.findall(r"^" + NOT_RUN.pattern + "$", text, re.MULTILINE))
    assert markers == sum(b.not_run is not None for b in blocks(page)), "stray marker"
    for block in blocks(page):
        if block.language != "python":
            assert block.not_run is None, f"line {block.line}: marks only python"
            continue
        if block.not_run is not None:
            assert block.not_run, f"line {block.line}: not-run needs a reason"
            compile(block.code, "<doc>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            continue
        try:
            _run_block(block, namespace)
        except Exception as exc:
            raise AssertionError(
                f"{_page_id(page)}, the block at line {block.line} failed: {exc!r}"
            ) from exc


def _needs_await(block: Block) -> bool:
    """Whether the block uses top-level `await` (a REPL snippet)."""
    code = compile(block.code, "<doc>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    return bool(code.co_flags & inspect.CO_COROUTINE)


def _python(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.language == "python"]


SCRIPT_PAGES = [page for page in PAGES if _python(page)]


@pytest.mark.parametrize("page", SCRIPT_PAGES, ids=_page_id)
def test_the_first_python_block_of_every_page_runs_as_a_file(
    page: Path, sandbox: FakeGreenAPI, tmp_path: Path
) -> None:
    first = _python(page)[0]
    if first.code.startswith("--8<--"):  # an example file, run by its own test
        assert first.not_run is not None
        return
    assert first.not_run is None, f"line {first.line}: the first example must run"
    assert not _needs_await(first), f"line {first.line}: top-level await"
    script = tmp_path / "first_example.py"
    script.write_text(first.code, encoding="utf-8")
    # A new process, as a reader's pasted file runs: nothing from the test's
    # namespace; the sandbox is found through the GREEN_API_* variables.
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,  # seconds; the scripts take one or two on a loaded machine
        check=False,
    )
    assert done.returncode == 0, f"line {first.line}:\n{done.stderr}"


@pytest.mark.parametrize("page", SCRIPT_PAGES, ids=_page_id)
def test_repl_snippets_are_labelled_before_the_first(page: Path) -> None:
    repl = [b for b in _python(page)[1:] if _needs_await(b)]
    if repl:
        text = page.read_text(encoding="utf-8")
        before = "\n".join(text.splitlines()[: repl[0].line - 1])
        assert "python -m asyncio" in before, f"line {repl[0].line}: unlabelled"


def test_every_guide_opens_with_a_runnable_example() -> None:
    for page in [*sorted((DOCS / "guides").glob("*.md")), DOCS / "index.md"]:
        first = blocks(page)[0]
        heading, *between = page.read_text(encoding="utf-8").splitlines()[
            : first.line - 1
        ]
        assert heading.startswith("# "), page
        assert not "".join(between).strip(), f"{page.name}: text before its example"
        assert first.language in ("python", "bash"), page
        assert first.not_run is None, page


def _sandbox_commands() -> Iterator[tuple[str, str]]:
    for page in PAGES:
        for block in blocks(page):
            if block.language != "bash":
                continue
            for line in block.code.splitlines():
                if "green-tg --sandbox" in line and not line.lstrip().startswith(
                    ("#", "python")
                ):
                    yield _page_id(page), line.split("  #")[0].strip()


@pytest.mark.parametrize(("page", "command"), list(_sandbox_commands()))
def test_sandbox_commands_in_the_docs_run(
    page: str,
    command: str,
    sandbox: FakeGreenAPI,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from green_tg_async._cli import main

    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.setenv("GREEN_TG_SANDBOX_RATE", "1000")
    words = shlex.split(command)
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        monkeypatch.setenv(name, value)
    assert words[0] == "green-tg"
    expected = 3 if "GREEN_TG_SANDBOX_LOOKUP_LIMIT" in command else 0
    assert main(words[1:]) == expected, command


def test_the_quickstart_is_what_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    (quickstart, *_) = (b for b in blocks(README) if b.language == "bash")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # Installed from the committed lock, as CI installs: a new release of a
    # dependency cannot break the README's commands.
    install = 'pip install -c .ci/constraints.txt -e ".[dev,cli]"'
    assert (
        f"{install} && green-tg --sandbox check-file "
        "examples/numbers.csv -o results.csv" in quickstart.code
    )
    assert install in ci
    assert (ROOT / ".ci" / "constraints.txt").is_file()
    test_command = "coverage run -m pytest && coverage report"
    assert test_command in quickstart.code
    assert test_command in ci
    assert len(text.splitlines()) <= 150


def test_the_quickstart_output_is_ignored_by_git() -> None:
    (quickstart, *_) = (b for b in blocks(README) if b.language == "bash")
    outputs = re.findall(r" -o (\S+)", quickstart.code)
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert outputs
    assert set(outputs) <= set(ignored)


def test_methods_page_lists_every_method_of_the_table() -> None:
    text = METHODS_PAGE.read_text(encoding="utf-8")
    block = text.split("<!-- methods:start -->\n")[1].split("\n<!-- methods:end -->")[0]
    assert block == methods_markdown()
    for spec in METHODS.values():
        assert f"`{spec.python_name}`" in block


def test_every_table_entry_exists_on_its_section() -> None:
    tg = AsyncGreenTelegram("4100000001", "t0ken")
    assert {spec.section for spec in METHODS.values()} == set(SECTIONS)
    for spec in METHODS.values():
        method = getattr(getattr(tg, spec.section), spec.python_name)
        assert callable(method), spec.name
        assert spec.name in (method.__doc__ or ""), f"{spec.name}: docstring"
    for spec in PARTNER_METHODS.values():
        assert callable(getattr(AsyncGreenPartner, spec.python_name))


def test_snake_case_names() -> None:
    names = {spec.name: spec.python_name for spec in METHODS.values()}
    assert names["sendFileByUrl"] == "send_file_by_url"
    assert names["qr"] == "qr"
    assert names["getStateInstance"] == "get_state_instance"
    assert names["sendTyping"] == "send_typing"


def test_guessed_answers_name_real_methods() -> None:
    from green_tg_async._methods import GUESSED_ANSWERS

    assert set(METHODS) | set(PARTNER_METHODS) >= GUESSED_ANSWERS


def test_contact_lookups_come_from_the_table() -> None:
    from green_tg_async._config import CONTACT_LOOKUP_METHODS

    assert {
        "checkAccount",
        "getContactInfo",
        "getAvatar",
        "getContacts",
    } == CONTACT_LOOKUP_METHODS


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        (
            "notifications.py",
            ["10000000 says 'hello'", "message 2 is read", "left in the queue: 0"],
        ),
        (
            "bot.py",
            [
                "bot -> 1234567: Send /start to begin.",
                "bot -> 1234567: Hi! What is your name?",
                "bot -> 1234567: Nice to meet you, Ann!",
                "bot -> 7654321: Hi! What is your name?",
            ],
        ),
    ],
)
def test_an_example_runs(example: str, expected: list[str]) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(README.parent / "examples" / example)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.splitlines() == expected


def test_the_stores_guide_names_the_locked_versions() -> None:
    """The versions the guide says CI tests are the ones in the committed lock."""
    lock = (ROOT / ".ci" / "constraints.txt").read_text(encoding="utf-8")
    pinned = dict(re.findall(r"^([a-z0-9-]+)==([^\s;]+)", lock, flags=re.MULTILINE))
    guide = (ROOT / "docs" / "guides" / "stores.md").read_text(encoding="utf-8")
    paragraph = guide.split("CI installs the versions in the committed lock")[1]
    paragraph = " ".join(paragraph.split("\n\n")[0].split())
    named = {
        "redis-py": "redis",
        "httpx": "httpx",
        "aiohttp": "aiohttp",
        "aiolimiter": "aiolimiter",
        "tenacity": "tenacity",
        "pytest": "pytest",
        "pytest-asyncio": "pytest-asyncio",
        "respx": "respx",
    }
    for label, package in named.items():
        assert f"{label} {pinned[package]}" in paragraph, (label, pinned[package])
