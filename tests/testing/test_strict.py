from __future__ import annotations

import pytest

from green_tg_async import ResponseDecodeError
from green_tg_async.models import Chat
from green_tg_async.testing import strict_decoding


def test_strict_decoding_raises_on_drift_inside_the_block_only() -> None:
    drifted = {"chatId": "10000000", "name": ["not", "text"]}
    with strict_decoding(), pytest.raises(ResponseDecodeError, match="name"):
        Chat.from_wire("getChats", drifted)
    assert Chat.from_wire("getChats", drifted).name is None


def test_strict_decoding_keeps_the_documented_coercions() -> None:
    with strict_decoding():
        chat = Chat.from_wire(
            "getChats", {"chatId": "10000000", "phoneNumber": 79876543210}
        )
    assert chat.phone_number == "79876543210"


def test_strict_decoding_can_be_switched_off_inside_a_strict_run() -> None:
    drifted = {"chatId": "10000000", "name": 5.5}
    with strict_decoding(), strict_decoding(False):
        assert Chat.from_wire("getChats", drifted).name is None
