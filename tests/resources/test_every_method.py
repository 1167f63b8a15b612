"""Every method of spec §0 against the spec: verb, host, path, query, body, result.

The expectations below are written from `../shared/spec/green-api-telegram.md`,
not read from the method table, so a wrong table entry fails here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import AsyncGreenTelegram
from green_tg_async._methods import METHODS
from green_tg_async.models import ContactCard
from tests.helpers import API_TOKEN, ID_INSTANCE, make_client

API = "https://api.example"
MEDIA = "https://media.example"
CHAT = "10000000"
GROUP = "-100123"
MSG = "1769676078000"
PNG = b"\x89PNG fake bytes"
Call = Callable[[AsyncGreenTelegram], Awaitable[Any]]


@dataclass
class Case:
    method: str
    verb: str
    call: Call
    answer: Any
    result: Callable[[Any], Any]
    """Turns the method's return value into something comparable."""
    expected: Any
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    """Multipart text fields; the file part is checked as `file`."""
    content: bytes | None = None
    host: str = API
    suffix: str = ""
    status: int = 200


def _msg(value: Any) -> Any:
    return value.id_message


CASES = [
    # -- account (spec §9) --
    Case("qr", "GET", lambda tg: tg.account.qr(),
         {"type": "qrCode", "message": "aGk="}, lambda r: (r.type, r.png()),
         ("qrCode", b"hi")),
    Case("sendAuthorizationPassword", "POST",
         lambda tg: tg.account.send_authorization_password("pw"),
         {"status": True, "data": {"status": "success"}}, lambda r: r.result,
         "success", json={"password": "pw"}),
    Case("startAuthorization", "POST",
         lambda tg: tg.account.start_authorization("+7 987 654-32-10"),
         {"status": True, "data": {"status": "success"}}, lambda r: r.status,
         True, json={"phoneNumber": 79876543210}),
    Case("sendAuthorizationCode", "POST",
         lambda tg: tg.account.send_authorization_code("12345", password="pw"),
         {"status": True, "data": {"status": "success"}}, lambda r: r.status,
         True, json={"code": "12345", "password": "pw"}),
    Case("getSettings", "GET", lambda tg: tg.account.get_settings(),
         {"wid": "1", "webhookUrl": "", "incomingWebhook": "yes",
          "delaySendMessagesMilliseconds": 1000},
         lambda r: (r.webhook_url, r.incoming_webhook,
                    r.delay_send_messages_milliseconds),
         ("", "yes", 1000)),
    Case("setSettings", "POST",
         lambda tg: tg.account.set_settings(
             webhook_url="", incoming_webhook=True, outgoing_api_message_webhook="no",
             delay_send_messages_milliseconds=500),
         {"saveSettings": True}, lambda r: r.ok, True,
         json={"webhookUrl": "", "incomingWebhook": "yes",
               "outgoingAPIMessageWebhook": "no",
               "delaySendMessagesMilliseconds": 500}),
    Case("getStateInstance", "GET", lambda tg: tg.account.get_state_instance(),
         {"stateInstance": "authorized"}, lambda r: r.state_instance, "authorized"),
    Case("reboot", "GET", lambda tg: tg.account.reboot(),
         {"isReboot": True}, lambda r: r.ok, True),
    Case("logout", "GET", lambda tg: tg.account.logout(),
         {"isLogout": True}, lambda r: r.ok, True),
    Case("getAccountSettings", "GET", lambda tg: tg.account.get_account_settings(),
         {"phone": "79876543210", "stateInstance": "suspended",
          "suspendedUntil": 1800000000, "avatar": "https://a"},
         lambda r: (r.phone, r.state_instance, r.suspended_until),
         ("79876543210", "suspended", 1800000000)),
    Case("setProfilePicture", "POST",
         lambda tg: tg.account.set_profile_picture(PNG),
         {"setProfilePicture": True, "urlAvatar": "https://a", "reason": ""},
         lambda r: (r.ok, r.url_avatar), (True, "https://a"), form={}),
    Case("updateApiToken", "GET", lambda tg: tg.account.update_api_token(),
         {"apiTokenInstance": "NewToken123"}, lambda r: r.api_token_instance,
         "NewToken123"),
    # -- sending (spec §10) --
    Case("sendMessage", "POST",
         lambda tg: tg.sending.send_message(CHAT, "hi", quoted_message_id=MSG,
                                            typing_time=1000, typing_type="text"),
         {"idMessage": "1"}, _msg, "1",
         json={"chatId": CHAT, "message": "hi", "quotedMessageId": MSG,
               "typingTime": 1000, "typingType": "text"}),
    Case("sendFileByUpload", "POST",
         lambda tg: tg.sending.send_file_by_upload(CHAT, PNG, file_name="a.png",
                                                   caption="look"),
         {"idMessage": "2", "urlFile": "https://f"},
         lambda r: (r.id_message, r.url_file), ("2", "https://f"),
         form={"chatId": CHAT, "caption": "look", "fileName": "a.png"}, host=MEDIA),
    Case("sendFileByUrl", "POST",
         lambda tg: tg.sending.send_file_by_url(CHAT, "https://x/a.pdf", "a.pdf",
                                                caption="doc"),
         {"idMessage": "3"}, _msg, "3",
         json={"chatId": CHAT, "urlFile": "https://x/a.pdf", "fileName": "a.pdf",
               "caption": "doc"}),
    Case("uploadFile", "POST",
         lambda tg: tg.sending.upload_file(PNG, file_name="a.png"),
         {"urlFile": "https://f/a.png"}, lambda r: r.url_file, "https://f/a.png",
         content=PNG, host=MEDIA),
    Case("sendLocation", "POST",
         lambda tg: tg.sending.send_location(CHAT, 55.75, 37.62),
         {"idMessage": "4"}, _msg, "4",
         json={"chatId": CHAT, "latitude": 55.75, "longitude": 37.62}),
    Case("sendContact", "POST",
         lambda tg: tg.sending.send_contact(
             CHAT, ContactCard(79876543210, first_name="Ann", company="X")),
         {"idMessage": "5"}, _msg, "5",
         json={"chatId": CHAT, "contact": {"phoneContact": 79876543210,
                                           "firstName": "Ann", "company": "X"}}),
    Case("sendPoll", "POST",
         lambda tg: tg.sending.send_poll(CHAT, "Q?", ["a", "b"], multiple_answers=True,
                                         type="quiz", correct_option_id=1),
         {"idMessage": "6"}, _msg, "6",
         json={"chatId": CHAT, "message": "Q?",
               "options": [{"optionName": "a"}, {"optionName": "b"}],
               "multipleAnswers": True, "type": "quiz", "correctOptionId": 1}),
    Case("forwardMessages", "POST",
         lambda tg: tg.sending.forward_messages(CHAT, GROUP, [MSG]),
         {"messages": ["7"]}, lambda r: r.messages, ("7",),
         json={"chatId": CHAT, "chatIdFrom": GROUP, "messages": [MSG]}),
    # -- receiving (spec §11) --
    Case("receiveNotification", "GET",
         lambda tg: tg.receiving.receive_notification(receive_timeout=5),
         {"receiptId": 9, "body": {"typeWebhook": "stateInstanceChanged",
                                   "stateInstance": "authorized"}},
         lambda r: (r.receipt_id, r.body.state_instance), (9, "authorized"),
         params={"receiveTimeout": "5"}),
    Case("deleteNotification", "DELETE",
         lambda tg: tg.receiving.delete_notification(9),
         {"result": True}, lambda r: r, True, suffix="/9"),
    Case("downloadFile", "POST",
         lambda tg: tg.receiving.download_file(CHAT, MSG),
         {"downloadUrl": "https://d"}, lambda r: r.download_url, "https://d",
         json={"chatId": CHAT, "idMessage": MSG}),
    # -- journals (spec §12) --
    Case("getChatHistory", "POST",
         lambda tg: tg.journals.get_chat_history(CHAT, count=10),
         [{"idMessage": MSG, "type": "incoming", "textMessage": "hi",
           "timestamp": 1}],
         lambda r: [(m.id_message, m.type, m.text_message) for m in r],
         [(MSG, "incoming", "hi")], json={"chatId": CHAT, "count": 10}),
    Case("getMessage", "POST", lambda tg: tg.journals.get_message(CHAT, MSG),
         {"idMessage": MSG, "type": "outgoing", "statusMessage": "read"},
         lambda r: r.status_message, "read", json={"chatId": CHAT, "idMessage": MSG}),
    Case("lastIncomingMessages", "GET",
         lambda tg: tg.journals.last_incoming_messages(minutes=60),
         [{"idMessage": "1"}, {"idMessage": "2"}],
         lambda r: [m.id_message for m in r], ["1", "2"], params={"minutes": "60"}),
    Case("lastOutgoingMessages", "GET",
         lambda tg: tg.journals.last_outgoing_messages(),
         [], lambda r: r, []),
    # -- queues (spec §12.5) --
    Case("showMessagesQueue", "GET", lambda tg: tg.queues.show_messages_queue(),
         [{"messageID": "1", "type": "sendMessage", "body": {"chatId": CHAT}}],
         lambda r: [(m.id_message, m.type, m.body["chatId"]) for m in r],
         [("1", "sendMessage", CHAT)]),
    Case("getMessagesCount", "GET", lambda tg: tg.queues.get_messages_count(),
         {"count": 3}, lambda r: r, 3),
    Case("clearMessagesQueue", "GET", lambda tg: tg.queues.clear_messages_queue(),
         {"isCleared": True}, lambda r: r.ok, True),
    Case("getWebhooksCount", "GET", lambda tg: tg.queues.get_webhooks_count(),
         {"count": 0}, lambda r: r, 0),
    Case("clearWebhooksQueue", "DELETE", lambda tg: tg.queues.clear_webhooks_queue(),
         {"isCleared": False, "reason": "Too many requests", "leftTime": 42},
         lambda r: (r.is_cleared, r.left_time), (False, 42)),
    # -- read mark (spec §12.6) --
    Case("readChat", "POST", lambda tg: tg.read_mark.read_chat(CHAT),
         {"setRead": True}, lambda r: r.ok, True, json={"chatId": CHAT}),
    # -- groups (spec §14) --
    Case("createGroup", "POST",
         lambda tg: tg.groups.create_group("Team", [CHAT, 20000000],
                                           type="supergroup",
                                           message_auto_delete_time=0),
         {"created": True, "chatId": GROUP, "groupInviteLink": "https://t.me/+x"},
         lambda r: (r.created, r.chat_id), (True, GROUP),
         json={"groupName": "Team", "chatIds": [CHAT, "20000000"],
               "type": "supergroup", "messageAutoDeleteTime": 0}),
    Case("updateGroupName", "POST",
         lambda tg: tg.groups.update_group_name(GROUP, "New"),
         {"updateGroupName": True}, lambda r: r.ok, True,
         json={"chatId": GROUP, "groupName": "New"}),
    Case("getGroupData", "POST", lambda tg: tg.groups.get_group_data(GROUP),
         {"chatId": GROUP, "subject": "Team", "isSupergroup": True,
          "participants": [{"chatId": CHAT, "isAdmin": True}]},
         lambda r: (r.subject, r.is_supergroup, r.participants[0].is_admin),
         ("Team", True, True), json={"chatId": GROUP}),
    Case("updateGroupSettings", "POST",
         lambda tg: tg.groups.update_group_settings(
             GROUP, allow_participants_send_media=False,
             allow_participants_pin_messages=True),
         {"updateGroupSettings": False, "reason": "not admin"},
         lambda r: (r.ok, r.reason), (False, "not admin"),
         json={"chatId": GROUP, "allowParticipantsSendMedia": False,
               "allowParticipantsPinMessages": True}),
    Case("addGroupParticipant", "POST",
         lambda tg: tg.groups.add_group_participant(GROUP, CHAT),
         {"addParticipant": True}, lambda r: r.ok, True,
         json={"chatId": GROUP, "participantChatId": CHAT}),
    Case("removeGroupParticipant", "POST",
         lambda tg: tg.groups.remove_group_participant(GROUP, CHAT),
         {"removeParticipant": True}, lambda r: r.ok, True,
         json={"chatId": GROUP, "participantChatId": CHAT}),
    Case("setGroupAdmin", "POST",
         lambda tg: tg.groups.set_group_admin(
             GROUP, CHAT, permissions={"can_change_info": True,
                                       "canPinMessages": False}),
         {"setGroupAdmin": True}, lambda r: r.ok, True,
         json={"chatId": GROUP, "participantChatId": CHAT,
               "permissions": {"canChangeInfo": True, "canPinMessages": False}}),
    Case("removeAdmin", "POST", lambda tg: tg.groups.remove_admin(GROUP, CHAT),
         {"removeAdmin": True}, lambda r: r.ok, True,
         json={"chatId": GROUP, "participantChatId": CHAT}),
    Case("setGroupPicture", "POST",
         lambda tg: tg.groups.set_group_picture(GROUP, PNG),
         {"setGroupPicture": True, "urlAvatar": "https://g"},
         lambda r: (r.ok, r.url_avatar), (True, "https://g"),
         form={"chatId": GROUP}),
    Case("leaveGroup", "POST", lambda tg: tg.groups.leave_group(GROUP),
         {"leaveGroup": True}, lambda r: r.ok, True, json={"chatId": GROUP}),
    # -- service (spec §15) --
    Case("checkAccount", "POST",
         lambda tg: tg.service.check_account(username="@durov", force=True),
         {"exist": True, "chatId": "1"}, lambda r: (r.exist, r.chat_id), (True, "1"),
         json={"username": "@durov", "force": True}),
    Case("getAvatar", "POST", lambda tg: tg.service.get_avatar(CHAT),
         {"urlAvatar": "https://a", "available": True},
         lambda r: (r.url_avatar, r.available), ("https://a", True),
         json={"chatId": CHAT}),
    Case("getContacts", "GET", lambda tg: tg.service.get_contacts(count=5),
         [{"chatId": CHAT, "name": "Ann", "type": "user", "username": "ann"}],
         lambda r: [(c.chat_id, c.name, c.username) for c in r],
         [(CHAT, "Ann", "ann")], params={"count": "5"}),
    Case("getContactInfo", "POST", lambda tg: tg.service.get_contact_info(CHAT),
         {"chatId": CHAT, "name": "Ann", "isPremium": True, "lastSeen": None},
         lambda r: (r.name, r.is_premium, r.last_seen), ("Ann", True, None),
         json={"chatId": CHAT}),
    Case("getChats", "GET", lambda tg: tg.service.get_chats(),
         [{"chatId": GROUP, "name": "Team", "type": "supergroup"}],
         lambda r: [(c.chat_id, c.type) for c in r], [(GROUP, "supergroup")]),
    Case("editMessage", "POST",
         lambda tg: tg.service.edit_message(CHAT, MSG, "fixed"),
         {"idMessage": MSG}, _msg, MSG,
         json={"chatId": CHAT, "idMessage": MSG, "message": "fixed"}),
    Case("deleteMessage", "POST",
         lambda tg: tg.service.delete_message(CHAT, MSG, only_sender_delete=True),
         None, lambda r: r, None,
         json={"chatId": CHAT, "idMessage": MSG, "onlySenderDelete": True}),
    Case("sendTyping", "POST",
         lambda tg: tg.service.send_typing(CHAT, 3000, typing_type="upload_photo"),
         None, lambda r: r, None,
         json={"chatId": CHAT, "typingTime": 3000, "typingType": "upload_photo"}),
    Case("archiveChat", "POST", lambda tg: tg.service.archive_chat(CHAT),
         None, lambda r: r, None, json={"chatId": CHAT}),
    Case("unarchiveChat", "POST", lambda tg: tg.service.unarchive_chat(CHAT),
         None, lambda r: r, None, json={"chatId": CHAT}),
    # -- contacts (spec §16) --
    Case("addContact", "POST",
         lambda tg: tg.contacts.add_contact(CHAT, "Ann", last_name="Lee"),
         {"addContact": True}, lambda r: (r.ok, r.reason), (True, None),
         json={"chatId": CHAT, "firstName": "Ann", "lastName": "Lee"}),
    Case("editContact", "POST",
         lambda tg: tg.contacts.edit_contact(CHAT, "Anna"),
         {"message": "contact is not in the address book"},
         lambda r: (r.ok, r.reason), (False, "contact is not in the address book"),
         json={"chatId": CHAT, "firstName": "Anna"}),
    Case("deleteContact", "POST", lambda tg: tg.contacts.delete_contact(CHAT),
         {"deleteContact": True}, lambda r: r.ok, True, json={"chatId": CHAT}),
]  # fmt: skip


