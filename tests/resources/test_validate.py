from __future__ import annotations

import pytest

from green_tg_async.resources import _validate as check


def test_yes_no() -> None:
    assert check.yes_no(None, "x") is None
    assert check.yes_no(True, "x") == "yes"
    assert check.yes_no("no", "x") == "no"
    with pytest.raises(ValueError, match="x must be"):
        check.yes_no("maybe", "x")


def test_integer_ranges_are_named() -> None:
    assert check.integer(5, "n", high=5) == 5
    with pytest.raises(ValueError, match="n must be <= 5"):
        check.integer(6, "n", high=5)
