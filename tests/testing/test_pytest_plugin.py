"""The opt-in pytest plugin works in a new project that configures nothing.

pytest-asyncio's default mode is strict: an async fixture declared with plain
`@pytest.fixture` is then not run, and the test fails with "requested an async
fixture". This runs pytest in a throwaway project, in a subprocess, with no
pytest configuration of its own, as a user's first test run would.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT_TEST = """
import pytest

pytest_plugins = ["green_tg_async.testing.pytest_plugin"]


@pytest.mark.asyncio
async def test_a_send_reaches_the_fake(green_fake, green_client):
    await green_client.sending.send_message("10000000", "hello")
    assert green_fake.sent_texts("10000000") == ["hello"]


@pytest.mark.asyncio
async def test_each_test_gets_a_fresh_fake(green_fake, green_client):
    assert green_fake.sent_texts() == []
"""


def _run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "GREEN_API_", "COV_"))
    }
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider"),
            # A leaked client or an unawaited coroutine fails the run. (Not
            # `-W error`: pytest-asyncio warns that this project sets nothing.)
            *("-W", "error::ResourceWarning", "-W", "error::RuntimeWarning"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a cold start on a loaded machine takes seconds, not minutes
        check=False,
    )


def test_the_plugin_works_in_strict_mode_with_no_configuration(
    tmp_path: Path,
) -> None:
    project = tmp_path / "new_project"
    project.mkdir()
    (project / "test_app.py").write_text(textwrap.dedent(PROJECT_TEST))

    done = _run_pytest(project)

    output = done.stdout + done.stderr
    assert "rootdir: " + str(project) in output, output  # no config was found
    assert "mode=Mode.STRICT" in output, output
    assert done.returncode == 0, output
    assert "2 passed" in output, output


def test_without_pytest_asyncio_the_plugin_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pytest_asyncio", None)  # "not installed"
    monkeypatch.delitem(
        sys.modules, "green_tg_async.testing.pytest_plugin", raising=False
    )
    with pytest.raises(ImportError, match="pip install pytest-asyncio"):
        importlib.import_module("green_tg_async.testing.pytest_plugin")
