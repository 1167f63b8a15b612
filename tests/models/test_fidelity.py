"""Issue 19 §3: fields the Telegram docs show that the models must read."""

from __future__ import annotations

from typing import Any

import pytest

from green_tg_async.models import (
    AccountCheck,
    ActionResult,
    GroupData,
    PartnerInstance,
    QrCode,
    Settings,
    notifications as n,
)
from green_tg_async.models.notifications import parse_message

QUOTED = {
    "stanzaId": "1769676078001",
    "participant": "10000001",
    "typeMessage": "textMessage",
    "textMessage": "the question",
}
CONTENTS: list[tuple[str, str, dict[str, Any]]] = [
    ("textMessage", "textMessageData", {"textMessage": "an answer"}),
    ("extendedTextMessage", "extendedTextMessageData", {"text": "see x"}),
    ("imageMessage", "fileMessageData", {"downloadUrl": "https://d/f"}),
    ("documentMessage", "fileMessageData", {"fileName": "a.pdf"}),
    ("locationMessage", "locationMessageData", {"latitude": 1.5}),
    ("contactMessage", "contactMessageData", {"firstName": "Bob"}),
    ("pollMessage", "pollMessageData", {"name": "Q?"}),
    ("stickerMessage", "stickerMessageData", {"mimeType": "image/webp"}),
]


@pytest.mark.parametrize(("kind", "container", "inner"), CONTENTS)
def test_every_content_type_exposes_reply_and_forward_data(
    kind: str, container: str, inner: dict[str, Any]
) -> None:
    data = {
        "typeMessage": kind,
        container: {**inner, "forwardingScore": 2, "isForwarded": True},
        "quotedMessage": QUOTED,
    }
    content = parse_message(data)
    assert not isinstance(content, n.UnknownMessage)
    assert content.forwarding_score == 2
    assert content.is_forwarded is True
    quoted = content.quoted_message
    assert isinstance(quoted, n.QuotedMessage)
    assert (quoted.stanza_id, quoted.participant) == ("1769676078001", "10000001")
    assert (quoted.type_message, quoted.text_message) == ("textMessage", "the question")
    assert quoted.raw == QUOTED


def test_a_message_that_is_no_reply_has_no_quoted_message() -> None:
    content = parse_message(
        {"typeMessage": "textMessage", "textMessageData": {"textMessage": "hi"}}
    )
    assert isinstance(content, n.TextMessage)
    assert content.quoted_message is None
    odd = parse_message({"typeMessage": "textMessage", "quotedMessage": "x"})
    assert isinstance(odd, n.TextMessage)
    assert odd.quoted_message is None


def test_extended_text_has_source_id_and_thumbnail_url() -> None:
    content = parse_message(
        {
            "typeMessage": "extendedTextMessage",
            "extendedTextMessageData": {
                "text": "ad",
                "sourceId": "12345",
                "thumbnailUrl": "https://t/x.jpg",
            },
        }
    )
    assert isinstance(content, n.ExtendedTextMessage)
    assert content.source_id == "12345"
    assert content.thumbnail_url == "https://t/x.jpg"


def test_a_reaction_reads_its_target_from_the_quoted_message() -> None:
    content = parse_message(
        {
            "typeMessage": "reactionMessage",
            "extendedTextMessageData": {"text": "👍"},
            "quotedMessage": QUOTED,
        }
    )
    assert isinstance(content, n.ReactionMessage)
    assert (content.stanza_id, content.participant) == ("1769676078001", "10000001")


def test_check_account_reads_from_cache() -> None:
    check = AccountCheck.from_wire(
        "checkAccount", {"exist": True, "chatId": "10000000", "fromCache": True}
    )
    assert check.from_cache is True
    assert (
        AccountCheck.from_wire("checkAccount", {"exist": False, "chatId": ""}).chat_id
        is None
    )


def test_settings_read_poll_message_webhook() -> None:
    settings = Settings.from_wire("getSettings", {"pollMessageWebhook": "yes"})
    assert settings.poll_message_webhook == "yes"


def test_group_data_reads_the_participant_permissions() -> None:
    flags = {
        "allowParticipantsSendMessages": True,
        "allowParticipantsSendMedia": False,
        "allowParticipantsSendPolls": True,
        "allowParticipantsSendOtherMessages": False,
        "allowParticipantsAddWebPagePreviews": True,
        "allowParticipantsEditGroupSettings": False,
        "allowParticipantsAddMembers": True,
        "allowParticipantsPinMessages": False,
    }
    group = GroupData.from_wire("getGroupData", {"chatId": "-100", **flags})
    assert group.allow_participants_send_messages is True
    assert group.allow_participants_send_media is False
    assert group.allow_participants_send_polls is True
    assert group.allow_participants_send_other_messages is False
    assert group.allow_participants_add_web_page_previews is True
    assert group.allow_participants_edit_group_settings is False
    assert group.allow_participants_add_members is True
    assert group.allow_participants_pin_messages is False


def test_partner_instances_read_every_documented_field_and_hide_the_token() -> None:
    token = "f4f28aef69414192bb73b878c4862891b5f0856d17864"
    item = PartnerInstance.from_wire(
        "getInstances",
        {
            "idInstance": 1101000001,
            "messenger": "telegram",
            "timeDeleted": "",
            "apiTokenInstance": token,
            "isFree": False,
            "isPartner": True,
            "isExpired": False,
            "typeAccount": "",
        },
    )
    assert item.messenger == "telegram"
    assert item.time_deleted == ""
    assert item.api_token_instance == token
    assert (item.is_free, item.is_partner, item.is_expired) == (False, True, False)
    assert item.type_account == ""
    assert token not in repr(item)
    assert token not in str(item)


def test_acknowledgements_read_error_as_well_as_reason() -> None:
    refused = ActionResult.from_wire(
        "addGroupParticipant",
        {"addParticipant": False, "error": "user privacy"},
        flag="addParticipant",
    )
    assert refused.reason == "user privacy"


def test_contact_refusals_accept_the_messsage_spelling() -> None:
    refused = ActionResult.from_message(
        "addContact", {"messsage": "contact exists"}, flag="addContact"
    )
    assert (refused.ok, refused.reason) == (False, "contact exists")


@pytest.mark.parametrize("kind", ["alreadyLogged", "already_registered"])
def test_both_logged_in_qr_types_mean_logged_in(kind: str) -> None:
    assert QrCode.from_wire("qr", {"type": kind, "message": "x"}).is_logged_in
    assert not QrCode.from_wire("qr", {"type": "qrCode", "message": "x"}).is_logged_in