def test_every_method_of_the_spec_has_a_case() -> None:
    names = [case.method for case in CASES]
    assert len(names) == len(set(names)) == 56
    assert set(names) == set(METHODS)


@pytest.mark.parametrize("case", CASES, ids=[case.method for case in CASES])
async def test_method_sends_what_the_spec_says(case: Case) -> None:
    route, result = await run(case)
    assert route.call_count == 1
    _assert_body(route.calls.last.request, case)
    assert case.result(result) == case.expected


async def run(case: Case) -> tuple[respx.Route, Any]:
    """Call `case` against its answer; return the route and what the call returned."""
    url = f"{case.host}/waInstance{ID_INSTANCE}/{case.method}/{API_TOKEN}{case.suffix}"
    with respx.mock(assert_all_called=True) as router:
        route = router.route(method=case.verb, url=url, params__eq=case.params)
        if case.answer is None:
            route.respond(case.status, content=b"")
        else:
            route.respond(case.status, json=case.answer)
        async with make_client(api_url=API, media_url=MEDIA) as tg:
            return route, await case.call(tg)


def _assert_body(request: httpx.Request, case: Case) -> None:
    if case.json is not None:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == case.json
    elif case.form is not None:
        fields, files = _multipart(request)
        assert fields == case.form
        assert files == {"file": PNG}
    elif case.content is not None:
        assert request.content == case.content
        assert request.headers["content-type"] == "image/png"
        assert request.headers["ga-filename"] == "a.png"
    else:
        assert request.content == b""


def _multipart(request: httpx.Request) -> tuple[dict[str, str], dict[str, bytes]]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.read())
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in _parts(message):
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename() is None:
            fields[str(name)] = payload.decode()
        else:
            files[str(name)] = payload
    return fields, files


def _parts(message: Any) -> Iterator[Any]:
    assert message.is_multipart()
    yield from message.iter_parts()
