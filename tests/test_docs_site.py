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
        for module in re.findall(r"^::: (\S+)$", page.read_text(), re.MULTILINE):
            found[module] = page
    return found


def test_every_public_module_has_a_reference_page() -> None:
    assert set(PUBLIC) <= set(_documented())


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None, reason='needs the "docs" extra'
)
def test_the_site_builds_and_documents_every_name_in_all(tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        check=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    for module, page in _documented().items():
        name = "index.html" if page.stem == "index" else f"{page.stem}/index.html"
        anchors = set(
            re.findall(r'id="([^"]+)"', (site / "reference" / name).read_text())
        )
        public = [n for n in importlib.import_module(module).__all__ if n[0] != "_"]
        missing = [n for n in public if f"{module}.{n}" not in anchors]
        assert not missing, f"{module}: {missing}"


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
