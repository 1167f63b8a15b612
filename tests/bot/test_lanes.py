"""`Lanes`: a job that raises does not take its lane's later jobs with it."""

from __future__ import annotations

import logging

import pytest

from green_tg_async.bot._lanes import Lanes


async def test_a_failing_job_is_logged_and_the_lane_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lanes = Lanes(2)
    ran: list[str] = []

    async def broken() -> None:
        raise TypeError("a store that breaks its contract")

    async def fine() -> None:
        ran.append("fine")

    with caplog.at_level(logging.ERROR, "green_tg_async"):
        lanes.submit("chat", broken)
        lanes.submit("chat", fine)
        await lanes.wait_idle()
    assert ran == ["fine"]
    assert lanes.pending == 0
    assert "a store that breaks its contract" in caplog.text


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Lanes(0)
