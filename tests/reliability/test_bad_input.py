"""Issue 10, items 18 and 19: bad arguments fail before the breaker, the limiter
or the transport, with a clear error, even while the instance is paused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from green_tg_async import AsyncGreenTelegram, BreakerPolicy
from green_tg_async.models import ContactCard
from green_tg_async.stores import MemoryStore
from tests.helpers import ID_INSTANCE, T0, FakeClock, make_client

Call = Callable[[AsyncGreenTelegram], Awaitable[Any]]
SURROGATE = "caf\ud800"

CASES: list[tuple[str, Call, type[Exception], str]] = [
    (
        "typing_type=123",
        lambda tg: tg.sending.send_message("1", "hi", typing_type=123),  # type: ignore[arg-type]
        TypeError,
        "typing_type",
    ),
    (
        "typing_type unknown",
        lambda tg: tg.sending.send_message("1", "hi", typing_type="dance"),
        ValueError,
        "typing_type",
    ),
    (
        "poll quoted_message_id=[]",
        lambda tg: tg.sending.send_poll("1", "q?", ["a", "b"], quoted_message_id=[]),  # type: ignore[arg-type]
        TypeError,
        "quoted_message_id",
    ),
    (
        "poll quoted_message_id=123",
        lambda tg: tg.sending.send_poll("1", "q?", ["a", "b"], quoted_message_id=123),  # type: ignore[arg-type]
        TypeError,
        "quoted_message_id",
    ),
    (
        "message quoted_message_id=123",
        lambda tg: tg.sending.send_message("1", "hi", quoted_message_id=123),  # type: ignore[arg-type]
        TypeError,
        "quoted_message_id",
    ),
    (
        "poll type=5",
        lambda tg: tg.sending.send_poll("1", "q?", ["a", "b"], type=5),  # type: ignore[arg-type]
        TypeError,
        "type",
    ),
    (
        "poll type unknown",
        lambda tg: tg.sending.send_poll("1", "q?", ["a", "b"], type="survey"),
        ValueError,
        "type",
    ),
    (
        "create_group type=5",
        lambda tg: tg.groups.create_group("g", ["1"], type=5),  # type: ignore[arg-type]
        TypeError,
        "type",
    ),
    (
        "send_typing typing_type=[]",
        lambda tg: tg.service.send_typing("1", 2000, typing_type=[]),  # type: ignore[arg-type]
        TypeError,
        "typing_type",
    ),
    (
        "lone surrogate in a message",
        lambda tg: tg.sending.send_message("1", SURROGATE),
        ValueError,
        "message",
    ),
    (
        "lone surrogate in a group name",
        lambda tg: tg.groups.create_group(SURROGATE, ["1"]),
        ValueError,
        "surrogate",
    ),
    (
        "lone surrogate in a chat id",
        lambda tg: tg.sending.send_message(SURROGATE, "hi"),
        ValueError,
        "surrogate",
    ),
    (
        "file name with CR LF",
        lambda tg: tg.sending.upload_file(b"x", file_name="report\r\n.txt"),
        ValueError,
        "file_name",
    ),
    (
        "file name with NUL",
        lambda tg: tg.sending.send_file_by_upload("1", b"x", file_name="a\x00.txt"),
        ValueError,
        "file_name",
    ),
    (
        "file name with a lone surrogate",
        lambda tg: tg.sending.upload_file(b"x", file_name=SURROGATE + ".txt"),
        ValueError,
        "file_name",
    ),
]


def _refuse_all(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"sent {request.url.path.split('/')[2]}")


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [pytest.param(call, error, match, id=name) for name, call, error, match in CASES],
)
@pytest.mark.parametrize("paused", [False, True], ids=["closed", "paused"])
async def test_item18_19_bad_arguments_are_refused_first(
    call: Call, error: type[Exception], match: str, paused: bool
) -> None:
    store = MemoryStore()
    if paused:
        await store.breaker_open(
            f"{{{ID_INSTANCE}}}:breaker", until=T0 + 60, reason="469"
        )
    async with make_client(
        store=store,
        breaker=BreakerPolicy(clock=FakeClock()),
        transport=httpx.MockTransport(_refuse_all),
    ) as tg:
        with pytest.raises(error, match=match):
            await call(tg)


@pytest.mark.parametrize(
    ("card", "error", "match"),
    [
        (ContactCard(79000000000, first_name=1), TypeError, "first_name"),  # type: ignore[arg-type]
        (ContactCard("7900"), TypeError, "phone_contact"),  # type: ignore[arg-type]
        (ContactCard(79000000000, company=SURROGATE), ValueError, "surrogate"),
    ],
)
async def test_item18_contact_card_fields_are_checked(
    card: ContactCard, error: type[Exception], match: str
) -> None:
    async with make_client(transport=httpx.MockTransport(_refuse_all)) as tg:
        with pytest.raises(error, match=match):
            await tg.sending.send_contact("1", card)


async def test_item19_a_file_whose_path_has_a_newline_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad\nname.txt"
    path.write_bytes(b"x")
    async with make_client(transport=httpx.MockTransport(_refuse_all)) as tg:
        with pytest.raises(ValueError, match="file_name"):
            await tg.sending.upload_file(path)
