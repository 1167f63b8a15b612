"""Soft failures in 200 bodies, argument checks before sending, file inputs."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from green_tg_async import (
    APIError,
    AsyncGreenTelegram,
    AuthorizationError,
    InstanceNotReadyError,
    ResponseDecodeError,
)
from green_tg_async.models import ContactCard, _decode as decode
from tests.helpers import API_TOKEN

# -- 200 bodies that mean failure -------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda tg: tg.account.send_authorization_password("pw"),
        lambda tg: tg.account.start_authorization(79876543210),
        lambda tg: tg.account.send_authorization_code("1"),
    ],
)
async def test_a_refused_login_step_raises_authorization_error(
    client: AsyncGreenTelegram, api: respx.MockRouter, call: Any
) -> None:
    api.post(url__regex=r"/(send|start)Authorization").respond(
        json={"status": False, "data": {"status": "fail", "reason": "invalid_password"}}
    )
    with pytest.raises(AuthorizationError) as info:
        await call(client)
    assert info.value.reason == "invalid_password"
    assert info.value.status_code == 200
    assert "invalid_password" in str(info.value)


async def test_a_login_step_with_data_fail_but_status_true_still_raises(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/startAuthorization/{API_TOKEN}").respond(
        json={"status": True, "data": {"status": "fail", "reason": "timeout"}}
    )
    with pytest.raises(AuthorizationError, match="timeout"):
        await client.account.start_authorization(79876543210)


async def test_not_ready_in_a_200_body_is_instance_not_ready(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/sendAuthorizationCode/{API_TOKEN}").respond(
        json={"status": False, "reason": "instance is starting or not authorized"}
    )
    with pytest.raises(InstanceNotReadyError):
        await client.account.send_authorization_code("123")


async def test_update_api_token_swaps_the_token_and_hides_it(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    new = "BrandNewT0kenValue"
    api.get(f"/updateApiToken/{API_TOKEN}").respond(json={"apiTokenInstance": new})
    route = api.get(f"/getStateInstance/{new}").respond(
        json={"stateInstance": "authorized"}
    )
    with caplog.at_level(logging.DEBUG, logger="green_tg_async"):
        result = await client.account.update_api_token()
        await client.account.get_state_instance()
        logging.getLogger("green_tg_async").warning("token is %s", new)
    assert result.api_token_instance == new
    assert new not in repr(result)
    assert route.called  # later calls use the new token
    assert new not in caplog.text


async def test_update_api_token_failure_in_a_200_raises(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/updateApiToken/{API_TOKEN}").respond(
        json={"code": 429, "description": "too often"}
    )
    with pytest.raises(APIError, match="too often") as info:
        await client.account.update_api_token()
    assert info.value.status_code == 200
    assert info.value.body == {"code": 429, "description": "too often"}


async def test_answers_of_the_wrong_shape_are_decode_errors(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/getMessagesCount/{API_TOKEN}").respond(json={"cnt": 1})
    api.get(f"/getChats/{API_TOKEN}").respond(json={"chats": []})
    api.post(f"/sendLocation/{API_TOKEN}").respond(json={"idMessage": [5]})
    calls: list[Callable[[], Awaitable[Any]]] = [
        client.queues.get_messages_count,
        client.service.get_chats,
        lambda: client.sending.send_location("1", 1.0, 2.0),
    ]
    for call in calls:
        with pytest.raises(ResponseDecodeError):
            await call()


async def test_unambiguous_coercions_are_read(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/forwardMessages/{API_TOKEN}").respond(json={"messages": [1]})
    api.get(f"/getAccountSettings/{API_TOKEN}").respond(json={"phone": 7})
    api.post(f"/sendLocation/{API_TOKEN}").respond(json={"idMessage": 5})
    api.get(f"/getMessagesCount/{API_TOKEN}").respond(json={"count": "3"})
    forwarded = await client.sending.forward_messages("1", "2", ["3"])
    assert forwarded.messages == ("1",)
    assert (await client.account.get_account_settings()).phone == "7"
    assert (await client.sending.send_location("1", 1.0, 2.0)).id_message == "5"
    assert await client.queues.get_messages_count() == 3


async def test_a_list_item_without_its_essential_field_is_left_out(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/showMessagesQueue/{API_TOKEN}").respond(
        json=[{"type": "x"}, {"idMessage": "2", "type": "sendMessage"}]
    )
    api.get(f"/getChats/{API_TOKEN}").respond(json=[{"name": "no id"}, 5])
    queued = await client.queues.show_messages_queue()
    assert [item.id_message for item in queued] == ["2"]
    assert await client.service.get_chats() == []
    with decode.DECODING.strict(), pytest.raises(ResponseDecodeError):
        await client.service.get_chats()


async def test_the_cyrillic_count_key_and_null_lists_are_read(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/getWebhooksCount/{API_TOKEN}").respond(json={"\u0441ount": 4})
    api.get(f"/getChats/{API_TOKEN}").respond(json=None)
    assert await client.queues.get_webhooks_count() == 4
    assert await client.service.get_chats() == []


async def test_qr_without_an_image(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/qr/{API_TOKEN}").respond(json={"type": "alreadyLogged", "message": "x"})
    qr = await client.account.qr()
    assert qr.is_qr_code is False
    with pytest.raises(ValueError, match="no image"):
        qr.png()


# -- bad input is refused before anything is sent --------------------------------

BAD_CALLS: list[tuple[str, Callable[[Any], Awaitable[Any]], type, str]] = [
    ("empty chat", lambda tg: tg.sending.send_message(" ", "x"), ValueError, "chat_id is empty"),
    ("bool chat", lambda tg: tg.service.archive_chat(True), TypeError, "chat_id must be"),
    ("long text", lambda tg: tg.sending.send_message("1", "x" * 4097), ValueError, "limit is 4096"),
    ("typing", lambda tg: tg.service.send_typing("1", 999), ValueError, "1000-20000"),
    ("typing none", lambda tg: tg.service.send_typing("1", None), TypeError, "typing_time"),
    ("latitude", lambda tg: tg.sending.send_location("1", 91, 0), ValueError, "latitude"),
    ("nan", lambda tg: tg.sending.send_location("1", 0, float("nan")), ValueError, "longitude"),
    ("lat type", lambda tg: tg.sending.send_location("1", "1", 0), TypeError, "latitude"),
    ("poll size", lambda tg: tg.sending.send_poll("1", "Q", ["a"]), ValueError, "2-12"),
    ("poll str", lambda tg: tg.sending.send_poll("1", "Q", "ab"), TypeError, "single string"),
    ("poll option", lambda tg: tg.sending.send_poll("1", "Q", ["a", "b" * 101]), ValueError, "limit is 100"),
    ("quiz", lambda tg: tg.sending.send_poll("1", "Q", ["a", "b"], type="quiz"), ValueError, "correct_option_id"),
    ("quiz index", lambda tg: tg.sending.send_poll("1", "Q", ["a", "b"], type="quiz", correct_option_id=2), ValueError, "correct_option_id"),
    ("flag", lambda tg: tg.sending.send_poll("1", "Q", ["a", "b"], is_anonymous=1), TypeError, "is_anonymous"),
    ("url", lambda tg: tg.sending.send_file_by_url("1", "ftp://x/a.pdf", "a.pdf"), ValueError, "http"),
    ("extension", lambda tg: tg.sending.send_file_by_url("1", "https://x/a", "a"), ValueError, "extension"),
    ("caption", lambda tg: tg.sending.send_file_by_url("1", "https://x/a", "a.pdf", caption="c" * 1025), ValueError, "1024"),
    ("contact", lambda tg: tg.sending.send_contact("1", {"phoneContact": 1}), TypeError, "ContactCard"),
    ("contact phone", lambda tg: tg.sending.send_contact("1", ContactCard(0)), ValueError, "phone_contact"),
    ("forward", lambda tg: tg.sending.forward_messages("1", "2", []), ValueError, "at least 1"),
    ("history count", lambda tg: tg.journals.get_chat_history("1", count=0), ValueError, ">= 1"),
    ("minutes", lambda tg: tg.journals.last_incoming_messages(minutes="5"), TypeError, "minutes"),
    ("settings none", lambda tg: tg.account.set_settings(), ValueError, "at least one"),
    ("settings key", lambda tg: tg.account.set_settings(colour=1), TypeError, "unknown setting"),
    ("settings toggle", lambda tg: tg.account.set_settings(incoming_webhook="on"), ValueError, "'yes' or 'no'"),
    ("settings delay", lambda tg: tg.account.set_settings(delay_send_messages_milliseconds=10), ValueError, "500-600000"),
    ("settings url", lambda tg: tg.account.set_settings(webhook_url=5), TypeError, "webhook_url"),
    ("password", lambda tg: tg.account.send_authorization_password(""), ValueError, "password is empty"),
    ("phone", lambda tg: tg.account.start_authorization("12"), ValueError, "digits"),
    ("group name", lambda tg: tg.groups.create_group("g" * 101, ["1"]), ValueError, "limit is 100"),
    ("group members", lambda tg: tg.groups.create_group("g", []), ValueError, "at least one"),
    ("group members str", lambda tg: tg.groups.create_group("g", "123"), TypeError, "list"),
    ("auto delete", lambda tg: tg.groups.create_group("g", ["1"], message_auto_delete_time=366), ValueError, "0-365"),
    ("group settings", lambda tg: tg.groups.update_group_settings("-1"), ValueError, "at least one"),
    ("group settings key", lambda tg: tg.groups.update_group_settings("-1", allow_all=True), TypeError, "unknown group"),
    ("permission", lambda tg: tg.groups.set_group_admin("-1", "1", permissions={"can_x": "yes"}), TypeError, "permissions"),
    ("contact name", lambda tg: tg.contacts.add_contact("1", " "), ValueError, "first_name"),
    ("id message", lambda tg: tg.service.delete_message("1", ""), ValueError, "id_message"),
    ("id message type", lambda tg: tg.journals.get_message("1", None), TypeError, "id_message"),
    ("edit", lambda tg: tg.service.edit_message("1", "2", 5), TypeError, "message must be a str"),
    ("read chat", lambda tg: tg.read_mark.read_chat(""), ValueError, "chat_id"),
    ("quoted", lambda tg: tg.sending.send_message("1", "x", quoted_message_id=" "), ValueError, "quoted_message_id"),
    ("contacts count", lambda tg: tg.service.get_contacts(count=-1), ValueError, "count"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "call", "error", "match"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS]
)
async def test_bad_input_is_refused_before_anything_is_sent(
    client: AsyncGreenTelegram,
    name: str,
    call: Callable[[AsyncGreenTelegram], Awaitable[Any]],
    error: type[Exception],
    match: str,
) -> None:
    with respx.mock(assert_all_called=False) as router:
        catch_all = router.route().respond(500)
        with pytest.raises(error, match=match):
            await call(client)
    assert not catch_all.called


# -- files ------------------------------------------------------------------------


class Spy(io.BytesIO):
    name = "/tmp/photo.png"


async def test_upload_from_a_path_opens_and_closes_the_file(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7")
    opened: list[Any] = []
    real_open = Path.open

    def spy_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, *args, **kwargs)
        opened.append(handle)
        return handle

    monkeypatch.setattr(Path, "open", spy_open)
    route = api.post(f"/uploadFile/{API_TOKEN}").respond(json={"urlFile": "https://f"})
    await client.sending.upload_file(path)
    request = route.calls.last.request
    assert request.content == b"%PDF-1.7"
    assert request.headers["content-type"] == "application/pdf"
    assert request.headers["ga-filename"] == "report.pdf"
    assert len(opened) == 1
    assert opened[0].closed


async def test_upload_from_a_file_object_takes_its_name_and_leaves_it_open(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/sendFileByUpload/{API_TOKEN}").respond(json={"idMessage": "1"})
    handle = Spy(b"png-bytes")
    await client.sending.send_file_by_upload("1", handle)
    body = route.calls.last.request.content
    assert b'name="fileName"\r\n\r\nphoto.png' in body
    assert b'filename="photo.png"' in body
    assert b"png-bytes" in body
    assert not handle.closed


async def test_unicode_file_names_are_percent_encoded_in_the_header(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/uploadFile/{API_TOKEN}").respond(json={"urlFile": "u"})
    await client.sending.upload_file(b"x", file_name="отчёт.txt")
    headers = route.calls.last.request.headers
    assert headers["ga-filename"] == "%D0%BE%D1%82%D1%87%D1%91%D1%82.txt"
    assert headers["content-type"] == "text/plain"


@pytest.mark.parametrize(
    ("file", "error", "match"),
    [
        ("/tmp/a.png", TypeError, "pathlib.Path"),
        (io.StringIO("text"), TypeError, "binary mode"),
        (Path("/nonexistent/x.png"), FileNotFoundError, "no such file"),
        (12, TypeError, "binary mode"),
    ],
)
async def test_bad_files_are_refused_before_sending(
    client: AsyncGreenTelegram,
    file: Any,
    error: type,
    match: str,
) -> None:
    with respx.mock(assert_all_called=False) as router:
        catch_all = router.route().respond(500)
        with pytest.raises(error, match=match):
            await client.account.set_profile_picture(file)
    assert not catch_all.called


async def test_a_retried_upload_sends_the_whole_file_again(
    client: AsyncGreenTelegram, api: respx.MockRouter, tmp_path: Path
) -> None:
    path = tmp_path / "pic.jpg"
    path.write_bytes(b"jpeg" * 100)
    route = api.post(f"/setGroupPicture/{API_TOKEN}").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(200, json={"setGroupPicture": True}),
        ]
    )
    result = await client.groups.set_group_picture("-1", path)
    assert result.ok is True
    assert route.call_count == 2
    assert (b"jpeg" * 100) in route.calls.last.request.content


@pytest.mark.parametrize(
    "answer", [{"isReboot": "yes"}, {}, {"isReboot": None}, [], True, None]
)
async def test_issue11_an_odd_acknowledgement_is_an_unknown_flag_not_an_error(
    client: AsyncGreenTelegram, api: respx.MockRouter, answer: object
) -> None:
    api.get(f"/reboot/{API_TOKEN}").respond(json=answer)
    result = await client.account.reboot()
    assert result.ok is None
    assert not result


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("set_settings", "setSettings", "saveSettings"),
        ("logout", "logout", "isLogout"),
        ("clear_messages_queue", "clearMessagesQueue", "isCleared"),
        ("read_chat", "readChat", "setRead"),
    ],
)
async def test_issue11_acknowledgements_read_their_flag_leniently(
    client: AsyncGreenTelegram, api: respx.MockRouter, method: str, path: str, key: str
) -> None:
    route = api.route(url__regex=rf"/{path}/{API_TOKEN}$")
    route.respond(json={key: "true"})
    section = {"set_settings": client.account, "logout": client.account}.get(
        method, client.queues if method == "clear_messages_queue" else client.read_mark
    )
    args: tuple[object, ...] = ("1",) if method == "read_chat" else ()
    kwargs: dict[str, object] = {"delay_send_messages_milliseconds": 1000}
    call = getattr(section, method)
    result = await (call(**kwargs) if method == "set_settings" else call(*args))
    assert result.ok is None
    assert result.raw == {key: "true"}
    route.respond(json={key: False})
    result = await (call(**kwargs) if method == "set_settings" else call(*args))
    assert result.ok is False
    route.respond(json={key: True})
    result = await (call(**kwargs) if method == "set_settings" else call(*args))
    assert result.ok is True
    assert result  # truthy only when confirmed


async def test_issue11_a_decode_error_carries_the_status_and_a_cut_body(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    page = "<html>" + "x" * 10_000 + API_TOKEN + "</html>"
    api.get(f"/getStateInstance/{API_TOKEN}").respond(202, text=page)
    with pytest.raises(ResponseDecodeError) as info:
        await client.account.get_state_instance()
    assert info.value.method == "getStateInstance"
    assert info.value.status_code == 202
    assert isinstance(info.value.body, str)
    assert len(info.value.body) <= 4096
    assert API_TOKEN not in repr(vars(info.value))


async def test_issue11_group_and_queue_acknowledgements_are_lenient(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/leaveGroup/{API_TOKEN}").respond(json={"leaveGroup": "ok"})
    api.delete(f"/clearWebhooksQueue/{API_TOKEN}").respond(json=["odd"])
    left = await client.groups.leave_group("-100")
    assert (left.ok, left.raw) == (None, {"leaveGroup": "ok"})
    cleared = await client.queues.clear_webhooks_queue()
    assert (cleared.is_cleared, cleared.reason, cleared.raw) == (None, None, {})
