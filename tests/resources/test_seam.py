"""One seam from the sections: every call goes through `Section._fetch`.

And the sections know the client only by the `SectionClient` protocol, so the
resources package does not import the client modules (no import circle).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from green_tg_async.resources._base import Section
from tests.resources.test_every_method import CASES, Case, run

RESOURCES = Path(__file__).parents[2] / "green_tg_async" / "resources"
CLIENT_MODULES = {"green_tg_async._client", "green_tg_async._base_client"}
# Being rewritten by other branches of issues 30 and 31; they still call the
# client directly (sending.py) and type their helper by the client (_bulk.py).
NOT_YET = {"_bulk.py"}
SEAM_CASES = CASES


def _modules() -> list[Path]:
    return sorted(p for p in RESOURCES.glob("*.py") if p.name not in NOT_YET)


def _imported(tree: ast.Module) -> set[str]:
    """Every module `tree` imports, at run time or for typing, made absolute."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1:
                base = f"green_tg_async.resources.{base}".rstrip(".")
            elif node.level == 2:
                base = f"green_tg_async.{base}".rstrip(".")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_imports_for_typing_only_count_too() -> None:
    typing_only = "if TYPE_CHECKING:\n    from .._client import AsyncGreenTelegram\n"
    assert "green_tg_async._client" in _imported(ast.parse(typing_only))


def test_no_section_module_imports_the_client_modules() -> None:
    offenders = {
        path.name: sorted(_imported(ast.parse(path.read_text())) & CLIENT_MODULES)
        for path in _modules()
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def _calls_client_directly(tree: ast.Module) -> bool:
    """Whether `tree` reads `<x>._client._call` (bypassing the seam)."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "_call"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_client"
        for node in ast.walk(tree)
    )


def test_only_the_seam_calls_the_client() -> None:
    direct = [
        path.name
        for path in _modules()
        if path.name != "_base.py"
        and _calls_client_directly(ast.parse(path.read_text()))
    ]
    assert direct == []
    assert _calls_client_directly(ast.parse((RESOURCES / "_base.py").read_text()))


@pytest.mark.parametrize("case", SEAM_CASES, ids=[case.method for case in SEAM_CASES])
async def test_every_section_method_goes_through_the_seam(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    fetch = Section._fetch

    async def spy(self: Section, method: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(method)
        return await fetch(self, method, *args, **kwargs)

    monkeypatch.setattr(Section, "_fetch", spy)
    _, result = await run(case)
    assert seen == [case.method]
    assert case.result(result) == case.expected
