"""The site builds strictly, and its API reference covers every public name."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
PUBLIC = [
    "green_tg_async",
    "green_tg_async.bot",
    "green_tg_async.stores",
    "green_tg_async.testing",
    "green_tg_async.hooks",
    "green_tg_async.otel",
    "green_tg_async.webhooks",
    "green_tg_async.models",
]


def _documented() -> dict[str, Path]:
    """Module -> the reference page (source) that renders it with `:::`."""
    found = {}
    for page in REFERENCE.glob("*.md"):
        for name in re.findall(r"^::: (\S+)$", page.read_text(), re.MULTILINE):
            if importlib.util.find_spec(name) is not None:  # a module, not a class
                found[name] = page
    return found


def test_every_public_module_has_a_reference_page() -> None:
    assert set(PUBLIC) <= set(_documented())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module's tests."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip('needs the "docs" extra')
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        check=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    return site


def test_the_site_builds_and_documents_every_name_in_all(site: Path) -> None:
    for module, page in _documented().items():
        name = "index.html" if page.stem == "index" else f"{page.stem}/index.html"
        anchors = set(
            re.findall(r'id="([^"]+)"', (site / "reference" / name).read_text())
        )
        public = [n for n in importlib.import_module(module).__all__ if n[0] != "_"]
        missing = [n for n in public if f"{module}.{n}" not in anchors]
        assert not missing, f"{module}: {missing}"


def _first_anchor(html: str, names: list[str]) -> int:
    return min(html.index(f'id="{name}"') for name in names)


def test_the_reference_opens_with_the_client_then_sections_errors_policies(
    site: Path,
) -> None:
    import green_tg_async

    html = (site / "reference" / "index.html").read_text()
    anchors = re.findall(r'id="(green_tg_async\.[^"]+)"', html)
    assert anchors[0] == "green_tg_async.AsyncGreenTelegram", anchors[:3]
    public = [n for n in green_tg_async.__all__ if n[0] != "_"]
    errors = [f"green_tg_async.{n}" for n in public if n.endswith("Error")]
    order = [
        ["green_tg_async.AsyncGreenTelegram"],
        [f"green_tg_async.resources.{n}" for n in ("Account", "Sending", "Service")],
        errors,
        [f"green_tg_async.{n}" for n in ("RateLimits", "BreakerPolicy", "RetryPolicy")],
        ["green_tg_async.BreakerState", "green_tg_async.CircuitBreaker"],
    ]
    starts = [_first_anchor(html, names) for names in order]
    assert starts == sorted(starts)
    # Each group is whole before the next begins.
    ends = [max(html.index(f'id="{n}"') for n in names) for names in order]
    assert all(end < start for end, start in zip(ends, starts[1:], strict=False))
    # The breaker's pipeline methods are not part of the reference.
    for internal in ("admit", "gate", "record", "signal", "abandon", "check"):
        assert f'id="green_tg_async.CircuitBreaker.{internal}"' not in html


def test_readme_links_to_reference_pages_with_content_and_how_to_build() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = re.findall(r"\]\((docs/reference/[^)#]+)", readme)
    for target in linked:
        text = (ROOT / target).read_text()
        # A page of `:::` directives is empty outside the built site.
        assert not re.search(r"^::: ", text, re.MULTILINE), target
    assert "mkdocs serve" in readme
    assert "http://127.0.0.1:8000/reference/" in readme


def test_every_snippet_include_is_intact_and_names_a_file() -> None:
    # A formatter once rewrote `--8<-- "examples/bot.py"` as `--8 < --"…"`: the
    # page then showed that text instead of the example, and the build passed.
    pages = [ROOT / "mkdocs.yml", *(ROOT / "docs").rglob("*.md")]
    includes = 0
    for page in pages:
        for line in page.read_text().splitlines():
            if "8<" in line or "8 <" in line:
                match = re.fullmatch(r'\s*--8<-- "([^"]+)"', line)
                assert match, f"{page.name}: mangled include {line!r}"
                assert (ROOT / match.group(1)).is_file(), line
                includes += 1
    assert includes >= 5  # the examples and the changelog
