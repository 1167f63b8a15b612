"""Notification parsing on a fixture body for every type of spec §13."""

from __future__ import annotations

from typing import Any

import pytest

from green_tg_async import ResponseDecodeError
from green_tg_async.models import notifications as n
from green_tg_async.models.notifications import parse_message, parse_notification

INSTANCE = {"idInstance": 4100000001, "wid": "777", "typeInstance": "telegram"}
SENDER = {
    "chatId": "-100123",
    "chatType": "supergroup",
    "sender": "10000000",
    "chatName": "Team",
    "senderName": "Ann",
    "senderType": "user",
    "senderContactName": "Ann L.",
    "senderPhoneNumber": "79876543210",
}
FILE = {
    "downloadUrl": "https://d/f",
    "caption": "look",
    "fileName": "f.jpg",
    "jpegThumbnail": "/9j/",
    "mimeType": "image/jpeg",
}


def _message(type_webhook: str, message_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "typeWebhook": type_webhook,
        "instanceData": INSTANCE,
        "timestamp": 1700000000,
        "idMessage": "1769676078000",
        "senderData": SENDER,
        "messageData": message_data,
    }


# (typeMessage, messageData, expected class, fields to check)
MESSAGES: list[tuple[str, dict[str, Any], type, dict[str, Any]]] = [
    ("textMessage", {"textMessageData": {"textMessage": "hi"}},
     n.TextMessage, {"text_message": "hi"}),
    ("extendedTextMessage",
     {"extendedTextMessageData": {"text": "see https://x", "title": "X",
                                  "description": "d", "isForwarded": True,
                                  "forwardingScore": 2}},
     n.ExtendedTextMessage,
     {"text": "see https://x", "title": "X", "is_forwarded": True,
      "forwarding_score": 2}),
    ("imageMessage", {"fileMessageData": FILE}, n.FileMessage,
     {"download_url": "https://d/f", "caption": "look", "mime_type": "image/jpeg"}),
    ("videoMessage", {"fileMessageData": {**FILE, "mimeType": "video/mp4"}},
     n.FileMessage, {"mime_type": "video/mp4"}),
    ("documentMessage", {"fileMessageData": {**FILE, "fileName": "a.pdf"}},
     n.FileMessage, {"file_name": "a.pdf"}),
    ("audioMessage", {"fileMessageData": {**FILE, "mimeType": "audio/ogg"}},
     n.FileMessage, {"mime_type": "audio/ogg"}),
    ("locationMessage",
     {"locationMessageData": {"latitude": 55.75, "longitude": 37, "nameLocation": "M",
                              "address": "Red Sq."}},
     n.LocationMessage,
     {"latitude": 55.75, "longitude": 37.0, "name_location": "M",
      "address": "Red Sq."}),
    ("contactMessage",
     {"contactMessageData": {"phoneContact": "79001234567", "firstName": "Bob",
                             "lastName": "Lee", "vcard": "BEGIN:VCARD",
                             "chatId": "10000001", "isForwarded": False,
                             "forwardingScore": 0}},
     n.ContactMessage,
     {"phone_contact": "79001234567", "first_name": "Bob", "last_name": "Lee",
      "vcard": "BEGIN:VCARD", "chat_id": "10000001", "is_forwarded": False,
      "forwarding_score": 0}),
    ("pollMessage",
     {"pollMessageData": {"name": "Q?", "multipleAnswers": False,
                          "options": [{"optionName": "a"}, {"optionName": "b"}]}},
     n.PollMessage, {"name": "Q?", "multiple_answers": False, "options": ("a", "b")}),
    ("stickerMessage",
     {"stickerMessageData": {"downloadUrl": "https://d/s", "fileName":
                             "AnimatedSticker.tgs",
                             "mimeType": "application/x-tgsticker"}},
     n.StickerMessage, {"file_name": "AnimatedSticker.tgs", "is_animated": True}),
    ("reactionMessage",
     {"extendedTextMessageData": {"text": "👍"},
      "quotedMessage": {"stanzaId": "42", "participant": "10000000"}},
     n.ReactionMessage, {"text": "👍", "stanza_id": "42", "participant": "10000000"}),
    ("editedMessage",
     {"editedMessageData": {"textMessage": "fixed", "stanzaId": "42"}},
     n.EditedMessage, {"text_message": "fixed", "stanza_id": "42"}),
    ("deletedMessage", {"deletedMessageData": {"stanzaId": "42"}},
     n.DeletedMessage, {"stanza_id": "42"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("type_message", "data", "cls", "expected"),
    MESSAGES,
    ids=[case[0] for case in MESSAGES],
)
@pytest.mark.parametrize(
    ("type_webhook", "envelope"),
    [
        ("incomingMessageReceived", n.IncomingMessageReceived),
        ("outgoingMessageReceived", n.OutgoingMessageReceived),
        ("outgoingAPIMessageReceived", n.OutgoingAPIMessageReceived),
    ],
)
def test_every_message_type_in_every_message_notification(
    type_message: str,
    data: dict[str, Any],
    cls: type,
    expected: dict[str, Any],
    type_webhook: str,
    envelope: type,
) -> None:
    body = _message(type_webhook, {"typeMessage": type_message, **data})
    parsed = parse_notification(body)
    assert type(parsed) is envelope
    assert isinstance(parsed, n.MessageNotification)
    assert parsed.type_webhook == type_webhook
    assert parsed.raw == body
    assert parsed.id_message == "1769676078000"
    assert parsed.timestamp == 1700000000
    assert parsed.chat_id == "-100123"
    assert parsed.sender_data is not None
    assert parsed.sender_data.sender_phone_number == "79876543210"
    assert parsed.instance_data == n.InstanceData(4100000001, "777", "telegram")
    message = parsed.message
    assert type(message) is cls
    assert message.type_message == type_message
    assert message.raw == body["messageData"]
    for name, value in expected.items():
        assert getattr(message, name) == value, name


def test_outgoing_message_status() -> None:
    body = {
        "typeWebhook": "outgoingMessageStatus",
        "chatId": "10000000",
        "instanceData": INSTANCE,
        "timestamp": 1700000000,
        "idMessage": "1",
        "status": "failed",
        "description": "chat not found",
        "sendByApi": True,
    }
    parsed = parse_notification(body)
    assert isinstance(parsed, n.OutgoingMessageStatus)
    assert (parsed.chat_id, parsed.id_message, parsed.status) == (
        "10000000",
        "1",
        "failed",
    )
    assert parsed.description == "chat not found"
    assert parsed.send_by_api is True
    assert parsed.instance_data is not None
    assert parsed.instance_data.type_instance == "telegram"


def test_state_instance_changed_keeps_new_states_as_str() -> None:
    body = {
        "typeWebhook": "stateInstanceChanged",
        "instanceData": INSTANCE,
        "timestamp": 1700000000,
        "stateInstance": "someStateAddedLater",
    }
    parsed = parse_notification(body)
    assert isinstance(parsed, n.StateInstanceChanged)
    assert parsed.state_instance == "someStateAddedLater"


def test_quota_exceeded() -> None:
    body = {
        "typeWebhook": "quotaExceeded",
        "instanceData": INSTANCE,
        "timestamp": 1700000000,
        "quotaData": {
            "method": "correspondents",
            "used": 3,
            "total": 3,
            "status": "QUOTE_EXCEEDED",
            "description": "3 chats",
        },
    }
    parsed = parse_notification(body)
    assert isinstance(parsed, n.QuotaExceeded)
    assert parsed.quota_data == n.QuotaData(
        "correspondents", 3, 3, "QUOTE_EXCEEDED", "3 chats"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"typeWebhook": "somethingNew", "x": 1},
        {"no": "type"},
        {"typeWebhook": 5},
        # A message whose essential messageData is unusable is kept, not dropped.
        {"typeWebhook": "incomingMessageReceived", "messageData": "soon"},
    ],
)
def test_unknown_or_unreadable_notifications_pass_through(body: dict[str, Any]) -> None:
    parsed = parse_notification(body)
    assert isinstance(parsed, n.UnknownNotification)
    assert parsed.raw == body
    kind = body.get("typeWebhook")
    assert parsed.type_webhook == (kind if isinstance(kind, str) else None)


