"""The README's method list must match the method table."""

from __future__ import annotations

from pathlib import Path

import pytest

from green_tg_async import AsyncGreenPartner, AsyncGreenTelegram
from green_tg_async._methods import METHODS, PARTNER_METHODS, SECTIONS, methods_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_lists_every_method_of_the_table() -> None:
    text = README.read_text(encoding="utf-8")
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
