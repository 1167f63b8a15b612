"""The reading rule: only essential fields may fail; the rest coerce or read as None."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from green_tg_async import ResponseDecodeError
from green_tg_async.models import (
    Chat,
    ContactInfo,
    SentMessage,
    _decode as decode,
    notifications as n,
)
from green_tg_async.models.notifications import parse_notification

SENDER = {
    "chatId": "10000000",
    "chatType": "user",
    "sender": "10000000",
    "chatName": "Ann",
    "senderName": "Ann",
    "senderPhoneNumber": 79876543210,
}


def _text(sender: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {
            "idInstance": 1101000001,
            "wid": 70000000,
            "typeInstance": "t",
        },
        "timestamp": 1700000000,
        "idMessage": "1",
        "senderData": sender,
        "messageData": {
            "typeMessage": "textMessage",
            "textMessageData": {"textMessage": "hi"},
        },
        **extra,
    }


def test_a_message_from_a_user_with_a_visible_phone_is_a_typed_message() -> None:
    parsed = parse_notification(_text(SENDER))
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert parsed.sender_data is not None
    assert parsed.sender_data.sender_phone_number == "79876543210"
    assert parsed.instance_data is not None
    assert parsed.instance_data.wid == "70000000"
    assert isinstance(parsed.message, n.TextMessage)


@pytest.mark.parametrize("hidden", [0, "", "0"])
def test_a_hidden_phone_reads_as_none(hidden: object) -> None:
    parsed = parse_notification(_text({**SENDER, "senderPhoneNumber": hidden}))
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert parsed.sender_data is not None
    assert parsed.sender_data.sender_phone_number is None


@pytest.mark.parametrize(
    ("wire", "digits"),
    [("+7 987 654-32-10", "79876543210"), ("79876543210", "79876543210")],
)
def test_a_phone_as_text_is_read_as_its_digits(wire: str, digits: str) -> None:
    chat = Chat.from_wire("getChats", {"chatId": "1", "phoneNumber": wire})
    assert chat.phone_number == digits


def test_get_chats_items_with_integer_phones_decode() -> None:
    chat = Chat.from_wire(
        "getChats", {"chatId": "10000000", "phoneNumber": 79001234567, "type": "user"}
    )
    assert chat.phone_number == "79001234567"
    group = Chat.from_wire("getChats", {"chatId": "-100123", "phoneNumber": 0})
    assert group.phone_number is None


def test_contact_info_reads_integer_phone_and_last_seen() -> None:
    info = ContactInfo.from_wire(
        "getContactInfo",
        {"chatId": 10000000, "phoneNumber": 79001234567, "lastSeen": "1700000000"},
    )
    assert info.chat_id == "10000000"
    assert info.phone_number == "79001234567"
    assert info.last_seen == 1700000000


def test_digits_in_a_string_read_as_an_int() -> None:
    parsed = parse_notification(_text(SENDER, timestamp="1700000000"))
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert parsed.timestamp == 1700000000


def test_an_int_id_reads_as_its_decimal_text() -> None:
    sent = SentMessage.from_wire("sendMessage", {"idMessage": 1769676078000})
    assert sent.id_message == "1769676078000"


def test_a_field_that_does_not_fit_reads_as_none_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = _text({**SENDER, "chatName": ["odd"], "senderPhoneNumber": {"x": 1}})
    with caplog.at_level(logging.DEBUG, logger="green_tg_async"):
        parsed = parse_notification(body)
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert parsed.sender_data is not None
    assert parsed.sender_data.chat_name is None
    assert parsed.sender_data.sender_phone_number is None
    assert parsed.sender_data.raw["chatName"] == ["odd"]
    text = caplog.text
    assert "SenderData.chatName" in text
    assert "SenderData.senderPhoneNumber" in text
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


@pytest.mark.parametrize(
    "odd",
    [
        {"timestamp": "soon"},
        {"idMessage": 3.5},
        {"senderData": "not an object"},
        {"instanceData": [1]},
        {"typeWebhook": "incomingMessageReceived", "extra": object()},
    ],
)
def test_a_message_with_odd_fields_stays_a_typed_message(odd: dict[str, Any]) -> None:
    parsed = parse_notification(_text(SENDER, **odd))
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert isinstance(parsed.message, n.TextMessage)
    assert parsed.message.text_message == "hi"


def test_odd_content_fields_keep_the_message_typed() -> None:
    body = _text(SENDER)
    body["messageData"]["textMessageData"] = {"textMessage": 5}
    parsed = parse_notification(body)
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert isinstance(parsed.message, n.TextMessage)
    assert parsed.message.text_message is None


@pytest.mark.parametrize("message_data", [None, "text", [1]])
def test_a_notification_with_a_type_never_raises(message_data: object) -> None:
    body = {**_text(SENDER), "messageData": message_data}
    parsed = parse_notification(body)
    assert parsed.type_webhook == "incomingMessageReceived"
    assert parsed.raw == body


def test_an_essential_field_still_fails_in_answers() -> None:
    with pytest.raises(ResponseDecodeError, match="idMessage"):
        SentMessage.from_wire("sendMessage", {"idMessage": ["x"]})
    with pytest.raises(ResponseDecodeError, match="chatId"):
        Chat.from_wire("getChats", {"name": "no id"})


def test_strict_mode_raises_on_a_field_that_does_not_fit() -> None:
    body = _text({**SENDER, "chatName": ["odd"]})
    with decode.DECODING.strict():
        assert SentMessage.from_wire("sendMessage", {"idMessage": "1"}).id_message
        with pytest.raises(ResponseDecodeError, match="chatName"):
            n.SenderData.from_wire("notification", body["senderData"])
    # Documented coercions are not drift: strict mode keeps them.
    with decode.DECODING.strict():
        parsed = parse_notification(_text(SENDER))
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert decode.DECODING.is_strict is False


def test_strict_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREEN_TG_STRICT_DECODING", "1")
    mode = decode.Decoding()
    assert mode.is_strict is True
    monkeypatch.setenv("GREEN_TG_STRICT_DECODING", "0")
    assert decode.Decoding().is_strict is False


def test_a_list_item_that_is_not_an_object_is_skipped() -> None:
    items = decode.expect_list("getChats", [{"chatId": "1"}, 5, "x"])
    assert items == [{"chatId": "1"}]
    with decode.DECODING.strict(), pytest.raises(ResponseDecodeError):
        decode.expect_list("getChats", [5])


def test_a_negative_phone_does_not_fit() -> None:
    chat = Chat.from_wire("getChats", {"chatId": "1", "phoneNumber": -5})
    assert chat.phone_number is None
    assert chat.raw["phoneNumber"] == -5


def test_a_nested_list_that_is_not_a_list_reads_as_empty() -> None:
    from green_tg_async.models import GroupData

    group = GroupData.from_wire("getGroupData", {"chatId": "-1", "participants": "x"})
    assert group.participants == ()


def test_strict_mode_raises_for_an_unreadable_item_and_body() -> None:
    with decode.DECODING.strict():
        with pytest.raises(ResponseDecodeError, match="chatId"):
            decode.decode_items(Chat, "getChats", [{"name": "no id"}])
        with pytest.raises(ResponseDecodeError):
            parse_notification(
                {"typeWebhook": "incomingMessageReceived", "messageData": 1}
            )
