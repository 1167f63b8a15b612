from __future__ import annotations

import inspect

import green_tg_async
from green_tg_async import models, stores


def test_all_is_sorted_and_complete() -> None:
    exported = green_tg_async.__all__
    assert len(set(exported)) == len(exported)  # the order is ruff's RUF022
    public = {
        name
        for name, value in vars(green_tg_async).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and name != "annotations"  # from __future__
    }
    assert public <= set(exported)


def test_every_export_is_documented() -> None:
    for module in (green_tg_async, models, stores):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert value.__doc__, f"{module.__name__}.{name} has no docstring"


def test_exports_claim_the_public_module() -> None:
    assert green_tg_async.RateLimitError.__module__ == "green_tg_async"
    assert repr(green_tg_async.RateLimitError) == (
        "<class 'green_tg_async.RateLimitError'>"
    )


def test_importing_the_package_does_not_import_pytest() -> None:
    import subprocess
    import sys

    code = "import sys, green_tg_async; print('pytest' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