def test_unknown_message_types_pass_through() -> None:
    body = _message("incomingMessageReceived", {"typeMessage": "storyMessage", "s": 1})
    parsed = parse_notification(body)
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert parsed.message == n.UnknownMessage("storyMessage")
    assert parsed.message.raw == {"typeMessage": "storyMessage", "s": 1}
    assert parse_message({}).type_message is None


def test_a_sticker_in_the_whatsapp_container_is_still_read() -> None:
    data = {
        "typeMessage": "stickerMessage",
        "fileMessageData": {"mimeType": "image/webp"},
    }
    sticker = parse_message(data)
    assert isinstance(sticker, n.StickerMessage)
    assert sticker.mime_type == "image/webp"
    assert sticker.is_animated is False


def test_missing_parts_are_none_not_errors() -> None:
    parsed = parse_notification({"typeWebhook": "incomingMessageReceived"})
    assert isinstance(parsed, n.IncomingMessageReceived)
    assert parsed.sender_data is None
    assert parsed.chat_id is None
    assert parsed.instance_data is None
    assert isinstance(parsed.message, n.UnknownMessage)


def test_poll_options_as_plain_strings_and_a_reaction_without_quote() -> None:
    poll = parse_message(
        {
            "typeMessage": "pollMessage",
            "pollMessageData": {"options": ["a", 1, {"optionName": "b"}]},
        }
    )
    assert isinstance(poll, n.PollMessage)
    assert poll.options == ("a", "b")
    empty = parse_message({"typeMessage": "pollMessage", "pollMessageData": {}})
    assert isinstance(empty, n.PollMessage)
    assert empty.options == ()
    reaction = parse_message(
        {"typeMessage": "reactionMessage", "extendedTextMessageData": {"text": ""}}
    )
    assert isinstance(reaction, n.ReactionMessage)
    assert reaction.stanza_id is None


def test_a_body_that_is_not_an_object_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError):
        parse_notification([1, 2])


def test_a_missing_or_bad_coordinate() -> None:
    loc = parse_message({"typeMessage": "locationMessage", "locationMessageData": {}})
    assert isinstance(loc, n.LocationMessage)
    assert loc.latitude is None
    bad = {"typeMessage": "locationMessage", "locationMessageData": {"latitude": "1"}}
    odd = parse_message(bad)
    assert isinstance(odd, n.LocationMessage)
    assert odd.latitude is None
    assert odd.raw["locationMessageData"] == {"latitude": "1"}
