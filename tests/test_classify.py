from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
import respx

from green_tg_async import (
    APIError,
    AsyncGreenTelegram,
    AuthenticationError,
    BadRequestError,
    ContactInfoLimitError,
    InstanceNotReadyError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
)
from green_tg_async._classify import (
    STATUS_ERRORS,
    classify,
    error_for_response,
    parse_retry_after,
)
from green_tg_async._logging import install_redaction

from .helpers import API_TOKEN, ResponseErrors, make_client


@pytest.mark.parametrize(
    ("status", "error_cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (466, QuotaExceededError),
        (469, ContactInfoLimitError),
        (499, APIError),
        (418, APIError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_status_maps_to_one_error_class(status: int, error_cls: type[APIError]) -> None:
    error = error_for_response("sendMessage", httpx.Response(status, json={"x": 1}))
    assert type(error) is error_cls
    assert error.status_code == status
    assert error.method == "sendMessage"
    assert error.body == {"x": 1}
    assert str(error).startswith(f"sendMessage failed with HTTP {status}")


def test_the_table_covers_every_documented_4xx() -> None:
    assert set(STATUS_ERRORS) == {400, 401, 403, 404, 429, 466, 469}


def test_quota_body_is_kept_for_the_caller() -> None:
    body = {"invokeStatus": {"status": "QUOTE_EXCEEDED", "description": "used up"}}
    error = error_for_response("sendMessage", httpx.Response(466, json=body))
    assert isinstance(error, QuotaExceededError)
    assert error.body == body


@pytest.mark.parametrize(
    "reason",
    ["User get contact info limit reached", "user get contact info limit reached "],
)
def test_200_contact_limit_body_is_a_469(reason: str) -> None:
    response = httpx.Response(200, json={"status": False, "reason": reason})
    with pytest.raises(ContactInfoLimitError) as info:
        classify("checkAccount", response)
    assert info.value.status_code == 200
    assert info.value.body == {"status": False, "reason": reason}


def test_200_not_ready_body_is_instance_not_ready() -> None:
    body = {"status": False, "reason": "instance is starting or not authorized"}
    with pytest.raises(InstanceNotReadyError, match="starting or not authorized"):
        classify("checkAccount", httpx.Response(200, json=body))


@pytest.mark.parametrize(
    "text",
    [
        "instance in starting process try later",
        "Instance is starting or not authorized",
    ],
)
def test_400_starting_is_instance_not_ready(text: str) -> None:
    error = error_for_response("sendMessage", httpx.Response(400, text=text))
    assert isinstance(error, InstanceNotReadyError)
    assert error.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"status": False, "reason": "something else"},
        {"status": False},
        {"status": True, "reason": "User get contact info limit reached"},
        [{"status": False}],
    ],
)
def test_other_bodies_pass_through(body: object) -> None:
    assert classify("x", httpx.Response(200, json=body)) == body


@pytest.mark.parametrize("content", [b"<html>ok</html>", b"{broken", b"\xff\xfe"])
def test_2xx_that_is_not_json_is_a_decode_error(content: bytes) -> None:
    with pytest.raises(ResponseDecodeError, match="not JSON") as info:
        classify("getStateInstance", httpx.Response(200, content=content))
    assert info.value.method == "getStateInstance"


@pytest.mark.parametrize("content", [b"", b"  \n"])
def test_an_empty_2xx_body_is_none(content: bytes) -> None:
    # deleteMessage, sendTyping and an empty notification queue answer this.
    assert classify("deleteMessage", httpx.Response(200, content=content)) is None


async def test_an_empty_body_where_an_object_is_promised_is_a_decode_error(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").respond(200, content=b"")
    with pytest.raises(ResponseDecodeError, match="NoneType, expected a JSON object"):
        await client.account.get_state_instance()


def test_html_error_page_is_a_server_error_with_a_short_message() -> None:
    page = "<!DOCTYPE html><html><body>" + "bad gateway " * 500 + "</body></html>"
    error = error_for_response("checkAccount", httpx.Response(502, text=page))
    assert isinstance(error, ServerError)
    assert str(error) == "checkAccount failed with HTTP 502: HTML error page"
    assert isinstance(error.body, str)
    assert len(error.body) <= 4096


def test_long_text_details_are_cut_to_one_line() -> None:
    error = error_for_response("x", httpx.Response(400, text="a\nb " + "c" * 500))
    assert "\n" not in str(error)
    assert str(error).endswith("…")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"message": "Contact not found"}, "Contact not found"),
        ({"reason": "nope"}, "nope"),
        ({"code": 7}, '{"code": 7}'),
        ("", None),
    ],
)
def test_message_detail_comes_from_the_body(body: object, detail: str | None) -> None:
    response = (
        httpx.Response(404, json=body) if body else httpx.Response(404, content=b"")
    )
    error = error_for_response("x", response)
    expected = "x failed with HTTP 404" + (f": {detail}" if detail else "")
    assert str(error) == expected


def test_error_bodies_have_the_token_redacted() -> None:
    install_redaction(API_TOKEN)
    text = json.dumps({"message": f"bad path /checkAccount/{API_TOKEN}"})
    error = error_for_response("checkAccount", httpx.Response(400, text=text))
    assert API_TOKEN not in str(error)
    assert API_TOKEN not in repr(error.body)


def test_rate_limit_error_carries_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "2.5"})
    error = error_for_response("sendMessage", response)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 2.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("-4", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: unusable
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    when = datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC)
    now = datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(format_datetime(when, usegmt=True), now=now) == 10.0


@pytest.mark.parametrize(
    ("code", "error_cls"),
    [(401, AuthenticationError), (404, NotFoundError), (502, ServerError)],
)
def test_a_coded_200_is_the_error_of_its_code_where_the_method_uses_codes(
    code: int, error_cls: type[APIError]
) -> None:
    answer = httpx.Response(200, json={"code": code, "description": "no"})
    with pytest.raises(error_cls) as info:
        classify("updateApiToken", answer, coded=True)
    assert (info.value.status_code, info.value.body["code"]) == (200, code)
    assert classify("getSettings", answer) == {"code": code, "description": "no"}


async def test_a_coded_refusal_of_update_api_token_is_a_failed_attempt(
    api: respx.MockRouter,
) -> None:
    seen = ResponseErrors()
    api.get(f"/updateApiToken/{API_TOKEN}").respond(
        json={"code": 401, "description": "Unauthorized"}
    )
    async with make_client(hooks=[seen]) as tg:
        with pytest.raises(AuthenticationError):
            await tg.account.update_api_token()
    assert seen.errors == ["AuthenticationError"]
